// Package hubspot serves a sandbox HubSpot portal over HTTP in the wire
// format of the real HubSpot APIs, so that unmodified clients (our connector,
// golang.org/x/oauth2) run against it by only swapping base URLs.
//
// Surface:
//
//   - OAuth: GET /oauth/authorize (immediate 302 with code and state),
//     POST /oauth/v1/token, /oauth/v3/token and /oauth/2026-03/token
//     (authorization_code with optional PKCE, refresh_token; 30-minute access
//     tokens on the sandbox clock; refresh tokens do not rotate), token
//     metadata under /oauth/v1/access-tokens/ and /oauth/v1/refresh-tokens/.
//     The portal's private-app token (sandbox.Options.HubSpotToken) is
//     accepted as a Bearer token with every scope.
//   - CRM objects v3: list, get, create, update, batch read/update, search.
//   - Associations v4: per-object read, batch read, default and labelled PUT.
//   - Properties v3 and property groups.
//   - Lists v3 with MANUAL, SNAPSHOT and DYNAMIC lists; dynamic memberships
//     are evaluated from the stored filter branch against current data on
//     every read.
//
// Every path is also served under its date-versioned alias
// (/crm/objects/2026-03, /crm/properties/2026-03, /crm/associations/2026-03,
// /crm/lists/2026-03, /oauth/2026-03/token).
//
// # Limits
//
// The object list endpoint clamps limit to 100 rather than answering 400
// (the live behaviour past 100 is not documented). Search answers 400 once after+limit exceeds 10,000, and is limited
// to SearchPerSecond requests per second of sandbox time (default 5; the
// 429 carries no rate-limit headers). Other CRM responses carry the
// X-HubSpot-RateLimit-* headers; the daily pair only for the private-app
// token. The sandbox's Faults are consulted on every CRM request: injected
// 429s answer with the TEN_SECONDLY_ROLLING body and Retry-After, injected
// 5xx with 503, and the configured latency is added.
//
// # Errors
//
// Errors use HubSpot's standard body {status, message, correlationId,
// category, ...}; the legacy token endpoint uses {status: "BAD_...",
// message, correlationId}. Every response has an x-hubspot-correlation-id
// header.
//
// # Assumptions
//
// Where the public documentation does not pin a shape down, the sandbox
// picks one and keeps it stable: /oauth/v3/token errors carry the legacy
// reason (BAD_REFRESH_TOKEN, BAD_AUTH_CODE, ...) as subCategory; a duplicate
// property answers 409 OBJECT_ALREADY_EXISTS; a duplicate list name answers
// 400 VALIDATION_ERROR with subCategory ILS.DUPLICATE_LIST_NAMES; v4 batch
// association reads report inputs without associations as per-input
// OBJECT_NOT_FOUND errors in a 207; batch updates report invalid inputs per
// input in a 207 and write the valid ones. Search sorts given as plain
// strings are ignored (records come back in id order). Records written less
// than IndexLag ago are invisible to search (not served in their previous
// version). propertiesWithHistory holds the current version only.
package hubspot

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Dialect is the name the sandbox's counters, faults and tokens use for
// HubSpot.
const Dialect = "hubspot"

// Options tune the handler. Zero values mean the defaults.
type Options struct {
	// HubID is the portal id in token responses (default: the sandbox's
	// HubID, else 62515).
	HubID int64
	// AppID is the OAuth app id; API writes are recorded with actor
	// "integration:<AppID>" and surface in propertiesWithHistory as
	// sourceType INTEGRATION, sourceId AppID (default "1160452").
	AppID string
	// RedirectURIs are the redirect URIs registered for the app; empty
	// accepts any absolute http(s) URI.
	RedirectURIs []string
	// SearchPerSecond caps search requests per second of sandbox time
	// (default 5); negative disables the limiter.
	SearchPerSecond int
	// IndexLag hides records from search until this long after their last
	// write (eventual consistency of the search index); 0 disables.
	IndexLag time.Duration
	// BurstLimit is the X-HubSpot-RateLimit-Max reported per ten seconds
	// when the sandbox's Faults set no RateLimit (default 100 for the
	// private-app token, 110 for OAuth tokens).
	BurstLimit int
	// DailyLimit is the private-app daily quota when Faults.DailyLimit is
	// zero (default 250,000). Exceeding it answers 429 with policy DAILY.
	DailyLimit int
}

func (o Options) withDefaults() Options {
	if o.HubID == 0 {
		o.HubID = 62515
	}
	if o.AppID == "" {
		o.AppID = "1160452"
	}
	if o.SearchPerSecond == 0 {
		o.SearchPerSecond = 5
	}
	if o.DailyLimit == 0 {
		o.DailyLimit = 250000
	}
	return o
}

