// Package storetest is the contract suite every store.VectorIndex flavour
// passes against a real Redis.
//
// A flavour's test calls Run with a constructor returning a new, empty index
// (on its own database or under its own name) that has not been Ensured yet:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, meta store.IndexMeta) store.VectorIndex {
//			return vectorset.New(redistest.Client(t), "vs:test", nil)
//		})
//	}
//
// meta is the metadata the subtest will Ensure the index with; flavours that
// need the dimension before Ensure may use it. The suite covers upsert,
// search, delete and count, attribute round-trips, every filter kind,
// MinScore, K, metadata and dimension refusals, drop, idempotent upserts,
// concurrent use, and recall@10 of filtered queries on 10,000 clustered
// vectors against an exact brute force (2,000 with -short).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/crmpulse/crmpulse/store"
)

// NewIndex returns a new, empty, not yet Ensured index for one subtest.
type NewIndex func(t *testing.T, meta store.IndexMeta) store.VectorIndex

// MinRecall is the recall@10 every flavour must reach on filtered queries.
const MinRecall = 0.95

// Run runs the whole contract suite.
func Run(t *testing.T, newIndex NewIndex) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewIndex)
	}{
		{"Flavour", testFlavour},
		{"NoIndexBeforeEnsure", testNoIndexBeforeEnsure},
		{"EnsureAndMeta", testEnsureAndMeta},
		{"MetaMismatch", testMetaMismatch},
		{"DimensionRefused", testDimensionRefused},
		{"UpsertSearchDeleteCount", testUpsertSearchDeleteCount},
		{"AttrsRoundTrip", testAttrsRoundTrip},
		{"IdempotentUpsert", testIdempotentUpsert},
		{"DeleteMissing", testDeleteMissing},
		{"Filters", testFilters},
		{"AccountMove", testAccountMove},
		{"InvalidInput", testInvalidInput},
		{"MinScore", testMinScore},
		{"K", testK},
		{"Drop", testDrop},
		{"Concurrent", testConcurrent},
		{"Recall", testRecall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newIndex) })
	}
}

const smallDim = 32

var smallMeta = store.IndexMeta{Embedder: "test-embedder-v1", Dimension: smallDim}

// ensured returns a new index Ensured with meta.
func ensured(t *testing.T, newIndex NewIndex, meta store.IndexMeta) store.VectorIndex {
	t.Helper()
	idx := newIndex(t, meta)
	if err := idx.Ensure(context.Background(), meta); err != nil {
		t.Fatalf("Ensure(%+v): %v", meta, err)
	}
	return idx
}

func small(n int, seed uint64) *Dataset {
	return NewDataset(DatasetOptions{N: n, Dim: smallDim, Clusters: 8, Accounts: 10, Seed: seed})
}

func upsert(t *testing.T, idx store.VectorIndex, items []store.Item) {
	t.Helper()
	if err := idx.Upsert(context.Background(), items); err != nil {
		t.Fatalf("Upsert(%d items): %v", len(items), err)
	}
}

func search(t *testing.T, idx store.VectorIndex, q store.Query) []store.Hit {
	t.Helper()
	hits, err := idx.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(k=%d, filter=%+v): %v", q.K, q.Filter, err)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score+1e-9 {
			t.Fatalf("hits not best first: %s %.4f before %s %.4f", hits[i-1].ID, hits[i-1].Score, hits[i].ID, hits[i].Score)
		}
	}
	for _, h := range hits {
		if h.Score < 0 || h.Score > 1+1e-6 {
			t.Fatalf("hit %s score %v outside [0,1]", h.ID, h.Score)
		}
		if !q.Filter.Match(h.Attrs) {
			t.Fatalf("hit %s attrs %+v do not pass filter %+v", h.ID, h.Attrs, q.Filter)
		}
	}
	return hits
}

