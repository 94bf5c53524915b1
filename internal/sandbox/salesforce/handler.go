// Package salesforce serves a sandbox.Sandbox's Salesforce org over HTTP in
// the Salesforce REST wire format, so unmodified clients (simpleforce,
// golang.org/x/oauth2, golang.org/x/oauth2/jwt, our connectors) run against
// it by swapping base URLs.
//
// Served under /services/ and /id/:
//
//   - OAuth 2.0: /services/oauth2/authorize (auto-approving), /token
//     (authorization_code with PKCE, refresh_token, JWT bearer,
//     client_credentials, password), /revoke, and the /id/{org}/{user}
//     identity document. Token responses carry no expires_in; access tokens
//     expire after Options.TokenTTL of the sandbox.
//   - Data API (/services/data/vXX.X/...): limits, query/queryAll with a real
//     SOQL subset and server-side cursors, sObject CRUD, describe, the
//     updated/deleted feeds, sObject Collections, the Tooling API CustomField
//     resource, UI API list views, list view results and Analytics reports.
//
// Errors are JSON arrays of {message, errorCode[, fields]}; OAuth errors are
// {error, error_description}. Every data response carries Sforce-Limit-Info
// and is counted in Sandbox.Counters under its route pattern; Sandbox.Faults
// is consulted before each data request.
//
// Query cursors snapshot the matching record ids on the first call; later
// pages render those records from current data (a record purged meanwhile
// is skipped, a soft-deleted one is still returned).
package salesforce

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

const dialect = "salesforce"

// Options configure the Salesforce handler. The zero value is usable.
type Options struct {
	// JWTPublicKey verifies RS256 JWT bearer assertions. Nil accepts any
	// signature (claims are still checked).
	JWTPublicKey *rsa.PublicKey
	// RedirectURIs are the connected app's callback URLs. Empty accepts any
	// absolute http(s) URL.
	RedirectURIs []string
	// OrgID is the 18-character organization id (default Sandbox.OrgID).
	OrgID string
	// UpdatedIDLimit caps the ids one getUpdated call may return before
	// answering EXCEEDED_ID_LIMIT (default 600000).
	UpdatedIDLimit int
	// DailyAPILimit is the Sforce-Limit-Info maximum when Faults.DailyLimit
	// is 0 (default 15000, a Developer Edition org).
	DailyAPILimit int
}

// MinVersion and MaxVersion bound the API versions served.
const (
	MinVersion = 31
	MaxVersion = 62
)

type handler struct {
	sb  *sandbox.Sandbox
	opt Options

	writeMu sync.Mutex // serialises validate-then-write sequences

	mu           sync.Mutex
	apiCalls     int
	userID       string
	cursors      map[string]*cursor
	customFields map[string]*customField // lower-case "object.field"
	listViews    map[string]*listView    // by id
	reports      map[string]*report      // by id
	seq          int64
	metaChanged  time.Time
	children     map[string][]string // refresh token -> access tokens minted from it
}

// New returns the Salesforce handler for sb with default options.
func New(sb *sandbox.Sandbox) http.Handler { return NewWithOptions(sb, Options{}) }

// NewWithOptions returns the Salesforce handler for sb.
func NewWithOptions(sb *sandbox.Sandbox, opt Options) http.Handler {
	if opt.OrgID == "" {
		opt.OrgID = sb.OrgID
	}
	if opt.OrgID == "" {
		opt.OrgID = sandbox.SalesforceID(sandbox.PrefixOrganization, 1)
	}
	if opt.UpdatedIDLimit == 0 {
		opt.UpdatedIDLimit = 600000
	}
	if opt.DailyAPILimit == 0 {
		opt.DailyAPILimit = 15000
	}
	h := &handler{
		sb: sb, opt: opt,
		cursors:      map[string]*cursor{},
		customFields: map[string]*customField{},
		listViews:    map[string]*listView{},
		reports:      map[string]*report{},
		children:     map[string][]string{},
		metaChanged:  sb.Clock.Now().Truncate(time.Second),
	}
	return h
}

// apiError is one element of a Salesforce REST error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalNoEscape(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	writeJSON(w, status, []apiError{{Message: msg, ErrorCode: code, Fields: fields}})
}

