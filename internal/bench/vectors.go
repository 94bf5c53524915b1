package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// VectorDim is the dimension of the retrieval scenario's vectors, the
// local embedder's default.
const VectorDim = 384

// vectorGen generates a reproducible stream of clustered unit vectors with
// realistic attributes: real text embeddings are clustered (topics,
// templates, languages), and industries correlate with topics. Item i
// depends only on (seed, i), so a set can be generated in batches.
type vectorGen struct {
	n        int
	dim      int
	centres  [][]float32
	accounts int
	seed     uint64
}

var benchIndustries = []string{"manufacturing", "retail", "software", "finance", "healthcare", "logistics", "energy", "education"}

const (
	vecClusters = 64
	vecSpread   = 0.6 // noise norm relative to the unit centre
)

func newVectorGen(n int) *vectorGen {
	g := &vectorGen{n: n, dim: VectorDim, accounts: max(n/20, 1), seed: 20250602}
	rng := rand.New(rand.NewPCG(g.seed, 1))
	for range vecClusters {
		c := make([]float32, g.dim)
		for j := range c {
			c[j] = float32(rng.NormFloat64())
		}
		normalize(c)
		g.centres = append(g.centres, c)
	}
	return g
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for j := range v {
		v[j] *= inv
	}
}

// around draws a unit vector near cluster c.
func (g *vectorGen) around(rng *rand.Rand, c int) []float32 {
	v := make([]float32, g.dim)
	sd := vecSpread / math.Sqrt(float64(g.dim))
	for j := range v {
		v[j] = g.centres[c][j] + float32(rng.NormFloat64()*sd)
	}
	normalize(v)
	return v
}

// item returns item i.
func (g *vectorGen) item(i int) store.Item {
	rng := rand.New(rand.NewPCG(g.seed, uint64(i)+2))
	c := rng.IntN(vecClusters)
	a := store.Attrs{Connection: "bench", Date: sandboxNow.Unix() - int64(rng.IntN(3*365*86400))}
	ind := c % len(benchIndustries)
	if rng.Float64() < 0.2 {
		ind = rng.IntN(len(benchIndustries))
	}
	a.Industry = benchIndustries[ind]
	switch x := rng.Float64(); {
	case x < 0.55:
		a.Type = store.TypeActivity
		a.Kind = []string{"email", "call", "meeting", "note", "task"}[rng.IntN(5)]
	case x < 0.8:
		a.Type = store.TypeOpportunity
		a.Amount = math.Round(math.Exp(9+rng.NormFloat64()) + 1000)
	case x < 0.9:
		a.Type = store.TypeAccount
	default:
		a.Type = store.TypeDocument
		a.Kind = "industry_report"
	}
	if a.Type != store.TypeDocument {
		a.Account = g.account(rng.IntN(g.accounts))
		a.Record = "r" + strconv.Itoa(i)
	}
	return store.Item{ID: "c" + strconv.Itoa(i), Vector: g.around(rng, c), Attrs: a}
}

func (g *vectorGen) account(k int) string { return fmt.Sprintf("acct-%06d", k) }

// owner returns item i as the one chunk of its record, as a sync writes it.
func (g *vectorGen) owner(i int) store.OwnerChunks {
	it := g.item(i)
	ref := store.Ref{Connection: it.Attrs.Connection, Object: it.Attrs.Type, ID: "r" + strconv.Itoa(i)}
	return store.OwnerChunks{Ref: ref, ContentHash: it.ID, Chunks: []store.Chunk{{Text: "chunk " + it.ID, Vector: it.Vector, Attrs: it.Attrs}}}
}

// dropVectors deletes a retrieval scenario's vector set and every key of its
// store namespace.
func dropVectors(ctx context.Context, rdb redis.UniversalClient, idx *vectorset.Index, ns string) error {
	if err := idx.Drop(ctx); err != nil && !errors.Is(err, store.ErrNoIndex) {
		return err
	}
	_, err := store.DeletePrefix(ctx, rdb, ns+":")
	return err
}

