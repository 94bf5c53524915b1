package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crmpulse/crmpulse/connectors"
)

func TestSchedulerRunsAtIntervalAndBacksOff(t *testing.T) {
	ft := newFakeTime()
	r := newScriptedRunner()
	s := newTestServer(t, ft, Options{
		Runner: r, Connections: []string{"acme"},
		Interval: 15 * time.Minute, Backoff: 30 * time.Second, MaxBackoff: 2 * time.Minute,
	})

	// The first cycle starts at once (no jitter).
	c := r.next(t)
	if c.conn != "acme" {
		t.Fatalf("cycle for %q, want acme", c.conn)
	}
	c.reply <- result{sum: okSummary()}

	w := ft.peek(t)
	if w.d != 15*time.Minute {
		t.Fatalf("wait after success = %v, want the interval 15m", w.d)
	}
	st := waitState(t, s, "acme", StateIdle)
	if st.NextRun == nil || !st.NextRun.Equal(ft.Now().Add(15*time.Minute)) {
		t.Fatalf("next run = %v, want now+15m = %v", st.NextRun, ft.Now().Add(15*time.Minute))
	}
	if st.LastCycle == nil || st.LastCycle.Outcome != OutcomeOK || st.LastCycle.Trigger != "schedule" {
		t.Fatalf("last cycle = %+v", st.LastCycle)
	}
	w.fire <- ft.Now()

	// Failures back off 30s, 1m, 2m, then stay at the 2m cap.
	fail := errors.New("crm down")
	for i, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 2 * time.Minute} {
		r.next(t).reply <- result{err: fmt.Errorf("sync: %w", fail)}
		if got := ft.next(t); got != want {
			t.Fatalf("wait after failure %d = %v, want %v", i+1, got, want)
		}
	}
	// A success resets the wait to the interval.
	r.next(t).reply <- result{sum: okSummary()}
	if got := ft.peek(t).d; got != 15*time.Minute {
		t.Fatalf("wait after recovery = %v, want 15m", got)
	}

	m := s.Metrics()
	if got := testutil.ToFloat64(m.cycles.WithLabelValues("acme", OutcomeOK)); got != 2 {
		t.Errorf("ok cycles = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.cycles.WithLabelValues("acme", OutcomeFailed)); got != 4 {
		t.Errorf("failed cycles = %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("acme", "cycle", ClassOther)); got != 4 {
		t.Errorf("cycle errors = %v, want 4", got)
	}
	st = waitState(t, s, "acme", StateIdle)
	if st.ConsecutiveFailures != 0 || st.LastSuccess == nil {
		t.Errorf("after recovery: %+v", st)
	}
	if errs := s.Status(t.Context()).RecentErrors; len(errs) != 4 || errs[0].Message != "sync: crm down" {
		t.Errorf("recent errors = %+v", errs)
	}
}

func TestSchedulerBackoffClassifiesStageErrors(t *testing.T) {
	ft := newFakeTime()
	r := newScriptedRunner()
	s := newTestServer(t, ft, Options{Runner: r, Connections: []string{"acme"},
		Interval: time.Hour, Backoff: time.Minute, MaxBackoff: time.Hour})

	// A stage error with a nil returned error still counts as a failure.
	sum := CycleSummary{Stages: []StageSummary{
		{Name: StageSync, Duration: time.Second},
		{Name: StageWriteback, Err: fmt.Errorf("update fields: %w", connectors.ErrReauthorize),
			Errors: map[string]int64{ClassPermanent: 3}},
	}}
	r.next(t).reply <- result{sum: sum}
	if got := ft.peek(t).d; got != time.Minute {
		t.Fatalf("wait after a failed stage = %v, want backoff 1m", got)
	}
	m := s.Metrics()
	if got := testutil.ToFloat64(m.errors.WithLabelValues("acme", StageWriteback, ClassReauthorize)); got != 1 {
		t.Errorf("writeback reauthorize errors = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("acme", StageWriteback, ClassPermanent)); got != 3 {
		t.Errorf("writeback per-item permanent errors = %v, want 3", got)
	}
	st := waitState(t, s, "acme", StateIdle)
	if st.LastCycle.Outcome != OutcomeFailed || st.LastCycle.Class != ClassReauthorize || st.ConsecutiveFailures != 1 {
		t.Errorf("last cycle = %+v, failures %d", st.LastCycle, st.ConsecutiveFailures)
	}
	if e := s.Status(t.Context()).RecentErrors[0]; e.Stage != StageWriteback || e.Class != ClassReauthorize {
		t.Errorf("recent error = %+v", e)
	}
}

func TestSchedulerOneCycleAtATimePerConnection(t *testing.T) {
	ft := newFakeTime()
	r := newScriptedRunner()
	s := newTestServer(t, ft, Options{Runner: r, Connections: []string{"acme"}, Interval: time.Hour})

	first := r.next(t)
	if _, err := s.Trigger("acme"); !errors.Is(err, ErrBusy) {
		t.Fatalf("trigger while running: %v, want ErrBusy", err)
	}
	first.reply <- result{sum: okSummary()}
	w := ft.peek(t) // idle, waiting the interval

	id, err := s.Trigger("acme")
	if err != nil {
		t.Fatalf("trigger while idle: %v", err)
	}
	if _, err := s.Trigger("acme"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second trigger before the run started: %v, want ErrBusy", err)
	}
	manual := r.next(t)
	st := waitState(t, s, "acme", StateRunning)
	if st.RunID != id || st.Trigger != "manual" {
		t.Fatalf("running %s (%s), want run %s (manual)", st.RunID, st.Trigger, id)
	}
	// The interval timer firing during the manual cycle must not start a
	// second, overlapping cycle.
	w.fire <- ft.Now()
	if _, err := s.Trigger("acme"); !errors.Is(err, ErrBusy) {
		t.Fatalf("trigger during manual run: %v, want ErrBusy", err)
	}
	manual.reply <- result{sum: okSummary()}
	if got := ft.peek(t).d; got != time.Hour {
		t.Fatalf("wait after the manual cycle = %v, want the interval", got)
	}
	if r.overlap {
		t.Fatal("two cycles of one connection overlapped")
	}
	if _, err := s.Trigger("nope"); !errors.Is(err, ErrUnknownConnection) {
		t.Fatalf("trigger unknown: %v", err)
	}
	st = waitState(t, s, "acme", StateIdle)
	if st.LastCycle.RunID != id {
		t.Fatalf("last cycle %s, want the manual run %s", st.LastCycle.RunID, id)
	}
}

func TestSchedulerConcurrencyLimit(t *testing.T) {
	ft := newFakeTime()
	r := newScriptedRunner()
	conns := []string{"a", "b", "c"}
	s := newTestServer(t, ft, Options{Runner: r, Connections: conns, Interval: time.Hour, MaxConcurrent: 2})

	c1, c2 := r.next(t), r.next(t)
	// The third connection waits for a slot.
	var third string
	for _, n := range conns {
		if n != c1.conn && n != c2.conn {
			third = n
		}
	}
	waitState(t, s, third, StateQueued)
	if _, err := s.Trigger(third); !errors.Is(err, ErrBusy) {
		t.Fatalf("trigger of a queued connection: %v, want ErrBusy", err)
	}
	c1.reply <- result{sum: okSummary()}
	c3 := r.next(t)
	if c3.conn != third {
		t.Fatalf("third cycle for %s, want %s", c3.conn, third)
	}
	if m := r.maxSeen.Load(); m > 2 {
		t.Fatalf("%d cycles ran at once, limit 2", m)
	}
	c2.reply <- result{sum: okSummary()}
	c3.reply <- result{sum: okSummary()}
}

// stagedRunner runs two stages, checking for a stop request between them,
// the way the pipeline does.
type stagedRunner struct {
	inStage1 chan struct{}
	finish1  chan struct{}
	stage2   chan struct{}
}

func (r *stagedRunner) RunCycle(ctx context.Context, conn string) (CycleSummary, error) {
	sum := CycleSummary{}
	r.inStage1 <- struct{}{}
	select {
	case <-r.finish1:
	case <-ctx.Done():
		sum.Stages = append(sum.Stages, StageSummary{Name: StageSync, Err: ctx.Err()})
		return sum, ctx.Err()
	}
	sum.Stages = append(sum.Stages, StageSummary{Name: StageSync, Duration: time.Second})
	select {
	case <-StopRequested(ctx):
		return sum, context.Canceled
	default:
	}
	close(r.stage2)
	sum.Stages = append(sum.Stages, StageSummary{Name: StageInsights})
	return sum, nil
}

func TestShutdownLetsTheRunningStageFinish(t *testing.T) {
	r := &stagedRunner{inStage1: make(chan struct{}), finish1: make(chan struct{}), stage2: make(chan struct{})}
	s := New(Options{Runner: r, Connections: []string{"acme"}, DisableHTTP: true, Grace: time.Hour})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-r.inStage1
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(t.Context()) }()
	waitDraining(t, s)
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) while a cycle was in its stage", err)
	default:
	}
	if _, err := s.Trigger("acme"); !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrBusy) {
		t.Fatalf("trigger during shutdown: %v", err)
	}
	close(r.finish1)
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case <-r.stage2:
		t.Fatal("the cycle went on to its next stage after shutdown began")
	default:
	}
	st := s.Status(t.Context()).Connections[0]
	if st.LastCycle == nil || st.LastCycle.Outcome != OutcomeCanceled || len(st.LastCycle.Stages) != 1 {
		t.Fatalf("last cycle = %+v", st.LastCycle)
	}
	if st.ConsecutiveFailures != 0 {
		t.Errorf("a cycle stopped by shutdown counted as a failure")
	}
}

