// Package vectorset implements store.VectorIndex on Redis 8 vector sets
// (VADD/VSIM), which every Redis 8 server has, including builds without the
// Query Engine.
//
// # Keys
//
// An index named N uses:
//
//	N                  vector set: every item (element = item id)
//	N:meta             hash: embedder, dimension, quant, m, acctsets (1|0)
//	N:acct:<account>   vector set: the items whose Attrs.Account is <account>
//	                   (only with per-account sets)
//	N:accts            set: the accounts that have an N:acct:* key (for Drop)
//
// Each element carries its store.Attrs as flat JSON (VSETATTR), written with
// HTML escaping off so the byte-exact comparisons of the FILTER language see
// the values as given. Vector-set elements cannot be enumerated on 8.0
// (no VRANGE); the store keeps its own id bookkeeping.
//
// # Search
//
// A Query becomes VSIM ... WITHSCORES COUNT k EF ef FILTER <expr> FILTER-EF fef
// [EPSILON 2(1-MinScore)]. The filter expression is built from store.Filter:
// `.industry in ["mfg","retail"] and .date >= 1700000000`. Scores are the
// vector-set similarity (1+cos)/2, re-checked against MinScore client side.
// Attributes of the hits are fetched with one pipelined VGETATTR (WITHATTRIBS
// needs 8.0.3+).
//
// # Per-account sets
//
// With per-account sets (the zero Options), a filter with exactly one
// account value is answered from that account's own small set with TRUTH
// (an exact linear scan), so account-scoped retrieval from the index alone
// is exact. The price is a second VADD of every vector (dual write; delete
// from both): twice the insert work and roughly twice the vector memory.
//
// Options.NoAccountSets (what crmpulse uses) keeps the global set only. A
// single-account filter is then a FILTER on the global graph like any
// other, visiting up to FILTER-EF nodes: at a few vectors per account among
// tens of thousands it can return fewer than k items. Callers that need
// exact account-scoped results use store.Store.Search, which answers a
// single-account filter from the chunk hashes (every stored FP32 vector of
// the account, scored exactly) and needs no second copy. Ensure records the
// setting: switching it off drops the account sets; switching it on is
// refused for a filled index that did not keep them (rebuild it).
//
// Defaults: EF 200 (search), FILTER-EF max(4000, 400·K), build EF 100, M 16.
// Build EF 100 inserts about 1.8× faster than 200 for recall@10 0.981
// instead of 0.983 on the 10k contract data set, and insertion bounds the
// initial sync.
// FILTER-EF is what keeps filtered recall up: at the server default
// (COUNT·100) a 10 %-selective filter stops before it has seen enough
// matching nodes.
//
// # Quantisation
//
// Q8 (int8 per component plus a range float) is the default. Measured on
// Redis 8.0.2 at M=16: ~1,160 bytes per element at 384-d against ~2,310 with
// NOQUANT (and ~2,310 vs ~6,920 at 1536-d). With Q8 the storetest recall test
// (10,000 clustered 384-d vectors, 120 queries mixing broad, combined,
// numeric-range and account filters) measures recall@10 = 0.983 against an
// exact float32 brute force, so full precision would double memory for at
// most a point or two of recall. BIN (1 bit per component) cuts memory
// further but costs ~15 points of recall, which retrieval for insights cannot
// afford. The quantisation and M are stored in N:meta and sent with every
// VADD; Ensure refuses an index created with other settings.
//
// # Writes
//
// Upsert sends BatchSize items (default 500) per pipeline and keeps
// Pipelines (default 2) pipelines in flight; the server interleaves them,
// which measured ~1.4x the inserts of one pipeline (median of six runs on a
// loaded 2-core machine, 5,000 384-d Q8 vectors, no account sets: one
// pipeline ~750/s, two ~1,060/s, four of 250 ~1,120/s). VADD CAS (neighbour
// search in a server thread, Options.CAS) measured no gain there (two
// pipelines ~750/s): with two cores the threads compete with the main
// thread and the client. An id repeated within one Upsert keeps the batches
// in order. go test -bench Upsert ./store/vectorset reproduces the figures.
//
// # Performance (2-core machine, Redis 8.0.2, 384-d Q8, one client)
//
// 10k vectors: filtered top-10 p50 6–8 ms, p99 10–15 ms; unfiltered p50
// 0.8 ms; account-scoped p50 0.2 ms (from the account's set). 100k
// vectors: filtered top-10 p50 2.5–9 ms, p99 6–33 ms; unfiltered p50 1 ms;
// building it ran at ~400 inserts/s on a loaded machine with account sets
// (go test -bench . ./store/vectorset; -short skips 100k).
package vectorset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/crmpulse/crmpulse/store"
)

