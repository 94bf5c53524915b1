package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/store"
)

// TestPersistedSchema pins the key names and hash fields other processes and
// older versions rely on: a renamed or dropped field fails here.
func TestPersistedSchema(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t)
	ref := store.Ref{Connection: "sf", Object: store.TypeOpportunity, ID: "006S"}
	recs := []store.Record{{Ref: ref, AccountID: "001S", Modified: time.Unix(1_700_000_000, 0),
		Fields: map[string]any{"stage": "proposal"}}}
	cp := store.Checkpoint{Connection: "sf", Object: store.TypeOpportunity, Data: []byte(`{}`)}
	if _, err := s.PutRecordsWithCheckpoint(ctx, recs, cp); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceChunks(ctx, ref, recs[0].Hash, chunksFor("001S", "text")); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{
		"crmpulse:acct:sf:001S",
		"crmpulse:chunk:sf:opportunity:006S#0",
		"crmpulse:ckpt:sf:opportunity",
		"crmpulse:conns",
		"crmpulse:ids:sf:opportunity",
		"crmpulse:rchunks:sf:opportunity:006S",
		"crmpulse:rec:sf:opportunity:006S",
		"crmpulse:vs:crm",
		"crmpulse:vs:crm:acct:001S",
		"crmpulse:vs:crm:accts",
		"crmpulse:vs:crm:meta",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys:\n got %q\nwant %q", keys, want)
	}
	for key, fields := range map[string][]string{
		"crmpulse:rec:sf:opportunity:006S":     {"account", "chunked", "conn", "fields", "hash", "id", "modified", "object", "raw"},
		"crmpulse:chunk:sf:opportunity:006S#0": {"account", "attrs", "n", "record", "text", "vec"},
		"crmpulse:vs:crm:meta":                 {"acctsets", "dimension", "embedder", "m", "quant"},
	} {
		got, err := rdb.HKeys(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, fields) {
			t.Errorf("fields of %s:\n got %q\nwant %q", key, got, fields)
		}
	}
	if m := rdb.SMembers(ctx, "crmpulse:conns").Val(); !slices.Equal(m, []string{"sf"}) {
		t.Errorf("connection registry = %q, want [sf]", m)
	}
	h := rdb.HGetAll(ctx, "crmpulse:rec:sf:opportunity:006S").Val()
	if h["modified"] != "2023-11-14T22:13:20Z" || h["fields"] != `{"stage":"proposal"}` || h["raw"] != "null" || h["chunked"] != h["hash"] {
		t.Errorf("record hash = %v", h)
	}
	if v := rdb.HGet(ctx, "crmpulse:chunk:sf:opportunity:006S#0", "vec").Val(); len(v) != 4*dim {
		t.Errorf("stored vector has %d bytes, want %d", len(v), 4*dim)
	}
}
