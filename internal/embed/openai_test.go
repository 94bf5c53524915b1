package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/config"
)

// fakeOpenAI is an OpenAI-compatible embeddings server that records requests.
type fakeOpenAI struct {
	t   *testing.T
	dim int

	mu       sync.Mutex
	requests []embedRequest
	// respond, when set, answers request n (0-based) instead of the default.
	respond func(n int, w http.ResponseWriter, req embedRequest) bool
}

type embedRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions"`
	Auth       string   `json:"-"`
}

// vectorFor is the fake model: a deterministic vector per text.
func vectorFor(text string, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(len(text)%97) + float32(i)/1000
	}
	return v
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	var req embedRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("decode request: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Auth = r.Header.Get("Authorization")
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if f.respond != nil && f.respond(n, w, req) {
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(req.Input))
	for i, in := range req.Input {
		data[i] = item{"embedding", i, vectorFor(in, f.dim)}
	}
	slices.Reverse(data) // the client must order by index
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
}

func (f *fakeOpenAI) calls() []embedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func newFake(t *testing.T, dim int) (*fakeOpenAI, *httptest.Server) {
	f := &fakeOpenAI{t: t, dim: dim}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func newTestOpenAI(t *testing.T, srv *httptest.Server, opt OpenAIOptions) *OpenAI {
	t.Helper()
	opt.BaseURL = srv.URL + "/v1"
	if opt.Model == "" {
		opt.Model = "test-embed"
	}
	opt.Backoff = func(int) time.Duration { return time.Millisecond }
	e, err := NewOpenAI(opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOpenAIBatchesAndOrders(t *testing.T) {
	f, srv := newFake(t, 8)
	e := newTestOpenAI(t, srv, OpenAIOptions{APIKey: "sk-test", Dimension: 8, BatchSize: 3})
	texts := []string{"a1", "bb2", "", "ccc3", "dddd4", "eeeee5", "ffffff6"}
	vecs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		want := vectorFor(text, 8)
		if text == "" {
			want = EmptyVector(8)
		}
		if !slices.Equal(vecs[i], want) {
			t.Errorf("text %d %q: got %v want %v", i, text, vecs[i], want)
		}
	}
	calls := f.calls()
	wantBatches := [][]string{{"a1", "bb2", "ccc3"}, {"dddd4", "eeeee5", "ffffff6"}}
	if len(calls) != len(wantBatches) {
		t.Fatalf("%d requests, want %d", len(calls), len(wantBatches))
	}
	for i, c := range calls {
		if c.Model != "test-embed" {
			t.Errorf("request %d model %q", i, c.Model)
		}
		if c.Auth != "Bearer sk-test" {
			t.Errorf("request %d Authorization %q", i, c.Auth)
		}
		if c.Dimensions != 0 {
			t.Errorf("request %d sent dimensions %d", i, c.Dimensions)
		}
		if !slices.Equal(c.Input, wantBatches[i]) {
			t.Errorf("request %d input %q, want %q", i, c.Input, wantBatches[i])
		}
	}
	if e.Name() != "openai:test-embed:d8" || e.Dimension() != 8 {
		t.Errorf("name %q dimension %d", e.Name(), e.Dimension())
	}
}

func TestOpenAITokenBudgetSplitsBatches(t *testing.T) {
	f, srv := newFake(t, 4)
	// Each 30-byte text estimates to 11 tokens; a budget of 25 fits two.
	e := newTestOpenAI(t, srv, OpenAIOptions{Dimension: 4, MaxBatchTokens: 25, RequestDimension: 4})
	text := strings.Repeat("x", 30)
	if _, err := e.Embed(context.Background(), []string{text, text, text, text, text}); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, c := range f.calls() {
		sizes = append(sizes, len(c.Input))
		if c.Dimensions != 4 {
			t.Errorf("dimensions %d, want 4", c.Dimensions)
		}
		if c.Auth != "" {
			t.Errorf("Authorization %q sent without a key", c.Auth)
		}
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("batch sizes %v, want [2 2 1]", sizes)
	}
}

func TestOpenAIRetries429Then5xxThenSucceeds(t *testing.T) {
	f, srv := newFake(t, 4)
	f.respond = func(n int, w http.ResponseWriter, _ embedRequest) bool {
		switch n {
		case 0:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
			return true
		case 1:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
			return true
		}
		return false
	}
	e := newTestOpenAI(t, srv, OpenAIOptions{Dimension: 4, MaxRetries: 3})
	vecs, err := e.Embed(context.Background(), []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vecs[0], vectorFor("hello", 4)) {
		t.Errorf("vector %v", vecs[0])
	}
	if n := len(f.calls()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestOpenAIGivesUpAfterMaxRetries(t *testing.T) {
	f, srv := newFake(t, 4)
	f.respond = func(_ int, w http.ResponseWriter, _ embedRequest) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	e := newTestOpenAI(t, srv, OpenAIOptions{Dimension: 4, MaxRetries: 2})
	if _, err := e.Embed(context.Background(), []string{"hello"}); err == nil {
		t.Fatal("want error")
	}
	if n := len(f.calls()); n != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", n)
	}
}

func TestOpenAIDoesNotRetryClientErrors(t *testing.T) {
	f, srv := newFake(t, 4)
	f.respond = func(_ int, w http.ResponseWriter, _ embedRequest) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}`)
		return true
	}
	e := newTestOpenAI(t, srv, OpenAIOptions{Dimension: 4})
	_, err := e.Embed(context.Background(), []string{"hello"})
	if err == nil || !strings.Contains(err.Error(), "Incorrect API key") {
		t.Fatalf("error %v", err)
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestOpenAIMalformedResponses(t *testing.T) {
	two := []string{"one", "two"}
	cases := map[string]struct {
		body   string
		inputs []string
	}{
		"wrong dimension": {`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]}]}`, two[:1]},
		"missing item":    {`{"object":"list","data":[]}`, two[:1]},
		"index repeated":  {`{"object":"list","data":[{"index":0,"embedding":[1,2,3,4]},{"index":0,"embedding":[1,2,3,4]}]}`, two},
		"index too large": {`{"object":"list","data":[{"index":0,"embedding":[1,2,3,4]},{"index":5,"embedding":[1,2,3,4]}]}`, two},
		"not json":        {`{"object":"list","data":[{"index":0,"embedding":[1,2,`, two[:1]},
		"wrong types":     {`{"object":"list","data":[{"index":"zero","embedding":"nope"}]}`, two[:1]},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f, srv := newFake(t, 4)
			f.respond = func(_ int, w http.ResponseWriter, _ embedRequest) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
				return true
			}
			e := newTestOpenAI(t, srv, OpenAIOptions{Dimension: 4})
			_, err := e.Embed(context.Background(), tc.inputs)
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v, want ErrBadResponse", err)
			}
			if name == "wrong dimension" && !strings.Contains(err.Error(), "dimension 3, configured 4") {
				t.Errorf("error %q does not name the dimensions", err)
			}
			if n := len(f.calls()); n != 1 {
				t.Errorf("%d requests; malformed responses are not retried", n)
			}
		})
	}
}

func TestOpenAIRespectsContext(t *testing.T) {
	f, srv := newFake(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	f.respond = func(_ int, w http.ResponseWriter, _ embedRequest) bool {
		cancel()
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	e := newTestOpenAI(t, srv, OpenAIOptions{Dimension: 4, MaxRetries: 10})
	if _, err := e.Embed(ctx, []string{"hello"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("%d requests after cancellation", n)
	}
}

func TestNewFromConfig(t *testing.T) {
	cfg := config.Default().Embedder
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "local-hash-v1-d384-w2-c34-j23-sw" || e.Dimension() != 384 {
		t.Errorf("local: %q %d", e.Name(), e.Dimension())
	}

	f, srv := newFake(t, 1536)
	t.Setenv("CRMPULSE_TEST_EMBED_KEY", "sk-from-env")
	cfg.Kind = config.EmbedOpenAI
	cfg.OpenAI.BaseURL = srv.URL + "/v1"
	cfg.OpenAI.APIKeyEnv = "CRMPULSE_TEST_EMBED_KEY"
	e, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "openai:text-embedding-3-small:d1536" {
		t.Errorf("openai name %q", e.Name())
	}
	if _, err := e.Embed(context.Background(), []string{"hi"}); err != nil {
		t.Fatal(err)
	}
	if c := f.calls(); len(c) != 1 || c[0].Auth != "Bearer sk-from-env" || c[0].Model != "text-embedding-3-small" {
		t.Errorf("requests %+v", c)
	}

	cfg.OpenAI.BaseURL = "https://api.openai.com/v1"
	cfg.OpenAI.APIKeyEnv = "CRMPULSE_TEST_EMBED_KEY_UNSET"
	if _, err := New(cfg); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("error %v, want ErrNoAPIKey", err)
	}
	cfg.Kind = "word2vec"
	if _, err := New(cfg); err == nil {
		t.Error("unknown kind accepted")
	}
}
