package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) record(_ int, d time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return 0
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var w waits
	c := &http.Client{Transport: NewTransport(Options{Wait: w.record})}
	resp, err := c.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("attempts = %d, want 3", got)
	}
	got := w.all()
	if len(got) != 2 || got[0] != 7*time.Second || got[1] != 7*time.Second {
		t.Fatalf("requested waits = %v, want [7s 7s]", got)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	h := http.Header{}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	d, ok := RetryAfter(h, now)
	if !ok || d != 90*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	h.Set("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat))
	if d, ok := RetryAfter(h, now); !ok || d != 0 {
		t.Fatalf("past date = %v, %v", d, ok)
	}
	h.Set("Retry-After", "soon")
	if _, ok := RetryAfter(h, now); ok {
		t.Fatal("garbage accepted")
	}
}

func Test503ThenSuccessWithBody(t *testing.T) {
	var n atomic.Int32
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var w waits
	c := &http.Client{Transport: NewTransport(Options{Wait: w.record})}
	resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("status %d after %d attempts", resp.StatusCode, n.Load())
	}
	if len(bodies) != 2 || bodies[0] != `{"a":1}` || bodies[1] != `{"a":1}` {
		t.Fatalf("bodies = %q; the retry must resend the body", bodies)
	}
	if got := w.all(); len(got) != 1 || got[0] <= 0 || got[0] > 30*time.Second {
		t.Fatalf("backoff = %v", got)
	}
}

func TestExhaustedRetriesReturnLastResponse(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"message":"bad gateway"}`)
	}))
	defer srv.Close()
	var w waits
	c := &http.Client{Transport: NewTransport(Options{Wait: w.record, RetryMax: 2})}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "bad gateway") {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
	if n.Load() != 3 {
		t.Fatalf("attempts = %d, want 3", n.Load())
	}
}

func TestRetryAfterBeyondMaxWaitNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := &http.Client{Transport: NewTransport(Options{Wait: func(int, time.Duration) time.Duration { t.Error("waited"); return 0 }})}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || n.Load() != 1 {
		t.Fatalf("status %d after %d attempts", resp.StatusCode, n.Load())
	}
}

func TestNotRetried4xx(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	c := &http.Client{Transport: NewTransport(Options{})}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n.Load() != 1 {
		t.Fatalf("attempts = %d", n.Load())
	}
}

func TestContextCancellationStopsRetries(t *testing.T) {
	var n atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			cancel()
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := &http.Client{Transport: NewTransport(Options{Wait: func(int, time.Duration) time.Duration { return 0 }, RetryMax: 50})}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("attempts = %d, want 2 (no retry after cancel)", got)
	}
}

func TestLimiterSharedAndCountersPerAttempt(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	lim := rate.NewLimiter(rate.Inf, 1)
	var cnt Counters
	var seen atomic.Int32
	opts := Options{Limiter: lim, Counters: &cnt, Wait: func(int, time.Duration) time.Duration { return 0 },
		Observe: func(*http.Response) { seen.Add(1) }}
	c := &http.Client{Transport: NewTransport(opts)}
	for _, p := range []string{"/crm/v3/objects/companies/512", "/crm/v3/objects/companies/513"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	snap := cnt.Snapshot()
	if snap["GET /crm/v3/objects/companies/{id}"] != 3 {
		t.Fatalf("counters = %v, want 3 attempts on one route", snap)
	}
	if seen.Load() != 3 {
		t.Fatalf("observer saw %d responses", seen.Load())
	}

	// An exhausted limiter blocks until ctx ends, then reports ctx's error.
	slow := rate.NewLimiter(rate.Every(time.Hour), 1)
	slow.Allow()
	c2 := &http.Client{Transport: NewTransport(Options{Limiter: slow})}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	if _, err := c2.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/services/data/v61.0/query":                               "GET /services/data/{v}/query",
		"/services/data/v61.0/query/01gxx0000016PIAYA2-2000":       "GET /services/data/{v}/query/{id}",
		"/services/data/v61.0/sobjects/Account/001xx000003DGb2AAG": "GET /services/data/{v}/sobjects/Account/{id}",
		"/crm/v3/objects/companies/search":                         "GET /crm/v3/objects/companies/search",
		"/crm/v4/associations/companies/deals/batch/read":          "GET /crm/v4/associations/companies/deals/batch/read",
	} {
		r := httptest.NewRequest("GET", path, nil)
		if got := DefaultRoute(r); got != want {
			t.Errorf("DefaultRoute(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	const secret = "00Dxx0000001gPL!AR8AQsecret"
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "body-with-"+secret)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	for _, lvl := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		n.Store(0)
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: lvl}))
		src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: secret})
		c := &http.Client{Transport: &oauth2.Transport{Source: src, Base: NewTransport(Options{Logger: log, Wait: func(int, time.Duration) time.Duration { return 0 }})}}
		resp, err := c.Get(srv.URL + "/query?q=" + url.QueryEscape("SELECT Name FROM Account WHERE Name = 'Hidden Corp'") + "&access_token=" + secret)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out := buf.String()
		if strings.Contains(out, secret) || strings.Contains(out, "Hidden") {
			t.Fatalf("level %v: log leaks: %s", lvl, out)
		}
		if !strings.Contains(out, "retrying CRM request") {
			t.Fatalf("level %v: no retry warning logged: %s", lvl, out)
		}
		if lvl == slog.LevelDebug && !strings.Contains(out, "q=REDACTED") {
			t.Fatalf("debug log lacks redacted url: %s", out)
		}
	}
}
