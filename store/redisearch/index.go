package redisearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

	rs "github.com/RediSearch/redisearch-go/v2/redisearch"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// FlavourName is what (*Index).Flavour returns.
const FlavourName = "querying"

// schemaVersion numbers the FT.CREATE schema this code writes. Bump it when
// the schema changes: Ensure then builds <name>:v<new> over the existing
// hashes and moves the alias to it.
const schemaVersion = 1

// ErrNoQueryEngine: the server has no FT.* commands (e.g. Debian's Redis 8,
// which has vector sets only).
var ErrNoQueryEngine = errors.New("redis server has no Query Engine (FT.* commands); use Redis 8 with modules, Redis Stack or Redis Cloud, or the vector-set flavour")

// Options tune the HNSW graph. Zero values take the defaults.
type Options struct {
	M              int // max edges per node per layer; default 16
	EFConstruction int // build-time candidate list; default 200
	EFRuntime      int // query-time candidate list, raised to K when lower; default 100
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.M <= 0 {
		r.M = 16
	}
	if r.EFConstruction <= 0 {
		r.EFConstruction = 200
	}
	if r.EFRuntime <= 0 {
		r.EFRuntime = 100
	}
	return r
}

// Index is a store.VectorIndex on the Redis Query Engine. It is safe for
// concurrent use; Close releases redisearch-go's connection pool.
type Index struct {
	rdb    *redis.Client
	pool   *redigo.Pool
	name   string
	prefix string // hash key prefix, "<name>:doc:"
	alias  string // "<name>"
	meta   string // metadata key, "<name>:meta"
	opts   Options
}

var _ store.VectorIndex = (*Index)(nil)

// New returns the index called name on rdb's server and database: the alias
// is name and every key starts with name + ":" (see the package
// documentation). It sends nothing; Ensure creates the index. redisearch-go
// gets a pool of its own, dialled with rdb's options. The Query Engine
// indexes database 0 only.
func New(rdb *redis.Client, name string, opts *Options) (*Index, error) {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return nil, fmt.Errorf("redisearch: invalid index name %q", name)
	}
	return &Index{
		rdb:    rdb,
		pool:   newPool(rdb.Options()),
		name:   name,
		prefix: name + ":doc:",
		alias:  name,
		meta:   name + ":meta",
		opts:   opts.withDefaults(),
	}, nil
}

// Close releases the redisearch-go connection pool (not rdb).
func (x *Index) Close() error { return x.pool.Close() }

// Flavour returns "querying".
func (x *Index) Flavour() string { return FlavourName }

// Name is the name given to New.
func (x *Index) Name() string { return x.name }

// Prefix is the key prefix of the chunk hashes.
func (x *Index) Prefix() string { return x.prefix }

// Alias is the FT alias queries go through.
func (x *Index) Alias() string { return x.alias }

// versioned is the FT index name for a schema version.
func (x *Index) versioned(v int) string { return fmt.Sprintf("%s:v%d", x.alias, v) }

// client returns a redisearch-go client for an index (or alias) name. Clients
// are two words; the pool is shared.
func (x *Index) client(index string) *rs.Client { return rs.NewClientFromPool(x.pool, index) }

// storedMeta is the JSON kept at the metadata key.
type storedMeta struct {
	store.IndexMeta
	Schema int    `json:"schema"`
	Index  string `json:"index"` // versioned FT index name
}

func (x *Index) readMeta(ctx context.Context) (storedMeta, bool, error) {
	var m storedMeta
	b, err := x.rdb.Get(ctx, x.meta).Bytes()
	if errors.Is(err, redis.Nil) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("redisearch: read meta %s: %w", x.meta, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("redisearch: decode meta %s: %w", x.meta, err)
	}
	return m, true, nil
}

// Meta returns the embedder and dimension the index was built with, or
// ErrNoIndex.
func (x *Index) Meta(ctx context.Context) (store.IndexMeta, error) {
	m, ok, err := x.readMeta(ctx)
	if err != nil {
		return store.IndexMeta{}, err
	}
	if !ok {
		return store.IndexMeta{}, fmt.Errorf("redisearch: meta of %s: %w", x.name, store.ErrNoIndex)
	}
	return m.IndexMeta, nil
}