func writeSOQLErr(w http.ResponseWriter, err error) {
	if se, ok := err.(*soqlError); ok {
		writeErr(w, http.StatusBadRequest, se.code, se.msg, se.fields...)
		return
	}
	writeErr(w, http.StatusInternalServerError, "UNKNOWN_EXCEPTION", err.Error())
}

func notFound(w http.ResponseWriter) {
	writeErr(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

// baseURL is the sandbox's own origin as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/services/oauth2/authorize":
		h.authorize(w, r)
	case p == "/services/oauth2/token":
		h.token(w, r)
	case p == "/services/oauth2/revoke":
		h.revoke(w, r)
	case p == "/services/oauth2/userinfo":
		h.userinfo(w, r)
	case strings.HasPrefix(p, "/id/"):
		h.identity(w, r)
	case p == "/services/data" || p == "/services/data/":
		h.versions(w, r)
	case strings.HasPrefix(p, "/services/data/"):
		h.data(w, r)
	default:
		notFound(w)
	}
}

var versionRe = regexp.MustCompile(`^v(\d+)\.0$`)

type versionInfo struct {
	Label   string `json:"label"`
	URL     string `json:"url"`
	Version string `json:"version"`
}

func releaseLabel(v int) string {
	k := MaxVersion - v
	season := [...]string{"Winter", "Summer", "Spring"}[k%3]
	return fmt.Sprintf("%s '%02d", season, 25-(k+2)/3)
}

func (h *handler) versions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are GET", r.Method))
		return
	}
	var out []versionInfo
	for v := MinVersion; v <= MaxVersion; v++ {
		out = append(out, versionInfo{Label: releaseLabel(v), URL: fmt.Sprintf("/services/data/v%d.0", v), Version: fmt.Sprintf("%d.0", v)})
	}
	writeJSON(w, http.StatusOK, out)
}

// reqCtx is an authenticated data request.
type reqCtx struct {
	version string // "v60.0"
	segs    []string
	user    string // token subject (user id)
	base    string
}

type route struct {
	pattern string
	fn      func(w http.ResponseWriter, r *http.Request, c *reqCtx)
}

