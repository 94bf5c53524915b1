package server

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Defaults for zero Options fields.
const (
	DefaultInterval        = 15 * time.Minute
	DefaultBackoff         = 30 * time.Second
	DefaultMaxBackoff      = time.Hour
	DefaultMaxConcurrent   = 2
	DefaultGrace           = 2 * time.Minute
	DefaultHTTPStopTimeout = 5 * time.Second
	DefaultAddr            = "127.0.0.1:8080"
	recentErrorsKept       = 50
)

// Sentinel errors of Trigger.
var (
	// ErrBusy: a cycle of the connection is already running or queued.
	ErrBusy = errors.New("a cycle of this connection is already running or queued")
	// ErrUnknownConnection: the connection is not scheduled by this daemon.
	ErrUnknownConnection = errors.New("unknown connection")
	// ErrNotRunning: the scheduler is not started or is shutting down.
	ErrNotRunning = errors.New("scheduler is not running")
)

// Options configures a Server. Zero values take the defaults above.
type Options struct {
	// Runner runs the cycles. Required.
	Runner Runner
	// Connections to schedule, by name. Each gets its own loop.
	Connections []string
	// Interval between the end of a successful cycle and the start of the
	// next for the same connection (config sync.interval).
	Interval time.Duration
	// Jitter adds a random delay in [0, Jitter) to every wait, including the
	// first cycle after start, so connections do not all hit the CRMs and
	// Redis at the same instant. Zero disables it.
	Jitter time.Duration
	// Backoff is the wait after a failed cycle; it doubles with each further
	// consecutive failure up to MaxBackoff. A success resets it.
	Backoff, MaxBackoff time.Duration
	// MaxConcurrent caps the cycles of different connections running at the
	// same time; a connection never runs two at once.
	MaxConcurrent int
	// Grace is how long Shutdown lets running cycles finish their current
	// stage before it cancels them. Negative: cancel at once.
	Grace time.Duration
	// HTTPStopTimeout bounds the HTTP server's graceful close.
	HTTPStopTimeout time.Duration

	// Addr is the HTTP listen address; Start listens there unless
	// DisableHTTP is set. ":0" picks a free port (see Server.Addr).
	Addr        string
	DisableHTTP bool
	// AdminToken guards /admin and /api/. Empty disables them (every
	// request gets 403): the admin API is never open.
	AdminToken string
	// DisableMetrics turns /metrics off (config serve.metrics false).
	DisableMetrics bool

	// Ping checks that Redis is reachable, for /readyz. Nil: not checked.
	Ping func(ctx context.Context) error
	// Depths reads the work queue depths for /metrics and /api/status.
	// Nil: no queue figures.
	Depths DepthFunc
	// UnreadyAfter makes /readyz fail once a connection has failed this
	// many consecutive cycles. Zero: cycle failures never make it fail.
	UnreadyAfter int

	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the metrics. Nil: a new registry with the Go and
	// process collectors.
	Registry *prometheus.Registry
	// Version is shown on the admin page and in /api/status.
	Version string
}

// Server is the scheduling daemon with its HTTP endpoints.
type Server struct {
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *Metrics
	handler http.Handler
	conns   map[string]*connState
	order   []string
	slots   chan struct{}
	started time.Time

	// time, replaceable in tests
	now   func() time.Time
	after func(d time.Duration) (<-chan time.Time, func() bool)

	mu        sync.Mutex
	running   bool // Start called and Shutdown not yet
	draining  bool
	recent    []ErrorEntry // ring, oldest first
	schedCtx  context.Context
	schedStop context.CancelFunc
	runStop   context.CancelFunc
	runCtx    context.Context
	stopReq   chan struct{}
	wg        sync.WaitGroup
	http      *http.Server
	ln        net.Listener
	httpDone  chan struct{}
}

type connState struct {
	name     string
	wake     chan struct{}
	state    string // idle, queued, running
	runID    string
	trigger  string
	since    time.Time
	pending  string // run id of an accepted manual trigger
	next     time.Time
	failures int
	last     *CycleSummary
	lastOK   time.Time
}

// Connection states in Status.
const (
	StateIdle    = "idle"
	StateQueued  = "queued"
	StateRunning = "running"
)

// ErrorEntry is one recent error in Status.
type ErrorEntry struct {
	Time       time.Time `json:"time"`
	Connection string    `json:"connection"`
	RunID      string    `json:"run_id"`
	Stage      string    `json:"stage"`
	Class      string    `json:"class"`
	Message    string    `json:"message"`
}

