package redisearch

import (
	"math"
	"slices"
	"testing"

	rs "github.com/RediSearch/redisearch-go/v2/redisearch"

	"github.com/crmpulse/crmpulse/store"
)

func TestEscapeTag(t *testing.T) {
	cases := []struct{ in, want string }{
		{"retail", "retail"},
		{"closed_won", "closed_won"},
		{"51-200", `51\-200`},
		{"Acme, Inc.", `Acme\,\ Inc\.`},
		{"a b", `a\ b`},
		{"{x}", `\{x\}`},
		{"a|b", `a\|b`},
		{"@field", `\@field`},
		{`"quoted"`, `\"quoted\"`},
		{"it's", `it\'s`},
		{`back\slash`, `back\\slash`},
		{"$param", `\$param`},
		{"(a)[b]", `\(a\)\[b\]`},
		{"x:y/z", `x\:y\/z`},
		{"Zürich", "Zürich"},
		{"製造業", "製造業"},
		{"Zürich 製造", `Zürich\ 製造`},
		{"tab\there", "tab\\\there"},
		{"", ""},
	}
	for _, c := range cases {
		if got := EscapeTag(c.in); got != c.want {
			t.Errorf("EscapeTag(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFilterExpr(t *testing.T) {
	cases := []struct {
		name string
		f    store.Filter
		want string
	}{
		{"none", store.Filter{}, "*"},
		{"one tag", store.Filter{Equals: map[string][]string{"type": {"opportunity"}}}, "(@type:{opportunity})"},
		{
			"fields in schema order, values deduplicated",
			store.Filter{Equals: map[string][]string{
				"stage": {"proposal", "negotiation", "proposal"}, "type": {"opportunity"}, "account": {"001Ac00001XyZ"},
			}},
			"(@type:{opportunity} @account:{001Ac00001XyZ} @stage:{proposal|negotiation})",
		},
		{
			"ranges open and closed, negative and fractional",
			store.Filter{Ranges: []store.Range{
				store.AtLeast("amount", 10000), store.AtMost("date", 1800000000), store.Between("amount", -5.5, 1e6),
			}},
			"(@amount:[10000 +inf] @date:[-inf 1800000000] @amount:[-5.5 1000000])",
		},
		{
			"hostile values",
			store.Filter{Equals: map[string][]string{"record": {"a-b {c}|d@e 'f'", "ünï"}}},
			`(@record:{a\-b\ \{c\}\|d\@e\ \'f\'|ünï})`,
		},
	}
	for _, c := range cases {
		if err := c.f.Validate(); err != nil {
			t.Fatalf("%s: invalid test filter: %v", c.name, err)
		}
		if got := filterExpr(c.f); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, got, c.want)
		}
	}
	if got := knnQuery("(@type:{account})"); got != "(@type:{account})=>[KNN $k @vec $blob EF_RUNTIME $ef AS dist]" {
		t.Errorf("knnQuery = %s", got)
	}
}

func TestSimilarity(t *testing.T) {
	cases := []struct{ d, want float64 }{
		{0, 1},     // same direction
		{1, 0.5},   // orthogonal
		{2, 0},     // opposite
		{0.2, 0.9}, // close
		{-1e-7, 1}, // rounding below zero distance
		{2.0000001, 0},
	}
	for _, c := range cases {
		if got := Similarity(c.d); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Similarity(%v) = %v, want %v", c.d, got, c.want)
		}
	}
	// The conversion agrees with the store's own similarity of the vectors:
	// COSINE distance is 1 - cos.
	a, b := []float32{1, 2, 0, -1}, []float32{0.5, -1, 3, 2}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i] * b[i])
		na += float64(a[i] * a[i])
		nb += float64(b[i] * b[i])
	}
	d := 1 - dot/math.Sqrt(na*nb)
	if got, want := Similarity(d), store.Similarity(a, b); math.Abs(got-want) > 1e-6 {
		t.Errorf("Similarity(cosine distance) = %v, store.Similarity = %v", got, want)
	}
}

func TestHashFields(t *testing.T) {
	it := store.Item{ID: "c1", Vector: []float32{1, 0}, Attrs: store.Attrs{Type: "document", Kind: "pdf", Date: -86400, Amount: 0.1}}
	set, unset, err := hashFields(it)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"vec", store.EncodeFP32(it.Vector), "type", "document", "kind", "pdf", "date", "-86400", "amount", "0.1"}
	if len(set) != len(want) {
		t.Fatalf("set = %q, want %q", set, want)
	}
	for i := range want {
		if b, ok := want[i].([]byte); ok {
			if g, ok := set[i].([]byte); !ok || !slices.Equal(g, b) {
				t.Errorf("set[%d] = %v, want blob %v", i, set[i], b)
			}
		} else if set[i] != want[i] {
			t.Errorf("set[%d] = %v, want %v", i, set[i], want[i])
		}
	}
	if wantUnset := []string{"conn", "account", "record", "industry", "size", "stage", "segment"}; !slices.Equal(unset, wantUnset) {
		t.Errorf("unset = %q, want %q", unset, wantUnset)
	}
}

func TestHitParsing(t *testing.T) {
	d := rs.Document{Id: "qe:n:doc:act:7#2", Properties: map[string]any{
		"dist": "0.5", "type": "activity", "kind": "call", "date": "1700000000", "amount": "12.75",
	}}
	h, err := hit(d, "qe:n:doc:")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Hit{ID: "act:7#2", Score: 0.75, Attrs: store.Attrs{Type: "activity", Kind: "call", Date: 1700000000, Amount: 12.75}}
	if h != want {
		t.Errorf("hit = %+v, want %+v", h, want)
	}
	bad := []rs.Document{
		{Id: "other:doc:1", Properties: map[string]any{"dist": "0"}},
		{Id: "qe:n:doc:1", Properties: map[string]any{}},
		{Id: "qe:n:doc:1", Properties: map[string]any{"dist": "x"}},
		{Id: "qe:n:doc:1", Properties: map[string]any{"dist": "0", "amount": "lots"}},
	}
	for _, d := range bad {
		if _, err := hit(d, "qe:n:doc:"); err == nil {
			t.Errorf("hit(%+v) accepted", d)
		}
	}
}