// Quantisation of stored vectors.
const (
	Q8      = "q8"      // int8 per component (default)
	NoQuant = "noquant" // float32 per component
	Binary  = "bin"     // 1 bit per component
)

// Options tune an Index; the zero value (or nil) means the defaults.
type Options struct {
	Quant         string // Q8 (default), NoQuant or Binary
	M             int    // HNSW links per node; default 16
	BuildEF       int    // VADD exploration factor; default 100
	SearchEF      int    // VSIM EF; default 200 (raised to K when smaller)
	FilterEF      int    // VSIM FILTER-EF; default max(4000, 400*K)
	BatchSize     int    // items per pipelined write; default 500
	Pipelines     int    // pipelined writes in flight at once; default 2
	CAS           bool   // VADD CAS: neighbour search in a server thread
	NoAccountSets bool   // do not keep per-account sets (see the package doc)
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.Quant == "" {
		v.Quant = Q8
	}
	if v.M <= 0 {
		v.M = 16
	}
	if v.BuildEF <= 0 {
		v.BuildEF = 100
	}
	if v.SearchEF <= 0 {
		v.SearchEF = 200
	}
	if v.BatchSize <= 0 {
		v.BatchSize = 500
	}
	if v.Pipelines <= 0 {
		v.Pipelines = 2
	}
	return v
}

// Index is a store.VectorIndex over vector sets. It is safe for concurrent use.
type Index struct {
	rdb  redis.UniversalClient
	name string
	opts Options

	mu   sync.Mutex
	meta *store.IndexMeta // cached once known to exist
}

var _ store.VectorIndex = (*Index)(nil)

// New returns the index named name (the key of its global vector set) on rdb.
// Nothing is sent until Ensure.
func New(rdb redis.UniversalClient, name string, opts *Options) *Index {
	return &Index{rdb: rdb, name: name, opts: opts.withDefaults()}
}

// Flavour returns "vectorset".
func (x *Index) Flavour() string { return "vectorset" }

// Name returns the key of the global vector set.
func (x *Index) Name() string { return x.name }

func (x *Index) metaKey() string  { return x.name + ":meta" }
func (x *Index) acctsKey() string { return x.name + ":accts" }
func (x *Index) acctKey(account string) string {
	return x.name + ":acct:" + account
}

// SettingsMismatchError reports an index created with another quantisation
// or M than configured, or a non-empty index kept without per-account sets
// opened with them. It wraps store.ErrIndexMismatch.
type SettingsMismatchError struct {
	Index                            string
	HaveQuant, WantQuant             string
	HaveM, WantM                     int
	HaveAccountSets, WantAccountSets bool
}