// Handler serves the HubSpot dialect of a sandbox. Safe for concurrent use.
type Handler struct {
	sb  *sandbox.Sandbox
	opt Options
	mux *http.ServeMux

	mu           sync.Mutex
	indexLag     time.Duration
	searchPerSec int
	searchHits   []time.Time
	burstHits    []time.Time
	dailyDay     string
	dailyCount   int
	props        map[string]map[string]*property // table -> name -> API-managed definition
	groups       map[string]map[string]*propertyGroup
	lists        map[string]*list
	listSeq      int
}

var _ http.Handler = (*Handler)(nil)

// New returns the HubSpot handler of sb with default options.
func New(sb *sandbox.Sandbox) http.Handler { return NewHandler(sb, Options{}) }

// NewHandler returns the HubSpot handler of sb. It registers the portal's
// private-app token in sb.Tokens.
func NewHandler(sb *sandbox.Sandbox, opt Options) *Handler {
	if opt.HubID == 0 {
		opt.HubID = sb.HubID
	}
	opt = opt.withDefaults()
	h := &Handler{
		sb: sb, opt: opt, mux: http.NewServeMux(),
		indexLag: opt.IndexLag, searchPerSec: opt.SearchPerSecond,
		props:  map[string]map[string]*property{},
		groups: map[string]map[string]*propertyGroup{},
		lists:  map[string]*list{},
	}
	if tok := sb.Opt.HubSpotToken; tok != "" {
		sb.Tokens.Put(sandbox.Token{Value: tok, Dialect: Dialect, Kind: "static", ClientID: sb.Opt.ClientID,
			Subject: h.hubIDString(), IssuedAt: sb.Clock.Now()})
	}
	h.routes()
	return h
}

// SetIndexLag changes how long written records stay invisible to search.
func (h *Handler) SetIndexLag(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.indexLag = d
}

// SetSearchLimit changes the search requests allowed per second of sandbox
// time; zero or negative disables the limiter.
func (h *Handler) SetSearchLimit(perSecond int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.searchPerSec = perSecond
	h.searchHits = nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cid := newCorrelationID()
	w.Header().Set("x-hubspot-correlation-id", cid)
	r = r.WithContext(context.WithValue(r.Context(), correlationKey, cid))
	h.mux.ServeHTTP(w, r)
}

// routeKind selects the middleware a route gets.
type routeKind int

const (
	routePublic routeKind = iota // OAuth endpoints: no bearer token, no faults
	routeCRM                     // bearer token, faults, rate-limit headers
	routeSearch                  // bearer token, faults, search limiter, no headers
)

// scopeFunc returns the scopes of which the caller needs one, or nil.
type scopeFunc func(r *http.Request) []string

// handlerFunc serves an authenticated request; a non-nil error is written
// as the standard error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) *apiError

// caller is the authenticated token of a request.
type caller struct {
	tok    sandbox.Token
	static bool
}

func (h *Handler) now() time.Time { return h.sb.Clock.Now() }

func (h *Handler) actor() string { return "integration:" + h.opt.AppID }

// handle registers fn under the canonical pattern (method + path with the
// first prefix) and its aliases (the same path under each other prefix).
func (h *Handler) handle(method string, prefixes []string, path string, kind routeKind, scopes scopeFunc, fn handlerFunc) {
	name := method + " " + prefixes[0] + path
	wrapped := h.wrap(name, kind, scopes, fn)
	for _, p := range prefixes {
		h.mux.HandleFunc(method+" "+p+path, wrapped)
	}
}

func (h *Handler) wrap(name string, kind routeKind, scopes scopeFunc, fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.sb.Counters.Inc(Dialect, name)
		if kind == routePublic {
			if e := fn(w, r, nil); e != nil {
				writeError(w, r, e)
			}
			return
		}
		c, e := h.authenticate(w, r)
		if e != nil {
			writeError(w, r, e)
			return
		}
		if !h.admit(w, r, kind, c) {
			return
		}
		if scopes != nil {
			if need := scopes(r); len(need) > 0 && !c.hasAny(need) {
				writeError(w, r, errMissingScopes(need))
				return
			}
		}
		if e := fn(w, r, c); e != nil {
			writeError(w, r, e)
		}
	}
}

