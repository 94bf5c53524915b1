package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/store"
)

// NewStore returns a Store on a new, empty database (or namespace) with a
// new, not yet Ensured index of the flavour under test attached.
type NewStore func(t *testing.T) *store.Store

// RunStore runs the contract of store.Store.Search and ReplaceChunksBatch
// over an index flavour: what the store layer promises on top of Run's
// index contract.
//
// The index contract holds single-account filters to the same recall bar as
// every other filter: an index without per-account sets answers them from
// its global graph, where a filter matching 0.05 % of the vectors can miss
// some. Store.Search promises more: a filter naming one account is answered
// exactly (the same hits, order and scores as a float64 brute force over the
// stored vectors), whatever else the filter holds, with or without a
// connection, and it follows chunk replacements, account moves and
// deletions at once. Other filters keep the index's recall.
func RunStore(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewStore)
	}{
		{"AccountSearchExact", testAccountSearchExact},
		{"AccountSearchFollowsChanges", testAccountSearchFollowsChanges},
		{"SearchErrors", testSearchErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

const storeDim = 64

var storeMeta = store.IndexMeta{Embedder: "store-contract", Dimension: storeDim}

func ensuredStore(t *testing.T, newStore NewStore) *store.Store {
	t.Helper()
	st := newStore(t)
	if st.Index() == nil {
		t.Fatal("NewStore returned a store without an index")
	}
	if err := st.Index().Ensure(context.Background(), storeMeta); err != nil {
		t.Fatalf("Ensure(%+v): %v", storeMeta, err)
	}
	return st
}

// writeDataset stores every item of d as the single chunk of its own record
// through ReplaceChunksBatch, alternating two connections, and returns the
// items as stored (ids and attributes as the store fills them).
func writeDataset(t *testing.T, st *store.Store, d *Dataset) []store.Item {
	t.Helper()
	owners := make([]store.OwnerChunks, len(d.Items))
	for i, it := range d.Items {
		ref := store.Ref{Connection: []string{"sf_main", "hs_eu"}[i%2], Object: it.Attrs.Type, ID: it.Attrs.Record}
		owners[i] = store.OwnerChunks{Ref: ref, Chunks: []store.Chunk{{Text: fmt.Sprintf("text of %s", ref), Vector: it.Vector, Attrs: it.Attrs}}}
	}
	if err := st.ReplaceChunksBatch(context.Background(), owners); err != nil {
		t.Fatalf("ReplaceChunksBatch(%d owners): %v", len(owners), err)
	}
	items := make([]store.Item, len(owners))
	for i, o := range owners {
		items[i] = o.Chunks[0].Item()
	}
	return items
}

func storeSearch(t *testing.T, st *store.Store, q store.Query) []store.Hit {
	t.Helper()
	hits, err := st.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Store.Search(k=%d, min %.3f, filter=%+v): %v", q.K, q.MinScore, q.Filter, err)
	}
	return hits
}

// sameHits fails unless got equals want in ids and order, scores within
// 1e-9, attributes equal.
func sameHits(t *testing.T, what string, got, want []store.Hit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d hits %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 || got[i].Attrs != want[i].Attrs {
			t.Fatalf("%s: hit %d = %s %.12f %+v, want %s %.12f %+v", what, i, got[i].ID, got[i].Score, got[i].Attrs, want[i].ID, want[i].Score, want[i].Attrs)
		}
	}
}

func testAccountSearchExact(t *testing.T, newStore NewStore) {
	n := 3000
	if testing.Short() {
		n = 1000
	}
	st := ensuredStore(t, newStore)
	// About ten vectors per account, as a CRM sync writes them: a single
	// account matches 0.1 % of the index.
	d := NewDataset(DatasetOptions{N: n, Dim: storeDim, Accounts: n / 10, Seed: 21})
	items := writeDataset(t, st, d)
	rng := d.Rand()
	mid := float64(1_700_000_000 + 180*86400)
	var indexRecall float64
	queries := 0
	for q := range 60 {
		acct := d.Accounts[rng.IntN(len(d.Accounts))]
		f := store.Filter{Equals: map[string][]string{"account": {acct}}}
		switch q % 5 {
		case 1:
			f.Equals["conn"] = []string{"hs_eu"}
		case 2:
			f.Equals["type"] = []string{store.TypeOpportunity, store.TypeActivity}
		case 3:
			f.Ranges = []store.Range{store.AtLeast("date", mid)}
		case 4:
			f.Equals["conn"] = []string{"sf_main", "hs_eu"}
		}
		k := []int{10, 3, 0, 25}[q%4]
		vec := d.Query()
		minScore := 0.0
		if q%6 == 5 {
			all := Exact(items, vec, f, 0, 100)
			if len(all) > 2 {
				minScore = all[len(all)/2].Score
			}
		}
		want := Exact(items, vec, f, minScore, cmp.Or(k, 10))
		got := storeSearch(t, st, store.Query{Vector: vec, K: k, MinScore: minScore, Filter: f})
		sameHits(t, fmt.Sprintf("query %d (account %s, k %d, min %.3f, filter %+v)", q, acct, k, minScore, f), got, want)
		raw, err := st.Index().Search(context.Background(), store.Query{Vector: vec, K: k, MinScore: minScore, Filter: f})
		if err != nil {
			t.Fatalf("index search: %v", err)
		}
		indexRecall += Recall(raw, want)
		queries++
	}
	t.Logf("%s flavour, %d vectors, %d accounts: Store.Search exact on %d account-scoped queries; the index alone: recall %.3f",
		st.Index().Flavour(), n, len(d.Accounts), queries, indexRecall/float64(queries))

	// Without a connection registry (data written before it existed) the
	// connections are found by scanning and the answers stay exact.
	if err := st.Client().Del(context.Background(), st.Key("conns")).Err(); err != nil {
		t.Fatal(err)
	}
	acct := items[0].Attrs.Account
	f := store.Filter{Equals: map[string][]string{"account": {acct}}}
	vec := d.Query()
	sameHits(t, "search without the connection registry", storeSearch(t, st, store.Query{Vector: vec, K: 50, Filter: f}), Exact(items, vec, f, 0, 50))

	// Other filters go to the index and keep its recall.
	var sum float64
	for q := range 30 {
		_, f := RecallFilters(d, q)
		if len(f.Equals["account"]) == 1 {
			f.Equals["account"] = append(f.Equals["account"], d.Accounts[0])
		}
		vec := d.Query()
		sum += Recall(storeSearch(t, st, store.Query{Vector: vec, K: 10, Filter: f}), Exact(items, vec, f, 0, 10))
	}
	if r := sum / 30; r < MinRecall {
		t.Fatalf("recall@10 of Store.Search on other filters = %.3f, want >= %.2f", r, MinRecall)
	}
}

