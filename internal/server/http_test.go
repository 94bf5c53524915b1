package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/redistest"
)

const testToken = "s3cret-admin-token-7f2c"

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func do(t *testing.T, ts *httptest.Server, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAdminAPIRequiresToken(t *testing.T) {
	logs := &syncBuffer{}
	ft := newFakeTime()
	r := newScriptedRunner()
	s := newTestServer(t, ft, Options{Runner: r, Connections: []string{"acme"}, Interval: time.Hour,
		AdminToken: testToken, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	wrong := "Bearer " + "not-the-token-91ab"
	for _, tc := range []struct{ method, path, auth string }{
		{"GET", "/api/status", ""},
		{"GET", "/api/status", wrong},
		{"GET", "/api/status", "Basic " + testToken},
		{"GET", "/api/status", "Bearer " + testToken + "x"},
		{"GET", "/api/status", "Bearer " + testToken[:len(testToken)-1]},
		{"POST", "/api/run?connection=acme", ""},
		{"POST", "/api/run?connection=acme", wrong},
		{"GET", "/admin", ""},
		{"GET", "/admin", wrong},
	} {
		code, body := do(t, ts, tc.method, tc.path, tc.auth)
		if code != http.StatusUnauthorized {
			t.Errorf("%s %s with %q: %d %s, want 401", tc.method, tc.path, tc.auth, code, body)
		}
	}

	// The first cycle is running: a manual run is refused with 409.
	first := r.next(t)
	code, body := do(t, ts, "POST", "/api/run?connection=acme", "Bearer "+testToken)
	if code != http.StatusConflict {
		t.Fatalf("run while running: %d %s, want 409", code, body)
	}
	first.reply <- result{sum: okSummary()}
	ft.peek(t)
	waitState(t, s, "acme", StateIdle)

	code, body = do(t, ts, "POST", "/api/run?connection=acme", "bearer "+testToken)
	if code != http.StatusAccepted {
		t.Fatalf("run: %d %s, want 202", code, body)
	}
	var accepted struct {
		RunID      string `json:"run_id"`
		Connection string `json:"connection"`
	}
	if err := json.Unmarshal([]byte(body), &accepted); err != nil || accepted.RunID == "" || accepted.Connection != "acme" {
		t.Fatalf("202 body %s: %v", body, err)
	}
	manual := r.next(t)
	code, body = do(t, ts, "POST", "/api/run?connection=acme", "Bearer "+testToken)
	if code != http.StatusConflict {
		t.Fatalf("second run: %d %s, want 409", code, body)
	}

	code, body = do(t, ts, "GET", "/api/status", "Bearer "+testToken)
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status body: %v\n%s", err, body)
	}
	if len(st.Connections) != 1 || st.Connections[0].RunID != accepted.RunID || st.Connections[0].State != StateRunning {
		t.Fatalf("status connections = %+v, want acme running %s", st.Connections, accepted.RunID)
	}
	lc := st.Connections[0].LastCycle
	if lc == nil || lc.Outcome != OutcomeOK || len(lc.Stages) != 2 || lc.Stages[0].Records[0].Changed != 4 ||
		lc.Stages[1].Counts["accounts_analysed"] != 4 || time.Duration(lc.Stages[0].Duration) != 2*time.Second {
		t.Fatalf("last cycle in status = %+v", lc)
	}
	if !strings.Contains(body, `"duration_seconds": 2`) {
		t.Errorf("stage duration not in seconds:\n%s", body)
	}
	manual.reply <- result{sum: okSummary()}

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/api/run?connection=nope", http.StatusNotFound},
		{"/api/run", http.StatusBadRequest},
	} {
		if code, body := do(t, ts, "POST", tc.path, "Bearer "+testToken); code != tc.code {
			t.Errorf("POST %s: %d %s, want %d", tc.path, code, body, tc.code)
		}
	}

	out := logs.String()
	if !strings.Contains(out, "admin request refused") || !strings.Contains(out, "wrong bearer token") ||
		!strings.Contains(out, "missing bearer token") {
		t.Errorf("refusals not logged:\n%s", out)
	}
	for _, secret := range []string{testToken, "not-the-token-91ab", testToken[:len(testToken)-1]} {
		if strings.Contains(out, secret) {
			t.Fatalf("logs contain a token %q:\n%s", secret, out)
		}
	}
}

func TestAdminDisabledWithoutToken(t *testing.T) {
	logs := &syncBuffer{}
	s := newTestServer(t, newFakeTime(), Options{Runner: newScriptedRunner(), Connections: []string{"acme"},
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		for _, p := range []struct{ method, path string }{{"GET", "/api/status"}, {"POST", "/api/run?connection=acme"}, {"GET", "/admin"}} {
			code, body := do(t, ts, p.method, p.path, auth)
			if code != http.StatusForbidden || !strings.Contains(body, "admin API disabled") {
				t.Errorf("%s %s (%q) without a configured token: %d %s, want 403", p.method, p.path, auth, code, body)
			}
		}
	}
	if !strings.Contains(logs.String(), "admin API disabled") {
		t.Errorf("start-up did not say the admin API is disabled:\n%s", logs)
	}
}

func TestHealthz(t *testing.T) {
	s := New(Options{Runner: newScriptedRunner(), Addr: "127.0.0.1:0"})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok\n" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, b)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Fatal("HTTP server still answering after shutdown")
	}
}

func TestReadyz(t *testing.T) {
	rdb := redistest.Client(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	defer dead.Close()

	ft := newFakeTime()
	r := newScriptedRunner()
	s := newTestServer(t, ft, Options{Runner: r, Connections: []string{"acme"}, Interval: time.Hour,
		Backoff: time.Minute, UnreadyAfter: 2,
		Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	r.next(t).reply <- result{err: errors.New("down")}
	w := ft.peek(t)
	waitState(t, s, "acme", StateIdle)
	code, body := do(t, ts, "GET", "/readyz", "")
	if code != http.StatusOK || !strings.Contains(body, `"redis": "ok"`) || !strings.Contains(body, `"last_outcome": "failed"`) {
		t.Fatalf("/readyz after one failure: %d %s", code, body)
	}
	w.fire <- ft.Now()
	r.next(t).reply <- result{err: errors.New("down")}
	ft.peek(t)
	waitState(t, s, "acme", StateIdle)
	if code, body := do(t, ts, "GET", "/readyz", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz after two failures with UnreadyAfter 2: %d %s", code, body)
	}

	down := New(Options{Runner: r, DisableHTTP: true,
		Ping: func(ctx context.Context) error { return dead.Ping(ctx).Err() }})
	ts2 := httptest.NewServer(down.Handler())
	defer ts2.Close()
	if code, body := do(t, ts2, "GET", "/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "unreachable") {
		t.Fatalf("/readyz with Redis down: %d %s", code, body)
	}
}

func TestMetricsExposeDocumentedSeries(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := t.Context()
	for i := range 3 {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "q:outbox", Values: map[string]any{"i": i}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.XGroupCreate(ctx, "q:outbox", "writers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "writers", Consumer: "w1", Streams: []string{"q:outbox", ">"}, Count: 2}).Err(); err != nil {
		t.Fatal(err)
	}

	s := New(Options{Runner: newScriptedRunner(), Connections: []string{"acme"}, DisableHTTP: true,
		Depths: StreamDepths(rdb,
			Stream{Name: "outbox", Key: "q:outbox", Group: "writers"},
			Stream{Name: "analysis", Key: "q:analysis", Group: "analysts"})})
	sum := okSummary()
	sum.Connection = "acme"
	sum.Started = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sum.Finished = sum.Started.Add(3 * time.Second)
	sum.Stages = append(sum.Stages, StageSummary{Name: StageWriteback, Errors: map[string]int64{ClassPermanent: 2}})
	s.Metrics().ObserveCycle(sum)

	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body := do(t, ts, "GET", "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`crmpulse_records_synced_total{connection="acme",kind="read",object="accounts"} 10`,
		`crmpulse_records_synced_total{connection="acme",kind="changed",object="accounts"} 4`,
		`crmpulse_records_synced_total{connection="acme",kind="deleted",object="accounts"} 1`,
		`crmpulse_api_calls_total{connection="acme",endpoint="query"} 3`,
		`crmpulse_errors_total{class="permanent",connection="acme",stage="writeback"} 2`,
		`crmpulse_cycles_total{connection="acme",outcome="ok"} 1`,
		`crmpulse_cycle_duration_seconds_count{connection="acme",outcome="ok"} 1`,
		`crmpulse_cycle_duration_seconds_sum{connection="acme",outcome="ok"} 3`,
		`crmpulse_stage_duration_seconds_sum{connection="acme",stage="sync"} 2`,
		`crmpulse_stage_duration_seconds_count{connection="acme",stage="insights"} 1`,
		fmt.Sprintf(`crmpulse_last_success_timestamp_seconds{connection="acme"} %g`, float64(sum.Finished.Unix())),
		`crmpulse_cycle_running{connection="acme"} 0`,
		`crmpulse_queue_length{queue="outbox"} 3`,
		`crmpulse_queue_pending{queue="outbox"} 2`,
		`crmpulse_queue_length{queue="analysis"} 0`,
		`crmpulse_queue_pending{queue="analysis"} 0`,
		`crmpulse_queue_read_errors_total 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") && !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestStreamDepthsReportsErrors(t *testing.T) {
	rdb := redistest.Client(t)
	// A key of the wrong type is an error, not a zero.
	if err := rdb.Set(t.Context(), "q:notastream", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := StreamDepths(rdb, Stream{Name: "bad", Key: "q:notastream"})(t.Context())
	if err == nil || !strings.Contains(err.Error(), "q:notastream") {
		t.Fatalf("err = %v, want a WRONGTYPE error naming the key", err)
	}
	s := New(Options{Runner: newScriptedRunner(), DisableHTTP: true, AdminToken: testToken,
		Depths: StreamDepths(rdb, Stream{Name: "bad", Key: "q:notastream"})})
	if st := s.Status(t.Context()); !strings.Contains(st.QueuesError, "WRONGTYPE") {
		t.Fatalf("status queues error = %q", st.QueuesError)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if code, body := do(t, ts, "GET", "/metrics", ""); code != http.StatusOK || !strings.Contains(body, "crmpulse_queue_read_errors_total 1") {
		t.Fatalf("/metrics with unreadable queues: %d, error counter missing", code)
	}
}

func TestAdminPageEscapesHostileNames(t *testing.T) {
	hostile := []string{`<script>alert("x")</script>`, `"><img src=x onerror=alert(1)>`, `acme & co`}
	ft := newFakeTime()
	r := newScriptedRunner()
	s := newTestServer(t, ft, Options{Runner: r, Connections: hostile, Interval: time.Hour, AdminToken: testToken,
		MaxConcurrent: 3, Version: "v<b>1</b>"})
	for range hostile {
		c := r.next(t)
		c.reply <- result{err: errors.New(`bad <iframe src="javascript:alert(2)">`)}
	}
	for _, n := range hostile {
		waitState(t, s, n, StateIdle)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body := do(t, ts, "GET", "/admin", "Bearer "+testToken)
	if code != http.StatusOK {
		t.Fatalf("/admin: %d %s", code, body)
	}
	for _, raw := range []string{"<script>", "<img", "<iframe", "<b>1</b>"} {
		if strings.Contains(body, raw) {
			t.Errorf("admin page contains unescaped %q", raw)
		}
	}
	for _, esc := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"acme &amp; co", "&lt;iframe", "Recent errors", "failed"} {
		if !strings.Contains(body, esc) {
			t.Errorf("admin page lacks %q", esc)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}
