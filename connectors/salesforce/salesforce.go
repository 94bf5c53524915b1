// Package salesforce is the Salesforce driver of package connectors.
//
// # Wire
//
// Every request goes through one chain: a budget guard (stops before the
// configured share of the org's daily API allowance is spent, read from the
// Sforce-Limit-Info header of every response), httpx.AuthTransport (bearer
// token from an httpx.Session; on 401 INVALID_SESSION_ID it refreshes once
// and replays the request, since Salesforce tokens carry no expiry), and the
// httpx chain (retries with backoff, Retry-After, the connection's rate
// limiter, per-endpoint counters).
//
// SOQL pages are read with simpleforce (Query for /query and for every
// nextRecordsUrl). simpleforce has no context support, no queryAll, no
// response headers and logs through the standard log package, so:
//   - each call builds a throw-away simpleforce.Client whose http.Client
//     transport binds the caller's ctx to every request it sends (cancelling
//     ctx aborts simpleforce mid-call) and turns non-2xx answers into our
//     typed error before simpleforce reads, and would log, the body;
//   - its remaining log lines (request URLs) are dropped by a filter on the
//     standard logger's output that removes lines carrying simpleforce's
//     prefix and passes everything else through;
//   - queryAll's first page, describe, Collections writes, the Tooling API,
//     UI API list views and reports use our own small REST helper (simpleforce
//     swallows write and describe errors).
//
// # Change feed
//
// Changes reads every stream (Account; Task and Event for activities)
// through /queryAll, so soft deletes and undeletes arrive as records
// (Deleted set) and archived activities are included, with the keyset
//
//	WHERE (SystemModstamp > :ts OR (SystemModstamp = :ts AND Id > :id))
//	  AND SystemModstamp <= :upper ORDER BY SystemModstamp, Id LIMIT :page
//
// where upper is the server's clock (the Date response header) minus Lag,
// fixed for the run, and each run starts Lookback before the last run's
// upper; re-read versions are dropped by (Id, SystemModstamp).
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/httpx"
)

// DefaultAPIVersion is the REST version used when Options.APIVersion is
// empty (61.0 or later is needed for UI API list view creation).
const DefaultAPIVersion = "61.0"

// Options configure a Driver.
type Options struct {
	// Name is the connection name (errors, logs).
	Name string
	// Session supplies access tokens (see NewSession and the OAuth helpers).
	Session *httpx.Session
	// InstanceURL is the API host; default: the token's instance_url.
	InstanceURL string
	// APIVersion such as "61.0" (a leading "v" is accepted).
	APIVersion string
	// HTTP configures the retry/rate-limit chain (shared limiter, logger).
	HTTP httpx.Options
	// Lookback is the overlap re-read by each run (default 2m); Lag is
	// subtracted from the server clock for the window's upper bound
	// (default 15s).
	Lookback, Lag time.Duration
	// PageSize is the most records per Changes page (default 2000).
	PageSize int
	// BudgetFraction stops calls once this share of the daily API
	// allowance is used (default 0.5; 1 uses it all).
	BudgetFraction float64
	// Now overrides the server clock (default: the last Date header seen,
	// fetched when needed).
	Now func() time.Time
	// PermissionSet is the permission set that grants field-level security
	// on provisioned fields (default "crmpulse_fields").
	PermissionSet string
	// UserID is the integration user (default: from the token's identity URL).
	UserID string
	// Logger for operational messages (default slog.Default()).
	Logger *slog.Logger
}

// Driver implements connectors.Driver for Salesforce.
type Driver struct {
	opt      Options
	version  string
	client   *http.Client
	counters *httpx.Counters

	used, limit atomic.Int64
	serverNow   atomic.Pointer[time.Time]

	mu       sync.Mutex
	describe map[string]*describeResult
}

var _ connectors.Driver = (*Driver)(nil)

