// Package embed turns text into vectors for the vector indexes.
//
// Three implementations share the Embedder interface:
//
//   - Local, a feature-hashing embedder that needs no network and no model
//     download: word unigrams and bigrams plus character n-grams for Latin
//     script, character n-grams for Japanese and other CJK text, hashed with
//     signs into a fixed number of buckets and L2-normalised. It is the
//     default and is deterministic across runs and machines.
//   - OpenAI, for any OpenAI-compatible /v1/embeddings endpoint, with
//     batching, retries and response checks.
//   - Cached, a wrapper that stores vectors in Redis by content hash so
//     unchanged text is never embedded twice.
//
// An Embedder's Name encodes its model, dimension and version; the vector
// indexes store it and refuse to mix vectors from different embedders.
//
// # Empty text
//
// Text without any feature (empty, whitespace or punctuation only) embeds
// to EmptyVector(dim): a fixed unit vector whose components are all
// ±1/sqrt(dim). It is never NaN, is identical for all empty texts, and has a
// similarity near zero with real text, so it neither breaks cosine
// arithmetic nor matches queries.
package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/crmpulse/crmpulse/internal/config"
)

// Embedder turns texts into vectors. Implementations are safe for concurrent
// use.
type Embedder interface {
	// Name identifies the model, its settings, dimension and version; two
	// embedders with the same Name produce the same vectors.
	Name() string
	// Dimension is the length of every vector returned.
	Dimension() int
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

var (
	// ErrBadResponse: an embeddings endpoint answered with something other
	// than one vector of the expected dimension per input.
	ErrBadResponse = errors.New("malformed embeddings response")
	// ErrNoAPIKey: the environment variable naming the API key is unset.
	ErrNoAPIKey = errors.New("embeddings API key not set")
)

// New builds the embedder that cfg describes. The OpenAI API key is read
// from the environment variable cfg.OpenAI.APIKeyEnv; it may be unset only
// for endpoints other than api.openai.com.
func New(cfg config.Embedder) (Embedder, error) {
	switch cfg.Kind {
	case config.EmbedLocal, "":
		return NewLocal(LocalOptions{
			Dimension:  cfg.Local.Dimension,
			WordNgrams: cfg.Local.WordNgrams,
			CharNgrams: cfg.Local.CharNgrams,
			CJKNgrams:  cfg.Local.CJKNgrams,
			StopWords:  cfg.Local.StopWords,
		})
	case config.EmbedOpenAI:
		o := cfg.OpenAI
		key := ""
		if o.APIKeyEnv != "" {
			key = os.Getenv(o.APIKeyEnv)
		}
		if key == "" && isOpenAIHost(o.BaseURL) {
			return nil, fmt.Errorf("%w: set %s", ErrNoAPIKey, o.APIKeyEnv)
		}
		opt := OpenAIOptions{
			BaseURL:        o.BaseURL,
			Model:          o.Model,
			APIKey:         key,
			Dimension:      o.EffectiveDimension(),
			BatchSize:      o.BatchSize,
			MaxBatchTokens: o.MaxBatchTokens,
			Timeout:        o.Timeout,
			MaxRetries:     o.MaxRetries,
		}
		if o.SendDimension {
			opt.RequestDimension = o.Dimension
		}
		return NewOpenAI(opt)
	}
	return nil, fmt.Errorf("embedder: unknown kind %q", cfg.Kind)
}

// EmptyVector is the vector for text without features; see the package
// documentation.
func EmptyVector(dim int) []float32 {
	v := make([]float32, dim)
	if dim == 0 {
		return v
	}
	x := float32(1 / math.Sqrt(float64(dim)))
	h := uint64(0x9e3779b97f4a7c15)
	for i := range v {
		h ^= h << 13 // xorshift64: a fixed, portable sign pattern
		h ^= h >> 7
		h ^= h << 17
		if h&1 == 1 {
			v[i] = -x
		} else {
			v[i] = x
		}
	}
	return v
}

// normalize scales v to unit length in place; it reports false for the zero
// vector.
func normalize(v []float32) bool {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return false
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return true
}
