// Package hubspot is the HubSpot driver of package connectors.
//
// # Wire
//
// Requests go through httpx.AuthTransport (OAuth access tokens last 30
// minutes and are refreshed ahead of expiry, or on a 401; private-app
// tokens are static and a 401 means re-authorize) over the httpx chain
// (retries, Retry-After, the connection's rate limiter, counters). Search
// has its own, stricter limiter (HubSpot allows 5 searches per second per
// account and sends no rate-limit headers on search).
//
// # Change feed
//
// Each stream (companies; contacts; deals; calls, emails, meetings, notes
// and tasks for activities) is read with CRM search over a fixed window of
// the modification stamp (hs_lastmodifieddate, lastmodifieddate for
// contacts): stamp >= lower AND stamp <= upper, upper = server clock − Lag.
// Inside the window, pages are keyset-paged by hs_object_id (sorted
// ascending, "hs_object_id > last id", after always 0), so no offset ever
// approaches the 10,000-result cap and a record edited mid-scan cannot shift
// the pages (it leaves the window and is read by the next run, which starts
// Lookback before this run's upper; re-read versions are dropped by
// (id, stamp)). Search never returns archived records: Deletions lists
// archived records (archived=true) and ListIDs serves reconciliation.
//
// With Options.InitialRead set to ReadList, a stream's first window (nothing
// covered yet) is read from the object list endpoint instead: 100 records a
// page, bounded by the general rate limit rather than the search limit, and
// free of search-index lag. The list shows current versions without a stamp
// filter; a record changed during the read carries a stamp after the
// window's upper bound and is read again by the next window. Measured on a
// 2000-account sandbox portal (84.5k records, BenchmarkInitialRead): search
// 1141 calls (427 searches), list 2260 calls; with every limiter off the
// list read took 2.4 s against 4.5 s for search, while at HubSpot's limits
// (4 searches/s, 10 other requests/s) search needs about 178 s and the list
// 226 s, so search stays the default and the list pays off where the
// general limit is higher (from about 13 requests/s) or absent.
//
// Contacts, deals and activities get their company (and activities their
// contacts) from v4 association batch reads, one call per page.
package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// Options configure a Driver.
type Options struct {
	Name    string
	Session *httpx.Session
	// BaseURL is the API host (default DefaultBaseURL).
	BaseURL string
	HTTP    httpx.Options
	// SearchPerSecond caps search requests (default 4: HubSpot allows 5
	// per second per portal and sends no rate-limit headers on search).
	// Raise it only for a server without that limit, such as the sandbox
	// with its search limiter off.
	SearchPerSecond float64
	// InitialRead is how a stream's first window (nothing synced yet) is
	// read: ReadSearch or ReadList (default ReadSearch). Later windows
	// always use search, the only way to filter by modification stamp.
	InitialRead ReadMode
	// Lookback and Lag as in connectors.Cursor (defaults 2m and 30s: search
	// indexing is eventually consistent).
	Lookback, Lag time.Duration
	// PageSize is the search page size (default and max 200).
	PageSize int
	// Now overrides the server clock (default: the Date header).
	Now func() time.Time
	// PropertyGroup holds provisioned properties (default "crmpulse").
	PropertyGroup string
	Logger        *slog.Logger
}

// ReadMode selects the endpoint of a first, full read.
type ReadMode string

// Read modes.
const (
	// ReadSearch pages CRM search (200 records a page, SearchPerSecond).
	ReadSearch ReadMode = "search"
	// ReadList pages the object list endpoint (100 records a page, only
	// the general rate limit applies, no search-index lag).
	ReadList ReadMode = "list"
)

// Driver implements connectors.Driver for HubSpot.
type Driver struct {
	opt       Options
	client    *http.Client
	counters  *httpx.Counters
	searchLim *rate.Limiter
	serverNow atomic.Pointer[time.Time]
	daily     atomic.Int64
	dailyRem  atomic.Int64

	mu    sync.Mutex
	props map[string]map[string]bool // type → property names
}

var _ connectors.Driver = (*Driver)(nil)

