package secrets

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func newCipher(t *testing.T) *Cipher {
	t.Helper()
	c, err := CipherFromString("TEST_KEY", GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeyErrors(t *testing.T) {
	if _, err := CipherFromString("K", ""); !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), "K") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := CipherFromString("K", "c2hvcnQ="); !errors.Is(err, ErrKeyInvalid) || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("short key: %v", err)
	}
	if _, err := CipherFromString("K", "!!!not base64!!!"); !errors.Is(err, ErrKeyInvalid) {
		t.Fatalf("garbage key: %v", err)
	}
	t.Setenv("CRMPULSE_TOKEN_KEY_TEST", "")
	if _, err := CipherFromEnv("CRMPULSE_TOKEN_KEY_TEST"); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("env missing: %v", err)
	}
	t.Setenv("CRMPULSE_TOKEN_KEY_TEST", GenerateKey())
	if _, err := CipherFromEnv("CRMPULSE_TOKEN_KEY_TEST"); err != nil {
		t.Fatal(err)
	}
}

func TestSealBindsConnection(t *testing.T) {
	c := newCipher(t)
	s := c.Seal([]byte("hello"), []byte("a"))
	if _, err := c.Open(s, []byte("b")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("opened under another connection: %v", err)
	}
	if pt, err := c.Open(s, []byte("a")); err != nil || string(pt) != "hello" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	if string(c.Seal([]byte("x"), nil)) == string(c.Seal([]byte("x"), nil)) {
		t.Fatal("nonce reused")
	}
}

func TestStoreRoundTripNoPlaintextInRedis(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	st := NewStore(rdb, newCipher(t), "t")
	tok := (&oauth2.Token{AccessToken: "00Dxx!ACCESS-SECRET-123", RefreshToken: "5Aep-REFRESH-SECRET-456", TokenType: "Bearer",
		Expiry: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}).WithExtra(map[string]any{"instance_url": "https://acme.my.salesforce.com", "hub_id": float64(62515)})
	if ok, _, err := st.Status(ctx, "sf"); err != nil || ok {
		t.Fatalf("status before save: %v %v", ok, err)
	}
	if _, err := st.Load(ctx, "sf"); !errors.Is(err, ErrNoToken) {
		t.Fatalf("load before save: %v", err)
	}
	if err := st.Save(ctx, "sf", tok); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.HGetAll(ctx, st.Key("sf")).Result()
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		dump, _ := rdb.Dump(ctx, k).Result()
		for _, secret := range []string{"ACCESS-SECRET", "REFRESH-SECRET", "acme.my.salesforce"} {
			if strings.Contains(dump, secret) || strings.Contains(k, secret) {
				t.Fatalf("plaintext %q in redis key %s", secret, k)
			}
		}
	}
	if raw["sealed"] == "" {
		t.Fatalf("no ciphertext stored: %v", raw)
	}
	got, err := st.Load(ctx, "sf")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken || !got.Expiry.Equal(tok.Expiry) ||
		got.Extra("instance_url") != "https://acme.my.salesforce.com" || got.Extra("hub_id") != "62515" {
		t.Fatalf("loaded %+v extra=%v", got, got.Extra("instance_url"))
	}
	ok, at, err := st.Status(ctx, "sf")
	if err != nil || !ok || at.IsZero() {
		t.Fatalf("status = %v %v %v", ok, at, err)
	}

	// Another key cannot read it, and says so clearly.
	other := NewStore(rdb, newCipher(t), "t")
	if _, err := other.Load(ctx, "sf"); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "CRMPULSE_TOKEN_KEY") {
		t.Fatalf("wrong key: %v", err)
	}
	// A ciphertext moved under another connection does not open.
	if err := rdb.HSet(ctx, st.Key("hs"), raw).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, "hs"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("swapped ciphertext: %v", err)
	}
	if err := st.Delete(ctx, "sf"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := st.Status(ctx, "sf"); ok {
		t.Fatal("token still there after delete")
	}
}

type seqSource struct {
	n    atomic.Int32
	toks []*oauth2.Token
}

func (s *seqSource) Token() (*oauth2.Token, error) {
	i := int(s.n.Add(1)) - 1
	if i >= len(s.toks) {
		i = len(s.toks) - 1
	}
	return s.toks[i], nil
}

func TestTokenSourcePersistsRotation(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	st := NewStore(rdb, newCipher(t), "")
	first := (&oauth2.Token{AccessToken: "a1", RefreshToken: "r1"}).WithExtra(map[string]any{"instance_url": "https://one.example"})
	if err := st.Save(ctx, "sf", first); err != nil {
		t.Fatal(err)
	}
	src := &seqSource{toks: []*oauth2.Token{
		first,
		(&oauth2.Token{AccessToken: "a2"}).WithExtra(map[string]any{"instance_url": "https://one.example"}), // refresh without refresh_token
		(&oauth2.Token{AccessToken: "a2", RefreshToken: "r2"}).WithExtra(map[string]any{"instance_url": "https://one.example"}),
		(&oauth2.Token{AccessToken: "a2", RefreshToken: "r2"}).WithExtra(map[string]any{"instance_url": "https://two.example"}),
	}}
	ts := st.TokenSource(ctx, "sf", src, first)
	check := func(access, refresh, inst string) {
		t.Helper()
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Load(ctx, "sf")
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != access || got.AccessToken != access || got.RefreshToken != refresh || got.Extra("instance_url") != inst {
			t.Fatalf("returned %s; stored %s/%s/%v, want %s/%s/%s", tok.AccessToken, got.AccessToken, got.RefreshToken, got.Extra("instance_url"), access, refresh, inst)
		}
	}
	check("a1", "r1", "https://one.example")
	check("a2", "r1", "https://one.example") // refresh token kept
	check("a2", "r2", "https://one.example") // rotated refresh token persisted
	check("a2", "r2", "https://two.example") // instance moved
}
