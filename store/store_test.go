package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

const dim = 16

var meta = store.IndexMeta{Embedder: "test-embedder", Dimension: dim}

// newStore returns a Store on a fresh database with an Ensured vector-set
// index attached.
func newStore(t *testing.T) (*store.Store, *redis.Client) {
	t.Helper()
	rdb := redistest.Client(t)
	s, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := vectorset.New(rdb, s.Key("vs", "crm"), nil)
	if err := idx.Ensure(context.Background(), meta); err != nil {
		t.Fatal(err)
	}
	return s.WithIndex(idx), rdb
}

func vectors(n int, seed uint64) [][]float32 {
	d := storetest.NewDataset(storetest.DatasetOptions{N: n, Dim: dim, Clusters: 4, Seed: seed})
	out := make([][]float32, n)
	for i, it := range d.Items {
		out[i] = it.Vector
	}
	return out
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, redistest.URL(t), &store.Options{Namespace: "acme"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if got := s.Key("vs", "crm"); got != "acme:vs:crm" {
		t.Fatalf("Key = %q", got)
	}
	if _, err := store.Open(ctx, "http://nope", nil); err == nil {
		t.Fatal("Open accepted an http URL")
	}
	if _, err := store.Open(ctx, "redis://127.0.0.1:1/0", nil); err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if _, err := store.New(redistest.Client(t), &store.Options{Namespace: "bad:"}); err == nil {
		t.Fatal("namespace ending in ':' accepted")
	}
}

func TestRefAndChunkID(t *testing.T) {
	r := store.Ref{Connection: "sf_main", Object: "opportunity", ID: "006:Q#1"}
	got, err := store.ParseRef(r.String())
	if err != nil || got != r {
		t.Fatalf("ParseRef(%q) = %+v, %v", r, got, err)
	}
	id := store.ChunkID(r, 12)
	gr, n, err := store.ParseChunkID(id)
	if err != nil || gr != r || n != 12 {
		t.Fatalf("ParseChunkID(%q) = %+v, %d, %v", id, gr, n, err)
	}
	for _, bad := range []string{"nohash", "a:b:c#x", "a:b:c#01", "a:b#1", ":b:c#1"} {
		if _, _, err := store.ParseChunkID(bad); err == nil {
			t.Errorf("ParseChunkID(%q) accepted", bad)
		}
	}
	for _, bad := range []store.Ref{{"", "account", "1"}, {"sf", "acc:ount", "1"}, {"sf", "account", ""}, {"s f", "account", "1"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Manufacturing":         "manufacturing",
		"  Food & Beverage  ":   "food_beverage",
		"51-200":                "51_200",
		"Closed Won":            "closed_won",
		"Café Société":          "cafe_societe",
		"Straße":                "strasse",
		"already_a_slug":        "already_a_slug",
		"":                      "",
		"--":                    "",
		"B2B/SaaS (Enterprise)": "b2b_saas_enterprise",
	} {
		if got := store.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	seen := map[string]string{}
	for _, in := range []string{"製造業", "小売", "小売業", "Строительство", "Bau 建設", "Bau 建物", "金融"} {
		got := store.Slug(in)
		if strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("Slug(%q) = %q has characters outside [a-z0-9_]", in, got)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("Slug(%q) = Slug(%q) = %q", in, prev, got)
		}
		seen[got] = in
		if store.Slug(in) != got {
			t.Errorf("Slug(%q) is not stable", in)
		}
	}
	if got := store.Slug("Bau 建設"); !strings.HasPrefix(got, "bau_h") {
		t.Errorf("Slug(%q) = %q, want the ASCII part kept", "Bau 建設", got)
	}
}

func TestRecordsRoundTripAcrossConnections(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	mod := time.Date(2025, 3, 4, 5, 6, 7, 8000, time.UTC)
	recs := []store.Record{
		{Ref: store.Ref{Connection: "sf", Object: store.TypeAccount, ID: "001A"}, Modified: mod,
			Fields: map[string]any{"name": "Acme & Söhne <GmbH>", "employees": 120.0}, Raw: json.RawMessage(`{"Name":"Acme"}`)},
		{Ref: store.Ref{Connection: "hs", Object: store.TypeAccount, ID: "001A"}, Modified: mod,
			Fields: map[string]any{"name": "Other portal"}},
		{Ref: store.Ref{Connection: "sf", Object: store.TypeOpportunity, ID: "006B"}, AccountID: "001A", Modified: mod,
			Fields: map[string]any{"amount": 5000.5, "stage": "proposal"}},
	}
	changed, err := s.PutRecords(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []bool{true, true, true}) {
		t.Fatalf("changed = %v for new records", changed)
	}
	for _, want := range recs {
		got, err := s.GetRecord(ctx, want.Ref)
		if err != nil {
			t.Fatalf("GetRecord(%s): %v", want.Ref, err)
		}
		if want.Object == store.TypeAccount && got.AccountID != want.ID {
			t.Errorf("account record %s has account %q, want itself", want.Ref, got.AccountID)
		}
		if !got.Modified.Equal(mod) || got.Hash == "" || got.Hash != want.Hash {
			t.Errorf("record %s: modified %v hash %q, want %v %q", want.Ref, got.Modified, got.Hash, mod, want.Hash)
		}
		gf, _ := json.Marshal(got.Fields)
		wf, _ := json.Marshal(want.Fields)
		if string(gf) != string(wf) || string(got.Raw) != string(want.Raw) {
			t.Errorf("record %s: fields %s raw %s, want %s %s", want.Ref, gf, got.Raw, wf, want.Raw)
		}
	}
	if ids, err := s.RecordIDs(ctx, "sf", store.TypeAccount); err != nil || !slices.Equal(ids, []string{"001A"}) {
		t.Fatalf("RecordIDs(sf, account) = %v, %v", ids, err)
	}
	refs, err := s.AccountRecords(ctx, "sf", "001A")
	if err != nil || len(refs) != 2 {
		t.Fatalf("AccountRecords(sf, 001A) = %v, %v; want the account and its opportunity", refs, err)
	}
	if refs, _ := s.AccountRecords(ctx, "hs", "001A"); len(refs) != 1 {
		t.Fatalf("AccountRecords(hs, 001A) = %v; the portals must not mix", refs)
	}
	if _, err := s.GetRecord(ctx, store.Ref{Connection: "sf", Object: "account", ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecord of a missing record: %v", err)
	}

	// Moving the opportunity to another account moves its index entry.
	moved := recs[2]
	moved.AccountID, moved.Hash = "001Z", ""
	if _, err := s.PutRecords(ctx, []store.Record{moved}); err != nil {
		t.Fatal(err)
	}
	if refs, _ := s.AccountRecords(ctx, "sf", "001A"); len(refs) != 1 {
		t.Fatalf("old account still lists %v", refs)
	}
	if refs, _ := s.AccountRecords(ctx, "sf", "001Z"); len(refs) != 1 || refs[0] != moved.Ref {
		t.Fatalf("new account lists %v", refs)
	}
	if _, err := s.PutRecords(ctx, []store.Record{{Ref: store.Ref{Connection: "sf", Object: "account", ID: "x"}, Raw: json.RawMessage("{")}}); err == nil {
		t.Fatal("invalid raw JSON accepted")
	}
}

func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if cp, err := s.GetCheckpoint(ctx, "sf", "account"); err != nil || cp != nil {
		t.Fatalf("missing checkpoint = %q, %v", cp, err)
	}
	if err := s.SetCheckpoint(ctx, "sf", "account", []byte(`{"since":"2025-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	recs := make([]store.Record, 1203) // three transactions
	for i := range recs {
		recs[i] = store.Record{Ref: store.Ref{Connection: "hs", Object: "contact", ID: fmt.Sprint(i)}, AccountID: "c1",
			Fields: map[string]any{"i": i}}
	}
	cp := store.Checkpoint{Connection: "hs", Object: "contact", Data: []byte(`{"after":"1203"}`)}
	if _, err := s.PutRecordsWithCheckpoint(ctx, recs, cp); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.RecordIDs(ctx, "hs", "contact"); len(ids) != 1203 {
		t.Fatalf("%d ids stored, want 1203", len(ids))
	}
	for conn, want := range map[string]string{"sf": `{"since":"2025-01-01T00:00:00Z"}`, "hs": `{"after":"1203"}`} {
		obj := map[string]string{"sf": "account", "hs": "contact"}[conn]
		if got, err := s.GetCheckpoint(ctx, conn, obj); err != nil || string(got) != want {
			t.Fatalf("checkpoint %s:%s = %s, %v; want %s", conn, obj, got, err, want)
		}
	}
	// A checkpoint alone (an empty page) still advances.
	cp.Data = []byte(`{"after":"end"}`)
	if _, err := s.PutRecordsWithCheckpoint(ctx, nil, cp); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCheckpoint(ctx, "hs", "contact"); string(got) != `{"after":"end"}` {
		t.Fatalf("checkpoint after empty page = %s", got)
	}
	// A failing record write leaves the checkpoint where it was.
	bad := []store.Record{{Ref: store.Ref{Connection: "hs", Object: "contact", ID: "x"}, Fields: map[string]any{"f": func() {}}}}
	cp.Data = []byte(`{"after":"never"}`)
	if _, err := s.PutRecordsWithCheckpoint(ctx, bad, cp); err == nil {
		t.Fatal("unencodable fields accepted")
	}
	if got, _ := s.GetCheckpoint(ctx, "hs", "contact"); string(got) != `{"after":"end"}` {
		t.Fatalf("checkpoint advanced past a failed write: %s", got)
	}
}

var seed atomic.Uint64

func chunksFor(acct string, texts ...string) []store.Chunk {
	vecs := vectors(len(texts), seed.Add(1))
	out := make([]store.Chunk, len(texts))
	for i, tx := range texts {
		out[i] = store.Chunk{Text: tx, Vector: vecs[i], Attrs: store.Attrs{Account: acct, Industry: "retail"}}
	}
	return out
}

func TestReplaceChunks(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t)
	rec := store.Record{Ref: store.Ref{Connection: "sf", Object: store.TypeDocument, ID: "069X"}, AccountID: "001A",
		Fields: map[string]any{"title": "contract"}}
	recs := []store.Record{rec}
	if _, err := s.PutRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	chunks := chunksFor("001A", "first part", "second part", "third part")
	if err := s.ReplaceChunks(ctx, rec.Ref, recs[0].Hash, chunks); err != nil {
		t.Fatal(err)
	}
	ids, err := s.ChunkIDs(ctx, rec.Ref)
	want := []string{"sf:document:069X#0", "sf:document:069X#1", "sf:document:069X#2"}
	if err != nil || !slices.Equal(ids, want) {
		t.Fatalf("ChunkIDs = %v, %v; want %v", ids, err, want)
	}
	hits, err := s.Index().Search(ctx, store.Query{Vector: chunks[1].Vector, K: 1,
		Filter: store.Filter{Equals: map[string][]string{"account": {"001A"}}}})
	if err != nil || len(hits) != 1 || hits[0].ID != want[1] {
		t.Fatalf("search = %v, %v", hits, err)
	}
	if a := hits[0].Attrs; a.Type != store.TypeDocument || a.Connection != "sf" || a.Record != "069X" {
		t.Fatalf("chunk attributes not filled from the record: %+v", a)
	}
	got, err := s.GetChunks(ctx, []string{want[2], "sf:document:nope#0", want[0]})
	if err != nil || len(got) != 2 || got[0].Text != "third part" || got[1].Text != "first part" || got[0].N != 2 || got[0].Record != rec.Ref {
		t.Fatalf("GetChunks = %+v, %v", got, err)
	}

	// Unchanged content needs no chunking; changed content does.
	changed, _ := s.PutRecords(ctx, []store.Record{{Ref: rec.Ref, AccountID: "001A", Fields: rec.Fields}})
	if changed[0] {
		t.Fatal("record with chunks made from the same content reported as changed")
	}
	changed, _ = s.PutRecords(ctx, []store.Record{{Ref: rec.Ref, AccountID: "001A", Fields: map[string]any{"title": "v2"}}})
	if !changed[0] {
		t.Fatal("changed content not reported")
	}

	// Fewer chunks: the stale ones leave the hashes and the index.
	if err := s.ReplaceChunks(ctx, rec.Ref, "", chunksFor("001A", "only part")); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.ChunkIDs(ctx, rec.Ref); !slices.Equal(ids, want[:1]) {
		t.Fatalf("ChunkIDs after shrinking = %v", ids)
	}
	if n, _ := s.Index().Count(ctx); n != 1 {
		t.Fatalf("index holds %d vectors, want 1", n)
	}
	for _, id := range want[1:] {
		if n, _ := rdb.Exists(ctx, "crmpulse:chunk:"+id).Result(); n != 0 {
			t.Fatalf("stale chunk hash %s left", id)
		}
	}

	// A wrong-dimension vector is refused before anything changes.
	bad := chunksFor("001A", "x")
	bad[0].Vector = bad[0].Vector[:dim-1]
	if err := s.ReplaceChunks(ctx, rec.Ref, "", bad); !errors.Is(err, store.ErrDimension) {
		t.Fatalf("ReplaceChunks with a short vector: %v", err)
	}
	if err := (&store.Store{}).ReplaceChunks(ctx, rec.Ref, "", nil); !errors.Is(err, store.ErrNoVectorIndex) {
		t.Fatalf("ReplaceChunks without an index: %v", err)
	}
}

// mentions lists every key, hash field or value, set member and vector-set
// element or attribute in the database that contains needle.
func mentions(t *testing.T, rdb *redis.Client, needle string) []string {
	t.Helper()
	ctx := context.Background()
	var found []string
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if strings.Contains(key, needle) {
			found = append(found, "key "+key)
			continue
		}
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		switch typ {
		case "string":
			values = []string{rdb.Get(ctx, key).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				values = append(values, f, v)
			}
		case "set":
			values = rdb.SMembers(ctx, key).Val()
		case "vectorset":
			n := rdb.VCard(ctx, key).Val()
			for _, el := range rdb.VRandMemberCount(ctx, key, int(n)).Val() {
				values = append(values, el, rdb.VGetAttr(ctx, key, el).Val())
			}
		default:
			t.Fatalf("unexpected key type %s for %s", typ, key)
		}
		for _, v := range values {
			if strings.Contains(v, needle) {
				found = append(found, fmt.Sprintf("%s %s: %.80q", typ, key, v))
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}

func TestEraseAccountLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t)
	const victim, other = "001Victim77", "001Keep88"
	var recs []store.Record
	for _, acct := range []string{victim, other} {
		recs = append(recs,
			store.Record{Ref: store.Ref{Connection: "sf", Object: store.TypeAccount, ID: acct}, Fields: map[string]any{"name": "n " + acct}},
			store.Record{Ref: store.Ref{Connection: "sf", Object: store.TypeContact, ID: "003" + acct}, AccountID: acct, Fields: map[string]any{"email": acct + "@example.com"}},
			store.Record{Ref: store.Ref{Connection: "sf", Object: store.TypeActivity, ID: "00T" + acct}, AccountID: acct, Fields: map[string]any{"subject": "call " + acct}},
		)
	}
	if _, err := s.PutRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := s.ReplaceChunks(ctx, r.Ref, r.Hash, chunksFor(r.AccountID, "about "+r.ID, "more on "+r.ID)); err != nil {
			t.Fatal(err)
		}
	}
	// A chunked document with no record of its own, attributed to the victim.
	orphan := store.Ref{Connection: "sf", Object: store.TypeDocument, ID: "069Orphan"}
	if err := s.ReplaceChunks(ctx, orphan, "", chunksFor(victim, "attachment of "+victim)); err != nil {
		t.Fatal(err)
	}
	if len(mentions(t, rdb, victim)) == 0 {
		t.Fatal("victim not stored; the test proves nothing")
	}
	n, err := s.EraseAccount(ctx, "sf", victim)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("EraseAccount removed %d records, want 4", n)
	}
	if left := mentions(t, rdb, victim); len(left) > 0 {
		t.Fatalf("after erasure the database still mentions %s:\n%s", victim, strings.Join(left, "\n"))
	}
	if left := mentions(t, rdb, "069Orphan"); len(left) > 0 {
		t.Fatalf("after erasure the database still mentions the orphan chunk:\n%s", strings.Join(left, "\n"))
	}
	if refs, _ := s.AccountRecords(ctx, "sf", other); len(refs) != 3 {
		t.Fatalf("other account lost records: %v", refs)
	}
	if c, _ := s.Index().Count(ctx); c != 6 {
		t.Fatalf("index holds %d vectors, want the other account's 6", c)
	}
}

func TestRebuildIndexFromStoredChunks(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t)
	var all []store.Chunk
	for i := range 30 {
		r := store.Ref{Connection: "hs", Object: store.TypeActivity, ID: fmt.Sprint(1000 + i)}
		ch := chunksFor(fmt.Sprint(i%3), "a", "b")
		if err := s.ReplaceChunks(ctx, r, "", ch); err != nil {
			t.Fatal(err)
		}
		all = append(all, ch...)
	}
	if err := s.Index().Drop(ctx); err != nil {
		t.Fatal(err)
	}
	idx := vectorset.New(rdb, s.Key("vs", "crm"), nil)
	if err := idx.Ensure(ctx, meta); err != nil {
		t.Fatal(err)
	}
	n, err := s.RebuildIndex(ctx, idx)
	if err != nil || n != 60 {
		t.Fatalf("RebuildIndex = %d, %v; want 60", n, err)
	}
	for _, c := range all[:10] {
		hits, err := idx.Search(ctx, store.Query{Vector: c.Vector, K: 1, Filter: store.Filter{Equals: map[string][]string{"account": {c.Attrs.Account}}}})
		if err != nil || len(hits) != 1 || hits[0].ID != c.ID || hits[0].Attrs != c.Attrs {
			t.Fatalf("rebuilt search for %s = %+v, %v", c.ID, hits, err)
		}
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	rec := store.Record{Ref: store.Ref{Connection: "sf", Object: store.TypeOpportunity, ID: "006R"}, AccountID: "001R",
		Fields: map[string]any{"stage": "negotiation"}}
	recs := []store.Record{rec}
	cp := store.Checkpoint{Connection: "sf", Object: store.TypeOpportunity, Data: []byte(`{"since":"x"}`)}
	if _, err := s.PutRecordsWithCheckpoint(ctx, recs, cp); err != nil {
		t.Fatal(err)
	}
	chunks := chunksFor("001R", "renewal risk discussed", "budget approved")
	if err := s.ReplaceChunks(ctx, rec.Ref, recs[0].Hash, chunks); err != nil {
		t.Fatal(err)
	}
	if err := redistest.Shared(t).Restart(); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecord(ctx, rec.Ref)
	if err != nil || got.Fields["stage"] != "negotiation" || got.Hash != recs[0].Hash {
		t.Fatalf("record after restart = %+v, %v", got, err)
	}
	if b, err := s.GetCheckpoint(ctx, "sf", store.TypeOpportunity); err != nil || string(b) != `{"since":"x"}` {
		t.Fatalf("checkpoint after restart = %s, %v", b, err)
	}
	if m, err := s.Index().Meta(ctx); err != nil || m != meta {
		t.Fatalf("index meta after restart = %+v, %v", m, err)
	}
	for _, f := range []store.Filter{{}, {Equals: map[string][]string{"account": {"001R"}}}} {
		hits, err := s.Index().Search(ctx, store.Query{Vector: chunks[1].Vector, K: 2, Filter: f})
		if err != nil || len(hits) != 2 || hits[0].ID != chunks[1].ID {
			t.Fatalf("search (filter %+v) after restart = %+v, %v", f, hits, err)
		}
	}
	cs, err := s.GetChunks(ctx, []string{chunks[0].ID})
	if err != nil || len(cs) != 1 || cs[0].Text != "renewal risk discussed" {
		t.Fatalf("chunks after restart = %+v, %v", cs, err)
	}
	if changed, _ := s.PutRecords(ctx, []store.Record{{Ref: rec.Ref, AccountID: "001R", Fields: rec.Fields}}); changed[0] {
		t.Fatal("chunked mark lost in restart")
	}
}

func TestDeletePrefix(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	// 2500 keys under a prefix holding glob characters, and keys a glob
	// reading of it would also match.
	pipe := rdb.Pipeline()
	for i := range 2500 {
		pipe.Set(ctx, fmt.Sprintf("ns[1]*:k%d", i), "v", 0)
	}
	pipe.Set(ctx, "ns1x:k", "keep", 0)
	pipe.Set(ctx, "ns[1]", "keep", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := store.DeletePrefix(ctx, rdb, "ns[1]*:")
	if err != nil || n != 2500 {
		t.Fatalf("deleted %d, %v; want 2500", n, err)
	}
	keys, _ := rdb.Keys(ctx, "*").Result()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"ns1x:k", "ns[1]"}) {
		t.Errorf("left %v", keys)
	}
}