// New returns a driver. It needs opt.Session.
func New(opt Options) (*Driver, error) {
	if opt.Session == nil {
		return nil, errors.New("salesforce: Options.Session is required")
	}
	if opt.Lookback == 0 {
		opt.Lookback = 2 * time.Minute
	}
	if opt.Lag == 0 {
		opt.Lag = 15 * time.Second
	}
	if opt.PageSize <= 0 || opt.PageSize > 2000 {
		opt.PageSize = 2000
	}
	if opt.BudgetFraction <= 0 || opt.BudgetFraction > 1 {
		opt.BudgetFraction = 0.5
	}
	if opt.PermissionSet == "" {
		opt.PermissionSet = "crmpulse_fields"
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	v := strings.TrimPrefix(opt.APIVersion, "v")
	if v == "" {
		v = DefaultAPIVersion
	}
	d := &Driver{opt: opt, version: v, describe: map[string]*describeResult{}}
	hopt := opt.HTTP
	if hopt.Name == "" {
		hopt.Name = opt.Name
	}
	if hopt.Logger == nil {
		hopt.Logger = opt.Logger
	}
	if hopt.Counters == nil {
		hopt.Counters = &httpx.Counters{}
	}
	d.counters = hopt.Counters
	prev := hopt.Observe
	hopt.Observe = func(r *http.Response) {
		d.observe(r)
		if prev != nil {
			prev(r)
		}
	}
	inner := httpx.NewTransport(hopt)
	auth := &httpx.AuthTransport{Session: opt.Session, Base: inner, Expired: sessionExpired}
	d.client = &http.Client{Transport: &budget{d: d, base: auth}}
	quietStdLog()
	return d, nil
}

// Kind implements connectors.Driver.
func (d *Driver) Kind() string { return "salesforce" }

// MaxBatch is the sObject Collections limit.
func (d *Driver) MaxBatch() int { return 200 }

// HTTPClient returns the driver's authenticated client (for extras).
func (d *Driver) HTTPClient() *http.Client { return d.client }

// Usage implements connectors.Driver.
func (d *Driver) Usage() connectors.Usage {
	return connectors.Usage{Used: d.used.Load(), Limit: d.limit.Load(), Calls: d.counters.Snapshot()}
}

// sessionExpired: Salesforce signals a stale token with 401 INVALID_SESSION_ID.
func sessionExpired(_ int, body []byte) bool {
	return bytes.Contains(body, []byte("INVALID_SESSION_ID"))
}

var limitInfoRE = regexp.MustCompile(`api-usage=(\d+)/(\d+)`)

func (d *Driver) observe(r *http.Response) {
	if m := limitInfoRE.FindStringSubmatch(r.Header.Get("Sforce-Limit-Info")); m != nil {
		u, _ := strconv.ParseInt(m[1], 10, 64)
		l, _ := strconv.ParseInt(m[2], 10, 64)
		d.used.Store(u)
		d.limit.Store(l)
	}
	if t, err := http.ParseTime(r.Header.Get("Date")); err == nil {
		d.serverNow.Store(&t)
	}
}

// budget refuses requests once the configured share of the daily allowance
// is used, so the customer's other integrations keep theirs.
type budget struct {
	d    *Driver
	base http.RoundTripper
}

func (b *budget) RoundTrip(r *http.Request) (*http.Response, error) {
	used, limit := b.d.used.Load(), b.d.limit.Load()
	if limit > 0 && float64(used) >= b.d.opt.BudgetFraction*float64(limit) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, &connectors.Error{Code: "BUDGET_REACHED", Class: connectors.ErrQuotaExhausted,
			Message: fmt.Sprintf("stopping before the daily API allowance runs out: %d of %d calls used, budget is %.0f%%", used, limit, 100*b.d.opt.BudgetFraction)}
	}
	return b.base.RoundTrip(r)
}

// instanceURL is where data calls go.
func (d *Driver) instanceURL(ctx context.Context) (string, error) {
	if d.opt.InstanceURL != "" {
		return strings.TrimRight(d.opt.InstanceURL, "/"), nil
	}
	tok, err := d.opt.Session.Token(ctx)
	if err != nil {
		return "", convertErr(err)
	}
	if s, _ := tok.Extra("instance_url").(string); s != "" {
		return strings.TrimRight(s, "/"), nil
	}
	return "", &connectors.Error{Code: "NO_INSTANCE_URL", Message: "token has no instance_url and Options.InstanceURL is empty", Class: connectors.ErrPermanent}
}

func (d *Driver) dataPath(p string) string { return "/services/data/v" + d.version + "/" + p }

// apiError is one element of a Salesforce error array.
type apiError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

// responseError converts a non-2xx response into a *connectors.Error.
func responseError(status int, body []byte) *connectors.Error {
	var arr []apiError
	e := &connectors.Error{Status: status}
	if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
		e.Code = arr[0].ErrorCode
		if e.Code == "" {
			e.Code = arr[0].StatusCode
		}
		e.Message = arr[0].Message
	} else {
		var one struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &one) == nil && one.Error != "" {
			e.Code, e.Message = one.Error, one.ErrorDescription
		} else {
			e.Message = http.StatusText(status)
		}
	}
	e.Class = classify(status, e.Code, e.Message)
	return e
}

func classify(status int, code, msg string) error {
	switch {
	case code == "REQUEST_LIMIT_EXCEEDED" && strings.Contains(msg, "TotalRequests"):
		return connectors.ErrQuotaExhausted
	case code == "REQUEST_LIMIT_EXCEEDED":
		return connectors.ErrRateLimited
	case status == 401:
		return connectors.ErrReauthorize
	case code == "UNABLE_TO_LOCK_ROW" || code == "REQUEST_RUNNING_TOO_LONG" || code == "SERVER_UNAVAILABLE" || code == "UNKNOWN_EXCEPTION":
		return connectors.ErrTransient
	}
	return connectors.ClassForStatus(status)
}

// convertErr maps transport-level failures to connector errors.
func convertErr(err error) error { return connectors.TransportError(err) }

// rest sends one request with our client and decodes a 2xx JSON body into
// out (when non-nil). path is relative to the instance (starts with /).
func (d *Driver) rest(ctx context.Context, method, path string, body, out any) (int, error) {
	base, err := d.instanceURL(ctx)
	if err != nil {
		return 0, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Sforce-Call-Options", "client=crmpulse")
	for k, v := range headerFrom(ctx) {
		req.Header[k] = v
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, convertErr(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, convertErr(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, responseError(resp.StatusCode, b)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, &connectors.Error{Status: resp.StatusCode, Code: "BAD_RESPONSE", Message: "decode response: " + err.Error(), Class: connectors.ErrPermanent}
		}
	}
	return resp.StatusCode, nil
}

// now returns the server clock.
func (d *Driver) now(ctx context.Context) (time.Time, error) {
	if d.opt.Now != nil {
		return d.opt.Now().UTC(), nil
	}
	// A fresh Date header: one cheap call.
	if _, err := d.rest(ctx, http.MethodGet, d.dataPath("limits"), nil, nil); err != nil {
		return time.Time{}, err
	}
	if t := d.serverNow.Load(); t != nil {
		return t.UTC(), nil
	}
	return time.Now().UTC(), nil
}
