package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/crmpulse/crmpulse/store"
)

// Industries, stages and types used by generated items.
var (
	Industries = []string{"manufacturing", "retail", "software", "finance", "healthcare", "logistics", "energy", "education"}
	Stages     = []string{"prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"}
	Types      = []string{store.TypeAccount, store.TypeOpportunity, store.TypeActivity, store.TypeDocument}
)

// Dataset is a reproducible set of clustered unit vectors with realistic
// attributes, and the exact (brute-force) answers to queries over it.
//
// Real text embeddings are clustered (topics, templates, languages), so items
// are drawn around Clusters random centres with per-cluster spread; queries
// are drawn from the same mixture. Industry correlates with the cluster, as
// topics do with industries in CRM text.
type Dataset struct {
	Dim      int
	Items    []store.Item
	Accounts []string
	rng      *rand.Rand
	centres  [][]float32
}

// DatasetOptions shape a Dataset; zero fields take the defaults in brackets.
type DatasetOptions struct {
	N        int    // items [1000]
	Dim      int    // dimension [384]
	Clusters int    // cluster centres [64]
	Accounts int    // distinct accounts [N/20]
	Seed     uint64 // RNG seed [1]
	Spread   float64
}

// NewDataset generates the items.
func NewDataset(o DatasetOptions) *Dataset {
	if o.N <= 0 {
		o.N = 1000
	}
	if o.Dim <= 0 {
		o.Dim = 384
	}
	if o.Clusters <= 0 {
		o.Clusters = 64
	}
	if o.Accounts <= 0 {
		o.Accounts = max(1, o.N/20)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Spread <= 0 {
		o.Spread = 0.6
	}
	d := &Dataset{Dim: o.Dim, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	for range o.Clusters {
		d.centres = append(d.centres, d.gaussian(1))
	}
	for i := range o.Accounts {
		d.Accounts = append(d.Accounts, fmt.Sprintf("001Ac%05dXyZ", i))
	}
	base := int64(1_700_000_000)
	for i := range o.N {
		c := d.rng.IntN(o.Clusters)
		acct := d.Accounts[d.rng.IntN(len(d.Accounts))]
		ind := Industries[(c+d.rng.IntN(2))%len(Industries)]
		typ := Types[d.rng.IntN(len(Types))]
		a := store.Attrs{
			Type: typ, Connection: "sf_main", Account: acct, Record: fmt.Sprintf("rec-%d", i),
			Industry: ind, SizeBand: []string{"1_50", "51_200", "201_1000", "1000_plus"}[d.rng.IntN(4)],
			Segment: []string{"champions", "loyal", "at_risk", "hibernating"}[d.rng.IntN(4)],
			Date:    base + int64(d.rng.IntN(365*86400)),
		}
		if typ == store.TypeOpportunity {
			a.Stage = Stages[d.rng.IntN(len(Stages))]
			a.Amount = float64(1000 + d.rng.IntN(200)*500)
		}
		d.Items = append(d.Items, store.Item{
			ID:     fmt.Sprintf("sf_main:%s:rec-%d#%d", typ, i, i%3),
			Vector: d.near(c, o.Spread),
			Attrs:  a,
		})
	}
	return d
}

// Query returns a query vector drawn from the item distribution.
func (d *Dataset) Query() []float32 {
	return d.near(d.rng.IntN(len(d.centres)), 0.6)
}

// Rand exposes the dataset's generator for picking filters reproducibly.
func (d *Dataset) Rand() *rand.Rand { return d.rng }

func (d *Dataset) near(c int, spread float64) []float32 {
	noise := d.gaussian(spread)
	v := make([]float32, d.Dim)
	for i := range v {
		v[i] = d.centres[c][i] + noise[i]
	}
	return normalise(v)
}

// gaussian returns a vector of norm ~scale with random direction.
func (d *Dataset) gaussian(scale float64) []float32 {
	v := make([]float32, d.Dim)
	s := scale / math.Sqrt(float64(d.Dim))
	for i := range v {
		v[i] = float32(d.rng.NormFloat64() * s)
	}
	return v
}

func normalise(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// Exact returns the true top-k hits of vec among items passing f, best first.
func Exact(items []store.Item, vec []float32, f store.Filter, minScore float64, k int) []store.Hit {
	var hits []store.Hit
	for _, it := range items {
		if !f.Match(it.Attrs) {
			continue
		}
		s := store.Similarity(vec, it.Vector)
		if s < minScore {
			continue
		}
		hits = append(hits, store.Hit{ID: it.ID, Score: s, Attrs: it.Attrs})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].ID < hits[j].ID
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// Recall is |got ∩ want| / |want| over ids (1 when want is empty).
func Recall(got, want []store.Hit) float64 {
	if len(want) == 0 {
		return 1
	}
	in := make(map[string]bool, len(got))
	for _, h := range got {
		in[h.ID] = true
	}
	n := 0
	for _, h := range want {
		if in[h.ID] {
			n++
		}
	}
	return float64(n) / float64(len(want))
}
