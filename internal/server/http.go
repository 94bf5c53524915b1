package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the daemon's state as /api/status reports it.
type Status struct {
	Version      string             `json:"version,omitempty"`
	Started      time.Time          `json:"started"`
	Now          time.Time          `json:"now"`
	Draining     bool               `json:"draining"`
	Interval     Duration           `json:"interval"`
	Connections  []ConnectionStatus `json:"connections"`
	Queues       []QueueDepth       `json:"queues"`
	QueuesError  string             `json:"queues_error,omitempty"`
	RecentErrors []ErrorEntry       `json:"recent_errors"` // newest first
}

// ConnectionStatus is one connection in Status.
type ConnectionStatus struct {
	Name string `json:"name"`
	// State is idle, queued (waiting for a slot) or running.
	State   string     `json:"state"`
	RunID   string     `json:"run_id,omitempty"`
	Trigger string     `json:"trigger,omitempty"`
	Since   *time.Time `json:"since,omitempty"` // of the queued or running cycle
	// NextRun is when the next scheduled cycle starts (absent while one is
	// queued or running, or once the daemon stops scheduling).
	NextRun             *time.Time `json:"next_run,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastSuccess         *time.Time `json:"last_success,omitempty"`
	LastCycle           *CycleView `json:"last_cycle,omitempty"`
}

// CycleView is a finished cycle in Status.
type CycleView struct {
	RunID    string      `json:"run_id"`
	Trigger  string      `json:"trigger"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Duration Duration    `json:"duration_seconds"`
	Outcome  string      `json:"outcome"`
	Error    string      `json:"error,omitempty"`
	Class    string      `json:"class,omitempty"`
	Stages   []StageView `json:"stages"`
}

// StageView is one stage of a CycleView.
type StageView struct {
	Name     string           `json:"name"`
	Duration Duration         `json:"duration_seconds"`
	Error    string           `json:"error,omitempty"`
	Class    string           `json:"class,omitempty"`
	Records  []RecordCount    `json:"records,omitempty"`
	APICalls map[string]int64 `json:"api_calls,omitempty"`
	Errors   map[string]int64 `json:"errors,omitempty"`
	Counts   map[string]int64 `json:"counts,omitempty"`
}

// Duration marshals to JSON as seconds.
type Duration time.Duration

// MarshalJSON writes the duration in seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var sec float64
	if err := json.Unmarshal(b, &sec); err != nil {
		return fmt.Errorf("duration in seconds: %w", err)
	}
	*d = Duration(sec * float64(time.Second))
	return nil
}

// String formats like time.Duration, rounded to milliseconds.
func (d Duration) String() string { return time.Duration(d).Round(time.Millisecond).String() }

func viewCycle(s *CycleSummary) *CycleView {
	if s == nil {
		return nil
	}
	v := &CycleView{RunID: s.RunID, Trigger: s.Trigger, Started: s.Started, Finished: s.Finished,
		Duration: Duration(s.Duration()), Outcome: s.Outcome(), Stages: []StageView{}}
	if err := s.firstErr(); err != nil {
		v.Error, v.Class = clip(err.Error(), 500), ErrorClass(err)
	}
	for _, st := range s.Stages {
		sv := StageView{Name: st.Name, Duration: Duration(st.Duration), Records: st.Records,
			APICalls: st.APICalls, Errors: st.Errors, Counts: st.Counts}
		if st.Err != nil {
			sv.Error, sv.Class = clip(st.Err.Error(), 500), ErrorClass(st.Err)
		}
		v.Stages = append(v.Stages, sv)
	}
	return v
}

