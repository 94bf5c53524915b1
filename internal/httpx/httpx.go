// Package httpx builds the HTTP client chain every CRM connection uses.
//
// Outermost first:
//
//	authentication  oauth2.Transport or a static bearer (added by the caller)
//	retry           go-retryablehttp: 429, 5xx and network errors, exponential
//	                backoff with jitter, Retry-After (seconds or HTTP date),
//	                ctx checked before every decision, waits capped by MaxWait
//	accounting      per-endpoint call counters and response observers (API
//	                usage headers), once per attempt
//	rate limit      a per-connection token bucket (golang.org/x/time/rate),
//	                shared by every client of the connection, once per attempt
//	base            a pooled net/http transport
//
// The limiter and the counters sit beneath the retry layer on purpose: every
// attempt, retries included, spends the CRM's budget and must take a token.
//
// Logging: nothing is logged at Info or above except retry warnings, which
// name the method, the host and path and the status, never a query string,
// header or body. go-retryablehttp's own log lines go to slog at Debug with
// every URL's query values redacted. Authorization headers and bodies are
// never logged.
package httpx

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// Options configure a chain. The zero value is usable.
type Options struct {
	// Name labels log lines (the connection name).
	Name string
	// Base is the innermost transport (default: a pooled transport).
	Base http.RoundTripper
	// Limiter is the connection's token bucket. When nil one is made from
	// RequestsPerSecond and Burst (defaults 10 and 20); pass the same
	// limiter to every chain of a connection so they share it.
	Limiter           *rate.Limiter
	RequestsPerSecond float64
	Burst             int
	// RetryMax is the most retries per request (default 4; -1 disables).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff
	// (defaults 500ms and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxWait caps a server-requested wait (Retry-After): a longer one is not
	// waited for and the response is returned (default 2m).
	MaxWait time.Duration
	// Wait, when set, receives each computed retry wait and returns the wait
	// to actually use. Tests return 0 to avoid sleeping and record the value.
	Wait func(attempt int, d time.Duration) time.Duration
	// Counters counts attempts per endpoint (nil: none).
	Counters *Counters
	// Route names the endpoint of a request for Counters (default
	// DefaultRoute).
	Route func(*http.Request) string
	// Observe is called with every response received (each attempt), for
	// usage headers. It must not read the body.
	Observe func(*http.Response)
	// Logger receives debug and retry logs (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Base == nil {
		o.Base = cleanhttp.DefaultPooledTransport()
	}
	if o.Limiter == nil {
		o.Limiter = NewLimiter(o.RequestsPerSecond, o.Burst)
	}
	if o.RetryMax == 0 {
		o.RetryMax = 4
	} else if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = 500 * time.Millisecond
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	if o.MaxWait == 0 {
		o.MaxWait = 2 * time.Minute
	}
	if o.Route == nil {
		o.Route = DefaultRoute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// NewLimiter returns a token bucket of rps requests per second (default 10)
// and burst (default 20).
func NewLimiter(rps float64, burst int) *rate.Limiter {
	if rps <= 0 {
		rps = 10
	}
	if burst <= 0 {
		burst = 20
	}
	return rate.NewLimiter(rate.Limit(rps), burst)
}

// NewTransport returns the retry → accounting → rate limit → base chain.
// Wrap it with authentication (oauth2.Transport, Bearer).
func NewTransport(opts Options) http.RoundTripper {
	opts.defaults()
	inner := &meter{base: &limited{base: opts.Base, lim: opts.Limiter}, opts: &opts}
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: inner},
		Logger:       leveled{l: opts.Logger.With("connection", opts.Name)},
		RetryWaitMin: opts.RetryWaitMin,
		RetryWaitMax: opts.RetryWaitMax,
		RetryMax:     opts.RetryMax,
		CheckRetry:   checkRetry(opts.MaxWait),
		Backoff:      backoff(&opts),
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, attempt int) {
			if attempt > 0 {
				opts.Logger.Warn("retrying CRM request", "connection", opts.Name, "method", r.Method, "endpoint", r.URL.Host+r.URL.Path, "attempt", attempt+1)
			}
		},
	}
	return &retryablehttp.RoundTripper{Client: rc}
}

// NewClient returns an http.Client over NewTransport(opts) with auth (an
// outer RoundTripper constructor, e.g. a func wrapping in oauth2.Transport);
// auth may be nil.
func NewClient(opts Options, auth func(http.RoundTripper) http.RoundTripper) *http.Client {
	rt := NewTransport(opts)
	if auth != nil {
		rt = auth(rt)
	}
	return &http.Client{Transport: rt}
}

// checkRetry retries 429, 5xx (but 501) and network errors. It stops at once
// when ctx is done, and does not retry a Retry-After longer than maxWait
// (daily quotas): the response goes back to the caller to classify.
func checkRetry(maxWait time.Duration) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, ctxErr
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false, err
		}
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusForbidden) {
			if d, ok := RetryAfter(resp.Header, time.Now()); ok && d > maxWait {
				return false, nil
			}
		}
		// A 403 that says when to come back (Salesforce REQUEST_LIMIT_EXCEEDED
		// under a short-lived limit) is worth the wait; one without
		// Retry-After (permissions, daily quota) is not.
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			d, ok := RetryAfter(resp.Header, time.Now())
			return ok && d <= maxWait, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
}

