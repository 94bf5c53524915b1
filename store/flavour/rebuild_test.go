package flavour

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// sliceSource yields items the way a store's chunk scan does.
func sliceSource(items []store.Item) Source {
	return func(yield func(store.Item) error) error {
		for _, it := range items {
			if err := yield(it); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRebuildMovesItems(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	meta := store.IndexMeta{Embedder: "rebuild-test", Dimension: 32}
	d := storetest.NewDataset(storetest.DatasetOptions{N: 700, Dim: 32, Clusters: 8, Accounts: 12, Seed: 3})

	src := vectorset.New(rdb, "old", nil)
	dst := vectorset.New(rdb, "new", &vectorset.Options{Quant: vectorset.NoQuant})
	for _, x := range []store.VectorIndex{src, dst} {
		if err := x.Ensure(ctx, meta); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Upsert(ctx, d.Items); err != nil {
		t.Fatal(err)
	}
	n, err := Rebuild(ctx, sliceSource(d.Items), dst)
	if err != nil || n != len(d.Items) {
		t.Fatalf("Rebuild = %d, %v; want %d", n, err, len(d.Items))
	}
	for _, x := range []store.VectorIndex{src, dst} {
		if c, err := x.Count(ctx); err != nil || c != int64(len(d.Items)) {
			t.Fatalf("%s Count = %d, %v; want %d", x.(*vectorset.Index).Name(), c, err, len(d.Items))
		}
	}
	// Each item's own vector finds it first, with its attributes, in the
	// rebuilt index; account-scoped queries see the same items in both.
	for _, i := range []int{0, 255, 256, 511, 699} {
		it := d.Items[i]
		hits, err := dst.Search(ctx, store.Query{Vector: it.Vector, K: 1})
		if err != nil || len(hits) != 1 || hits[0].ID != it.ID || hits[0].Attrs != it.Attrs {
			t.Fatalf("item %d in the rebuilt index: %+v, %v", i, hits, err)
		}
		f := store.Filter{Equals: map[string][]string{"account": {it.Attrs.Account}}}
		var sets [2][]string
		for j, x := range []store.VectorIndex{src, dst} {
			hits, err := x.Search(ctx, store.Query{Vector: it.Vector, K: 100, Filter: f})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				sets[j] = append(sets[j], h.ID)
			}
			slices.Sort(sets[j])
		}
		if !slices.Equal(sets[0], sets[1]) {
			t.Fatalf("account %s: old index has %v, rebuilt %v", it.Attrs.Account, sets[0], sets[1])
		}
	}
}

func TestRebuildErrors(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	d := storetest.NewDataset(storetest.DatasetOptions{N: 600, Dim: 16, Seed: 4})

	notEnsured := vectorset.New(rdb, "missing", nil)
	if n, err := Rebuild(ctx, sliceSource(d.Items), notEnsured); !errors.Is(err, store.ErrNoIndex) || n != 0 {
		t.Fatalf("Rebuild into an index not Ensured = %d, %v; want 0, ErrNoIndex", n, err)
	}

	dst := vectorset.New(rdb, "partial", nil)
	if err := dst.Ensure(ctx, store.IndexMeta{Embedder: "e", Dimension: 16}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("chunk scan failed")
	failing := func(yield func(store.Item) error) error {
		for i, it := range d.Items {
			if i == 300 {
				return boom
			}
			if err := yield(it); err != nil {
				return err
			}
		}
		return nil
	}
	n, err := Rebuild(ctx, failing, dst)
	if !errors.Is(err, boom) || n != rebuildBatch {
		t.Fatalf("Rebuild with a failing source = %d, %v; want %d, %v", n, err, rebuildBatch, boom)
	}
	if c, _ := dst.Count(ctx); c != int64(n) {
		t.Fatalf("Count = %d, reported %d written", c, n)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Rebuild(cctx, sliceSource(d.Items), dst); !errors.Is(err, context.Canceled) {
		t.Fatalf("Rebuild with a cancelled context: %v", err)
	}
}

func TestSwitchRebuildsOnFlavourChange(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	meta := store.IndexMeta{Embedder: "switch-test", Dimension: 16}
	d := storetest.NewDataset(storetest.DatasetOptions{N: 300, Dim: 16, Seed: 5})
	src := sliceSource(d.Items)
	const key = "crmpulse:idx:crm:flavour"

	// First start: nothing recorded, empty index: fill it.
	idx := vectorset.New(rdb, IndexName("crmpulse:idx:crm", VectorSet), nil)
	res, err := Switch(ctx, rdb, key, idx, meta, src)
	if err != nil {
		t.Fatal(err)
	}
	if res != (SwitchResult{From: "", To: VectorSet, Rebuilt: true, Items: 300}) {
		t.Fatalf("first Switch = %+v", res)
	}
	if got, _ := rdb.Get(ctx, key).Result(); got != VectorSet {
		t.Fatalf("recorded flavour %q", got)
	}

	// Same flavour again: nothing to do.
	res, err = Switch(ctx, rdb, key, idx, meta, func(func(store.Item) error) error {
		t.Fatal("source read although the flavour did not change")
		return nil
	})
	if err != nil || res != (SwitchResult{From: VectorSet, To: VectorSet}) {
		t.Fatalf("second Switch = %+v, %v", res, err)
	}

	// The deployment ran the Query Engine flavour before: moving to vector
	// sets re-indexes every stored item into the new index.
	if err := rdb.Set(ctx, key, Querying, 0).Err(); err != nil {
		t.Fatal(err)
	}
	fresh := vectorset.New(rdb, "crmpulse:idx:crm2:vs", nil)
	res, err = Switch(ctx, rdb, key, fresh, meta, src)
	if err != nil || res != (SwitchResult{From: Querying, To: VectorSet, Rebuilt: true, Items: 300}) {
		t.Fatalf("Switch from querying = %+v, %v", res, err)
	}
	if c, err := fresh.Count(ctx); err != nil || c != 300 {
		t.Fatalf("Count after switch = %d, %v", c, err)
	}
	if got, _ := rdb.Get(ctx, key).Result(); got != VectorSet {
		t.Fatalf("recorded flavour %q after switch", got)
	}

	// A failed rebuild leaves the old flavour recorded, so the next start
	// retries it.
	if err := rdb.Set(ctx, key, Querying, 0).Err(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("scan failed")
	_, err = Switch(ctx, rdb, key, fresh, meta, func(func(store.Item) error) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Switch with a failing source: %v", err)
	}
	if got, _ := rdb.Get(ctx, key).Result(); got != Querying {
		t.Fatalf("recorded flavour %q after a failed switch, want %q kept", got, Querying)
	}

	// A mismatched index is refused before anything is read.
	_, err = Switch(ctx, rdb, key, fresh, store.IndexMeta{Embedder: "other", Dimension: 16}, src)
	var me *store.MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("Switch with another embedder: %v", err)
	}
}

// TestRebuildFromStoredChunks re-indexes the chunks a store keeps (with
// their embeddings) into an index of another name, as a change of flavour
// does, and checks that every chunk arrives with its vector and attributes.
func TestRebuildFromStoredChunks(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	meta := store.IndexMeta{Embedder: "stored-chunks", Dimension: 24}
	old := vectorset.New(rdb, "crmpulse:idx:old", nil)
	if err := old.Ensure(ctx, meta); err != nil {
		t.Fatal(err)
	}
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	st = st.WithIndex(old)
	d := storetest.NewDataset(storetest.DatasetOptions{N: 90, Dim: 24, Seed: 6})
	want := map[string]store.Item{}
	for r := range 30 {
		ref := store.Ref{Connection: "sf_main", Object: store.TypeOpportunity, ID: fmt.Sprintf("006%04d", r)}
		chunks := make([]store.Chunk, 3)
		for i := range chunks {
			it := d.Items[3*r+i]
			chunks[i] = store.Chunk{Text: fmt.Sprintf("chunk %d of %s", i, ref), Vector: it.Vector, Attrs: it.Attrs}
		}
		if err := st.ReplaceChunks(ctx, ref, "", chunks); err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			want[c.ID] = c.Item()
		}
	}

	dst := vectorset.New(rdb, IndexName("crmpulse:idx:crm", VectorSet), &vectorset.Options{Quant: vectorset.NoQuant})
	src := func(yield func(store.Item) error) error { return st.ScanChunks(ctx, yield) }
	res, err := Switch(ctx, rdb, "crmpulse:idx:crm:flavour", dst, meta, src)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebuilt || res.Items != len(want) {
		t.Fatalf("Switch = %+v, want a rebuild of %d chunks", res, len(want))
	}
	if c, err := dst.Count(ctx); err != nil || c != int64(len(want)) {
		t.Fatalf("Count = %d, %v; want %d", c, err, len(want))
	}
	for id, it := range want {
		hits, err := dst.Search(ctx, store.Query{Vector: it.Vector, K: 1})
		if err != nil || len(hits) != 1 || hits[0].ID != id || hits[0].Attrs != it.Attrs || hits[0].Score < 0.9999 {
			t.Fatalf("chunk %s after rebuild: %+v, %v; want itself with %+v", id, hits, err, it.Attrs)
		}
	}
}
