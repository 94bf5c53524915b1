// Package sandboxsrv serves a sandbox over HTTP: the Salesforce dialect
// (/services/..., /id/...), the HubSpot dialect (/oauth/..., /crm/...) and
// admin endpoints under /_sandbox/ that tests, benchmarks and demos use to
// drive it:
//
//	GET  /_sandbox/stats              distribution summary (JSON; text with ?format=text)
//	GET  /_sandbox/counters           API call counters, "dialect METHOD route" -> n
//	POST /_sandbox/counters/reset     zero the counters
//	POST /_sandbox/step?days=N        advance the clock N days (default 1) and mutate both tenants
//	POST /_sandbox/faults             set fault switches (JSON body, see Faults)
//	POST /_sandbox/revoke?dialect=D   revoke every token of D (salesforce|hubspot)
//	GET  /_sandbox/truth              the recorded truth (JSON)
//
// The admin endpoints need no credentials: they exist for tests and local
// demos. /_sandbox/truth in particular is never part of a CRM's API; only
// evaluation code may read it.
//
// Every response carries a Date header from the sandbox clock, so clients
// that derive "now" from the server see the sandbox's time.
package sandboxsrv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/hubspot"
	"github.com/crmpulse/crmpulse/internal/sandbox/salesforce"
)

// Faults is the JSON body of POST /_sandbox/faults. Absent fields leave the
// switch as it is.
type Faults struct {
	RateLimit    *int    `json:"rateLimit,omitempty"`
	RateWindow   *string `json:"rateWindow,omitempty"` // Go duration, e.g. "10s"
	Fail5xx      *int    `json:"fail5xx,omitempty"`
	Fail429      *int    `json:"fail429,omitempty"`
	Latency      *string `json:"latency,omitempty"`
	DailyLimit   *int    `json:"dailyLimit,omitempty"`
	MutateOnPage *int    `json:"mutateOnPage,omitempty"`
	DropIDs      *int    `json:"dropIds,omitempty"`
	// ExpireTokens makes every access token of the named dialects expire now.
	ExpireTokens []string `json:"expireTokens,omitempty"`
}

// New returns the handler serving sb.
func New(sb *sandbox.Sandbox) http.Handler { return NewWithOptions(sb, Options{}) }

// Options tune the dialects a handler serves; zero values mean each
// dialect's defaults.
type Options struct {
	// HubSpot configures the HubSpot dialect; SearchPerSecond -1 turns its
	// search limiter off (local demos, where nothing needs protecting).
	HubSpot hubspot.Options
}

// NewWithOptions returns the handler serving sb with dialect options.
func NewWithOptions(sb *sandbox.Sandbox, opt Options) http.Handler {
	mux := http.NewServeMux()
	sf, hs := salesforce.New(sb), hubspot.NewHandler(sb, opt.HubSpot)
	for _, p := range []string{"/services/", "/id/"} {
		mux.Handle(p, sf)
	}
	for _, p := range []string{"/oauth/", "/crm/", "/integrations/"} {
		mux.Handle(p, hs)
	}
	a := &admin{sb: sb}
	mux.HandleFunc("GET /_sandbox/stats", a.stats)
	mux.HandleFunc("GET /_sandbox/counters", a.counters)
	mux.HandleFunc("POST /_sandbox/counters/reset", a.resetCounters)
	mux.HandleFunc("POST /_sandbox/step", a.step)
	mux.HandleFunc("POST /_sandbox/faults", a.faults)
	mux.HandleFunc("POST /_sandbox/revoke", a.revoke)
	mux.HandleFunc("GET /_sandbox/truth", a.truth)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", sb.Clock.Now().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	})
}

// StartTest builds a sandbox from opts and serves it on an httptest server
// closed when the test ends.
func StartTest(t testing.TB, opts sandbox.Options) (*sandbox.Sandbox, *httptest.Server) {
	t.Helper()
	return StartTestWithOptions(t, opts, Options{})
}

// StartTestWithOptions is StartTest with dialect options (e.g. the HubSpot
// search limiter turned off).
func StartTestWithOptions(t testing.TB, opts sandbox.Options, o Options) (*sandbox.Sandbox, *httptest.Server) {
	t.Helper()
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	srv := httptest.NewServer(NewWithOptions(sb, o))
	t.Cleanup(srv.Close)
	return sb, srv
}

type admin struct{ sb *sandbox.Sandbox }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, format string, a ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, a...)})
}

func (a *admin) stats(w http.ResponseWriter, r *http.Request) {
	st := a.sb.Stats()
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = st.Write(w)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *admin) counters(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.sb.Counters.Snapshot())
}

func (a *admin) resetCounters(w http.ResponseWriter, _ *http.Request) {
	a.sb.Counters.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) step(w http.ResponseWriter, r *http.Request) {
	days := 1
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 3650 {
			fail(w, http.StatusBadRequest, "days: want an integer in [0, 3650], got %q", s)
			return
		}
		days = n
	}
	writeJSON(w, http.StatusOK, a.sb.Step(days))
}

func (a *admin) faults(w http.ResponseWriter, r *http.Request) {
	var in Faults
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "faults: %v", err)
		return
	}
	dur := func(s *string) (time.Duration, error) {
		if s == nil {
			return 0, nil
		}
		return time.ParseDuration(*s)
	}
	win, err1 := dur(in.RateWindow)
	lat, err2 := dur(in.Latency)
	if err1 != nil || err2 != nil {
		fail(w, http.StatusBadRequest, "faults: bad duration")
		return
	}
	a.sb.Faults.Set(func(f *sandbox.Faults) {
		set := func(dst *int, src *int) {
			if src != nil {
				*dst = *src
			}
		}
		set(&f.RateLimit, in.RateLimit)
		set(&f.Fail5xx, in.Fail5xx)
		set(&f.Fail429, in.Fail429)
		set(&f.DailyLimit, in.DailyLimit)
		set(&f.MutateOnPage, in.MutateOnPage)
		set(&f.DropIDs, in.DropIDs)
		if in.RateWindow != nil {
			f.RateWindow = win
		}
		if in.Latency != nil {
			f.Latency = lat
		}
	})
	for _, d := range in.ExpireTokens {
		a.sb.Tokens.ExpireAll(d)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) revoke(w http.ResponseWriter, r *http.Request) {
	d := r.URL.Query().Get("dialect")
	if d != "salesforce" && d != "hubspot" {
		fail(w, http.StatusBadRequest, "dialect: want salesforce or hubspot, got %q", d)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": a.sb.Tokens.RevokeAll(d)})
}

func (a *admin) truth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = a.sb.WriteTruth(w)
}