func TestShutdownCancelsAfterGrace(t *testing.T) {
	r := &stagedRunner{inStage1: make(chan struct{}), finish1: make(chan struct{}), stage2: make(chan struct{})}
	s := New(Options{Runner: r, Connections: []string{"acme"}, DisableHTTP: true, Grace: time.Millisecond})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-r.inStage1
	// The stage never finishes by itself: the grace period's end cancels it.
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	st := s.Status(t.Context()).Connections[0]
	if st.LastCycle == nil || st.LastCycle.Outcome != OutcomeCanceled {
		t.Fatalf("last cycle = %+v", st.LastCycle)
	}
}

func TestShutdownGivesUpWhenItsContextEnds(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	s := New(Options{DisableHTTP: true, Connections: []string{"acme"}, Grace: time.Hour,
		Runner: RunnerFunc(func(ctx context.Context, _ string) (CycleSummary, error) {
			close(started)
			<-release // ignores ctx and the stop request
			return CycleSummary{}, nil
		})})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("shutdown with an ended context: %v", err)
	}
	close(release)
}

func TestRunnerPanicIsAFailedCycle(t *testing.T) {
	ft := newFakeTime()
	s := newTestServer(t, ft, Options{Connections: []string{"acme"}, Interval: time.Hour, Backoff: time.Minute,
		Runner: RunnerFunc(func(context.Context, string) (CycleSummary, error) { panic("boom") })})
	if got := ft.peek(t).d; got != time.Minute {
		t.Fatalf("wait after a panic = %v, want backoff", got)
	}
	st := waitState(t, s, "acme", StateIdle)
	if st.LastCycle == nil || st.LastCycle.Outcome != OutcomeFailed {
		t.Fatalf("last cycle = %+v", st.LastCycle)
	}
}

