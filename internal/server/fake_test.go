package server

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// call is one RunCycle the test controls.
type call struct {
	conn  string
	ctx   context.Context
	reply chan result
}

type result struct {
	sum CycleSummary
	err error
}

// scriptedRunner hands every RunCycle to the test through calls and returns
// what the test replies (or ctx's error if the context ends first).
type scriptedRunner struct {
	calls    chan call
	inflight atomic.Int32
	maxSeen  atomic.Int32

	mu      sync.Mutex
	perConn map[string]int
	overlap bool // two cycles of one connection at once
}

func newScriptedRunner() *scriptedRunner {
	return &scriptedRunner{calls: make(chan call), perConn: map[string]int{}}
}

func (r *scriptedRunner) RunCycle(ctx context.Context, conn string) (CycleSummary, error) {
	n := r.inflight.Add(1)
	defer r.inflight.Add(-1)
	for {
		m := r.maxSeen.Load()
		if n <= m || r.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	r.mu.Lock()
	r.perConn[conn]++
	if r.perConn[conn] > 1 {
		r.overlap = true
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.perConn[conn]--
		r.mu.Unlock()
	}()

	c := call{conn: conn, ctx: ctx, reply: make(chan result, 1)}
	select {
	case r.calls <- c:
	case <-ctx.Done():
		return CycleSummary{}, ctx.Err()
	case <-StopRequested(ctx):
		return CycleSummary{}, context.Canceled
	}
	select {
	case res := <-c.reply:
		return res.sum, res.err
	case <-ctx.Done():
		return CycleSummary{Stages: []StageSummary{{Name: StageSync, Err: ctx.Err()}}}, ctx.Err()
	}
}

// next waits for the next RunCycle.
func (r *scriptedRunner) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-t.Context().Done():
		t.Fatal("test ended waiting for a cycle")
		return call{}
	}
}

func okSummary() CycleSummary {
	return CycleSummary{Stages: []StageSummary{
		{Name: StageSync, Duration: 2 * time.Second, Records: []RecordCount{{Object: "accounts", Read: 10, Changed: 4, Deleted: 1}},
			APICalls: map[string]int64{"query": 3}},
		{Name: StageInsights, Duration: time.Second, Counts: map[string]int64{"accounts_analysed": 4}},
	}}
}

// fakeTime replaces the scheduler's timers: every wait is handed to the test,
// which checks its length and fires it.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	waits chan wait
}

type wait struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeTime() *fakeTime {
	return &fakeTime{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), waits: make(chan wait, 16)}
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) After(d time.Duration) (<-chan time.Time, func() bool) {
	ch := make(chan time.Time, 1)
	f.waits <- wait{d: d, fire: ch}
	return ch, func() bool { return true }
}

// next waits for the scheduler to start waiting, returns the wait's length
// and lets it end (advancing the clock by it).
func (f *fakeTime) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case w := <-f.waits:
		f.mu.Lock()
		f.now = f.now.Add(w.d)
		now := f.now
		f.mu.Unlock()
		w.fire <- now
		return w.d
	case <-t.Context().Done():
		t.Fatal("test ended waiting for the scheduler to wait")
		return 0
	}
}

// peek waits for the scheduler to start waiting without ending the wait.
func (f *fakeTime) peek(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-f.waits:
		return w
	case <-t.Context().Done():
		t.Fatal("test ended waiting for the scheduler to wait")
		return wait{}
	}
}

// newTestServer returns a started server (without a listener unless http)
// whose timers come from ft (nil: real timers), shut down at cleanup.
func newTestServer(t *testing.T, ft *fakeTime, opts Options) *Server {
	t.Helper()
	if opts.Addr == "" {
		opts.DisableHTTP = true
	}
	if opts.Grace == 0 {
		opts.Grace = -1 // cycles still running at cleanup are cancelled
	}
	s := New(opts)
	if ft != nil {
		s.now, s.after = ft.Now, ft.After
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// waitState polls Status until connection conn is in state (a scheduler
// state change has no channel of its own); the test's deadline bounds it.
func waitState(t *testing.T, s *Server, conn, state string) ConnectionStatus {
	t.Helper()
	for {
		for _, c := range s.Status(t.Context()).Connections {
			if c.Name == conn && c.State == state {
				return c
			}
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("connection %s never reached state %s", conn, state)
		case <-time.After(time.Millisecond):
		}
	}
}