func (e *SettingsMismatchError) Error() string {
	return fmt.Sprintf("vector set %q was created with quantisation %s, M %d and per-account sets %s but %s, M %d and per-account sets %s are configured; rebuild the index",
		e.Index, e.HaveQuant, e.HaveM, onOff(e.HaveAccountSets), e.WantQuant, e.WantM, onOff(e.WantAccountSets))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (e *SettingsMismatchError) Unwrap() error { return store.ErrIndexMismatch }

// ensureScript creates the meta hash when absent and returns its content.
var ensureScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
end
return redis.call('HGETALL', KEYS[1])`)

// Ensure records meta for a new index or checks it against the stored one,
// returning *store.MismatchError (embedder, dimension) or
// *SettingsMismatchError (quantisation, M) on a difference.
//
// Whether per-account sets are kept is recorded too (an index written before
// that was recorded kept them). Opened with Options.NoAccountSets, an index
// that kept them drops them (they would go stale). Opened with per-account
// sets, an empty index that did not keep them starts keeping them; a
// non-empty one returns *SettingsMismatchError, since its account sets would
// be incomplete.
func (x *Index) Ensure(ctx context.Context, meta store.IndexMeta) error {
	if meta.Embedder == "" || meta.Dimension <= 0 {
		return fmt.Errorf("ensure vector set %q: index meta needs an embedder and a positive dimension, got %q/%d", x.name, meta.Embedder, meta.Dimension)
	}
	if x.opts.Quant != Q8 && x.opts.Quant != NoQuant && x.opts.Quant != Binary {
		return fmt.Errorf("ensure vector set %q: unknown quantisation %q (want q8, noquant or bin)", x.name, x.opts.Quant)
	}
	want := "1"
	if x.opts.NoAccountSets {
		want = "0"
	}
	res, err := ensureScript.Run(ctx, x.rdb, []string{x.metaKey()},
		"embedder", meta.Embedder, "dimension", meta.Dimension, "quant", x.opts.Quant, "m", x.opts.M, "acctsets", want).StringSlice()
	if err != nil {
		return fmt.Errorf("ensure vector set %q: %w", x.name, err)
	}
	stored := pairs(res)
	have, quant, m, err := parseMeta(stored)
	if err != nil {
		return fmt.Errorf("ensure vector set %q: %w", x.name, err)
	}
	if have != meta {
		return fmt.Errorf("ensure vector set %q: %w", x.name, &store.MismatchError{Have: have, Want: meta})
	}
	if quant != x.opts.Quant || m != x.opts.M {
		return &SettingsMismatchError{Index: x.name, HaveQuant: quant, WantQuant: x.opts.Quant, HaveM: m, WantM: x.opts.M,
			HaveAccountSets: stored["acctsets"] != "0", WantAccountSets: !x.opts.NoAccountSets}
	}
	if err := x.ensureAccountSets(ctx, stored["acctsets"] != "0"); err != nil {
		return fmt.Errorf("ensure vector set %q: %w", x.name, err)
	}
	x.mu.Lock()
	x.meta = &have
	x.mu.Unlock()
	return nil
}

// ensureAccountSets brings the per-account sets in line with the options:
// see Ensure.
func (x *Index) ensureAccountSets(ctx context.Context, have bool) error {
	switch {
	case have == !x.opts.NoAccountSets:
		return nil
	case have: // kept, no longer wanted: drop them
		if err := x.dropAccountSets(ctx); err != nil {
			return err
		}
		return x.rdb.HSet(ctx, x.metaKey(), "acctsets", "0").Err()
	}
	n, err := x.rdb.VCard(ctx, x.name).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if n > 0 {
		return &SettingsMismatchError{Index: x.name, HaveQuant: x.opts.Quant, WantQuant: x.opts.Quant, HaveM: x.opts.M, WantM: x.opts.M,
			HaveAccountSets: false, WantAccountSets: true}
	}
	return x.rdb.HSet(ctx, x.metaKey(), "acctsets", "1").Err()
}

// dropAccountSets unlinks every per-account set and their list.
func (x *Index) dropAccountSets(ctx context.Context) error {
	accts, err := x.rdb.SMembers(ctx, x.acctsKey()).Result()
	if err != nil {
		return fmt.Errorf("list account sets: %w", err)
	}
	keys := make([]string, 0, len(accts))
	for _, a := range accts {
		keys = append(keys, x.acctKey(a))
	}
	for start := 0; start < len(keys); start += 500 {
		if err := x.rdb.Unlink(ctx, keys[start:min(start+500, len(keys))]...).Err(); err != nil {
			return fmt.Errorf("drop account sets: %w", err)
		}
	}
	return x.rdb.Unlink(ctx, x.acctsKey()).Err()
}

// Meta returns the stored metadata, or store.ErrNoIndex.
func (x *Index) Meta(ctx context.Context) (store.IndexMeta, error) {
	h, err := x.rdb.HGetAll(ctx, x.metaKey()).Result()
	if err != nil {
		return store.IndexMeta{}, fmt.Errorf("read vector set meta %q: %w", x.name, err)
	}
	if len(h) == 0 {
		return store.IndexMeta{}, fmt.Errorf("read vector set meta %q: %w", x.name, store.ErrNoIndex)
	}
	meta, _, _, err := parseMeta(h)
	if err != nil {
		return store.IndexMeta{}, fmt.Errorf("read vector set meta %q: %w", x.name, err)
	}
	return meta, nil
}

func pairs(kv []string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func parseMeta(h map[string]string) (meta store.IndexMeta, quant string, m int, err error) {
	dim, err := strconv.Atoi(h["dimension"])
	if err != nil {
		return meta, "", 0, fmt.Errorf("meta dimension %q: %w", h["dimension"], err)
	}
	m, err = strconv.Atoi(h["m"])
	if err != nil {
		return meta, "", 0, fmt.Errorf("meta m %q: %w", h["m"], err)
	}
	return store.IndexMeta{Embedder: h["embedder"], Dimension: dim}, h["quant"], m, nil
}

// dimension returns the index dimension, from cache or the meta hash.
func (x *Index) dimension(ctx context.Context) (int, error) {
	x.mu.Lock()
	m := x.meta
	x.mu.Unlock()
	if m != nil {
		return m.Dimension, nil
	}
	meta, err := x.Meta(ctx)
	if err != nil {
		return 0, err
	}
	x.mu.Lock()
	x.meta = &meta
	x.mu.Unlock()
	return meta.Dimension, nil
}

func (x *Index) vaddArgs(attrs string) *redis.VAddArgs {
	a := &redis.VAddArgs{EF: int64(x.opts.BuildEF), M: int64(x.opts.M), SetAttr: attrs, Cas: x.opts.CAS}
	switch x.opts.Quant {
	case NoQuant:
		a.NoQuant = true
	case Binary:
		a.Bin = true
	default:
		a.Q8 = true
	}
	return a
}

// encodeAttrs renders attributes as compact JSON without HTML escaping.
func encodeAttrs(a store.Attrs) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return "", err
	}
	return strings.TrimRight(buf.String(), "\n"), nil
}

// Upsert adds or replaces items in pipelined batches. Every item is checked
// (dimension, attributes, non-empty id) before anything is sent.
func (x *Index) Upsert(ctx context.Context, items []store.Item) error {
	if len(items) == 0 {
		return nil
	}
	dim, err := x.dimension(ctx)
	if err != nil {
		return fmt.Errorf("upsert into vector set %q: %w", x.name, err)
	}
	attrs := make([]string, len(items))
	for i, it := range items {
		if it.ID == "" {
			return fmt.Errorf("upsert into vector set %q: item %d has an empty id", x.name, i)
		}
		if len(it.Vector) != dim {
			return fmt.Errorf("upsert into vector set %q: item %q has %d components, index has %d: %w", x.name, it.ID, len(it.Vector), dim, store.ErrDimension)
		}
		if err := it.Attrs.Validate(); err != nil {
			return fmt.Errorf("upsert into vector set %q: item %q: %w", x.name, it.ID, err)
		}
		if attrs[i], err = encodeAttrs(it.Attrs); err != nil {
			return fmt.Errorf("upsert into vector set %q: item %q attributes: %w", x.name, it.ID, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	// Batches run side by side unless an id repeats (the last write must win).
	g.SetLimit(x.opts.Pipelines)
	if len(items) <= x.opts.BatchSize || repeats(items) {
		g.SetLimit(1)
	}
	for start := 0; start < len(items); start += x.opts.BatchSize {
		end := min(start+x.opts.BatchSize, len(items))
		g.Go(func() error {
			return x.upsertBatch(gctx, items[start:end], attrs[start:end])
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("upsert into vector set %q: %w", x.name, err)
	}
	return nil
}

// repeats reports whether an id occurs twice in items.
func repeats(items []store.Item) bool {
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[it.ID] {
			return true
		}
		seen[it.ID] = true
	}
	return false
}

func (x *Index) upsertBatch(ctx context.Context, items []store.Item, attrs []string) error {
	var old []string
	if !x.opts.NoAccountSets {
		var err error
		if old, err = x.accountsOf(ctx, ids(items)); err != nil {
			return err
		}
	}
	pipe := x.rdb.Pipeline()
	for i, it := range items {
		vec := &redis.VectorFP32{Val: store.EncodeFP32(it.Vector)}
		args := x.vaddArgs(attrs[i])
		pipe.VAddWithArgs(ctx, x.name, it.ID, vec, args)
		if x.opts.NoAccountSets {
			continue
		}
		if old[i] != "" && old[i] != it.Attrs.Account {
			pipe.VRem(ctx, x.acctKey(old[i]), it.ID)
		}
		if a := it.Attrs.Account; a != "" {
			pipe.VAddWithArgs(ctx, x.acctKey(a), it.ID, vec, args)
			pipe.SAdd(ctx, x.acctsKey(), a)
		}
	}
	if err := execPipe(ctx, pipe); err != nil {
		return err
	}
	var moved []string
	for i, it := range items {
		if old != nil && old[i] != "" && old[i] != it.Attrs.Account {
			moved = append(moved, old[i])
		}
	}
	return x.forgetEmpty(ctx, moved)
}

// forgetEmptyScript removes an account from N:accts once its set is gone
// (VREM deletes a vector set with its last element). Atomic, so an account
// written concurrently is never forgotten.
var forgetEmptyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 0`)

