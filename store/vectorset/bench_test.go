package vectorset_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

const benchDim = 384

// built is an index filled once per size and reused by every b.N round.
type built struct {
	idx      *vectorset.Index
	data     *storetest.Dataset
	insertsS float64
}

var (
	builtMu sync.Mutex
	builds  = map[int]*built{}
)

func buildIndex(b *testing.B, n int) *built {
	builtMu.Lock()
	defer builtMu.Unlock()
	if x, ok := builds[n]; ok {
		return x
	}
	ctx := context.Background()
	// A client of its own on a fresh database: it outlives this benchmark
	// round so that later rounds (-count) reuse the data.
	o := *redistest.Client(b).Options()
	rdb := redis.NewClient(&o)
	idx := vectorset.New(rdb, fmt.Sprintf("crmpulse:vs:bench%d", n), nil)
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: "bench", Dimension: benchDim}); err != nil {
		b.Fatal(err)
	}
	d := storetest.NewDataset(storetest.DatasetOptions{N: n, Dim: benchDim, Seed: 7})
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		if err := idx.Upsert(ctx, d.Items[i:min(i+1000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	x := &built{idx: idx, data: d, insertsS: float64(n) / time.Since(start).Seconds()}
	builds[n] = x
	return x
}

// BenchmarkSearch measures filtered top-10 VSIM latency at 10k and 100k
// 384-d Q8 vectors (with per-account sets). Building 100k takes minutes;
// it is skipped with -short.
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			if n > 10_000 && testing.Short() {
				b.Skip("100k build skipped with -short")
			}
			x := buildIndex(b, n)
			for _, kind := range []struct {
				name string
				q    int // storetest.RecallFilters selector
			}{{"industry", 0}, {"industries+date", 1}, {"type+amount", 2}, {"account", 3}, {"none", 5}} {
				b.Run(kind.name, func(b *testing.B) {
					ctx := context.Background()
					queries := make([]store.Query, 64)
					for i := range queries {
						_, f := storetest.RecallFilters(x.data, kind.q)
						queries[i] = store.Query{Vector: x.data.Query(), K: 10, Filter: f}
					}
					lat := make([]time.Duration, 0, b.N)
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						t0 := time.Now()
						if _, err := x.idx.Search(ctx, queries[i%len(queries)]); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
					b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
					b.ReportMetric(x.insertsS, "build-inserts/s")
				})
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkUpsert measures pipelined inserts of 384-d Q8 vectors with
// attributes into a fresh index of 5,000 items (the size of one sync
// write batch of a few hundred accounts, on top of an empty set) for
// combinations of batch size, pipelines in flight, VADD CAS and per-account
// sets. Every round inserts the same distinct vectors under a new index name.
func BenchmarkUpsert(b *testing.B) {
	const n = 5000
	d := storetest.NewDataset(storetest.DatasetOptions{N: n, Dim: benchDim, Seed: 9})
	rdb := redistest.Client(b)
	round := 0
	for _, o := range []vectorset.Options{
		{BatchSize: 500, Pipelines: 1, NoAccountSets: true},
		{BatchSize: 500, Pipelines: 2, NoAccountSets: true},
		{BatchSize: 250, Pipelines: 4, NoAccountSets: true},
		{BatchSize: 500, Pipelines: 2, CAS: true, NoAccountSets: true},
		{BatchSize: 500, Pipelines: 2},
	} {
		name := fmt.Sprintf("batch=%d/pipelines=%d/cas=%t/acctsets=%t", o.BatchSize, o.Pipelines, o.CAS, !o.NoAccountSets)
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			for b.Loop() {
				round++
				idx := vectorset.New(rdb, fmt.Sprintf("crmpulse:vs:upsert%d", round), &o)
				if err := idx.Ensure(ctx, store.IndexMeta{Embedder: "bench", Dimension: benchDim}); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := idx.Upsert(ctx, d.Items); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				if err := idx.Drop(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*n)/total.Seconds(), "vectors/s")
		})
	}
}