func count(t *testing.T, idx store.VectorIndex) int64 {
	t.Helper()
	n, err := idx.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func ids(hits []store.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func testFlavour(t *testing.T, newIndex NewIndex) {
	if f := newIndex(t, smallMeta).Flavour(); f == "" {
		t.Fatal("Flavour() is empty")
	}
}

func testNoIndexBeforeEnsure(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := newIndex(t, smallMeta)
	if _, err := idx.Meta(ctx); !errors.Is(err, store.ErrNoIndex) {
		t.Fatalf("Meta before Ensure: got %v, want ErrNoIndex", err)
	}
	err := idx.Upsert(ctx, small(1, 1).Items)
	if !errors.Is(err, store.ErrNoIndex) {
		t.Fatalf("Upsert before Ensure: got %v, want ErrNoIndex", err)
	}
}

func testEnsureAndMeta(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	if err := idx.Ensure(ctx, smallMeta); err != nil {
		t.Fatalf("second Ensure with the same meta: %v", err)
	}
	got, err := idx.Meta(ctx)
	if err != nil || got != smallMeta {
		t.Fatalf("Meta() = %+v, %v; want %+v", got, err, smallMeta)
	}
	if n := count(t, idx); n != 0 {
		t.Fatalf("new index Count = %d", n)
	}
}

func testMetaMismatch(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	upsert(t, idx, small(5, 2).Items)
	for _, want := range []store.IndexMeta{
		{Embedder: "other-embedder", Dimension: smallDim},
		{Embedder: smallMeta.Embedder, Dimension: smallDim * 2},
	} {
		err := idx.Ensure(ctx, want)
		if !errors.Is(err, store.ErrIndexMismatch) {
			t.Fatalf("Ensure(%+v) on an index built with %+v: got %v, want ErrIndexMismatch", want, smallMeta, err)
		}
		var me *store.MismatchError
		if !errors.As(err, &me) || me.Have != smallMeta || me.Want != want {
			t.Fatalf("Ensure(%+v): error %v is not a *MismatchError with Have %+v and Want %+v", want, err, smallMeta, want)
		}
		if !strings.Contains(err.Error(), want.Embedder) || !strings.Contains(err.Error(), smallMeta.Embedder) {
			t.Fatalf("mismatch error %q does not name both embedders", err)
		}
	}
	if got, err := idx.Meta(ctx); err != nil || got != smallMeta {
		t.Fatalf("Meta after refused Ensure = %+v, %v; want %+v unchanged", got, err, smallMeta)
	}
	if n := count(t, idx); n != 5 {
		t.Fatalf("Count after refused Ensure = %d, want 5", n)
	}
}

func testDimensionRefused(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	items := small(3, 3).Items
	items[2].Vector = items[2].Vector[:smallDim-1]
	if err := idx.Upsert(ctx, items); !errors.Is(err, store.ErrDimension) {
		t.Fatalf("Upsert with a %d-d vector into a %d-d index: got %v, want ErrDimension", smallDim-1, smallDim, err)
	}
	if n := count(t, idx); n != 0 {
		t.Fatalf("refused Upsert wrote %d vectors; nothing may be sent", n)
	}
	_, err := idx.Search(ctx, store.Query{Vector: make([]float32, smallDim+1)})
	if !errors.Is(err, store.ErrDimension) {
		t.Fatalf("Search with a %d-d vector: got %v, want ErrDimension", smallDim+1, err)
	}
}

func testUpsertSearchDeleteCount(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	d := small(60, 4)
	upsert(t, idx, d.Items)
	if n := count(t, idx); n != 60 {
		t.Fatalf("Count = %d, want 60", n)
	}
	for _, i := range []int{0, 17, 59} {
		hits := search(t, idx, store.Query{Vector: d.Items[i].Vector, K: 5})
		if len(hits) != 5 || hits[0].ID != d.Items[i].ID || hits[0].Score < 0.99 {
			t.Fatalf("search for item %s's own vector: got %v (top score %v), want it first with score >= 0.99", d.Items[i].ID, ids(hits), scoreOf(hits))
		}
	}
	gone := []string{d.Items[0].ID, d.Items[17].ID}
	if err := idx.Delete(ctx, gone...); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := count(t, idx); n != 58 {
		t.Fatalf("Count after deleting 2 = %d, want 58", n)
	}
	for _, i := range []int{0, 17} {
		for _, h := range search(t, idx, store.Query{Vector: d.Items[i].Vector, K: 20}) {
			if h.ID == d.Items[i].ID {
				t.Fatalf("deleted item %s still returned", h.ID)
			}
		}
		f := store.Filter{Equals: map[string][]string{"account": {d.Items[i].Attrs.Account}}}
		for _, h := range search(t, idx, store.Query{Vector: d.Items[i].Vector, K: 20, Filter: f}) {
			if h.ID == d.Items[i].ID {
				t.Fatalf("deleted item %s still returned by an account-scoped search", h.ID)
			}
		}
	}
}

func scoreOf(hits []store.Hit) float64 {
	if len(hits) == 0 {
		return math.NaN()
	}
	return hits[0].Score
}

func testAttrsRoundTrip(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(3, 5)
	full := store.Attrs{
		Type: store.TypeOpportunity, Connection: "hubspot-eu", Account: "001AbC000009xYz",
		Record: "006Q0:x-1", Industry: store.Slug("Food & Beverage"), SizeBand: "51_200",
		Stage: "closed_won", Segment: store.Slug("小売"), Kind: "email",
		Date: 1_731_000_000, Amount: 12345.75,
	}
	items := []store.Item{
		{ID: "hubspot-eu:opportunity:006Q0:x-1#0", Vector: d.Items[0].Vector, Attrs: full},
		{ID: "hubspot-eu:account:001AbC000009xYz#12", Vector: d.Items[1].Vector},
	}
	upsert(t, idx, items)
	for _, it := range items {
		hits := search(t, idx, store.Query{Vector: it.Vector, K: 1})
		if len(hits) != 1 || hits[0].ID != it.ID {
			t.Fatalf("own-vector search for %s returned %v", it.ID, ids(hits))
		}
		if hits[0].Attrs != it.Attrs {
			t.Fatalf("attributes of %s:\n got %+v\nwant %+v", it.ID, hits[0].Attrs, it.Attrs)
		}
	}
}

func testIdempotentUpsert(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(20, 6)
	upsert(t, idx, d.Items)
	upsert(t, idx, d.Items)
	if n := count(t, idx); n != 20 {
		t.Fatalf("Count after upserting the same 20 items twice = %d", n)
	}
	changed := d.Items[3]
	changed.Attrs.Industry = "changed_industry"
	changed.Vector = d.Items[4].Vector
	upsert(t, idx, []store.Item{changed})
	if n := count(t, idx); n != 20 {
		t.Fatalf("Count after replacing one item = %d", n)
	}
	hits := search(t, idx, store.Query{Vector: changed.Vector, K: 20,
		Filter: store.Filter{Equals: map[string][]string{"industry": {"changed_industry"}}}})
	if len(hits) != 1 || hits[0].ID != changed.ID || hits[0].Score < 0.99 {
		t.Fatalf("replaced item: got %v (score %v), want only %s with its new vector", ids(hits), scoreOf(hits), changed.ID)
	}
	old := store.Filter{Equals: map[string][]string{"industry": {d.Items[3].Attrs.Industry}}}
	for _, h := range search(t, idx, store.Query{Vector: d.Items[3].Vector, K: 20, Filter: old}) {
		if h.ID == changed.ID {
			t.Fatalf("replaced item %s still matches its old industry", h.ID)
		}
	}
}

func testDeleteMissing(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	if err := idx.Delete(ctx); err != nil {
		t.Fatalf("Delete() with no ids: %v", err)
	}
	if err := idx.Delete(ctx, "never-added", "sf:account:nope#0"); err != nil {
		t.Fatalf("Delete of missing ids on an empty index: %v", err)
	}
	upsert(t, idx, small(4, 7).Items)
	if err := idx.Delete(ctx, "never-added"); err != nil {
		t.Fatalf("Delete of a missing id: %v", err)
	}
	if n := count(t, idx); n != 4 {
		t.Fatalf("Count = %d, want 4", n)
	}
	hits, err := idx.Search(ctx, store.Query{Vector: small(1, 8).Items[0].Vector,
		Filter: store.Filter{Equals: map[string][]string{"account": {"no-such-account"}}}})
	if err != nil || len(hits) != 0 {
		t.Fatalf("search of an unknown account = %v, %v; want no hits, no error", ids(hits), err)
	}
}

func testFilters(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(400, 9)
	upsert(t, idx, d.Items)
	acct := d.Items[0].Attrs.Account
	mid := float64(d.Items[0].Attrs.Date)
	cases := []struct {
		name string
		f    store.Filter
	}{
		{"none", store.Filter{}},
		{"equals one", store.Filter{Equals: map[string][]string{"industry": {"retail"}}}},
		{"equals many", store.Filter{Equals: map[string][]string{"industry": {"retail", "finance", "energy"}}}},
		{"two fields", store.Filter{Equals: map[string][]string{"type": {store.TypeOpportunity}, "stage": {"proposal", "negotiation"}}}},
		{"min", store.Filter{Ranges: []store.Range{store.AtLeast("date", mid)}}},
		{"max", store.Filter{Ranges: []store.Range{store.AtMost("date", mid)}}},
		{"between", store.Filter{Ranges: []store.Range{store.Between("amount", 20000, 60000)}}},
		{"combined", store.Filter{Equals: map[string][]string{"industry": {"software", "retail", "finance"}, "size": {"51_200", "1_50"}},
			Ranges: []store.Range{store.AtLeast("date", mid), store.AtLeast("amount", 0.5)}}},
		{"account", store.Filter{Equals: map[string][]string{"account": {acct}}}},
		{"account and type", store.Filter{Equals: map[string][]string{"account": {acct}, "type": {store.TypeActivity, store.TypeDocument}}}},
		{"account and date", store.Filter{Equals: map[string][]string{"account": {acct}}, Ranges: []store.Range{store.AtLeast("date", mid)}}},
		{"accounts", store.Filter{Equals: map[string][]string{"account": {acct, d.Items[1].Attrs.Account}}}},
		{"negative bound", store.Filter{Ranges: []store.Range{store.Between("amount", -1e9, 3000)}}},
		{"matches nothing", store.Filter{Equals: map[string][]string{"industry": {"no_such_industry"}}}},
		{"empty range", store.Filter{Ranges: []store.Range{store.Between("date", 1, 2)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sum float64
			const queries = 5
			for qi := range queries {
				vec := d.Items[qi*7].Vector
				want := Exact(d.Items, vec, tc.f, 0, 10)
				got := search(t, idx, store.Query{Vector: vec, K: 10, Filter: tc.f})
				if len(got) != len(want) {
					t.Fatalf("query %d: %d hits, want %d (matching items: %d)", qi, len(got), len(want), len(Exact(d.Items, vec, tc.f, 0, 1<<30)))
				}
				sum += Recall(got, want)
			}
			if r := sum / queries; r < 0.9 {
				t.Fatalf("recall@10 on 400 items = %.3f, want >= 0.9", r)
			}
		})
	}
}

func testAccountMove(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(10, 10)
	upsert(t, idx, d.Items)
	it := d.Items[0]
	from := it.Attrs.Account
	it.Attrs.Account = "001Moved000001"
	upsert(t, idx, []store.Item{it})
	for _, h := range search(t, idx, store.Query{Vector: it.Vector, K: 10, Filter: store.Filter{Equals: map[string][]string{"account": {from}}}}) {
		if h.ID == it.ID {
			t.Fatalf("item %s moved to another account still found under %s", it.ID, from)
		}
	}
	hits := search(t, idx, store.Query{Vector: it.Vector, K: 10, Filter: store.Filter{Equals: map[string][]string{"account": {it.Attrs.Account}}}})
	if len(hits) != 1 || hits[0].ID != it.ID {
		t.Fatalf("search of the new account = %v, want [%s]", ids(hits), it.ID)
	}
	it.Attrs.Account = ""
	upsert(t, idx, []store.Item{it})
	hits = search(t, idx, store.Query{Vector: it.Vector, K: 10, Filter: store.Filter{Equals: map[string][]string{"account": {"001Moved000001"}}}})
	if len(hits) != 0 {
		t.Fatalf("item without an account still found under its former account: %v", ids(hits))
	}
}

func testInvalidInput(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	vec := small(1, 11).Items[0].Vector
	for _, f := range []store.Filter{
		{Equals: map[string][]string{"colour": {"red"}}},
		{Equals: map[string][]string{"industry": {}}},
		{Equals: map[string][]string{"industry": {`re"tail`}}},
		{Equals: map[string][]string{"account": {`a\b`}}},
		{Ranges: []store.Range{store.AtLeast("height", 1)}},
		{Ranges: []store.Range{store.Between("date", 5, 1)}},
		{Ranges: []store.Range{{Field: "date"}}},
	} {
		if _, err := idx.Search(ctx, store.Query{Vector: vec, Filter: f}); !errors.Is(err, store.ErrInvalidFilter) {
			t.Errorf("Search with filter %+v: got %v, want ErrInvalidFilter", f, err)
		}
	}
	bad := store.Item{ID: "x#0", Vector: vec, Attrs: store.Attrs{Industry: "a\"b"}}
	if err := idx.Upsert(ctx, []store.Item{bad}); !errors.Is(err, store.ErrInvalidAttrs) {
		t.Errorf("Upsert with a quote in an attribute: got %v, want ErrInvalidAttrs", err)
	}
	if n := count(t, idx); n != 0 {
		t.Errorf("refused Upsert wrote %d vectors", n)
	}
}

func testMinScore(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(300, 12)
	upsert(t, idx, d.Items)
	vec := d.Items[5].Vector
	all := Exact(d.Items, vec, store.Filter{}, 0, len(d.Items))
	threshold := all[15].Score // about 15 items above it
	hits := search(t, idx, store.Query{Vector: vec, K: 100, MinScore: threshold})
	for _, h := range hits {
		if h.Score < threshold {
			t.Fatalf("hit %s score %.4f below MinScore %.4f", h.ID, h.Score, threshold)
		}
	}
	// Quantised scores are approximate: items clearly above the threshold
	// must be there.
	got := map[string]bool{}
	for _, h := range hits {
		got[h.ID] = true
	}
	for _, w := range all {
		if w.Score >= threshold+0.01 && !got[w.ID] {
			t.Fatalf("item %s with score %.4f missing for MinScore %.4f (got %d hits)", w.ID, w.Score, threshold, len(hits))
		}
	}
	if hits := search(t, idx, store.Query{Vector: vec, K: 10, MinScore: 1}); len(hits) > 1 {
		t.Fatalf("MinScore 1 returned %d hits", len(hits))
	}
}

func testK(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(40, 13)
	upsert(t, idx, d.Items)
	vec := d.Items[0].Vector
	for _, tc := range []struct{ k, want int }{{1, 1}, {3, 3}, {0, 10}, {25, 25}, {100, 40}} {
		if got := search(t, idx, store.Query{Vector: vec, K: tc.k}); len(got) != tc.want {
			t.Errorf("K=%d: %d hits, want %d", tc.k, len(got), tc.want)
		}
	}
	if _, err := idx.Search(context.Background(), store.Query{Vector: vec, K: -1}); err == nil {
		t.Error("K=-1 accepted")
	}
}

func testDrop(t *testing.T, newIndex NewIndex) {
	ctx := context.Background()
	idx := ensured(t, newIndex, smallMeta)
	d := small(30, 14)
	upsert(t, idx, d.Items)
	if err := idx.Drop(ctx); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if _, err := idx.Meta(ctx); !errors.Is(err, store.ErrNoIndex) {
		t.Fatalf("Meta after Drop: got %v, want ErrNoIndex", err)
	}
	other := store.IndexMeta{Embedder: "rebuilt", Dimension: smallDim}
	if err := idx.Ensure(ctx, other); err != nil {
		t.Fatalf("Ensure with new meta after Drop: %v", err)
	}
	if n := count(t, idx); n != 0 {
		t.Fatalf("Count after Drop and Ensure = %d", n)
	}
	f := store.Filter{Equals: map[string][]string{"account": {d.Items[0].Attrs.Account}}}
	if hits := search(t, idx, store.Query{Vector: d.Items[0].Vector, Filter: f}); len(hits) != 0 {
		t.Fatalf("account-scoped search after Drop returned %v", ids(hits))
	}
}

func testConcurrent(t *testing.T, newIndex NewIndex) {
	idx := ensured(t, newIndex, smallMeta)
	d := small(200, 15)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- idx.Upsert(context.Background(), d.Items[w*50:(w+1)*50])
		}()
		go func() {
			defer wg.Done()
			_, err := idx.Search(context.Background(), store.Query{Vector: d.Items[w].Vector,
				Filter: store.Filter{Equals: map[string][]string{"industry": {"retail"}}}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, idx); n != 200 {
		t.Fatalf("Count after concurrent upserts = %d, want 200", n)
	}
}

// RecallFilters returns the filter mix of the recall test and benchmarks for
// a dataset: broad categorical, categorical plus date, type plus amount, one
// account, several accounts, and none.
func RecallFilters(d *Dataset, q int) (string, store.Filter) {
	rng := d.Rand()
	mid := float64(1_700_000_000 + 180*86400)
	switch q % 6 {
	case 0:
		return "industry", store.Filter{Equals: map[string][]string{"industry": {Industries[rng.IntN(len(Industries))]}}}
	case 1:
		i := rng.IntN(len(Industries))
		return "industries+date", store.Filter{Equals: map[string][]string{"industry": {Industries[i], Industries[(i+3)%len(Industries)]}},
			Ranges: []store.Range{store.AtLeast("date", mid)}}
	case 2:
		return "type+amount", store.Filter{Equals: map[string][]string{"type": {store.TypeOpportunity}}, Ranges: []store.Range{store.Between("amount", 10000, 80000)}}
	case 3:
		return "account", store.Filter{Equals: map[string][]string{"account": {d.Accounts[rng.IntN(len(d.Accounts))]}}}
	case 4:
		return "stage+size", store.Filter{Equals: map[string][]string{"stage": {"proposal", "negotiation", "qualification"}, "size": {"51_200", "201_1000"}}}
	default:
		return "none", store.Filter{}
	}
}

func testRecall(t *testing.T, newIndex NewIndex) {
	n, queries := 10_000, 120
	if testing.Short() {
		n, queries = 2_000, 60
	}
	const dim = 384
	meta := store.IndexMeta{Embedder: "recall-test", Dimension: dim}
	idx := ensured(t, newIndex, meta)
	d := NewDataset(DatasetOptions{N: n, Dim: dim, Seed: 42})
	upsert(t, idx, d.Items)
	if c := count(t, idx); c != int64(n) {
		t.Fatalf("Count = %d, want %d", c, n)
	}
	sums := map[string]float64{}
	nums := map[string]int{}
	var total float64
	for q := range queries {
		name, f := RecallFilters(d, q)
		vec := d.Query()
		want := Exact(d.Items, vec, f, 0, 10)
		got := search(t, idx, store.Query{Vector: vec, K: 10, Filter: f})
		r := Recall(got, want)
		sums[name] += r
		nums[name]++
		total += r
	}
	names := make([]string, 0, len(sums))
	for k := range sums {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s=%.3f", k, sums[k]/float64(nums[k])))
	}
	recall := total / float64(queries)
	t.Logf("%s flavour: recall@10 over %d vectors (%d-d), %d filtered queries: %.4f (%s)", idx.Flavour(), n, dim, queries, recall, strings.Join(parts, " "))
	if recall < MinRecall {
		t.Fatalf("recall@10 = %.4f, want >= %.2f", recall, MinRecall)
	}
}