// backoff waits what Retry-After asks on 429/503, else exponential backoff
// from min doubling per attempt up to max, with up to 50% jitter.
func backoff(o *Options) retryablehttp.Backoff {
	return func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		var d time.Duration
		if ra, ok := retryAfterOf(resp); ok {
			d = min(ra, o.MaxWait)
		} else {
			d = lo << min(attempt, 30)
			if d <= 0 || d > hi {
				d = hi
			}
			d = d/2 + rand.N(d/2+1)
		}
		if o.Wait != nil {
			return o.Wait(attempt, d)
		}
		return d
	}
}

func retryAfterOf(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusForbidden) {
		return 0, false
	}
	return RetryAfter(resp.Header, time.Now())
}

// RetryAfter parses a Retry-After header, in seconds or as an HTTP date
// relative to now.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// limited takes a token from the connection's bucket before each attempt.
type limited struct {
	base http.RoundTripper
	lim  *rate.Limiter
}

func (l *limited) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := l.lim.Wait(r.Context()); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	return l.base.RoundTrip(r)
}

// meter counts attempts and shows each response to the observer.
type meter struct {
	base http.RoundTripper
	opts *Options
}

func (m *meter) RoundTrip(r *http.Request) (*http.Response, error) {
	if m.opts.Counters != nil {
		m.opts.Counters.Inc(m.opts.Route(r))
	}
	resp, err := m.base.RoundTrip(r)
	if err == nil && m.opts.Observe != nil {
		m.opts.Observe(resp)
	}
	if err == nil && resp.StatusCode >= 400 {
		m.opts.Logger.Debug("CRM request failed", "connection", m.opts.Name, "method", r.Method, "url", Redact(r.URL), "status", resp.StatusCode)
	}
	return resp, err
}

// Counters counts requests per endpoint. Safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]int64
}

// Inc adds one call of endpoint.
func (c *Counters) Inc(endpoint string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[endpoint]++
}

// Snapshot returns a copy of the counts.
func (c *Counters) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Total is the sum of all counts.
func (c *Counters) Total() int64 {
	var n int64
	for _, v := range c.Snapshot() {
		n += v
	}
	return n
}

// Keys returns the endpoints counted, sorted.
func (c *Counters) Keys() []string {
	s := c.Snapshot()
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var idSegment = regexp.MustCompile(`^(?:[0-9]+|[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18}|[0-9a-zA-Z]{15,18}-[0-9]+|v[0-9]+\.[0-9]+)$`)

// DefaultRoute names an endpoint "METHOD /path" with ids, API versions and
// query locators replaced by placeholders.
func DefaultRoute(r *http.Request) string {
	parts := strings.Split(r.URL.Path, "/")
	for i, p := range parts {
		if p != "" && idSegment.MatchString(p) && strings.ContainsAny(p, "0123456789") {
			if strings.HasPrefix(p, "v") && strings.Contains(p, ".") {
				parts[i] = "{v}"
			} else {
				parts[i] = "{id}"
			}
		}
	}
	return r.Method + " " + strings.Join(parts, "/")
}

// Redact returns u without credentials and with every query value replaced,
// keeping only the parameter names.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment = ""
	if c.RawQuery != "" {
		q := c.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = url.QueryEscape(k) + "=REDACTED"
		}
		c.RawQuery = strings.Join(keys, "&")
	}
	return c.String()
}

// leveled adapts slog to retryablehttp.LeveledLogger. Every level maps to
// Debug: retryablehttp's messages include URLs and error texts, so they are
// diagnostics, not operational logs. URLs are redacted.
type leveled struct{ l *slog.Logger }

func (l leveled) Error(msg string, kv ...any) { l.log(msg, kv) }
func (l leveled) Info(msg string, kv ...any)  { l.log(msg, kv) }
func (l leveled) Debug(msg string, kv ...any) { l.log(msg, kv) }
func (l leveled) Warn(msg string, kv ...any)  { l.log(msg, kv) }

func (l leveled) log(msg string, kv []any) {
	if !l.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	out := make([]any, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		switch x := v.(type) {
		case string:
			v = redactString(x)
		case error:
			v = redactString(x.Error())
		}
		out = append(out, k, v)
	}
	l.l.Debug("http: "+msg, out...)
}

var urlInText = regexp.MustCompile(`https?://[^\s"']+`)

// redactString redacts the query strings of URLs inside s.
func redactString(s string) string {
	return urlInText.ReplaceAllStringFunc(s, func(m string) string {
		u, err := url.Parse(m)
		if err != nil {
			return "[url]"
		}
		return Redact(u)
	})
}