func (x *Index) forgetEmpty(ctx context.Context, accounts []string) error {
	if len(accounts) == 0 {
		return nil
	}
	seen := map[string]bool{}
	pipe := x.rdb.Pipeline()
	for _, a := range accounts {
		if !seen[a] {
			seen[a] = true
			forgetEmptyScript.Eval(ctx, pipe, []string{x.acctKey(a), x.acctsKey()}, a)
		}
	}
	if err := execPipe(ctx, pipe); err != nil {
		return fmt.Errorf("forget empty account sets: %w", err)
	}
	return nil
}

func ids(items []store.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// accountsOf returns the account attribute currently stored for each id
// ("" for missing elements or no account).
func (x *Index) accountsOf(ctx context.Context, ids []string) ([]string, error) {
	pipe := x.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.VGetAttr(ctx, x.name, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read attributes: %w", err)
	}
	out := make([]string, len(ids))
	for i, c := range cmds {
		s, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read attributes of %q: %w", ids[i], err)
		}
		var a store.Attrs
		if json.Unmarshal([]byte(s), &a) == nil {
			out[i] = a.Account
		}
	}
	return out, nil
}

func execPipe(ctx context.Context, pipe redis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return fmt.Errorf("%s: %w", c.Name(), e)
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// Delete removes ids from the global set and their account sets; missing
// ids are ignored.
func (x *Index) Delete(ctx context.Context, ids ...string) error {
	for start := 0; start < len(ids); start += x.opts.BatchSize {
		batch := ids[start:min(start+x.opts.BatchSize, len(ids))]
		var accts []string
		if !x.opts.NoAccountSets {
			var err error
			if accts, err = x.accountsOf(ctx, batch); err != nil {
				return fmt.Errorf("delete from vector set %q: %w", x.name, err)
			}
		}
		pipe := x.rdb.Pipeline()
		for i, id := range batch {
			pipe.VRem(ctx, x.name, id)
			if accts != nil && accts[i] != "" {
				pipe.VRem(ctx, x.acctKey(accts[i]), id)
			}
		}
		if err := execPipe(ctx, pipe); err != nil {
			return fmt.Errorf("delete from vector set %q: %w", x.name, err)
		}
		var touched []string
		for _, a := range accts {
			if a != "" {
				touched = append(touched, a)
			}
		}
		if err := x.forgetEmpty(ctx, touched); err != nil {
			return fmt.Errorf("delete from vector set %q: %w", x.name, err)
		}
	}
	return nil
}

// Count returns the number of elements of the global set.
func (x *Index) Count(ctx context.Context) (int64, error) {
	n, err := x.rdb.VCard(ctx, x.name).Result()
	if err != nil {
		return 0, fmt.Errorf("count vector set %q: %w", x.name, err)
	}
	return n, nil
}

// Drop unlinks the global set, every account set and the meta hash.
func (x *Index) Drop(ctx context.Context) error {
	if err := x.dropAccountSets(ctx); err != nil {
		return fmt.Errorf("drop vector set %q: %w", x.name, err)
	}
	if err := x.rdb.Unlink(ctx, x.name, x.metaKey()).Err(); err != nil {
		return fmt.Errorf("drop vector set %q: %w", x.name, err)
	}
	x.mu.Lock()
	x.meta = nil
	x.mu.Unlock()
	return nil
}

// Search runs a filtered KNN query; see the package documentation.
func (x *Index) Search(ctx context.Context, q store.Query) ([]store.Hit, error) {
	if err := q.Filter.Validate(); err != nil {
		return nil, fmt.Errorf("search vector set %q: %w", x.name, err)
	}
	dim, err := x.dimension(ctx)
	if err != nil {
		return nil, fmt.Errorf("search vector set %q: %w", x.name, err)
	}
	if len(q.Vector) != dim {
		return nil, fmt.Errorf("search vector set %q: query has %d components, index has %d: %w", x.name, len(q.Vector), dim, store.ErrDimension)
	}
	if q.K < 0 || q.MinScore < 0 || q.MinScore > 1 || math.IsNaN(q.MinScore) {
		return nil, fmt.Errorf("search vector set %q: k %d and min score %v must be k >= 0 and 0 <= min score <= 1", x.name, q.K, q.MinScore)
	}
	k := q.K
	if k == 0 {
		k = 10
	}
	key, args := x.plan(q.Filter, k)
	if q.MinScore > 0 {
		// EPSILON bounds the cosine distance 2(1-score) (measured on 8.0.2:
		// EPSILON 0.2 keeps score >= 0.9); the server needs eps > 0.
		args.Epsilon = math.Max(2*(1-q.MinScore), 1e-9)
	}
	res, err := x.rdb.VSimWithArgsWithScores(ctx, key, &redis.VectorFP32{Val: store.EncodeFP32(q.Vector)}, args).Result()
	if err != nil {
		return nil, fmt.Errorf("search vector set %q: %w", x.name, err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	pipe := x.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(res))
	for i, r := range res {
		cmds[i] = pipe.VGetAttr(ctx, key, r.Name)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("search vector set %q: read attributes: %w", x.name, err)
	}
	hits := make([]store.Hit, 0, len(res))
	for i, r := range res {
		if r.Score < q.MinScore {
			continue
		}
		s, err := cmds[i].Result()
		if errors.Is(err, redis.Nil) {
			continue // removed since the search ran
		}
		if err != nil {
			return nil, fmt.Errorf("search vector set %q: attributes of %q: %w", x.name, r.Name, err)
		}
		h := store.Hit{ID: r.Name, Score: r.Score}
		if err := json.Unmarshal([]byte(s), &h.Attrs); err != nil {
			return nil, fmt.Errorf("search vector set %q: attributes of %q: %w", x.name, r.Name, err)
		}
		hits = append(hits, h)
		if len(hits) == k {
			break
		}
	}
	return hits, nil
}

// plan picks the key and VSIM arguments for a filter.
func (x *Index) plan(f store.Filter, k int) (string, *redis.VSimArgs) {
	if accts := f.Equals["account"]; !x.opts.NoAccountSets && len(accts) == 1 {
		rest := store.Filter{Equals: make(map[string][]string, len(f.Equals)), Ranges: f.Ranges}
		for field, v := range f.Equals {
			if field != "account" {
				rest.Equals[field] = v
			}
		}
		return x.acctKey(accts[0]), &redis.VSimArgs{Count: int64(k), Filter: FilterExpr(rest), Truth: true}
	}
	args := &redis.VSimArgs{Count: int64(k), EF: int64(max(x.opts.SearchEF, k)), Filter: FilterExpr(f)}
	if args.Filter != "" {
		args.FilterEF = int64(x.opts.FilterEF)
		if args.FilterEF <= 0 {
			args.FilterEF = int64(max(4000, 400*k))
		}
	}
	return x.name, args
}

// FilterExpr renders a validated filter in the vector-set FILTER language,
// fields and values in a stable order:
//
//	.industry in ["mfg","retail"] and .type == "opportunity" and .date >= 1700000000
//
// An empty filter gives "".
func FilterExpr(f store.Filter) string {
	var parts []string
	for _, field := range store.EqualsFields {
		vals, ok := f.Equals[field]
		if !ok {
			continue
		}
		if len(vals) == 1 {
			parts = append(parts, fmt.Sprintf(".%s == %s", field, quote(vals[0])))
			continue
		}
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = quote(v)
		}
		parts = append(parts, fmt.Sprintf(".%s in [%s]", field, strings.Join(q, ",")))
	}
	for _, r := range f.Ranges {
		if r.Min != nil {
			parts = append(parts, fmt.Sprintf(".%s >= %s", r.Field, number(*r.Min)))
		}
		if r.Max != nil {
			parts = append(parts, fmt.Sprintf(".%s <= %s", r.Field, number(*r.Max)))
		}
	}
	return strings.Join(parts, " and ")
}

// quote wraps a validated value (no quotes, backslashes or control
// characters) in double quotes.
func quote(v string) string { return `"` + v + `"` }

// number formats without an exponent, which the filter lexer does not read.
func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
