package llm

import (
	"context"
	"fmt"
	"sort"

	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/store"
)

// Document kinds searched as background knowledge.
const (
	KindIndustryReport = "industry_report"
	KindCompetitor     = "competitor"
)

// Retriever finds the context passages of an analysis: the chunks most
// similar to the query among several scopes, above a similarity threshold.
type Retriever struct {
	Store     *store.Store // chunk texts, with the vector index attached
	Embedder  embed.Embedder
	TopK      int     // passages kept in all (default 10)
	Threshold float64 // minimum similarity in [0,1] (default 0.70)
}

// Scope is one place to search.
type Scope struct {
	Name   string // "account", "similar_deal", "document", …
	Filter store.Filter
	// Keep drops hits of the scope that the filter cannot express (for
	// instance deals that were not won); nil keeps all.
	Keep func(store.Hit) bool
}

// Passage is one retrieved chunk.
type Passage struct {
	ID     string  `json:"id"`     // chunk id
	Record string  `json:"record"` // record ref <conn>:<object>:<id>
	Scope  string  `json:"source"`
	Kind   string  `json:"kind,omitempty"`
	Score  float64 `json:"similarity"`
	Text   string  `json:"text"`
}

// Retrieve embeds query and searches every scope, then keeps the TopK best
// passages at or above Threshold over all scopes.
func (r *Retriever) Retrieve(ctx context.Context, query string, scopes []Scope) ([]Passage, error) {
	if r.Store.Index() == nil || r.Embedder == nil {
		return nil, nil
	}
	k := r.TopK
	if k <= 0 {
		k = 10
	}
	th := r.Threshold
	if th <= 0 {
		th = 0.70
	}
	vs, err := r.Embedder.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	type cand struct {
		hit   store.Hit
		scope string
	}
	seen := map[string]bool{}
	var cands []cand
	for _, s := range scopes {
		// Store.Search: exact for an account scope, the index otherwise.
		hits, err := r.Store.Search(ctx, store.Query{Vector: vs[0], K: k, MinScore: th, Filter: s.Filter})
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", s.Name, err)
		}
		for _, h := range hits {
			if seen[h.ID] || h.Score < th || (s.Keep != nil && !s.Keep(h)) {
				continue
			}
			seen[h.ID] = true
			cands = append(cands, cand{h, s.Name})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].hit.Score != cands[j].hit.Score {
			return cands[i].hit.Score > cands[j].hit.Score
		}
		return cands[i].hit.ID < cands[j].hit.ID
	})
	if len(cands) > k {
		cands = cands[:k]
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.hit.ID
	}
	chunks, err := r.Store.GetChunks(ctx, ids)
	if err != nil {
		return nil, err
	}
	text := map[string]store.Chunk{}
	for _, c := range chunks {
		text[c.ID] = c
	}
	out := make([]Passage, 0, len(cands))
	for _, c := range cands {
		ch, ok := text[c.hit.ID]
		if !ok {
			continue // deleted since the search
		}
		out = append(out, Passage{ID: c.hit.ID, Record: ch.Record.String(), Scope: c.scope, Kind: c.hit.Attrs.Kind, Score: c.hit.Score, Text: ch.Text})
	}
	return out, nil
}
