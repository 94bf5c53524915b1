package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// BenchmarkSearchAccount measures account-scoped top-10 search through
// Store.Search (exact, from the chunk hashes) and through the index alone
// (vector set without per-account copies) on a store shaped like a synced
// CRM: 500 accounts, each with 100 records in its account index and 10
// chunks of 384 dimensions.
func BenchmarkSearchAccount(b *testing.B) {
	const accounts, records, chunks, bdim = 500, 100, 10, 384
	ctx := context.Background()
	rdb := redistest.Client(b)
	s, err := store.New(rdb, nil)
	if err != nil {
		b.Fatal(err)
	}
	idx := vectorset.New(rdb, s.Key("vs", "crm"), &vectorset.Options{NoAccountSets: true})
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: "bench", Dimension: bdim}); err != nil {
		b.Fatal(err)
	}
	s = s.WithIndex(idx)
	d := storetest.NewDataset(storetest.DatasetOptions{N: accounts * chunks, Dim: bdim, Seed: 5})
	var recs []store.Record
	var owners []store.OwnerChunks
	for a := range accounts {
		acct := fmt.Sprintf("001B%05d", a)
		for r := range records {
			recs = append(recs, store.Record{Ref: store.Ref{Connection: "sf", Object: store.TypeActivity, ID: fmt.Sprintf("00T%05d%03d", a, r)},
				AccountID: acct, Fields: map[string]any{"subject": "call"}})
		}
		for c := range chunks {
			it := d.Items[a*chunks+c]
			it.Attrs.Account = acct
			owners = append(owners, store.OwnerChunks{Ref: store.Ref{Connection: "sf", Object: "deal_digest", ID: fmt.Sprintf("%s.%d", acct, c)},
				Chunks: []store.Chunk{{Text: "digest", Vector: it.Vector, Attrs: it.Attrs}}})
		}
	}
	if _, err := s.PutRecords(ctx, recs); err != nil {
		b.Fatal(err)
	}
	if err := s.ReplaceChunksBatch(ctx, owners); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		search func(context.Context, store.Query) ([]store.Hit, error)
	}{{"store", s.Search}, {"index", idx.Search}} {
		b.Run(tc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, 1024)
			i := 0
			for b.Loop() {
				f := store.Filter{Equals: map[string][]string{"conn": {"sf"}, "account": {fmt.Sprintf("001B%05d", i%accounts)}}}
				t0 := time.Now()
				hits, err := tc.search(ctx, store.Query{Vector: d.Query(), K: 10, Filter: f})
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if tc.name == "store" && len(hits) != chunks {
					b.Fatalf("%d hits, want %d", len(hits), chunks)
				}
				i++
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
