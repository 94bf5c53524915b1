package redisearch

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/store"
)

// sortPairs returns cmd with the count-prefixed name/value pairs after
// marker (the vector attributes after "HNSW", the PARAMS) sorted by name:
// redisearch-go sends both from Go maps, so their order varies between calls
// while the server reads them as unordered pairs.
func sortPairs(cmd []string, marker string) []string {
	out := slices.Clone(cmd)
	i := slices.Index(out, marker)
	if i < 0 || i+1 >= len(out) {
		return out
	}
	n := 0
	for _, c := range out[i+1] {
		n = n*10 + int(c-'0')
	}
	start, end := i+2, i+2+n
	if end > len(out) || n%2 != 0 {
		return out
	}
	type pair struct{ k, v string }
	ps := make([]pair, 0, n/2)
	for j := start; j < end; j += 2 {
		ps = append(ps, pair{out[j], out[j+1]})
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	for j, p := range ps {
		out[start+2*j], out[start+2*j+1] = p.k, p.v
	}
	return out
}

func wantCommands(t *testing.T, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d commands, want %d:\ngot  %q\nwant %q", len(got), len(want), got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("command %d:\ngot  %q\nwant %q", i, got[i], want[i])
		}
	}
}

const metaJSON4 = `{"embedder":"minilm","dimension":4,"schema":1,"index":"qe:crm:v1"}`

