package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/crosssell"
	"github.com/crmpulse/crmpulse/store"
)

// profileBatch is how many chunk hashes one pipeline reads.
const profileBatch = 500

// Profiles are the profile vectors of a base's accounts, unit-normalised and
// grouped by industry and size band, for an exact nearest-neighbour scan.
//
// Why exact and not the vector index: the neighbours of an account are
// searched among accounts of the same connection, industry and size band.
// Those groups are small (2000 accounts split over a dozen industries and
// five bands leave a few dozen per group) and highly selective, which is the
// worst case for a filtered approximate search: the index walks its graph
// over the whole connection and throws most candidates away, paying a round
// trip and a graph traversal per account, and with a tight filter it may
// return fewer or other neighbours than the true nearest. Scanning the group
// in memory costs a few dozen 384-dimension dot products per account, is
// exact and deterministic (ties by account id), and the whole base fits in a
// few megabytes (2000 × 384 float32 ≈ 3 MB).
type Profiles struct {
	ids  []string
	vecs [][]float32 // unit length, same order as ids
	pos  map[string]int
	// byIndustry groups positions by industry slug, then size-band slug.
	byIndustry map[string]map[string][]int
	// Missing counts accounts with neither a stored profile vector nor an
	// embedder to compute one; they are neither searched nor found.
	Missing int
	// EmbedErr is why missing profiles could not be embedded (nil when
	// none were missing or all were embedded).
	EmbedErr error
}

// Len returns the number of accounts with a profile vector.
func (p *Profiles) Len() int { return len(p.ids) }

// LoadProfiles reads the profile vector of every account of the base: the
// vector of the account record's first chunk, kept by the store in the chunk
// hash, fetched with pipelined HMGETs of profileBatch hashes. Accounts
// without a stored vector are embedded from ProfileText when the engine has
// an embedder (one batch), and left out otherwise.
func (e *Engine) LoadProfiles(ctx context.Context, conn string, ids []string, hs map[string]*churn.AccountHistory) (*Profiles, error) {
	if e.Store == nil {
		return nil, errors.New("load profiles: no store")
	}
	p := &Profiles{pos: make(map[string]int, len(ids)), byIndustry: map[string]map[string][]int{}}
	rdb := e.Store.Client()
	var missing []string
	for start := 0; start < len(ids); start += profileBatch {
		batch := ids[start:min(start+profileBatch, len(ids))]
		pipe := rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(batch))
		for i, id := range batch {
			cid := store.ChunkID(store.Ref{Connection: conn, Object: store.TypeAccount, ID: id}, 0)
			cmds[i] = pipe.HMGet(ctx, e.Store.Key("chunk", cid), "vec")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("load profile vectors of %s: %w", conn, err)
		}
		for i, id := range batch {
			vals, err := cmds[i].Result()
			if err != nil {
				return nil, fmt.Errorf("load profile vector of %s/%s: %w", conn, id, err)
			}
			raw, _ := vals[0].(string)
			if raw == "" {
				missing = append(missing, id)
				continue
			}
			v, err := store.DecodeFP32([]byte(raw))
			if err != nil {
				return nil, fmt.Errorf("profile vector of %s/%s: %w", conn, id, err)
			}
			p.add(id, v, hs[id])
		}
	}
	if len(missing) > 0 && e.Embedder != nil {
		texts := make([]string, len(missing))
		for i, id := range missing {
			texts[i] = ProfileText(hs[id])
		}
		vs, err := e.Embedder.Embed(ctx, texts)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err != nil:
			// The stored vectors still serve; the accounts left out are
			// reported, not fatal.
			p.EmbedErr = fmt.Errorf("embed %d profiles of %s: %w", len(missing), conn, err)
		case len(vs) != len(missing):
			p.EmbedErr = fmt.Errorf("embed %d profiles of %s: %d vectors returned", len(missing), conn, len(vs))
		default:
			for i, id := range missing {
				p.add(id, vs[i], hs[id])
			}
			missing = nil
		}
	}
	p.Missing = len(missing)
	return p, nil
}

// add indexes one account; zero vectors and accounts without history are
// skipped.
func (p *Profiles) add(id string, v []float32, h *churn.AccountHistory) {
	if h == nil {
		return
	}
	u := unit(v)
	if u == nil {
		return
	}
	if len(p.vecs) > 0 && len(u) != len(p.vecs[0]) {
		return // written by another embedder; the index would reject it too
	}
	i := len(p.ids)
	p.ids = append(p.ids, id)
	p.vecs = append(p.vecs, u)
	p.pos[id] = i
	ind, band := groupOf(h)
	g := p.byIndustry[ind]
	if g == nil {
		g = map[string][]int{}
		p.byIndustry[ind] = g
	}
	g[band] = append(g[band], i)
}