// New returns a Server; Start runs it. It panics when opts.Runner is nil.
func New(opts Options) *Server {
	if opts.Runner == nil {
		panic("server.New: nil Runner")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.Backoff)
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.Grace == 0 {
		opts.Grace = DefaultGrace
	}
	if opts.HTTPStopTimeout <= 0 {
		opts.HTTPStopTimeout = DefaultHTTPStopTimeout
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	s := &Server{
		opts:  opts,
		log:   opts.Logger,
		reg:   opts.Registry,
		conns: map[string]*connState{},
		slots: make(chan struct{}, opts.MaxConcurrent),
		now:   time.Now,
		after: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.metrics = NewMetrics(s.reg)
	if opts.Depths != nil {
		s.reg.MustRegister(newQueueCollector(opts.Depths, s.log))
	}
	for _, name := range opts.Connections {
		if _, dup := s.conns[name]; dup {
			continue
		}
		s.conns[name] = &connState{name: name, wake: make(chan struct{}, 1), state: StateIdle}
		s.order = append(s.order, name)
		s.metrics.touch(name)
	}
	s.handler = s.routes()
	return s
}

// Metrics returns the daemon's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Handler returns the HTTP handler (health, metrics, admin).
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is the address the HTTP server listens on once started ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Start listens on Options.Addr (unless DisableHTTP) and starts one
// scheduling loop per connection; it returns once they are running.
// Scheduling stops when ctx is cancelled or Shutdown is called, but running
// cycles are not cancelled by ctx: Shutdown lets them finish their stage
// within the grace period. Call Shutdown in every case to wait for them.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.draining {
		return errors.New("server: already started")
	}
	if !s.opts.DisableHTTP {
		ln, err := net.Listen("tcp", s.opts.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
		}
		s.ln = ln
		s.http = &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		s.httpDone = make(chan struct{})
		go func() {
			defer close(s.httpDone)
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http server stopped", "err", err)
			}
		}()
		s.log.Info("listening", "addr", ln.Addr().String())
	}
	if s.opts.AdminToken == "" {
		s.log.Warn("admin API disabled: no admin token configured (set the env var named by serve.admin_token_env); /admin and /api/ answer 403")
	}
	s.started = s.now()
	schedCtx, schedStop := context.WithCancel(ctx)
	s.stopReq = make(chan struct{})
	runCtx, runStop := context.WithCancel(context.WithValue(context.WithoutCancel(ctx), stopKey{}, s.stopReq))
	s.schedCtx, s.schedStop, s.runStop, s.runCtx = schedCtx, schedStop, runStop, runCtx
	s.running = true
	for _, name := range s.order {
		s.wg.Add(1)
		go s.loop(schedCtx, s.conns[name])
	}
	s.log.Info("scheduler started", "connections", len(s.order), "interval", s.opts.Interval,
		"max_concurrent", s.opts.MaxConcurrent)
	return nil
}

// Shutdown stops scheduling, asks running cycles to stop at their next stage
// boundary (StopRequested), cancels them once the grace period is over, waits
// for them and then closes the HTTP server within HTTPStopTimeout. If ctx ends
// first it cancels the cycles and returns ctx's error without waiting further.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return nil
	}
	s.running = false
	s.draining = true
	s.schedStop()
	close(s.stopReq)
	busy := 0
	for _, c := range s.conns {
		if c.state == StateRunning {
			busy++
		}
	}
	s.mu.Unlock()
	if busy > 0 {
		s.log.Info("shutting down: waiting for running cycles", "running", busy, "grace", s.opts.Grace)
	}

	var grace *time.Timer
	if s.opts.Grace < 0 {
		s.runStop()
	} else {
		grace = time.AfterFunc(s.opts.Grace, func() {
			s.log.Warn("grace period over: cancelling running cycles", "grace", s.opts.Grace)
			s.runStop()
		})
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.runStop()
		err = fmt.Errorf("shutdown: cycles still running: %w", ctx.Err())
	}
	if grace != nil {
		grace.Stop()
	}
	s.runStop()

	if s.http != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.HTTPStopTimeout)
		if herr := s.http.Shutdown(hctx); herr != nil {
			_ = s.http.Close()
			err = errors.Join(err, fmt.Errorf("close http server: %w", herr))
		}
		cancel()
		<-s.httpDone
	}
	s.log.Info("stopped")
	return err
}

// Trigger asks for a cycle of connection now and returns its run id. It
// fails with ErrBusy when one is running or already queued,
// ErrUnknownConnection, or ErrNotRunning.
func (s *Server) Trigger(connection string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[connection]
	if !ok {
		return "", ErrUnknownConnection
	}
	if !s.running || s.schedCtx.Err() != nil {
		return "", ErrNotRunning
	}
	if c.state != StateIdle || c.pending != "" {
		return "", ErrBusy
	}
	c.pending = newRunID()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return c.pending, nil
}

