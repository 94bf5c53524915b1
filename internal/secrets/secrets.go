// Package secrets encrypts OAuth tokens at rest and keeps them in Redis.
//
// Tokens are sealed with AES-256-GCM under a key read from the environment
// (base64 of 32 random bytes; CRMPULSE_TOKEN_KEY by default), with a fresh
// random nonce per write and the connection name as additional data, so a
// ciphertext copied under another connection's key fails to open. Redis only
// ever holds ciphertext.
//
// Store.TokenSource wraps an oauth2.TokenSource so every token it mints that
// differs from the last one saved (a refresh, a rotated refresh token, a new
// Salesforce instance_url) is persisted before it is used.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
)

// DefaultKeyEnv is the environment variable holding the token key.
const DefaultKeyEnv = "CRMPULSE_TOKEN_KEY"

// Errors.
var (
	ErrKeyMissing = errors.New("token encryption key is not set")
	ErrKeyInvalid = errors.New("token encryption key is invalid")
	ErrDecrypt    = errors.New("stored token cannot be decrypted (wrong CRMPULSE_TOKEN_KEY, or the data was altered)")
	ErrNoToken    = errors.New("no stored token")
)

// Cipher seals and opens small secrets. Safe for concurrent use.
type Cipher struct{ aead cipher.AEAD }

// NewCipher returns a cipher for a 32-byte AES-256 key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: need 32 bytes, got %d", ErrKeyInvalid, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyInvalid, err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyInvalid, err)
	}
	return &Cipher{aead: g}, nil
}

// CipherFromEnv reads a base64 key (standard or URL alphabet, padded or
// not) from the environment variable name (DefaultKeyEnv when empty).
func CipherFromEnv(name string) (*Cipher, error) {
	if name == "" {
		name = DefaultKeyEnv
	}
	return CipherFromString(name, os.Getenv(name))
}

// CipherFromString decodes a base64 key; name only labels errors.
func CipherFromString(name, v string) (*Cipher, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, fmt.Errorf("%w: set %s to a base64-encoded 32-byte key (for example: head -c32 /dev/urandom | base64)", ErrKeyMissing, name)
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(v); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrKeyInvalid, name)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: %s decodes to %d bytes, need 32", ErrKeyInvalid, name, len(key))
	}
	return NewCipher(key)
}

// GenerateKey returns a new random key, base64-encoded.
func GenerateKey() string {
	var k [32]byte
	_, _ = rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

// Seal encrypts plaintext bound to aad: nonce || ciphertext.
func (c *Cipher) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plaintext)+c.aead.Overhead())
	_, _ = rand.Read(nonce)
	return c.aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts what Seal produced with the same aad.