// resolve maps a data path (segments after the version) to its route.
func (h *handler) resolve(method string, s []string) (route, []string) {
	n := len(s)
	at := func(i int, v string) bool { return i < n && s[i] == v }
	allow := func(methods ...string) []string { return methods }
	switch {
	case n == 0:
		return route{"GET /", h.resources}, allow("GET")
	case n == 1 && s[0] == "limits":
		return route{"GET /limits", h.limits}, allow("GET")
	case (s[0] == "query" || s[0] == "queryAll") && n == 1:
		return route{"GET /" + s[0], h.query}, allow("GET")
	case (s[0] == "query" || s[0] == "queryAll") && n == 2:
		return route{"GET /" + s[0] + "/{locator}", h.queryMore}, allow("GET")
	case s[0] == "sobjects" && n == 1:
		return route{"GET /sobjects", h.describeGlobal}, allow("GET")
	case s[0] == "sobjects" && n == 2:
		switch method {
		case http.MethodPost:
			return route{"POST /sobjects/{type}", h.create}, nil
		case http.MethodGet:
			return route{"GET /sobjects/{type}", h.sobjectBasic}, nil
		}
		return route{}, allow("GET", "POST")
	case s[0] == "sobjects" && n == 3 && s[2] == "describe":
		return route{"GET /sobjects/{type}/describe", h.describe}, allow("GET")
	case s[0] == "sobjects" && n == 3 && s[2] == "updated":
		return route{"GET /sobjects/{type}/updated", h.updated}, allow("GET")
	case s[0] == "sobjects" && n == 3 && s[2] == "deleted":
		return route{"GET /sobjects/{type}/deleted", h.deleted}, allow("GET")
	case s[0] == "sobjects" && n == 3 && s[2] == "listviews":
		return route{"GET /sobjects/{type}/listviews", h.listViewsIndex}, allow("GET")
	case s[0] == "sobjects" && n == 4 && s[2] == "listviews":
		return route{"GET /sobjects/{type}/listviews/{id}", h.listViewInfo}, allow("GET")
	case s[0] == "sobjects" && n == 5 && s[2] == "listviews" && s[4] == "results":
		return route{"GET /sobjects/{type}/listviews/{id}/results", h.listViewResults}, allow("GET")
	case s[0] == "sobjects" && n == 5 && s[2] == "listviews" && s[4] == "describe":
		return route{"GET /sobjects/{type}/listviews/{id}/describe", h.listViewDescribe}, allow("GET")
	case s[0] == "sobjects" && n == 3:
		switch method {
		case http.MethodGet:
			return route{"GET /sobjects/{type}/{id}", h.getRecord}, nil
		case http.MethodPatch:
			return route{"PATCH /sobjects/{type}/{id}", h.updateRecord}, nil
		case http.MethodDelete:
			return route{"DELETE /sobjects/{type}/{id}", h.deleteRecord}, nil
		}
		return route{}, allow("GET", "PATCH", "DELETE")
	case s[0] == "sobjects" && n == 4:
		switch method {
		case http.MethodPatch:
			return route{"PATCH /sobjects/{type}/{field}/{value}", h.upsertRecord}, nil
		case http.MethodGet:
			return route{"GET /sobjects/{type}/{field}/{value}", h.getByExternalID}, nil
		}
		return route{}, allow("GET", "PATCH")
	case at(0, "composite") && at(1, "sobjects") && n == 2:
		switch method {
		case http.MethodPatch:
			return route{"PATCH /composite/sobjects", h.compositeUpdate}, nil
		case http.MethodPost:
			return route{"POST /composite/sobjects", h.compositeCreate}, nil
		case http.MethodDelete:
			return route{"DELETE /composite/sobjects", h.compositeDelete}, nil
		}
		return route{}, allow("PATCH", "POST", "DELETE")
	case at(0, "composite") && at(1, "sobjects") && n == 3:
		switch method {
		case http.MethodGet:
			return route{"GET /composite/sobjects/{type}", h.compositeRetrieve}, nil
		case http.MethodPost:
			return route{"POST /composite/sobjects/{type}", h.compositeRetrieve}, nil
		}
		return route{}, allow("GET", "POST")
	case at(0, "tooling") && at(1, "query") && n == 2:
		return route{"GET /tooling/query", h.toolingQuery}, allow("GET")
	case at(0, "tooling") && at(1, "sobjects") && n == 3 && strings.EqualFold(s[2], "CustomField"):
		return route{"POST /tooling/sobjects/CustomField", h.createCustomField}, allow("POST")
	case at(0, "tooling") && at(1, "sobjects") && n == 4 && strings.EqualFold(s[2], "CustomField"):
		return route{"GET /tooling/sobjects/CustomField/{id}", h.getCustomField}, allow("GET")
	case at(0, "ui-api") && at(1, "list-info") && n == 3:
		return route{"POST /ui-api/list-info/{object}", h.createListInfo}, allow("POST")
	case at(0, "ui-api") && at(1, "list-info") && n == 4:
		switch method {
		case http.MethodGet:
			return route{"GET /ui-api/list-info/{object}/{name}", h.getListInfo}, nil
		case http.MethodPatch:
			return route{"PATCH /ui-api/list-info/{object}/{name}", h.patchListInfo}, nil
		case http.MethodDelete:
			return route{"DELETE /ui-api/list-info/{object}/{name}", h.deleteListInfo}, nil
		}
		return route{}, allow("GET", "PATCH", "DELETE")
	case at(0, "analytics") && at(1, "reports") && n == 2:
		return route{"POST /analytics/reports", h.createReport}, allow("POST")
	case at(0, "analytics") && at(1, "reports") && n == 3:
		switch method {
		case http.MethodGet:
			return route{"GET /analytics/reports/{id}", h.runReport}, nil
		case http.MethodPatch:
			return route{"PATCH /analytics/reports/{id}", h.patchReport}, nil
		case http.MethodDelete:
			return route{"DELETE /analytics/reports/{id}", h.deleteReport}, nil
		}
		return route{}, allow("GET", "PATCH", "DELETE")
	case at(0, "analytics") && at(1, "reports") && n == 4 && s[3] == "describe":
		return route{"GET /analytics/reports/{id}/describe", h.describeReport}, allow("GET")
	}
	return route{}, nil
}