// admit applies injected faults and rate limits; it writes the refusal and
// returns false when the request must not be served.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, kind routeKind, c *caller) bool {
	now := h.now()
	d := h.sb.Faults.Decide(Dialect, now)
	if d.Delay > 0 {
		t := time.NewTimer(d.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	switch d.Status {
	case 0:
	case http.StatusTooManyRequests:
		writeRateLimit(w, r, policyTenSecondly, d.RetryAfter)
		return false
	default:
		e := newError(d.Status, "", "The service is temporarily unavailable. Please retry.")
		if d.RetryAfter > 0 {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, r, e)
		return false
	}
	if kind == routeSearch {
		if wait, ok := h.searchAdmit(now); !ok {
			writeRateLimit(w, r, policySecondly, wait)
			return false
		}
		return true
	}
	return h.burstAdmit(w, r, now, c)
}

// searchAdmit counts one search request in the per-second window.
func (h *Handler) searchAdmit(now time.Time) (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.searchPerSec <= 0 {
		return 0, true
	}
	hits := h.searchHits[:0:0]
	for _, t := range h.searchHits {
		if now.Sub(t) < time.Second {
			hits = append(hits, t)
		}
	}
	h.searchHits = hits
	if len(hits) >= h.searchPerSec {
		return time.Second - now.Sub(hits[0]), false
	}
	h.searchHits = append(h.searchHits, now)
	return 0, true
}

// burstAdmit counts one request in the ten-second and daily windows, sets
// the rate-limit headers and enforces the daily quota of private-app tokens.
func (h *Handler) burstAdmit(w http.ResponseWriter, r *http.Request, now time.Time, c *caller) bool {
	var max, daily int
	window := 10 * time.Second
	h.sb.Faults.Set(func(f *sandbox.Faults) {
		max, daily = f.RateLimit, f.DailyLimit
		if f.RateWindow > 0 {
			window = f.RateWindow
		}
	})
	if max == 0 {
		max = h.opt.BurstLimit
	}
	if max == 0 {
		max = 110
		if c.static {
			max = 100
		}
	}
	if daily == 0 {
		daily = h.opt.DailyLimit
	}
	h.mu.Lock()
	hits := h.burstHits[:0:0]
	for _, t := range h.burstHits {
		if now.Sub(t) < window {
			hits = append(hits, t)
		}
	}
	h.burstHits = append(hits, now)
	used := len(h.burstHits)
	day := now.Format("2006-01-02")
	if day != h.dailyDay {
		h.dailyDay, h.dailyCount = day, 0
	}
	overDaily := c.static && h.dailyCount >= daily
	if !overDaily {
		h.dailyCount++
	}
	dailyUsed := h.dailyCount
	h.mu.Unlock()

	hd := w.Header()
	hd.Set("X-HubSpot-RateLimit-Max", itoa(max))
	hd.Set("X-HubSpot-RateLimit-Remaining", itoa(maxInt(0, max-used)))
	hd.Set("X-HubSpot-RateLimit-Interval-Milliseconds", itoa(int(window/time.Millisecond)))
	if c.static {
		hd.Set("X-HubSpot-RateLimit-Daily", itoa(daily))
		hd.Set("X-HubSpot-RateLimit-Daily-Remaining", itoa(maxInt(0, daily-dailyUsed)))
	}
	if overDaily {
		writeRateLimit(w, r, policyDaily, 0)
		return false
	}
	return true
}

func (h *Handler) hubIDString() string { return itoa64(h.opt.HubID) }

// hasAny reports whether the caller holds one of scopes.
func (c *caller) hasAny(scopes []string) bool {
	if c.static {
		return true
	}
	for _, s := range scopes {
		for _, g := range c.tok.Scopes {
			if g == s {
				return true
			}
		}
	}
	return false
}

func errMissingScopes(need []string) *apiError {
	e := newError(http.StatusForbidden, catMissingScopes,
		"This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.")
	e.Errors = []errorDetail{{Message: "One or more of the following scopes are required.",
		Context: map[string][]string{"requiredScopes": need}}}
	e.Links = map[string]string{"scopes": "https://developers.hubspot.com/scopes"}
	return e
}

// authenticate resolves the bearer token of r.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*caller, *apiError) {
	auth := r.Header.Get("Authorization")
	value, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		value, ok = strings.CutPrefix(auth, "bearer ")
	}
	invalid := func() *apiError {
		w.Header().Set("x-hubspot-auth-failure", "401 Unauthorized")
		return newError(http.StatusUnauthorized, catInvalidAuth,
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
	}
	value = strings.TrimSpace(value)
	if !ok || value == "" {
		return nil, invalid()
	}
	tok, found, expired := h.sb.Tokens.Lookup(value)
	if !found || tok.Dialect != Dialect || tok.Revoked || (tok.Kind != "access" && tok.Kind != "static") {
		return nil, invalid()
	}
	if expired {
		ago := int(h.now().Sub(tok.ExpiresAt) / time.Second)
		w.Header().Set("x-hubspot-auth-failure", "401 Unauthorized")
		e := newError(http.StatusUnauthorized, catExpiredAuth,
			"The OAuth token used to make this call expired "+itoa(ago)+" second(s) ago.")
		e.Context = map[string][]string{"expire time": {tok.ExpiresAt.UTC().Format(time.RFC1123)}}
		return nil, e
	}
	return &caller{tok: tok, static: tok.Kind == "static"}, nil
}