// retrieval builds (or reuses) a vector set of n items and measures
// filtered top-10 latency.
func (r *runner) retrieval(ctx context.Context, n int) {
	scale := ScaleName(n) + " vectors"
	metrics := []string{"retrieval p50, industry + type filter", "retrieval p99, industry + type filter",
		"retrieval p50, one account (exact)", "retrieval p99, one account (exact)"}
	fail := func(reason string) {
		r.skip(GroupRetrieval, "vector index build", scale, "inserts/s", "", reason)
		for _, m := range metrics {
			r.skip(GroupRetrieval, m, scale, "ms", "< 3 s", reason)
		}
	}
	w := watchMemory()
	defer func() { r.memory("retrieval "+ScaleName(n), w.stop()) }()

	// The production layout: chunk hashes in a store namespace and one
	// vector set without per-account copies, so a one-account query is the
	// exact scan of the account's chunks that Store.Search does.
	name := fmt.Sprintf("%s:vec:%d", r.opt.Namespace, n)
	marker := name + ":bench"
	idx := vectorset.New(r.opt.Redis, name+":vs", &vectorset.Options{NoAccountSets: true})
	st, err := store.New(r.opt.Redis, &store.Options{Namespace: name})
	if err != nil {
		fail(err.Error())
		return
	}
	st = st.WithIndex(idx)
	g := newVectorGen(n)
	built, err := r.buildVectors(ctx, st, idx, g, marker, scale)
	if err != nil {
		fail(err.Error())
		return
	}
	if !r.opt.KeepVectors {
		defer func() {
			dctx := context.WithoutCancel(ctx)
			_ = dropVectors(dctx, r.opt.Redis, idx, name)
			_ = r.opt.Redis.Del(dctx, marker).Err()
		}()
	} else {
		r.note("Vector sets are kept under %s:vec:* for the next run (--keep-vectors).", r.opt.Namespace)
	}
	if built.reused {
		r.add(GroupRetrieval, "vector index build", scale, round(built.rate, 0), "inserts/s", "",
			fmt.Sprintf("reused a set built earlier (that build took %s)", built.took.Round(time.Second)))
	} else {
		r.add(GroupRetrieval, "vector index build", scale, round(built.rate, 0), "inserts/s", "",
			fmt.Sprintf("built in %s (Q8 vector set and chunk hashes, as a sync writes them)", built.took.Round(100*time.Millisecond)))
		if built.redisBytes > 0 {
			r.add(GroupRetrieval, "Redis memory of vectors and chunk hashes", scale, mib(built.redisBytes), "MiB", "",
				fmt.Sprintf("%s bytes per chunk", FormatValue(math.Round(float64(built.redisBytes)/float64(n)))))
		}
	}

	queries := 300
	if r.opt.Quick {
		queries = 100
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	kinds := []struct {
		label  string
		filter func() store.Filter
	}{
		{"industry + type filter", func() store.Filter {
			return store.Filter{Equals: map[string][]string{
				"industry": {benchIndustries[rng.IntN(len(benchIndustries))]},
				"type":     {store.TypeActivity},
			}}
		}},
		{"one account (exact)", func() store.Filter {
			return store.Filter{Equals: map[string][]string{"account": {g.account(rng.IntN(g.accounts))}}}
		}},
	}
	for _, k := range kinds {
		lat := make([]time.Duration, 0, queries)
		empty := 0
		for i := range queries + 10 {
			q := store.Query{Vector: g.around(rng, rng.IntN(vecClusters)), K: 10, Filter: k.filter()}
			t0 := time.Now()
			hits, err := st.Search(ctx, q)
			d := time.Since(t0)
			if err != nil {
				r.skip(GroupRetrieval, "retrieval p50, "+k.label, scale, "ms", "< 3 s", err.Error())
				r.skip(GroupRetrieval, "retrieval p99, "+k.label, scale, "ms", "< 3 s", err.Error())
				lat = nil
				break
			}
			if i >= 10 { // the first ten warm the connection pool and caches
				lat = append(lat, d)
				if len(hits) == 0 {
					empty++
				}
			}
		}
		if lat == nil {
			continue
		}
		slices.Sort(lat)
		p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
		extra := fmt.Sprintf("; %d queries, top 10", len(lat))
		if empty > 0 {
			extra += fmt.Sprintf(", %d without hits", empty)
		}
		r.add(GroupRetrieval, "retrieval p50, "+k.label, scale, round(ms(p50), 2), "ms", "< 3 s", below(p50.Seconds(), 3))
		r.add(GroupRetrieval, "retrieval p99, "+k.label, scale, round(ms(p99), 2), "ms", "< 3 s", below(p99.Seconds(), 3)+extra)
		r.progress("%s: %s p50 %s ms, p99 %s ms", scale, k.label, FormatValue(ms(p50)), FormatValue(ms(p99)))
	}
}

type builtSet struct {
	reused     bool
	rate       float64
	took       time.Duration
	redisBytes uint64
}

// buildVectors fills idx with g's items, or reuses a complete set left by
// an earlier run with --keep-vectors (its marker hash records the size and
// the build figures).
func (r *runner) buildVectors(ctx context.Context, st *store.Store, idx *vectorset.Index, g *vectorGen, marker, scale string) (builtSet, error) {
	meta := store.IndexMeta{Embedder: "bench-clustered", Dimension: g.dim}
	if m, err := r.opt.Redis.HGetAll(ctx, marker).Result(); err == nil && m["n"] == strconv.Itoa(g.n) {
		if cnt, err := idx.Count(ctx); err == nil && cnt == int64(g.n) {
			rate, _ := strconv.ParseFloat(m["rate"], 64)
			secs, _ := strconv.ParseFloat(m["seconds"], 64)
			r.progress("%s: reusing the vector set built earlier", scale)
			return builtSet{reused: true, rate: rate, took: time.Duration(secs * float64(time.Second))}, nil
		}
	}
	// Start from nothing: a partial set of an interrupted run is dropped.
	if err := dropVectors(ctx, r.opt.Redis, idx, st.Namespace()); err != nil {
		return builtSet{}, fmt.Errorf("drop old set: %w", err)
	}
	_ = r.opt.Redis.Del(ctx, marker).Err()
	if err := idx.Ensure(ctx, meta); err != nil {
		return builtSet{}, err
	}
	memBefore := redisUsedMemory(ctx, r.opt.Redis)
	if g.n >= 500_000 {
		r.progress("%s: building; expect about %s at ~1,000 inserts/s", scale, (time.Duration(g.n/1000) * time.Second).Round(time.Minute))
	} else {
		r.progress("%s: building the vector set", scale)
	}
	const batch = 1000
	start := time.Now()
	last := start
	owners := make([]store.OwnerChunks, 0, batch)
	for i := 0; i < g.n; i += batch {
		if err := ctx.Err(); err != nil {
			return builtSet{}, err
		}
		owners = owners[:0]
		for j := i; j < min(i+batch, g.n); j++ {
			owners = append(owners, g.owner(j))
		}
		if err := st.ReplaceChunksBatch(ctx, owners); err != nil {
			return builtSet{}, fmt.Errorf("write chunks: %w", err)
		}
		if time.Since(last) >= 10*time.Second {
			last = time.Now()
			done := i + len(owners)
			rate := float64(done) / time.Since(start).Seconds()
			eta := time.Duration(float64(g.n-done) / rate * float64(time.Second))
			r.progress("%s: %d/%d vectors (%.0f/s, ETA %s)", scale, done, g.n, rate, eta.Round(time.Second))
		}
	}
	took := time.Since(start)
	rate := float64(g.n) / took.Seconds()
	memAfter := redisUsedMemory(ctx, r.opt.Redis)
	b := builtSet{rate: rate, took: took}
	if memAfter > memBefore {
		b.redisBytes = memAfter - memBefore
	}
	r.progress("%s: built in %s (%.0f inserts/s)", scale, took.Round(time.Millisecond), rate)
	if r.opt.KeepVectors {
		_ = r.opt.Redis.HSet(ctx, marker, "n", g.n, "rate", strconv.FormatFloat(rate, 'f', 1, 64),
			"seconds", strconv.FormatFloat(took.Seconds(), 'f', 1, 64)).Err()
	}
	return b, nil
}
