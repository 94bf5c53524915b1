package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// profileFixture stores account profile chunks with random vectors into a
// store with a vector-set index and returns the histories.
func profileFixture(t *testing.T, n, dim int, withVector func(i int) bool) (*store.Store, []string, map[string]*churn.AccountHistory, map[string][]float32) {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Client(t)
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := vectorset.New(rdb, st.Key("idx", "test"), &vectorset.Options{NoAccountSets: true}) // as crmpulse wires it
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: "test", Dimension: dim}); err != nil {
		t.Fatal(err)
	}
	st = st.WithIndex(idx)
	rng := rand.New(rand.NewPCG(7, 9))
	industries := []string{"Manufacturing", "Retail", "Finance"}
	employees := []int{30, 120, 600}
	hs := map[string]*churn.AccountHistory{}
	vecs := map[string][]float32{}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("A%04d", i)
		h := &churn.AccountHistory{ID: id, Name: "Account " + id, Industry: industries[i%3], Employees: employees[(i/3)%3],
			Purchases: []churn.Purchase{{ID: "P" + id, Date: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Products: []string{fmt.Sprintf("prod-%d", i%5)}}}}
		hs[id] = h
		ids = append(ids, id)
		if !withVector(i) {
			continue
		}
		v := make([]float32, dim)
		for k := range v {
			v[k] = float32(rng.NormFloat64())
		}
		vecs[id] = v
		ind, band := groupOf(h)
		ref := store.Ref{Connection: "c", Object: store.TypeAccount, ID: id}
		if err := st.ReplaceChunks(ctx, ref, "", []store.Chunk{{Text: "profile " + id, Vector: v,
			Attrs: store.Attrs{Account: id, Industry: ind, SizeBand: band}}}); err != nil {
			t.Fatal(err)
		}
	}
	return st, ids, hs, vecs
}

// bruteForce ranks every other account of the given groups by the
// similarity of the raw vectors (store.Similarity), ties by id.
func bruteForce(vecs map[string][]float32, hs map[string]*churn.AccountHistory, self string, keep func(h *churn.AccountHistory) bool) []string {
	type c struct {
		id string
		s  float64
	}
	var cs []c
	for id, v := range vecs {
		if id != self && keep(hs[id]) {
			cs = append(cs, c{id, store.Similarity(vecs[self], v)})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].s != cs[j].s {
			return cs[i].s > cs[j].s
		}
		return cs[i].id < cs[j].id
	})
	out := make([]string, len(cs))
	for i, x := range cs {
		out[i] = x.id
	}
	return out
}

func TestProfilesNearestExact(t *testing.T) {
	ctx := context.Background()
	// 90 accounts: 9 groups of 10; every seventh has no stored vector.
	st, ids, hs, vecs := profileFixture(t, 90, 48, func(i int) bool { return i%7 != 3 })
	e := New(st, nil, nil, Options{Neighbours: 5})
	p, err := e.LoadProfiles(ctx, "c", ids, hs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != len(vecs) || p.Missing != len(ids)-len(vecs) {
		t.Fatalf("loaded %d (missing %d), want %d (missing %d)", p.Len(), p.Missing, len(vecs), len(ids)-len(vecs))
	}
	for id := range vecs {
		h := hs[id]
		ind, band := groupOf(h)
		sameGroup := func(o *churn.AccountHistory) bool { oi, ob := groupOf(o); return oi == ind && ob == band }
		sameInd := func(o *churn.AccountHistory) bool { oi, ob := groupOf(o); return oi == ind && ob != band }
		want := bruteForce(vecs, hs, id, sameGroup)
		// Groups hold 8–10 vectors: asking for 12 spills into other bands.
		for _, k := range []int{3, 12} {
			got := p.Nearest(p.vecs[p.pos[id]], ind, band, id, k)
			var gotIDs []string
			for _, s := range got {
				gotIDs = append(gotIDs, p.ids[s.pos])
				if want := store.Similarity(vecs[id], vecs[p.ids[s.pos]]); math.Abs(s.score-want) > 1e-5 {
					t.Fatalf("%s: score of %s %.6f, want %.6f", id, p.ids[s.pos], s.score, want)
				}
			}
			exp := want[:min(k, len(want))]
			if k > len(want) {
				exp = append(slices.Clone(exp), bruteForce(vecs, hs, id, sameInd)[:k-len(want)]...)
			}
			if !slices.Equal(gotIDs, exp) {
				t.Fatalf("%s k=%d: got %v, want %v", id, k, gotIDs, exp)
			}
		}
	}
	// Neighbours: products and deals of the neighbours, never the account
	// itself, never another industry.
	b := &Base{Conn: "c", AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), IDs: ids, Histories: hs}
	for _, id := range ids[:20] {
		ns, warn := e.Neighbours(ctx, b, hs[id])
		if _, ok := vecs[id]; !ok {
			if warn == "" || !strings.Contains(warn, id) {
				t.Errorf("%s has no vector and no embedder: warning %q", id, warn)
			}
			continue
		}
		if warn != "" || len(ns) != 5 {
			t.Fatalf("%s: %d neighbours, warning %q", id, len(ns), warn)
		}
		for _, n := range ns {
			if n.AccountID == id || hs[n.AccountID].Industry != hs[id].Industry {
				t.Errorf("%s: neighbour %s (%s)", id, n.AccountID, hs[n.AccountID].Industry)
			}
			if len(n.Deals) != 1 || n.Deals[0].ID != "P"+n.AccountID || len(n.Products) != 1 {
				t.Errorf("%s: neighbour %+v lacks its purchase", id, n)
			}
		}
	}
}

func TestProfilesEmbedMissing(t *testing.T) {
	ctx := context.Background()
	st, ids, hs, _ := profileFixture(t, 12, 384, func(i int) bool { return false })
	emb, err := embed.NewLocal(embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := New(st, emb, nil, Options{Neighbours: 3})
	p, err := e.LoadProfiles(ctx, "c", ids, hs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != len(ids) || p.Missing != 0 || p.EmbedErr != nil {
		t.Fatalf("embedded %d of %d (missing %d, %v)", p.Len(), len(ids), p.Missing, p.EmbedErr)
	}
	// An account added after the base: its own vector is embedded on the
	// spot and the base's accounts are searched.
	b := &Base{Conn: "c", AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), IDs: ids, Histories: hs}
	nh := *hs[ids[0]]
	nh.ID, nh.Name = "NEW", "Fresh Account"
	ns, warn := e.Neighbours(ctx, b, &nh)
	if warn != "" || len(ns) != 3 {
		t.Fatalf("new account: %d neighbours, warning %q", len(ns), warn)
	}
}