func testAccountSearchFollowsChanges(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := ensuredStore(t, newStore)
	d := NewDataset(DatasetOptions{N: 12, Dim: storeDim, Accounts: 2, Seed: 22})
	ref := store.Ref{Connection: "sf_main", Object: store.TypeDocument, ID: "069A"}
	chunks := func(acct string, vecs ...int) []store.Chunk {
		out := make([]store.Chunk, len(vecs))
		for i, v := range vecs {
			out[i] = store.Chunk{Text: fmt.Sprint("part ", i), Vector: d.Items[v].Vector, Attrs: store.Attrs{Account: acct, Kind: "contract"}}
		}
		return out
	}
	search := func(acct string, vec int) []string {
		return ids(storeSearch(t, st, store.Query{Vector: d.Items[vec].Vector, K: 10,
			Filter: store.Filter{Equals: map[string][]string{"account": {acct}, "conn": {"sf_main"}}}}))
	}
	if err := st.ReplaceChunks(ctx, ref, "", chunks("001A", 0, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if got := search("001A", 1); len(got) != 3 || got[0] != store.ChunkID(ref, 1) {
		t.Fatalf("after writing 3 chunks: %v, want 3 with %s first", got, store.ChunkID(ref, 1))
	}
	// Fewer chunks: the dropped one is gone at once.
	if err := st.ReplaceChunks(ctx, ref, "", chunks("001A", 3, 4)); err != nil {
		t.Fatal(err)
	}
	if got := search("001A", 4); len(got) != 2 || got[0] != store.ChunkID(ref, 1) {
		t.Fatalf("after shrinking to 2 chunks: %v", got)
	}
	// The record moves to another account.
	if err := st.ReplaceChunks(ctx, ref, "", chunks("001B", 5)); err != nil {
		t.Fatal(err)
	}
	if got := search("001A", 5); len(got) != 0 {
		t.Fatalf("old account still finds moved chunks: %v", got)
	}
	if got := search("001B", 5); len(got) != 1 || got[0] != store.ChunkID(ref, 0) {
		t.Fatalf("new account: %v, want [%s]", got, store.ChunkID(ref, 0))
	}
	// Deleted everywhere.
	if err := st.DeleteRecordEverywhere(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if got := search("001B", 5); len(got) != 0 {
		t.Fatalf("deleted record still found: %v", got)
	}
	if got := search("no-such-account", 5); len(got) != 0 {
		t.Fatalf("unknown account: %v", got)
	}
}

func testSearchErrors(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := ensuredStore(t, newStore)
	vec := NewDataset(DatasetOptions{N: 1, Dim: storeDim, Seed: 23}).Items[0].Vector
	acct := map[string][]string{"account": {"001A"}}
	for _, tc := range []struct {
		name string
		q    store.Query
		want error
	}{
		{"unknown field", store.Query{Vector: vec, Filter: store.Filter{Equals: map[string][]string{"account": {"001A"}, "colour": {"red"}}}}, store.ErrInvalidFilter},
		{"quote", store.Query{Vector: vec, Filter: store.Filter{Equals: map[string][]string{"account": {`0"1`}}}}, store.ErrInvalidFilter},
		{"inverted range", store.Query{Vector: vec, Filter: store.Filter{Equals: acct, Ranges: []store.Range{store.Between("date", 5, 1)}}}, store.ErrInvalidFilter},
		{"dimension", store.Query{Vector: vec[:storeDim-1], Filter: store.Filter{Equals: acct}}, store.ErrDimension},
		{"negative k", store.Query{Vector: vec, K: -1, Filter: store.Filter{Equals: acct}}, nil},
		{"min score above 1", store.Query{Vector: vec, MinScore: 1.5, Filter: store.Filter{Equals: acct}}, nil},
	} {
		_, err := st.Search(ctx, tc.q)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want an error wrapping %v", tc.name, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "001A") && tc.name != "quote" {
			t.Errorf("%s: error %q does not name the account", tc.name, err)
		}
	}
	bare, err := store.New(st.Client(), &store.Options{Namespace: st.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.Search(ctx, store.Query{Vector: vec, Filter: store.Filter{Equals: acct}}); !errors.Is(err, store.ErrNoVectorIndex) {
		t.Errorf("Search without an index: got %v, want ErrNoVectorIndex", err)
	}
}