func TestEnsureCreatesIndexAliasAndMeta(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		if cmd[0] == "get" {
			return nilBulk
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Ensure(context.Background(), store.IndexMeta{Embedder: "minilm", Dimension: 4}); err != nil {
		t.Fatal(err)
	}
	got := w.Commands()
	if len(got) > 1 {
		got[1] = sortPairs(got[1], "HNSW")
	}
	sep := string(rune(tagSeparator))
	create := []string{"FT.CREATE", "qe:crm:v1", "ON", "HASH", "PREFIX", "1", "qe:crm:doc:", "SCHEMA"}
	for _, f := range []string{"type", "conn", "account", "record", "industry", "size", "stage", "segment", "kind"} {
		create = append(create, f, "TAG", "SEPARATOR", sep, "CASESENSITIVE")
	}
	create = append(create,
		"date", "NUMERIC", "SORTABLE",
		"amount", "NUMERIC", "SORTABLE",
		"text", "TEXT",
		"vec", "VECTOR", "HNSW", "10",
		"DIM", "4", "DISTANCE_METRIC", "COSINE", "EF_CONSTRUCTION", "200", "M", "16", "TYPE", "FLOAT32")
	wantCommands(t, got, [][]string{
		{"get", "qe:crm:meta"},
		create,
		{"FT.ALIASUPDATE", "qe:crm", "qe:crm:v1"},
		{"set", "qe:crm:meta", metaJSON4, "nx"},
	})
}

func TestEnsureHNSWOptions(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		if cmd[0] == "get" {
			return nilBulk
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", &Options{M: 32, EFConstruction: 400})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Ensure(context.Background(), store.IndexMeta{Embedder: "openai-3-small", Dimension: 1536}); err != nil {
		t.Fatal(err)
	}
	create := sortPairs(w.Commands("FT.CREATE")[0], "HNSW")
	i := slices.Index(create, "VECTOR")
	want := []string{"VECTOR", "HNSW", "10", "DIM", "1536", "DISTANCE_METRIC", "COSINE", "EF_CONSTRUCTION", "400", "M", "32", "TYPE", "FLOAT32"}
	if i < 0 || !slices.Equal(create[i:], want) {
		t.Fatalf("vector field:\ngot  %q\nwant %q", create[max(i, 0):], want)
	}
}

func TestEnsureExistingIndexChecksMetaAndList(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT._LIST":
			return bulks("other", "qe:crm:v1")
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	if err := x.Ensure(ctx, store.IndexMeta{Embedder: "minilm", Dimension: 4}); err != nil {
		t.Fatal(err)
	}
	wantCommands(t, w.Commands(), [][]string{{"get", "qe:crm:meta"}, {"FT._LIST"}})

	w.Reset()
	err = x.Ensure(ctx, store.IndexMeta{Embedder: "minilm", Dimension: 8})
	var mm *store.MismatchError
	if !errors.As(err, &mm) || !errors.Is(err, store.ErrIndexMismatch) {
		t.Fatalf("Ensure with another dimension: %v, want *store.MismatchError", err)
	}
	if mm.Have != (store.IndexMeta{Embedder: "minilm", Dimension: 4}) || mm.Want.Dimension != 8 {
		t.Errorf("mismatch = %+v", mm)
	}
	wantCommands(t, w.Commands(), [][]string{{"get", "qe:crm:meta"}})
}

func TestEnsureRecreatesIndexLostBehindMeta(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT._LIST":
			return bulks("other")
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Ensure(context.Background(), store.IndexMeta{Embedder: "minilm", Dimension: 4}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range w.Commands() {
		names = append(names, c[0])
	}
	want := []string{"get", "FT._LIST", "FT.CREATE", "FT.ALIASUPDATE", "set"}
	if !slices.Equal(names, want) {
		t.Fatalf("commands %q, want %q", names, want)
	}
	if set := w.Commands("set")[0]; !slices.Equal(set, []string{"set", "qe:crm:meta", metaJSON4}) {
		t.Errorf("meta write %q", set)
	}
}

func TestSearchCommandHostileTagsAndReply(t *testing.T) {
	hostile := "001 Ac-{x}|y@z'q"
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT.SEARCH":
			// RESP2 reply shape of FT.SEARCH ... RETURN ... DIALECT 2: total,
			// then key and field list per document, fields in RETURN order
			// with absent ones left out.
			return array(integer(2),
				bulk("qe:crm:doc:opp:1#0"),
				bulks("dist", "0.2", "type", "opportunity", "account", hostile, "industry", "retail",
					"stage", "negotiation", "date", "1700000100", "amount", "50000.5"),
				bulk("qe:crm:doc:acct:9#3"),
				bulks("dist", "1.5", "type", "account", "account", "Zürich 製造", "industry", "retail"),
			)
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	vec := []float32{1, 0, -0.5, 0.25}
	hits, err := x.Search(context.Background(), store.Query{
		Vector:   vec,
		K:        5,
		MinScore: 0.5,
		Filter: store.Filter{
			Equals: map[string][]string{"industry": {"retail"}, "account": {hostile, "Zürich 製造", hostile}},
			Ranges: []store.Range{store.AtLeast("amount", 10000), store.Between("date", 1.7e9, 1.8e9)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := w.Commands("FT.")
	if len(got) != 1 {
		t.Fatalf("FT commands %q", got)
	}
	query := `(@account:{001\ Ac\-\{x\}\|y\@z\'q|Zürich\ 製造} @industry:{retail} @amount:[10000 +inf] @date:[1700000000 1800000000])` +
		`=>[KNN $k @vec $blob EF_RUNTIME $ef AS dist]`
	want := []string{"FT.SEARCH", "qe:crm", query, "LIMIT", "0", "5",
		"RETURN", "12", "dist", "type", "conn", "account", "record", "industry", "size", "stage", "segment", "kind", "date", "amount",
		"SORTBY", "dist", "ASC",
		"PARAMS", "6", "blob", string(store.EncodeFP32(vec)), "ef", "100", "k", "5",
		"DIALECT", "2"}
	wantCommands(t, [][]string{sortPairs(got[0], "PARAMS")}, [][]string{want})

	// 1.5 is similarity 0.25, under MinScore: only the first hit stays.
	if len(hits) != 1 {
		t.Fatalf("hits %+v, want 1", hits)
	}
	h := hits[0]
	wantAttrs := store.Attrs{Type: "opportunity", Account: hostile, Industry: "retail", Stage: "negotiation", Date: 1700000100, Amount: 50000.5}
	if h.ID != "opp:1#0" || math.Abs(h.Score-0.9) > 1e-12 || h.Attrs != wantAttrs {
		t.Errorf("hit %+v, want opp:1#0 score 0.9 attrs %+v", h, wantAttrs)
	}
}

func TestSearchDefaultsAndUnfilteredQuery(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT.SEARCH":
			return array(integer(0))
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", &Options{EFRuntime: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	hits, err := x.Search(context.Background(), store.Query{Vector: []float32{0, 1, 0, 0}})
	if err != nil || len(hits) != 0 {
		t.Fatalf("Search = %v, %v", hits, err)
	}
	got := sortPairs(w.Commands("FT.")[0], "PARAMS")
	// K 0 means 10; LIMIT 0 10 is the server default, which redisearch-go
	// leaves out. EF_RUNTIME is raised to K.
	want := []string{"FT.SEARCH", "qe:crm", "*=>[KNN $k @vec $blob EF_RUNTIME $ef AS dist]",
		"RETURN", "12", "dist", "type", "conn", "account", "record", "industry", "size", "stage", "segment", "kind", "date", "amount",
		"SORTBY", "dist", "ASC",
		"PARAMS", "6", "blob", string(store.EncodeFP32([]float32{0, 1, 0, 0})), "ef", "10", "k", "10",
		"DIALECT", "2"}
	wantCommands(t, [][]string{got}, [][]string{want})
}

func TestSearchRefusesBeforeSending(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		if cmd[0] == "get" {
			return bulk(metaJSON4)
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	cases := []struct {
		name string
		q    store.Query
		want error
	}{
		{"dimension", store.Query{Vector: []float32{1, 2, 3}}, store.ErrDimension},
		{"unknown field", store.Query{Vector: make([]float32, 4), Filter: store.Filter{Equals: map[string][]string{"colour": {"red"}}}}, store.ErrInvalidFilter},
		{"quote", store.Query{Vector: make([]float32, 4), Filter: store.Filter{Equals: map[string][]string{"account": {`a"b`}}}}, store.ErrInvalidFilter},
		{"inverted range", store.Query{Vector: make([]float32, 4), Filter: store.Filter{Ranges: []store.Range{store.Between("amount", 5, 1)}}}, store.ErrInvalidFilter},
	}
	for _, c := range cases {
		if _, err := x.Search(ctx, c.q); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if ft := w.Commands("FT."); len(ft) != 0 {
		t.Errorf("sent %q", ft)
	}
}

func TestSearchNilFieldListIsAnError(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT.SEARCH":
			// A key deleted while the query ran comes back with a nil field
			// list, on which redisearch-go's parser panics.
			return array(integer(1), bulk("qe:crm:doc:gone"), "*-1\r\n")
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Search(context.Background(), store.Query{Vector: make([]float32, 4)}); err == nil || !strings.Contains(err.Error(), "unexpected FT.SEARCH reply") {
		t.Fatalf("Search = %v, want an unexpected-reply error", err)
	}
}

func TestUpsertWritesHashesInMulti(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "hdel", "hset":
			return integer(1)
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	full := store.Item{ID: "opp:1#0", Vector: []float32{0.5, -1, 2, 0}, Attrs: store.Attrs{
		Type: "opportunity", Connection: "sf main", Account: "001{x}|y", Record: "006-1", Industry: "retail",
		SizeBand: "51_200", Stage: "negotiation", Segment: "champions", Kind: "email", Date: 1700000000, Amount: 1234.5,
	}}
	sparse := store.Item{ID: "acct:9#3", Vector: []float32{1, 0, 0, 0}, Attrs: store.Attrs{Type: "account", Account: "a9"}}
	if err := x.Upsert(context.Background(), []store.Item{full, sparse}); err != nil {
		t.Fatal(err)
	}
	wantCommands(t, w.Commands(), [][]string{
		{"get", "qe:crm:meta"},
		{"multi"},
		{"hset", "qe:crm:doc:opp:1#0", "vec", string(store.EncodeFP32(full.Vector)),
			"type", "opportunity", "conn", "sf main", "account", "001{x}|y", "record", "006-1", "industry", "retail",
			"size", "51_200", "stage", "negotiation", "segment", "champions", "kind", "email", "date", "1700000000", "amount", "1234.5"},
		{"hdel", "qe:crm:doc:acct:9#3", "conn", "record", "industry", "size", "stage", "segment", "kind", "date", "amount"},
		{"hset", "qe:crm:doc:acct:9#3", "vec", string(store.EncodeFP32(sparse.Vector)), "type", "account", "account", "a9"},
		{"exec"},
	})

	w.Reset()
	bad := []store.Item{sparse, {ID: "x", Vector: []float32{1, 2}}}
	if err := x.Upsert(context.Background(), bad); !errors.Is(err, store.ErrDimension) {
		t.Fatalf("Upsert wrong dimension = %v", err)
	}
	bad[1] = store.Item{ID: "x", Vector: make([]float32, 4), Attrs: store.Attrs{Account: "a\x1fb"}}
	if err := x.Upsert(context.Background(), bad); !errors.Is(err, store.ErrInvalidAttrs) {
		t.Fatalf("Upsert separator in value = %v", err)
	}
	if c := w.Commands("multi", "hset", "hdel"); len(c) != 0 {
		t.Errorf("refused batch sent %q", c)
	}
}

func TestCountAndDropCommands(t *testing.T) {
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT.SEARCH":
			return array(integer(7))
		case "scan":
			return array(bulk("0"), bulks("qe:crm:doc:a", "qe:crm:doc:b"))
		case "FT.ALIASDEL":
			return "-Alias does not exist\r\n"
		case "unlink", "del":
			return integer(2)
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	n, err := x.Count(ctx)
	if err != nil || n != 7 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	wantCommands(t, w.Commands(), [][]string{
		{"get", "qe:crm:meta"},
		{"FT.SEARCH", "qe:crm", "*", "LIMIT", "0", "0", "DIALECT", "2"},
	})
	w.Reset()
	if err := x.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	wantCommands(t, w.Commands(), [][]string{
		{"get", "qe:crm:meta"},
		{"FT.DROPINDEX", "qe:crm:v1"},
		{"FT.ALIASDEL", "qe:crm"},
		{"scan", "0", "match", "qe:crm:doc:*", "count", "1000"},
		{"unlink", "qe:crm:doc:a", "qe:crm:doc:b"},
		{"del", "qe:crm:meta"},
	})
}

func TestInfoParsesVectorAttributes(t *testing.T) {
	// FT.INFO reply shape of a Redis 8 server on RESP2, trimmed to the
	// fields Info reads plus neighbours of other types.
	info := array(
		bulk("index_name"), bulk("qe:crm:v1"),
		bulk("index_options"), array(),
		bulk("index_definition"), array(bulk("key_type"), bulk("HASH"), bulk("prefixes"), bulks("qe:crm:doc:"), bulk("default_score"), bulk("1")),
		bulk("attributes"), array(
			bulks("identifier", "type", "attribute", "type", "type", "TAG", "SEPARATOR", "\x1f", "CASESENSITIVE"),
			array(bulk("identifier"), bulk("vec"), bulk("attribute"), bulk("vec"), bulk("type"), bulk("VECTOR"),
				bulk("algorithm"), bulk("HNSW"), bulk("data_type"), bulk("FLOAT32"), bulk("dim"), integer(4),
				bulk("distance_metric"), bulk("COSINE"), bulk("M"), integer(16), bulk("ef_construction"), integer(200)),
		),
		bulk("num_docs"), bulk("42"),
		bulk("max_doc_id"), bulk("50"),
		bulk("hash_indexing_failures"), bulk("3"),
		bulk("indexing"), bulk("0"),
		bulk("percent_indexed"), bulk("1"),
		bulk("vector_index_sz_mb"), bulk("0.25"),
		bulk("total_index_memory_sz_mb"), bulk("0.5"),
	)
	w := newWireRecorder(t, func(cmd []string) string {
		switch cmd[0] {
		case "get":
			return bulk(metaJSON4)
		case "FT.INFO":
			return info
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	got, err := x.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Index: "qe:crm:v1", Alias: "qe:crm", Prefix: "qe:crm:doc:", Embedder: "minilm", Dimension: 4,
		Algorithm: "HNSW", DistanceMetric: "COSINE", NumDocs: 42, PercentIndexed: 1, HashIndexingFailures: 3,
		VectorIndexSizeMB: 0.25, TotalIndexMemoryMB: 0.5}
	if got != want {
		t.Errorf("Info =\n%+v\nwant\n%+v", got, want)
	}
	wantCommands(t, w.Commands(), [][]string{{"get", "qe:crm:meta"}, {"FT.INFO", "qe:crm:v1"}})
}

// TestEnsureMigratesOlderSchema: metadata written by an older schema version
// makes Ensure build the current index over the same hashes, move the alias,
// and drop the old index without its documents.
func TestEnsureMigratesOlderSchema(t *testing.T) {
	older := `{"embedder":"minilm","dimension":4,"schema":0,"index":"qe:crm:v0"}`
	w := newWireRecorder(t, func(cmd []string) string {
		if cmd[0] == "get" {
			return bulk(older)
		}
		return ""
	})
	x, err := New(w.client(), "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Ensure(context.Background(), store.IndexMeta{Embedder: "minilm", Dimension: 4}); err != nil {
		t.Fatal(err)
	}
	got := w.Commands()
	var names []string
	for _, c := range got {
		names = append(names, c[0])
	}
	if want := []string{"get", "FT.CREATE", "FT.ALIASUPDATE", "set", "FT.DROPINDEX"}; !slices.Equal(names, want) {
		t.Fatalf("commands %q, want %q", names, want)
	}
	if c := got[1]; c[1] != "qe:crm:v1" || !slices.Equal(c[2:7], []string{"ON", "HASH", "PREFIX", "1", "qe:crm:doc:"}) {
		t.Errorf("FT.CREATE %q", c[:7])
	}
	wantCommands(t, got[2:], [][]string{
		{"FT.ALIASUPDATE", "qe:crm", "qe:crm:v1"},
		{"set", "qe:crm:meta", metaJSON4},
		{"FT.DROPINDEX", "qe:crm:v0"},
	})
}