func (h *handler) data(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/services/data/")
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	m := versionRe.FindStringSubmatch(parts[0])
	if m == nil {
		notFound(w)
		return
	}
	if v, _ := strconv.Atoi(m[1]); v < MinVersion || v > MaxVersion {
		notFound(w)
		return
	}
	rt, allowed := h.resolve(r.Method, parts[1:])
	if rt.fn == nil {
		if allowed == nil {
			notFound(w)
			return
		}
	}
	if rt.fn != nil && allowed != nil && !contains(allowed, r.Method) {
		rt.fn = nil
	}
	if rt.fn == nil {
		writeErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", r.Method, strings.Join(allowed, ",")))
		return
	}
	h.sb.Counters.Inc(dialect, rt.pattern)

	user, ok := h.authenticate(r)
	if !ok {
		writeErr(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	used, max := h.countCall()
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, max))

	d := h.sb.Faults.Decide(dialect, h.sb.Clock.Now())
	if d.Delay > 0 {
		t := time.NewTimer(d.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case d.Status == http.StatusServiceUnavailable:
		if d.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfter(d.RetryAfter))
		}
		writeErr(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later.")
		return
	case d.Status != 0:
		w.Header().Set("Retry-After", retryAfter(d.RetryAfter))
		msg := "TotalRequests Limit exceeded."
		if d.Reason == "rate-limit" {
			msg = "ConcurrentPerOrgLongTxn Limit exceeded."
		}
		writeErr(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", msg)
		return
	case used > max:
		w.Header().Set("Retry-After", "3600")
		writeErr(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	rt.fn(w, r, &reqCtx{version: parts[0], segs: parts[1:], user: user, base: baseURL(r)})
}

func retryAfter(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// countCall counts one API call against the daily allocation.
func (h *handler) countCall() (used, max int) {
	max = h.opt.DailyAPILimit
	h.sb.Faults.Set(func(f *sandbox.Faults) {
		if f.DailyLimit > 0 {
			max = f.DailyLimit
		}
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.apiCalls++
	return h.apiCalls, max
}

// authenticate checks the bearer token and returns its user id.
func (h *handler) authenticate(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	var v string
	switch {
	case len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer "):
		v = strings.TrimSpace(auth[7:])
	case len(auth) > 6 && strings.EqualFold(auth[:6], "OAuth "):
		v = strings.TrimSpace(auth[6:])
	default:
		return "", false
	}
	tok, ok, expired := h.sb.Tokens.Lookup(v)
	if !ok || expired || tok.Revoked || tok.Dialect != dialect || tok.Kind != "access" {
		return "", false
	}
	return tok.Subject, true
}

func (h *handler) resources(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	base := "/services/data/" + c.version
	out := newObj()
	for _, k := range []string{"analytics", "composite", "limits", "query", "queryAll", "sobjects", "tooling", "ui-api"} {
		out.set(k, base+"/"+k)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) limits(w http.ResponseWriter, _ *http.Request, _ *reqCtx) {
	h.mu.Lock()
	used := h.apiCalls
	h.mu.Unlock()
	max := h.opt.DailyAPILimit
	h.sb.Faults.Set(func(f *sandbox.Faults) {
		if f.DailyLimit > 0 {
			max = f.DailyLimit
		}
	})
	lim := func(m, rem int) *obj { return newObj().set("Max", m).set("Remaining", rem) }
	out := newObj().
		set("ConcurrentAsyncGetReportInstances", lim(200, 200)).
		set("ConcurrentSyncReportRuns", lim(20, 20)).
		set("DailyApiRequests", lim(max, maxInt(max-used, 0))).
		set("DailyAsyncApexExecutions", lim(250000, 250000)).
		set("DailyBulkApiBatches", lim(15000, 15000)).
		set("DailyBulkV2QueryJobs", lim(10000, 10000)).
		set("DataStorageMB", lim(5, 5)).
		set("FileStorageMB", lim(20, 20)).
		set("HourlySyncReportRuns", lim(500, 500))
	writeJSON(w, http.StatusOK, out)
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// readJSON decodes a request body, answering JSON_PARSER_ERROR on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is either invalid or incomplete: "+err.Error())
		return false
	}
	return true
}

// nextID mints an 18-character id with a key prefix for handler-owned
// metadata (custom fields, list views, reports, query locators).
func (h *handler) nextID(prefix string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return sandbox.SalesforceID(prefix, 1000000+h.seq)
}