// New returns a driver; opt.Session is required.
func New(opt Options) (*Driver, error) {
	if opt.Session == nil {
		return nil, errors.New("hubspot: Options.Session is required")
	}
	if opt.BaseURL == "" {
		opt.BaseURL = DefaultBaseURL
	}
	opt.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	if opt.SearchPerSecond <= 0 {
		opt.SearchPerSecond = 4
	}
	switch opt.InitialRead {
	case "":
		opt.InitialRead = ReadSearch
	case ReadSearch, ReadList:
	default:
		return nil, fmt.Errorf("hubspot: InitialRead %q: want %q or %q", opt.InitialRead, ReadSearch, ReadList)
	}
	if opt.Lookback == 0 {
		opt.Lookback = 2 * time.Minute
	}
	if opt.Lag == 0 {
		opt.Lag = 30 * time.Second
	}
	if opt.PageSize <= 0 || opt.PageSize > 200 {
		opt.PageSize = 200
	}
	if opt.PropertyGroup == "" {
		opt.PropertyGroup = "crmpulse"
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	d := &Driver{opt: opt, props: map[string]map[string]bool{},
		searchLim: rate.NewLimiter(rate.Limit(opt.SearchPerSecond), 1)}
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
	d.client = &http.Client{Transport: &httpx.AuthTransport{Session: opt.Session, Base: httpx.NewTransport(hopt)}}
	return d, nil
}

// Kind implements connectors.Driver.
func (d *Driver) Kind() string { return "hubspot" }

// MaxBatch is the batch update limit.
func (d *Driver) MaxBatch() int { return 100 }

// Usage implements connectors.Driver.
func (d *Driver) Usage() connectors.Usage {
	u := connectors.Usage{Calls: d.counters.Snapshot(), Limit: d.daily.Load()}
	if u.Limit > 0 {
		u.Used = u.Limit - d.dailyRem.Load()
	}
	return u
}

func (d *Driver) observe(r *http.Response) {
	if t, err := http.ParseTime(r.Header.Get("Date")); err == nil {
		d.serverNow.Store(&t)
	}
	if v, err := strconv.ParseInt(r.Header.Get("X-HubSpot-RateLimit-Daily"), 10, 64); err == nil {
		d.daily.Store(v)
		if rem, err := strconv.ParseInt(r.Header.Get("X-HubSpot-RateLimit-Daily-Remaining"), 10, 64); err == nil {
			d.dailyRem.Store(rem)
		}
	}
}

// Endpoint returns HubSpot's OAuth endpoints; authHost is the app host
// (https://app.hubspot.com) and apiHost the API host.
func Endpoint(authHost, apiHost string) oauth2.Endpoint {
	if authHost == "" {
		authHost = "https://app.hubspot.com"
	}
	if apiHost == "" {
		apiHost = DefaultBaseURL
	}
	return oauth2.Endpoint{
		AuthURL:   strings.TrimRight(authHost, "/") + "/oauth/authorize",
		TokenURL:  strings.TrimRight(apiHost, "/") + "/oauth/v1/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// DefaultScopes are the scopes crmpulse requests.
var DefaultScopes = []string{"oauth", "crm.objects.companies.read", "crm.objects.companies.write",
	"crm.objects.deals.read", "crm.objects.deals.write", "crm.objects.contacts.read",
	"crm.schemas.companies.read", "crm.schemas.companies.write", "crm.schemas.deals.read", "crm.schemas.deals.write",
	"crm.lists.read", "crm.lists.write", "sales-email-read"}

// OAuthConfig is the authorization-code configuration.
func OAuthConfig(authHost, apiHost, clientID, clientSecret, redirectURL string, scopes []string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Scopes: scopes, Endpoint: Endpoint(authHost, apiHost)}
}

// RefreshMinter refreshes with the stored refresh token (HubSpot does not
// rotate it). A rejected refresh (BAD_REFRESH_TOKEN) is a revocation.
func RefreshMinter(conf *oauth2.Config, tokenClient *http.Client) httpx.Minter {
	return func(ctx context.Context, cur *oauth2.Token) (*oauth2.Token, error) {
		if cur == nil || cur.RefreshToken == "" {
			return nil, &httpx.TokenError{Revoked: true, Code: "NO_REFRESH_TOKEN", Description: "no refresh token stored"}
		}
		if tokenClient != nil {
			ctx = context.WithValue(ctx, oauth2.HTTPClient, tokenClient)
		}
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: cur.RefreshToken}).Token()
	}
}

// apiError is HubSpot's standard error body.
type apiError struct {
	Status      string `json:"status"`
	Message     string `json:"message"`
	Category    string `json:"category"`
	SubCategory string `json:"subCategory"`
	ErrorType   string `json:"errorType"`
	PolicyName  string `json:"policyName"`
	Context     struct {
		IDs []string `json:"ids"`
	} `json:"context"`
	Errors []struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"errors"`
}

func responseError(status int, body []byte) *connectors.Error {
	var ae apiError
	e := &connectors.Error{Status: status}
	if json.Unmarshal(body, &ae) == nil {
		e.Code = firstNonEmpty(ae.Category, ae.ErrorType, ae.Status)
		e.Message = ae.Message
		if ae.PolicyName != "" {
			e.Code = ae.PolicyName
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	switch {
	case status == 429 && ae.PolicyName == "DAILY":
		e.Class = connectors.ErrQuotaExhausted
	default:
		e.Class = connectors.ClassForStatus(status)
	}
	return e
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" && v != "error" {
			return v
		}
	}
	return ""
}

// convertErr maps transport-level failures to connector errors.
func convertErr(err error) error { return connectors.TransportError(err) }

// do sends a JSON request; 2xx bodies decode into out. It returns the
// status (207 is a success the caller must inspect) and the raw body.
func (d *Driver) do(ctx context.Context, method, path string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.opt.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, convertErr(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, nil, convertErr(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, b, responseError(resp.StatusCode, b)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, &connectors.Error{Status: resp.StatusCode, Code: "BAD_RESPONSE", Message: "decode response: " + err.Error(), Class: connectors.ErrPermanent}
		}
	}
	return resp.StatusCode, b, nil
}

func (d *Driver) now(ctx context.Context) (time.Time, error) {
	if d.opt.Now != nil {
		return d.opt.Now().UTC(), nil
	}
	if _, _, err := d.do(ctx, http.MethodGet, "/crm/v3/properties/companies/groups", nil, nil); err != nil {
		return time.Time{}, err
	}
	if t := d.serverNow.Load(); t != nil {
		return t.UTC(), nil
	}
	return time.Now().UTC(), nil
}

// parseTime reads HubSpot datetimes: ISO-8601 or epoch milliseconds.
func parseTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return time.Time{}, false
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// toString renders a write-back value the way HubSpot stores it.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return strconv.FormatInt(x.UnixMilli(), 10)
	case []string:
		return strings.Join(x, ";")
	}
	return fmt.Sprint(v)
}