// RunOnce runs one cycle of every connection (MaxConcurrent at a time,
// without the HTTP server or the schedule) and returns their summaries in
// connection order, with the errors of the failed ones joined.
func (s *Server) RunOnce(ctx context.Context) ([]CycleSummary, error) {
	out := make([]CycleSummary, len(s.order))
	errs := make([]error, len(s.order))
	var wg sync.WaitGroup
	for i, name := range s.order {
		wg.Go(func() {
			c := s.conns[name]
			s.mu.Lock()
			c.pending = newRunID()
			s.mu.Unlock()
			sum, ok := s.runOne(ctx, ctx, c, "once")
			if !ok {
				errs[i] = fmt.Errorf("%s: %w", name, ctx.Err())
				return
			}
			out[i] = sum
			if sum.Err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, sum.Err)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// loop schedules the cycles of one connection until ctx ends.
func (s *Server) loop(ctx context.Context, c *connState) {
	defer s.wg.Done()
	delay := s.jitter()
	for {
		s.setNext(c, delay)
		trigger := "schedule"
		if delay > 0 {
			tick, stop := s.after(delay)
			select {
			case <-ctx.Done():
				stop()
				return
			case <-tick:
			case <-c.wake:
				stop()
			}
		} else {
			select {
			case <-ctx.Done():
				return
			default:
			}
		}
		if _, ok := s.runOne(ctx, s.runCtx, c, trigger); !ok {
			return
		}
		delay = s.nextDelay(c)
	}
}

// runOne waits for a slot (giving up when waitCtx ends), runs one cycle with
// runCtx and records it. ok is false when no cycle ran.
func (s *Server) runOne(waitCtx, runCtx context.Context, c *connState, trigger string) (CycleSummary, bool) {
	s.mu.Lock()
	id := c.pending
	c.pending = ""
	if id != "" && trigger == "schedule" {
		trigger = "manual"
	}
	if id == "" {
		id = newRunID()
	}
	select { // a wake-up for this run must not start another
	case <-c.wake:
	default:
	}
	c.state, c.runID, c.trigger, c.since = StateQueued, id, trigger, s.now()
	c.next = time.Time{}
	s.mu.Unlock()

	select {
	case s.slots <- struct{}{}:
	case <-waitCtx.Done():
		s.mu.Lock()
		c.state, c.runID, c.trigger = StateIdle, "", ""
		s.mu.Unlock()
		return CycleSummary{}, false
	}
	start := s.now()
	s.mu.Lock()
	c.state, c.since = StateRunning, start
	s.mu.Unlock()
	s.metrics.setRunning(c.name, true)
	s.log.Info("cycle started", "connection", c.name, "run_id", id, "trigger", trigger)

	sum, err := s.call(runCtx, c.name)
	<-s.slots
	s.metrics.setRunning(c.name, false)

	sum.Connection, sum.RunID, sum.Trigger = c.name, id, trigger
	if sum.Started.IsZero() {
		sum.Started = start
	}
	if sum.Finished.IsZero() {
		sum.Finished = s.now()
	}
	if sum.Err == nil {
		sum.Err = err
	}
	s.metrics.ObserveCycle(sum)
	s.record(c, sum)
	return sum, true
}

// call runs the Runner, turning a panic into an error so one bad cycle does
// not take the daemon down.
func (s *Server) call(ctx context.Context, conn string) (sum CycleSummary, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("cycle panicked", "connection", conn, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("cycle panicked: %v", p)
		}
	}()
	return s.opts.Runner.RunCycle(ctx, conn)
}

// record keeps the summary for Status and logs it.
func (s *Server) record(c *connState, sum CycleSummary) {
	outcome := sum.Outcome()
	attrs := []any{"connection", c.name, "run_id", sum.RunID, "outcome", outcome,
		"duration", sum.Duration().Round(time.Millisecond)}
	for _, st := range sum.Stages {
		attrs = append(attrs, st.Name, st.Duration.Round(time.Millisecond))
	}
	s.mu.Lock()
	c.state, c.runID, c.trigger = StateIdle, "", ""
	c.last = &sum
	if outcome == OutcomeOK {
		c.failures = 0
		c.lastOK = sum.Finished
	} else if outcome == OutcomeFailed {
		c.failures++
	}
	if err := sum.firstErr(); err != nil {
		stage := sum.failedStage()
		s.addErrorLocked(ErrorEntry{Time: sum.Finished, Connection: c.name, RunID: sum.RunID,
			Stage: stage, Class: ErrorClass(err), Message: clip(err.Error(), 500)})
	}
	failures := c.failures
	s.mu.Unlock()
	if err := sum.firstErr(); err != nil {
		s.log.Warn("cycle failed", append(attrs, "consecutive_failures", failures, "class", ErrorClass(err), "err", err)...)
	} else {
		s.log.Info("cycle finished", attrs...)
	}
}

func (s *Server) addErrorLocked(e ErrorEntry) {
	if len(s.recent) >= recentErrorsKept {
		s.recent = slices.Delete(s.recent, 0, len(s.recent)-recentErrorsKept+1)
	}
	s.recent = append(s.recent, e)
}

// nextDelay is the wait before the connection's next cycle: Interval after a
// success, capped exponential backoff while cycles keep failing.
func (s *Server) nextDelay(c *connState) time.Duration {
	s.mu.Lock()
	n := c.failures
	s.mu.Unlock()
	if n == 0 {
		return s.opts.Interval + s.jitter()
	}
	d := s.opts.Backoff
	for i := 1; i < n && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opts.MaxBackoff) + s.jitter()
}

func (s *Server) jitter() time.Duration {
	if s.opts.Jitter <= 0 {
		return 0
	}
	return rand.N(s.opts.Jitter)
}

func (s *Server) setNext(c *connState, delay time.Duration) {
	s.mu.Lock()
	c.next = s.now().Add(delay)
	s.mu.Unlock()
}

func newRunID() string {
	var b [6]byte
	_, _ = crand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
