package embed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// CacheTTL is how long a cached vector lives after it was computed.
const CacheTTL = 30 * 24 * time.Hour

// cached wraps an Embedder with a Redis cache.
type cached struct {
	inner  Embedder
	rdb    redis.UniversalClient
	prefix string
}

var _ Embedder = (*cached)(nil)

// Cached returns e with vectors cached in Redis under
// "<namespace>:embcache:<e.Name()>:<sha256 of the text>" as little-endian
// FP32 bytes, for CacheTTL. Each Embed call looks all texts up with one MGET,
// embeds only the misses (each distinct text once) in one inner call and
// stores them with one pipeline, so unchanged text is never embedded twice.
// Because the key includes the embedder's Name, changing the model or its
// settings never returns stale vectors. Safe for concurrent use.
func Cached(e Embedder, rdb redis.UniversalClient, namespace string) Embedder {
	return &cached{inner: e, rdb: rdb, prefix: namespace + ":embcache:" + e.Name() + ":"}
}

func (c *cached) Name() string   { return c.inner.Name() }
func (c *cached) Dimension() int { return c.inner.Dimension() }

func (c *cached) key(text string) string {
	sum := sha256.Sum256([]byte(text))
	return c.prefix + hex.EncodeToString(sum[:])
}

// Embed returns cached vectors and embeds the rest.
func (c *cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	keys := make([]string, len(texts))
	for i, t := range texts {
		keys[i] = c.key(t)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("embedding cache lookup: %w", err)
	}
	dim := c.inner.Dimension()
	out := make([][]float32, len(texts))
	var missTexts []string
	missAt := map[string][]int{} // text -> positions waiting for it
	for i, v := range vals {
		if s, ok := v.(string); ok {
			if vec, ok := decodeVector(s, dim); ok {
				out[i] = vec
				continue
			}
		}
		if _, seen := missAt[texts[i]]; !seen {
			missTexts = append(missTexts, texts[i])
		}
		missAt[texts[i]] = append(missAt[texts[i]], i)
	}
	if len(missTexts) == 0 {
		return out, nil
	}
	vecs, err := c.inner.Embed(ctx, missTexts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(missTexts) {
		return nil, fmt.Errorf("%w: embedder %s returned %d vectors for %d texts", ErrBadResponse, c.inner.Name(), len(vecs), len(missTexts))
	}
	pipe := c.rdb.Pipeline()
	for k, t := range missTexts {
		if len(vecs[k]) != dim {
			return nil, fmt.Errorf("%w: embedder %s returned dimension %d, want %d", ErrBadResponse, c.inner.Name(), len(vecs[k]), dim)
		}
		for n, i := range missAt[t] {
			if n == 0 {
				out[i] = vecs[k]
			} else {
				out[i] = append([]float32(nil), vecs[k]...) // callers may modify vectors
			}
		}
		pipe.Set(ctx, keys[missAt[t][0]], encodeVector(vecs[k]), CacheTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("embedding cache store: %w", err)
	}
	return out, nil
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(s string, dim int) ([]float32, bool) {
	if len(s) != 4*dim {
		return nil, false
	}
	v := make([]float32, dim)
	for i := range v {
		j := 4 * i
		v[i] = math.Float32frombits(uint32(s[j]) | uint32(s[j+1])<<8 | uint32(s[j+2])<<16 | uint32(s[j+3])<<24)
	}
	return v, true
}