func TestRunOnce(t *testing.T) {
	var calls = make(chan string, 3)
	s := New(Options{DisableHTTP: true, Connections: []string{"a", "b", "c"}, MaxConcurrent: 2,
		Runner: RunnerFunc(func(_ context.Context, conn string) (CycleSummary, error) {
			calls <- conn
			if conn == "b" {
				return CycleSummary{}, errors.New("b failed")
			}
			return okSummary(), nil
		})})
	sums, err := s.RunOnce(t.Context())
	if err == nil || err.Error() != "b: b failed" {
		t.Fatalf("err = %v, want b's failure", err)
	}
	if len(calls) != 3 {
		t.Fatalf("%d cycles, want 3", len(calls))
	}
	for i, want := range []string{"a", "b", "c"} {
		if sums[i].Connection != want || sums[i].Trigger != "once" || sums[i].RunID == "" {
			t.Errorf("summary %d = %+v", i, sums[i])
		}
	}
	if sums[0].Outcome() != OutcomeOK || sums[1].Outcome() != OutcomeFailed {
		t.Errorf("outcomes %s %s", sums[0].Outcome(), sums[1].Outcome())
	}
}

func TestJitterStaysInRange(t *testing.T) {
	s := New(Options{Runner: newScriptedRunner(), Interval: time.Minute, Jitter: 10 * time.Second})
	for range 1000 {
		if j := s.jitter(); j < 0 || j >= 10*time.Second {
			t.Fatalf("jitter %v outside [0, 10s)", j)
		}
	}
	c := &connState{}
	if d := s.nextDelay(c); d < time.Minute || d >= time.Minute+10*time.Second {
		t.Fatalf("delay %v outside [1m, 1m10s)", d)
	}
}

func waitDraining(t *testing.T, s *Server) {
	t.Helper()
	for !s.Status(t.Context()).Draining {
		select {
		case <-t.Context().Done():
			t.Fatal("never draining")
		case <-time.After(time.Millisecond):
		}
	}
}