// groupOf is the (industry, size band) group of an account, as slugs.
func groupOf(h *churn.AccountHistory) (industry, band string) {
	return store.Slug(h.Industry), store.Slug(SizeBand(h.Employees))
}

// unit returns v scaled to length 1, or nil for a zero or non-finite vector.
func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil
	}
	s := 1 / math.Sqrt(n)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * s)
	}
	return out
}

func dot(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

// scored is a candidate neighbour.
type scored struct {
	pos   int
	score float64 // cosine mapped to [0, 1] as (1+cos)/2, the scale of store.Hit.Score
}

// Nearest returns up to k accounts most similar to the unit vector q,
// excluding the account self:
//
//  1. accounts of the same industry and size band, best first;
//  2. when that group holds fewer than k other accounts, the rest of the
//     slots go to the best of the same industry in other size bands.
//
// An empty industry or band of the query matches every value of it. Other
// industries are never used: products bought in another industry make poor
// cross-sell evidence. Ties are broken by account id, so results are
// deterministic.
func (p *Profiles) Nearest(q []float32, industry, band, self string, k int) []scored {
	if k <= 0 || len(q) == 0 {
		return nil
	}
	var inds []map[string][]int
	if industry != "" {
		if g := p.byIndustry[industry]; g != nil {
			inds = append(inds, g)
		}
	} else {
		for _, g := range p.byIndustry {
			inds = append(inds, g)
		}
	}
	var same, other []scored
	for _, g := range inds {
		for b, members := range g {
			dst := &same
			if band != "" && b != band {
				dst = &other
			}
			for _, i := range members {
				if p.ids[i] == self || len(p.vecs[i]) != len(q) {
					continue
				}
				*dst = append(*dst, scored{pos: i, score: (1 + dot(q, p.vecs[i])) / 2})
			}
		}
	}
	out := p.best(same, k)
	if len(out) < k {
		out = append(out, p.best(other, k-len(out))...)
	}
	return out
}

// best sorts candidates by score (then id) and keeps k.
func (p *Profiles) best(c []scored, k int) []scored {
	slices.SortFunc(c, func(a, b scored) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(p.ids[a.pos], p.ids[b.pos])
	})
	if len(c) > k {
		c = c[:k]
	}
	return c
}

// profiles returns the base's profile vectors, loading them on first use.
// A failed load is retried by the next caller.
func (b *Base) profiles(ctx context.Context, e *Engine) (*Profiles, error) {
	b.profMu.Lock()
	defer b.profMu.Unlock()
	if b.prof != nil {
		return b.prof, nil
	}
	p, err := e.LoadProfiles(ctx, b.Conn, b.IDs, b.Histories)
	if err != nil {
		return nil, err
	}
	b.prof = p
	return p, nil
}

// Neighbours finds the accounts most similar to h by an exact cosine scan of
// the base's profile vectors (see Profiles.Nearest for the groups searched),
// the account itself excluded. A non-empty warning says why none could be
// found.
func (e *Engine) Neighbours(ctx context.Context, b *Base, h *churn.AccountHistory) ([]crosssell.Neighbor, string) {
	if e.Store == nil {
		return nil, "no store: cross-sell without similar accounts"
	}
	p, err := b.profiles(ctx, e)
	if err != nil {
		return nil, fmt.Sprintf("similar accounts of %s: %v", h.ID, err)
	}
	var q []float32
	if i, ok := p.pos[h.ID]; ok {
		q = p.vecs[i]
	} else {
		// An account added after the base was prepared.
		v, err := e.profileVector(ctx, b.Conn, h)
		if err != nil || v == nil {
			return nil, fmt.Sprintf("no profile vector for %s: %v", h.ID, err)
		}
		q = unit(v)
	}
	if q == nil {
		return nil, fmt.Sprintf("no profile vector for %s: zero vector", h.ID)
	}
	ind, band := groupOf(h)
	var out []crosssell.Neighbor
	for _, s := range p.Nearest(q, ind, band, h.ID, e.Opt.Neighbours) {
		acct := p.ids[s.pos]
		nh := b.Histories[acct]
		n := crosssell.Neighbor{AccountID: acct, Similarity: s.score}
		for _, pu := range nh.Purchases {
			if pu.Date.After(b.AsOf) {
				continue
			}
			n.Products = append(n.Products, pu.Products...)
			n.Deals = append(n.Deals, crosssell.Deal{ID: pu.ID, Products: pu.Products})
		}
		out = append(out, n)
	}
	return out, ""
}
