package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Search answers a KNN query. A filter naming exactly one account
// (Filter.Equals["account"] with one value, whatever else it holds) is
// answered exactly from the chunk hashes: the account's record index of each
// connection the filter allows (every connection that has chunks when it
// names none) lists the chunk owners, their chunk ids list the chunks, and
// the cosine similarity of every stored FP32 vector passing Filter.Match is
// computed here. Such a search reads every chunk of the account (tens to a
// few thousand), which is cheap, and its result does not depend on how the
// index handles a very selective filter. Any other query goes to the
// attached index.
//
// Scores are on the Hit scale, (1+cos)/2, computed in float64 from the
// stored vectors, so they can differ slightly from the index's (quantised)
// scores. Ties are ordered by chunk id. Errors: ErrNoVectorIndex without an
// index, ErrInvalidFilter, ErrDimension for a query of another dimension
// than the index, and an error for a negative K or a MinScore outside [0,1].
//
// A chunk is found through its owner's entry in the account's record index,
// which ReplaceChunks writes for every account its chunks name. A chunk
// whose account attribute still names an account its record has since left
// is not found under that account; it is replaced when the record is
// chunked again.
func (s *Store) Search(ctx context.Context, q Query) ([]Hit, error) {
	if s.idx == nil {
		return nil, fmt.Errorf("search: %w", ErrNoVectorIndex)
	}
	accts := q.Filter.Equals["account"]
	if len(accts) != 1 {
		return s.idx.Search(ctx, q)
	}
	if err := q.Filter.Validate(); err != nil {
		return nil, fmt.Errorf("search account %s: %w", accts[0], err)
	}
	if q.K < 0 || q.MinScore < 0 || q.MinScore > 1 || math.IsNaN(q.MinScore) {
		return nil, fmt.Errorf("search account %s: k %d and min score %v must be k >= 0 and 0 <= min score <= 1", accts[0], q.K, q.MinScore)
	}
	meta, err := s.idx.Meta(ctx)
	if err != nil {
		return nil, fmt.Errorf("search account %s: %w", accts[0], err)
	}
	if len(q.Vector) != meta.Dimension {
		return nil, fmt.Errorf("search account %s: query has %d components, index has %d: %w", accts[0], len(q.Vector), meta.Dimension, ErrDimension)
	}
	k := q.K
	if k == 0 {
		k = 10
	}
	hits, err := s.scanAccount(ctx, accts[0], q)
	if err != nil {
		return nil, fmt.Errorf("search account %s: %w", accts[0], err)
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
}

// scanAccount scores every chunk of account that passes q.Filter and
// q.MinScore.
func (s *Store) scanAccount(ctx context.Context, account string, q Query) ([]Hit, error) {
	conns := q.Filter.Equals["conn"]
	if len(conns) == 0 {
		var err error
		if conns, err = s.chunkConnections(ctx); err != nil {
			return nil, err
		}
	}
	if len(conns) == 0 {
		return nil, nil
	}
	// Owners of the account in every connection.
	pipe := s.rdb.Pipeline()
	ownerCmds := make([]*redis.StringSliceCmd, len(conns))
	for i, c := range conns {
		ownerCmds[i] = pipe.SMembers(ctx, s.acctKey(c, account))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read account index: %w", err)
	}
	var owners []string
	for _, c := range ownerCmds {
		owners = append(owners, c.Val()...)
	}
	// Their chunk ids.
	var ids []string
	for start := 0; start < len(owners); start += ChunkWriteBatch {
		group := owners[start:min(start+ChunkWriteBatch, len(owners))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(group))
		for i, o := range group {
			cmds[i] = pipe.SMembers(ctx, s.ns+":rchunks:"+o)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read chunk ids: %w", err)
		}
		for _, c := range cmds {
			ids = append(ids, c.Val()...)
		}
	}
	// Their vectors and attributes.
	var hits []Hit
	for start := 0; start < len(ids); start += ChunkWriteBatch {
		group := ids[start:min(start+ChunkWriteBatch, len(ids))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(group))
		for i, id := range group {
			cmds[i] = pipe.HMGet(ctx, s.chunkKey(id), "attrs", "vec")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read chunks: %w", err)
		}
		for i, c := range cmds {
			v := c.Val()
			as, _ := v[0].(string)
			vec, _ := v[1].(string)
			if as == "" {
				continue // registered, not written yet, or deleted since
			}
			var a Attrs
			if err := json.Unmarshal([]byte(as), &a); err != nil {
				return nil, fmt.Errorf("chunk %s: attributes: %w", group[i], err)
			}
			if !q.Filter.Match(a) {
				continue
			}
			if len(vec) != 4*len(q.Vector) {
				return nil, fmt.Errorf("chunk %s holds a %d-byte vector, the query has %d components: %w", group[i], len(vec), len(q.Vector), ErrDimension)
			}
			score := similarityFP32(q.Vector, vec)
			if score < q.MinScore {
				continue
			}
			hits = append(hits, Hit{ID: group[i], Score: score, Attrs: a})
		}
	}
	return hits, nil
}

// similarityFP32 is Similarity of a and the FP32 little-endian blob b (of
// the same length), without decoding b into a slice.
func similarityFP32(a []float32, b string) float64 {
	var dot, na, nb float64
	for i, x := range a {
		u := uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
		y := float64(math.Float32frombits(u))
		xf := float64(x)
		dot += xf * y
		na += xf * xf
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return (1 + dot/math.Sqrt(na*nb)) / 2
}

// chunkConnections returns the connections that have chunks. Data written
// before the registry existed is found once by scanning the account
// indexes, which fills the registry.
func (s *Store) chunkConnections(ctx context.Context) ([]string, error) {
	conns, err := s.rdb.SMembers(ctx, s.connsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read connections: %w", err)
	}
	if len(conns) > 0 {
		return conns, nil
	}
	prefix := s.ns + ":acct:"
	seen := map[string]bool{}
	iter := s.rdb.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rest := strings.TrimPrefix(iter.Val(), prefix)
		if c, _, ok := strings.Cut(rest, ":"); ok && c != "" && !seen[c] {
			seen[c] = true
			conns = append(conns, c)
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan account indexes: %w", err)
	}
	if len(conns) > 0 {
		members := make([]any, len(conns))
		for i, c := range conns {
			members[i] = c
		}
		if err := s.rdb.SAdd(ctx, s.connsKey(), members...).Err(); err != nil {
			return nil, fmt.Errorf("register connections: %w", err)
		}
	}
	return conns, nil
}