// Status reports connections, their last cycles, queue depths and recent
// errors.
func (s *Server) Status(ctx context.Context) Status {
	st := Status{Version: s.opts.Version, Now: s.now(), Interval: Duration(s.opts.Interval),
		Queues: []QueueDepth{}}
	if s.opts.Depths != nil {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		qs, err := s.opts.Depths(qctx)
		cancel()
		if qs != nil {
			st.Queues = qs
		}
		if err != nil {
			st.QueuesError = err.Error()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Started, st.Draining = s.started, s.draining
	scheduling := s.running && s.schedCtx.Err() == nil
	for _, name := range s.order {
		c := s.conns[name]
		cs := ConnectionStatus{Name: name, State: c.state, RunID: c.runID, Trigger: c.trigger,
			ConsecutiveFailures: c.failures, LastCycle: viewCycle(c.last)}
		if c.state != StateIdle {
			cs.Since = new(c.since)
		}
		if c.state == StateIdle && scheduling && !c.next.IsZero() {
			cs.NextRun = new(c.next)
		}
		if !c.lastOK.IsZero() {
			cs.LastSuccess = new(c.lastOK)
		}
		st.Connections = append(st.Connections, cs)
	}
	st.RecentErrors = slices.Clone(s.recent)
	slices.Reverse(st.RecentErrors)
	if st.RecentErrors == nil {
		st.RecentErrors = []ErrorEntry{}
	}
	return st
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if !s.opts.DisableMetrics {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
			Registry:          s.reg,
			ErrorHandling:     promhttp.ContinueOnError,
			EnableOpenMetrics: true,
		}))
	}
	mux.Handle("GET /admin", s.admin(http.HandlerFunc(s.adminPage)))
	mux.Handle("GET /api/status", s.admin(http.HandlerFunc(s.apiStatus)))
	mux.Handle("POST /api/run", s.admin(http.HandlerFunc(s.apiRun)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("crmpulse daemon: /healthz /readyz /metrics /admin /api/status POST /api/run?connection=NAME\n"))
	})
	return mux
}

// readyz answers 200 when Redis answers a ping, the daemon is not draining
// and (with UnreadyAfter) no connection has failed that many cycles in a row;
// else 503. The body lists the checks and each connection's last outcome.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	type connReady struct {
		LastOutcome         string `json:"last_outcome,omitempty"`
		ConsecutiveFailures int    `json:"consecutive_failures"`
		State               string `json:"state"`
	}
	body := struct {
		Ready       bool                 `json:"ready"`
		Redis       string               `json:"redis"`
		Draining    bool                 `json:"draining"`
		Connections map[string]connReady `json:"connections"`
	}{Ready: true, Redis: "not checked", Connections: map[string]connReady{}}
	if s.opts.Ping != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := s.opts.Ping(ctx)
		cancel()
		if err != nil {
			body.Ready, body.Redis = false, "unreachable"
			s.log.Warn("readiness: redis ping failed", "err", err)
		} else {
			body.Redis = "ok"
		}
	}
	s.mu.Lock()
	body.Draining = s.draining
	if s.draining {
		body.Ready = false
	}
	for _, name := range s.order {
		c := s.conns[name]
		cr := connReady{ConsecutiveFailures: c.failures, State: c.state}
		if c.last != nil {
			cr.LastOutcome = c.last.Outcome()
		}
		if s.opts.UnreadyAfter > 0 && c.failures >= s.opts.UnreadyAfter {
			body.Ready = false
		}
		body.Connections[name] = cr
	}
	s.mu.Unlock()
	code := http.StatusOK
	if !body.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, body)
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Status(r.Context()))
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	conn := r.URL.Query().Get("connection")
	if conn == "" {
		writeError(w, http.StatusBadRequest, "missing query parameter connection")
		return
	}
	id, err := s.Trigger(conn)
	switch {
	case err == nil:
		s.log.Info("cycle requested", "connection", conn, "run_id", id, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusAccepted, map[string]string{"run_id": id, "connection": conn})
	case errors.Is(err, ErrUnknownConnection):
		writeError(w, http.StatusNotFound, "unknown connection "+quote(conn))
	case errors.Is(err, ErrBusy):
		writeError(w, http.StatusConflict, "connection "+quote(conn)+": "+err.Error())
	default:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	}
}

// admin guards h with the bearer token. Without a configured token every
// request is refused with 403; a missing or wrong token gets 401. Refusals
// are logged with method, path and remote address, never the token.
func (s *Server) admin(h http.Handler) http.Handler {
	if s.opts.AdminToken == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusForbidden, "admin API disabled: no admin token configured (set the environment variable named by serve.admin_token_env)")
		})
	}
	want := sha256.Sum256([]byte(s.opts.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r.Header.Get("Authorization"))
		reason := "missing bearer token"
		if ok {
			got := sha256.Sum256([]byte(tok))
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				h.ServeHTTP(w, r)
				return
			}
			reason = "wrong bearer token"
		}
		s.log.Warn("admin request refused", "reason", reason, "method", r.Method,
			"path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="crmpulse"`)
		writeError(w, http.StatusUnauthorized, reason)
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func quote(s string) string {
	b, _ := json.Marshal(clip(s, 200))
	return string(b)
}