func (c *Cipher) Open(sealed, aad []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n+c.aead.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := c.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Stored is a token as persisted, with the metadata status reports show.
type Stored struct {
	Token   *oauth2.Token
	SavedAt time.Time
}

// record is the plaintext JSON sealed into Redis.
type record struct {
	AccessToken  string            `json:"access_token"`
	TokenType    string            `json:"token_type,omitempty"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	Expiry       time.Time         `json:"expiry,omitzero"`
	Extra        map[string]string `json:"extra,omitempty"`
}

// ExtraKeys are the token-response fields kept with a token (oauth2.Token
// keeps them only in memory): the Salesforce instance and identity URLs,
// the issue time, HubSpot's portal id.
var ExtraKeys = []string{"instance_url", "id", "issued_at", "hub_id", "scope"}

// Store keeps encrypted tokens in Redis under <namespace>:token:<connection>.
type Store struct {
	rdb redis.UniversalClient
	c   *Cipher
	ns  string
}

// NewStore returns a store; namespace defaults to "crmpulse".
func NewStore(rdb redis.UniversalClient, c *Cipher, namespace string) *Store {
	if namespace == "" {
		namespace = "crmpulse"
	}
	return &Store{rdb: rdb, c: c, ns: namespace}
}

// Key is the Redis key of a connection's token.
func (s *Store) Key(connection string) string { return s.ns + ":token:" + connection }

// Save encrypts and stores tok for connection.
func (s *Store) Save(ctx context.Context, connection string, tok *oauth2.Token) error {
	if tok == nil {
		return errors.New("secrets: save nil token")
	}
	rec := record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	for _, k := range ExtraKeys {
		if v := extraString(tok, k); v != "" {
			if rec.Extra == nil {
				rec.Extra = map[string]string{}
			}
			rec.Extra[k] = v
		}
	}
	pt, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	sealed := s.c.Seal(pt, []byte(connection))
	now := time.Now().UTC()
	err = s.rdb.HSet(ctx, s.Key(connection), map[string]any{
		"v":        "1",
		"sealed":   base64.StdEncoding.EncodeToString(sealed),
		"saved_at": now.Format(time.RFC3339Nano),
	}).Err()
	if err != nil {
		return fmt.Errorf("secrets: save token of %s: %w", connection, err)
	}
	return nil
}

// Load returns the stored token of connection, ErrNoToken when there is none.
func (s *Store) Load(ctx context.Context, connection string) (*oauth2.Token, error) {
	st, err := s.LoadStored(ctx, connection)
	if err != nil {
		return nil, err
	}
	return st.Token, nil
}

// LoadStored is Load with metadata.
func (s *Store) LoadStored(ctx context.Context, connection string) (Stored, error) {
	m, err := s.rdb.HGetAll(ctx, s.Key(connection)).Result()
	if err != nil {
		return Stored{}, fmt.Errorf("secrets: load token of %s: %w", connection, err)
	}
	if len(m) == 0 || m["sealed"] == "" {
		return Stored{}, fmt.Errorf("%w for connection %s", ErrNoToken, connection)
	}
	sealed, err := base64.StdEncoding.DecodeString(m["sealed"])
	if err != nil {
		return Stored{}, fmt.Errorf("secrets: token of %s: %w", connection, ErrDecrypt)
	}
	pt, err := s.c.Open(sealed, []byte(connection))
	if err != nil {
		return Stored{}, fmt.Errorf("secrets: token of %s: %w", connection, err)
	}
	var rec record
	if err := json.Unmarshal(pt, &rec); err != nil {
		return Stored{}, fmt.Errorf("secrets: token of %s: %w", connection, ErrDecrypt)
	}
	tok := &oauth2.Token{AccessToken: rec.AccessToken, TokenType: rec.TokenType, RefreshToken: rec.RefreshToken, Expiry: rec.Expiry}
	if len(rec.Extra) > 0 {
		extra := make(map[string]any, len(rec.Extra))
		for k, v := range rec.Extra {
			extra[k] = v
		}
		tok = tok.WithExtra(extra)
	}
	saved, _ := time.Parse(time.RFC3339Nano, m["saved_at"])
	return Stored{Token: tok, SavedAt: saved}, nil
}

// Status reports whether a token exists and when it was saved, without
// decrypting it.
func (s *Store) Status(ctx context.Context, connection string) (exists bool, savedAt time.Time, err error) {
	v, err := s.rdb.HGet(ctx, s.Key(connection), "saved_at").Result()
	if errors.Is(err, redis.Nil) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, fmt.Errorf("secrets: status of %s: %w", connection, err)
	}
	t, _ := time.Parse(time.RFC3339Nano, v)
	return true, t, nil
}

// Delete removes the stored token of connection.
func (s *Store) Delete(ctx context.Context, connection string) error {
	return s.rdb.Del(ctx, s.Key(connection)).Err()
}

// TokenSource returns a source that takes tokens from inner and saves each
// one that differs from the last saved (access token, refresh token or any
// ExtraKeys field). A refresh response without a refresh token keeps the
// previous one (x/oauth2 already does so for refresh grants; this also
// covers sources that do not). A failed save fails the call: a rotated
// refresh token that was not persisted would be lost at the next restart.
// ctx bounds the Redis writes. Safe for concurrent use.
func (s *Store) TokenSource(ctx context.Context, connection string, inner oauth2.TokenSource, last *oauth2.Token) oauth2.TokenSource {
	return &persisting{ctx: ctx, s: s, conn: connection, inner: inner, last: last}
}

type persisting struct {
	ctx   context.Context
	s     *Store
	conn  string
	inner oauth2.TokenSource
	mu    sync.Mutex
	last  *oauth2.Token
}

func (p *persisting) Token() (*oauth2.Token, error) {
	tok, err := p.inner.Token()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if tok.RefreshToken == "" && p.last != nil && p.last.RefreshToken != "" {
		cp := *tok
		cp.RefreshToken = p.last.RefreshToken
		tok = &cp
	}
	if !sameToken(tok, p.last) {
		if err := p.s.Save(p.ctx, p.conn, tok); err != nil {
			return nil, err
		}
		p.last = tok
	}
	return tok, nil
}

func sameToken(a, b *oauth2.Token) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.AccessToken != b.AccessToken || a.RefreshToken != b.RefreshToken || !a.Expiry.Equal(b.Expiry) {
		return false
	}
	for _, k := range ExtraKeys {
		if extraString(a, k) != extraString(b, k) {
			return false
		}
	}
	return true
}

func extraString(t *oauth2.Token, k string) string {
	switch v := t.Extra(k).(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprint(v)
	}
}
