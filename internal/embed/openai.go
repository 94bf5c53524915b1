package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAIOptions configure an OpenAI-compatible embedder. Zero values mean
// the defaults shown.
type OpenAIOptions struct {
	// BaseURL of the API including /v1 (default https://api.openai.com/v1).
	BaseURL string
	// Model name (required).
	Model string
	// APIKey sent as a bearer token; empty sends none.
	APIKey string
	// Dimension every returned vector must have (required).
	Dimension int
	// RequestDimension, when positive, is sent as "dimensions" to ask the
	// server for shortened vectors.
	RequestDimension int
	// BatchSize is the most inputs per request (default 256).
	BatchSize int
	// MaxBatchTokens caps the estimated tokens per request (default 250000);
	// a single larger input is sent alone.
	MaxBatchTokens int
	// Timeout per request attempt (default 30s).
	Timeout time.Duration
	// MaxRetries after a 429, a 5xx or a transport error (default 4; a
	// negative value disables retries).
	MaxRetries int
	// Backoff returns the wait before retry attempt n (1-based); default is
	// exponential from 500ms, capped at 30s, with jitter.
	Backoff func(attempt int) time.Duration
	// HTTPClient overrides the HTTP client.
	HTTPClient *http.Client
}

// OpenAI embeds through an OpenAI-compatible /embeddings endpoint. Safe for
// concurrent use.
type OpenAI struct {
	client *openai.Client
	opt    OpenAIOptions
	name   string
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns an embedder for the endpoint opt describes.
func NewOpenAI(opt OpenAIOptions) (*OpenAI, error) {
	if opt.BaseURL == "" {
		opt.BaseURL = "https://api.openai.com/v1"
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = 256
	}
	if opt.MaxBatchTokens == 0 {
		opt.MaxBatchTokens = 250000
	}
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 4
	} else if opt.MaxRetries < 0 {
		opt.MaxRetries = 0
	}
	if opt.Backoff == nil {
		opt.Backoff = defaultBackoff
	}
	if opt.Model == "" {
		return nil, errors.New("openai embedder: model is required")
	}
	if opt.Dimension <= 0 {
		return nil, fmt.Errorf("openai embedder: dimension is required for model %q", opt.Model)
	}
	if opt.BatchSize < 1 || opt.MaxBatchTokens < 1 {
		return nil, errors.New("openai embedder: batch size and token budget must be positive")
	}
	if _, err := url.Parse(opt.BaseURL); err != nil {
		return nil, fmt.Errorf("openai embedder: base URL: %w", err)
	}
	cc := openai.DefaultConfig(opt.APIKey)
	cc.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	if opt.HTTPClient != nil {
		cc.HTTPClient = opt.HTTPClient
	}
	return &OpenAI{
		client: openai.NewClientWithConfig(cc),
		opt:    opt,
		name:   fmt.Sprintf("openai:%s:d%d", opt.Model, opt.Dimension),
	}, nil
}

// Name is "openai:<model>:d<dimension>".
func (o *OpenAI) Name() string { return o.name }

// Dimension returns the vector length.
func (o *OpenAI) Dimension() int { return o.opt.Dimension }

// Embed sends texts in batches bounded by BatchSize inputs and
// MaxBatchTokens estimated tokens. Empty texts are not sent: they get
// EmptyVector. Vectors are returned as the server sent them (OpenAI's are
// unit length).
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var batch []string
	var idx []int
	tokens := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vecs, err := o.embedBatch(ctx, batch)
		if err != nil {
			return err
		}
		for k, i := range idx {
			out[i] = vecs[k]
		}
		batch, idx, tokens = batch[:0], idx[:0], 0
		return nil
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = EmptyVector(o.opt.Dimension)
			continue
		}
		n := estimateTokens(t)
		if len(batch) > 0 && (len(batch) >= o.opt.BatchSize || tokens+n > o.opt.MaxBatchTokens) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		batch = append(batch, t)
		idx = append(idx, i)
		tokens += n
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// estimateTokens over-estimates tokens cheaply: one per 3 bytes of UTF-8
// (about one per Japanese character, one per 3 Latin letters).
func estimateTokens(s string) int { return len(s)/3 + 1 }

func (o *OpenAI) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	req := openai.EmbeddingRequestStrings{
		Input:      batch,
		Model:      openai.EmbeddingModel(o.opt.Model),
		Dimensions: o.opt.RequestDimension,
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		actx, cancel := context.WithTimeout(ctx, o.opt.Timeout)
		resp, err := o.client.CreateEmbeddings(actx, req)
		cancel()
		if err == nil {
			return o.check(resp, len(batch))
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) || attempt >= o.opt.MaxRetries {
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("%w: %w", ErrBadResponse, err)
			}
			return nil, fmt.Errorf("embed %d texts with %s: %w", len(batch), o.opt.Model, err)
		}
		t := time.NewTimer(o.opt.Backoff(attempt + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// check orders the response by index and verifies count and dimensions.
func (o *OpenAI) check(resp openai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, fmt.Errorf("%w: %d embeddings for %d inputs", ErrBadResponse, len(resp.Data), n)
	}
	out := make([][]float32, n)
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n {
			return nil, fmt.Errorf("%w: index %d out of range for %d inputs", ErrBadResponse, d.Index, n)
		}
		if out[d.Index] != nil {
			return nil, fmt.Errorf("%w: index %d returned twice", ErrBadResponse, d.Index)
		}
		if len(d.Embedding) != o.opt.Dimension {
			return nil, fmt.Errorf("%w: model %s returned a vector of dimension %d, configured %d (set embedder.openai.dimension to match the model)",
				ErrBadResponse, o.opt.Model, len(d.Embedding), o.opt.Dimension)
		}
		out[d.Index] = d.Embedding
	}
	return out, nil
}

// retryable reports 429s, 5xx and transport failures; other API errors
// (bad request, auth) and undecodable bodies are final.
func retryable(err error) bool {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode == http.StatusTooManyRequests || apiErr.HTTPStatusCode >= 500
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode == http.StatusTooManyRequests || reqErr.HTTPStatusCode >= 500
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr) // connection refused, reset, per-attempt timeout
}

func defaultBackoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt-1, 6)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

func isOpenAIHost(base string) bool {
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}