// Ensure creates the index for meta (FT.CREATE, alias, metadata), or checks
// that the existing one has the same embedder and dimension and returns a
// *store.MismatchError otherwise. An index built by an older schema version
// is rebuilt over the same hashes and the alias moved to it.
func (x *Index) Ensure(ctx context.Context, want store.IndexMeta) error {
	if want.Embedder == "" || want.Dimension <= 0 {
		return fmt.Errorf("redisearch: ensure %s: need an embedder and a positive dimension, got %q/%d", x.name, want.Embedder, want.Dimension)
	}
	have, found, err := x.readMeta(ctx)
	if err != nil {
		return err
	}
	if found && (have.Embedder != want.Embedder || have.Dimension != want.Dimension) {
		return &store.MismatchError{Have: have.IndexMeta, Want: want}
	}
	target := x.versioned(schemaVersion)
	if found && have.Schema == schemaVersion && have.Index == target {
		exists, err := x.exists(ctx, target)
		if err != nil || exists {
			return err
		}
		// The metadata outlived the index (dropped by hand): recreate it.
	}
	if err := x.create(ctx, target, want); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := x.client(target).AliasUpdate(x.alias); err != nil {
		return ftErr("alias "+x.alias, err)
	}
	m := storedMeta{IndexMeta: want, Schema: schemaVersion, Index: target}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if !found {
		ok, err := x.rdb.SetNX(ctx, x.meta, b, 0).Result()
		if err != nil {
			return fmt.Errorf("redisearch: write meta %s: %w", x.meta, err)
		}
		if !ok { // another process ensured the index first
			return x.Ensure(ctx, want)
		}
		return nil
	}
	if err := x.rdb.Set(ctx, x.meta, b, 0).Err(); err != nil {
		return fmt.Errorf("redisearch: write meta %s: %w", x.meta, err)
	}
	if have.Index != "" && have.Index != target {
		// The hashes stay (no DD): the new index has already scanned them.
		if err := x.client(have.Index).DropIndex(false); err != nil && !isUnknownIndex(err) {
			return ftErr("drop old index "+have.Index, err)
		}
	}
	return nil
}

// exists reports whether the FT index called name exists (FT._LIST).
func (x *Index) exists(ctx context.Context, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	names, err := x.client(name).List()
	if err != nil {
		return false, ftErr("list indexes", err)
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// create sends FT.CREATE for the versioned index. An index that already
// exists (a concurrent Ensure, or metadata lost) is accepted only when its
// vector field has the wanted dimension.
func (x *Index) create(ctx context.Context, name string, want store.IndexMeta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := x.client(name).CreateIndexWithIndexDefinition(schema(want.Dimension, x.opts), indexDefinition(x.prefix))
	if err == nil {
		return nil
	}
	if !strings.Contains(strings.ToLower(err.Error()), "already exists") {
		return ftErr("create index "+name, err)
	}
	dim, err := x.vectorDim(ctx, name)
	if err != nil {
		return err
	}
	if dim != want.Dimension {
		return &store.MismatchError{Have: store.IndexMeta{Embedder: "(unknown: index without metadata)", Dimension: dim}, Want: want}
	}
	return nil
}

// vectorDim reads the DIM of the index's vector field. FT.INFO goes through
// go-redis here: redisearch-go's Info() drops every vector attribute (DIM,
// metric, algorithm) when it parses the schema.
func (x *Index) vectorDim(ctx context.Context, name string) (int, error) {
	info, err := x.rdb.FTInfo(ctx, name).Result()
	if err != nil {
		return 0, ftErr("info "+name, err)
	}
	for _, a := range info.Attributes {
		if a.Attribute == fieldVector || a.Identifier == fieldVector {
			return a.Dim, nil
		}
	}
	return 0, fmt.Errorf("redisearch: index %s has no %s field", name, fieldVector)
}

// dimension returns the stored dimension, or ErrNoIndex.
func (x *Index) dimension(ctx context.Context) (int, error) {
	m, err := x.Meta(ctx)
	if err != nil {
		return 0, err
	}
	return m.Dimension, nil
}

// upsertBatch bounds how many items go into one MULTI/EXEC.
const upsertBatch = 256

// Upsert writes one hash per item with go-redis: HDEL of the attributes the
// item leaves empty, then HSET of the vector blob and the others, in one
// MULTI/EXEC per batch so a reader never sees half an item. Every item is
// checked before anything is sent. The Query Engine indexes each hash as it
// is written.
func (x *Index) Upsert(ctx context.Context, items []store.Item) error {
	if len(items) == 0 {
		return nil
	}
	dim, err := x.dimension(ctx)
	if err != nil {
		return fmt.Errorf("redisearch: upsert into %s: %w", x.name, err)
	}
	type write struct {
		key   string
		set   []any
		unset []string
	}
	writes := make([]write, len(items))
	for i, it := range items {
		if it.ID == "" {
			return fmt.Errorf("redisearch: upsert into %s: item %d has an empty id", x.name, i)
		}
		if len(it.Vector) != dim {
			return fmt.Errorf("redisearch: upsert into %s: item %q has %d components, index has %d: %w", x.name, it.ID, len(it.Vector), dim, store.ErrDimension)
		}
		if err := it.Attrs.Validate(); err != nil {
			return fmt.Errorf("redisearch: upsert into %s: item %q: %w", x.name, it.ID, err)
		}
		set, unset, err := hashFields(it)
		if err != nil {
			return fmt.Errorf("redisearch: upsert into %s: %w", x.name, err)
		}
		writes[i] = write{x.prefix + it.ID, set, unset}
	}
	for start := 0; start < len(writes); start += upsertBatch {
		batch := writes[start:min(start+upsertBatch, len(writes))]
		_, err := x.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, w := range batch {
				if len(w.unset) > 0 {
					p.HDel(ctx, w.key, w.unset...)
				}
				p.HSet(ctx, w.key, w.set...)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redisearch: upsert into %s: %w", x.name, err)
		}
	}
	return nil
}

// Delete removes the items' hashes; the index forgets them with the keys.
func (x *Index) Delete(ctx context.Context, ids ...string) error {
	for start := 0; start < len(ids); start += upsertBatch {
		batch := ids[start:min(start+upsertBatch, len(ids))]
		keys := make([]string, len(batch))
		for i, id := range batch {
			keys[i] = x.prefix + id
		}
		if err := x.rdb.Del(ctx, keys...).Err(); err != nil {
			return fmt.Errorf("redisearch: delete: %w", err)
		}
	}
	return nil
}

// searchQuery builds the redisearch-go query for a validated q.
func (x *Index) searchQuery(q store.Query) *rs.Query {
	k := q.K
	if k <= 0 {
		k = 10
	}
	// redisearch-go leaves LIMIT out when it equals the server default (0 10).
	return rs.NewQuery(knnQuery(filterExpr(q.Filter))).
		Limit(0, k).
		SetReturnFields(returnFields...).
		SetSortBy(distField, true).
		AddParam("k", k).
		AddParam("blob", store.EncodeFP32(q.Vector)).
		AddParam("ef", max(x.opts.EFRuntime, k)).
		SetDialect(2)
}

// Search runs a hybrid KNN query through the alias and returns up to q.K
// hits, nearest first, with Score >= q.MinScore.
func (x *Index) Search(ctx context.Context, q store.Query) ([]store.Hit, error) {
	if err := q.Filter.Validate(); err != nil {
		return nil, fmt.Errorf("redisearch: search %s: %w", x.name, err)
	}
	if q.K < 0 || q.MinScore < 0 || q.MinScore > 1 || math.IsNaN(q.MinScore) {
		return nil, fmt.Errorf("redisearch: search %s: k %d and min score %v must be k >= 0 and 0 <= min score <= 1", x.name, q.K, q.MinScore)
	}
	dim, err := x.dimension(ctx)
	if err != nil {
		return nil, fmt.Errorf("redisearch: search %s: %w", x.name, err)
	}
	if len(q.Vector) != dim {
		return nil, fmt.Errorf("redisearch: search %s: query has %d components, index has %d: %w", x.name, len(q.Vector), dim, store.ErrDimension)
	}
	rq := x.searchQuery(q)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	docs, err := search(x.client(x.alias), rq)
	if err != nil {
		return nil, ftErr("search "+x.alias, err)
	}
	hits := make([]store.Hit, 0, len(docs))
	for _, d := range docs {
		h, err := hit(d, x.prefix)
		if err != nil {
			return nil, fmt.Errorf("redisearch: search: %w", err)
		}
		if h.Score >= q.MinScore {
			hits = append(hits, h)
		}
	}
	return hits, nil
}

// search calls redisearch-go's Search, turning a panic of its reply parser
// into an error: it type-asserts each document's field list, which is nil
// when a key expires or is deleted while the query runs.
func search(c *rs.Client, q *rs.Query) (docs []rs.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unexpected FT.SEARCH reply: %v", r)
		}
	}()
	docs, _, err = c.Search(q)
	return docs, err
}

// Count returns the number of indexed hashes (FT.SEARCH * LIMIT 0 0), or 0
// when the index does not exist. Hashes whose vector failed to index (see
// Info's HashIndexingFailures) are not counted.
func (x *Index) Count(ctx context.Context) (int64, error) {
	if _, found, err := x.readMeta(ctx); err != nil || !found {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	_, total, err := x.client(x.alias).Search(rs.NewQuery("*").Limit(0, 0).SetDialect(2))
	if err != nil {
		return 0, ftErr("count "+x.alias, err)
	}
	return int64(total), nil
}

// Drop removes the index, its alias, its hashes and its metadata.
//
// FT.DROPINDEX goes without DD: DD deletes only the documents in the index,
// and a hash whose vector failed to index is not one of them. The hashes are
// removed by prefix instead (SCAN + UNLINK), which catches those too.
func (x *Index) Drop(ctx context.Context) error {
	m, _, err := x.readMeta(ctx)
	if err != nil {
		return err
	}
	names := []string{x.versioned(schemaVersion)}
	if m.Index != "" && m.Index != names[0] {
		names = append(names, m.Index)
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := x.client(n).DropIndex(false); err != nil && !isUnknownIndex(err) {
			return ftErr("drop index "+n, err)
		}
	}
	// Dropping the index drops its alias; this covers an alias left
	// pointing at an index of another name.
	if err := x.client(x.alias).AliasDel(x.alias); err != nil && !isUnknownIndex(err) {
		return ftErr("delete alias "+x.alias, err)
	}
	if _, err := store.DeletePrefix(ctx, x.rdb, x.prefix); err != nil {
		return fmt.Errorf("redisearch: drop %s: %w", x.name, err)
	}
	if err := x.rdb.Del(ctx, x.meta).Err(); err != nil {
		return fmt.Errorf("redisearch: drop %s: %w", x.name, err)
	}
	return nil
}

// Info describes the live index.
type Info struct {
	Index                string  // versioned FT index name
	Alias                string  // alias queries use
	Prefix               string  // hash key prefix
	Embedder             string  // from the metadata
	Dimension            int     // DIM of the vector field, as the server reports it
	Algorithm            string  // HNSW
	DistanceMetric       string  // COSINE
	NumDocs              int     // indexed hashes
	Indexing             bool    // a background scan is running
	PercentIndexed       float64 // 0..1
	HashIndexingFailures int     // hashes under the prefix that could not be indexed
	VectorIndexSizeMB    float64
	TotalIndexMemoryMB   float64
}

// Info returns FT.INFO figures for the index, or ErrNoIndex. It uses go-redis:
// redisearch-go's Info() loses the vector field's attributes.
func (x *Index) Info(ctx context.Context) (Info, error) {
	m, found, err := x.readMeta(ctx)
	if err != nil {
		return Info{}, err
	}
	if !found {
		return Info{}, store.ErrNoIndex
	}
	fi, err := x.rdb.FTInfo(ctx, m.Index).Result()
	if err != nil {
		return Info{}, ftErr("info "+m.Index, err)
	}
	info := Info{
		Index: m.Index, Alias: x.alias, Prefix: x.prefix, Embedder: m.Embedder,
		NumDocs: fi.NumDocs, Indexing: fi.Indexing != 0, PercentIndexed: fi.PercentIndexed,
		HashIndexingFailures: fi.HashIndexingFailures,
		VectorIndexSizeMB:    fi.VectorIndexSzMB, TotalIndexMemoryMB: fi.TotalIndexMemorySzMB,
	}
	for _, a := range fi.Attributes {
		if a.Attribute == fieldVector || a.Identifier == fieldVector {
			info.Dimension, info.Algorithm, info.DistanceMetric = a.Dim, a.Algorithm, a.DistanceMetric
		}
	}
	return info, nil
}

// ftErr wraps an FT command's error; "unknown command" becomes ErrNoQueryEngine.
func ftErr(op string, err error) error {
	if strings.Contains(strings.ToLower(err.Error()), "unknown command") {
		return fmt.Errorf("redisearch: %s: %w (%v)", op, ErrNoQueryEngine, err)
	}
	return fmt.Errorf("redisearch: %s: %w", op, err)
}

// isUnknownIndex matches the server's errors for a missing index or alias,
// worded "Unknown Index name", "no such index", "Index with name ... not
// found" or "Alias does not exist" depending on the version.
func isUnknownIndex(err error) bool {
	s := strings.ToLower(err.Error())
	for _, m := range []string{"unknown index", "no such index", "not found", "does not exist"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
