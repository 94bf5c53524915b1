package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	gosync "sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/store"
)

// ErrBusy: another run holds the sync lock of the connection.
var ErrBusy = errors.New("another sync of this connection is running")

// DefaultMaxFieldBytes is the default limit of one text field (bytes).
const DefaultMaxFieldBytes = 512 << 10

// Source is one connection to sync.
type Source struct {
	Conn *connectors.Conn
	// Objects to sync (default connectors.AllObjects).
	Objects []connectors.Object
	// WritebackFields are the CRM field names crmpulse writes back on this
	// connection (echo-loop detection).
	WritebackFields []string
}

// Options configure an Engine. Zero values mean the defaults shown.
type Options struct {
	// Workers bounds the objects read in parallel per connection and the
	// accounts rebuilt in parallel (default 4).
	Workers int
	// EmbedBatch is the most texts per embedder call (default 64).
	EmbedBatch int
	// WriteBatch is how many chunks the accounts of one write batch carry
	// before it is embedded and written (default 1000; a batch also closes
	// at 500 accounts). Each of the Workers fills and writes its own batch.
	WriteBatch int
	// ChunkSize and ChunkOverlap in runes (default 1000 and 150).
	ChunkSize, ChunkOverlap int
	// MaxFieldBytes quarantines records with a longer text field (default
	// DefaultMaxFieldBytes).
	MaxFieldBytes int
	// ReconcileEvery is the cadence of id reconciliation (0: only when
	// forced).
	ReconcileEvery time.Duration
	// Reconcile forces id reconciliation in this run.
	Reconcile bool
	// DryRun reads and compares but writes nothing.
	DryRun bool
	// Progress receives progress events (from several goroutines).
	Progress func(Progress)
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock of reconciliation cadence (default time.Now).
	Now func() time.Time
}

// Phases reported in Progress.
const (
	PhaseRead      = "read"
	PhaseReconcile = "reconcile"
	PhaseDerive    = "derive"
)

// Progress is one progress event. Done counts records read (PhaseRead,
// PhaseReconcile: ids compared) or accounts rebuilt (PhaseDerive, where
// Total is known; the phase starts with an event with Done 0).
type Progress struct {
	Conn   string
	Object string // "" for PhaseDerive
	Phase  string
	Done   int64
	Total  int64 // 0 when unknown
}

// Engine syncs connections into a store. Safe for concurrent use by
// different connections; one connection is synced by one run at a time
// (a Redis lock, see ErrBusy).
type Engine struct {
	st      *store.Store
	emb     embed.Embedder
	sources []Source
	opt     Options
	log     *slog.Logger

	// hook, when set (tests), is called at named points of a run.
	hook func(ctx context.Context, point string)
}

// New returns an engine writing to st (which must have a vector index
// attached unless opt.DryRun) and embedding with emb.
func New(st *store.Store, emb embed.Embedder, sources []Source, opt *Options) (*Engine, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.EmbedBatch <= 0 {
		o.EmbedBatch = 64
	}
	if o.WriteBatch <= 0 {
		o.WriteBatch = 1000
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1000
	}
	if o.ChunkOverlap <= 0 || o.ChunkOverlap >= o.ChunkSize {
		o.ChunkOverlap = min(150, o.ChunkSize/4)
	}
	if o.MaxFieldBytes <= 0 {
		o.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if st == nil || emb == nil {
		return nil, errors.New("sync: store and embedder are required")
	}
	if st.Index() == nil && !o.DryRun {
		return nil, fmt.Errorf("sync: %w", store.ErrNoVectorIndex)
	}
	seen := map[string]bool{}
	for i := range sources {
		s := &sources[i]
		if s.Conn == nil {
			return nil, fmt.Errorf("sync: source %d has no connection", i)
		}
		if seen[s.Conn.Name()] {
			return nil, fmt.Errorf("sync: connection %q listed twice", s.Conn.Name())
		}
		seen[s.Conn.Name()] = true
		if len(s.Objects) == 0 {
			s.Objects = connectors.AllObjects
		}
		for _, ob := range s.Objects {
			if !ob.Valid() {
				return nil, fmt.Errorf("sync: connection %q: unknown object %q", s.Conn.Name(), ob)
			}
		}
	}
	return &Engine{st: st, emb: emb, sources: sources, opt: o, log: o.Logger}, nil
}

func (e *Engine) at(ctx context.Context, point string) {
	if e.hook != nil {
		e.hook(ctx, point)
	}
}

func (e *Engine) progress(p Progress) {
	if e.opt.Progress != nil {
		e.opt.Progress(p)
	}
}

// Run syncs every source once: connections in parallel, objects and account
// rebuilds bounded by Options.Workers. It returns the summary of what was
// done even when some objects failed; the error joins every failure. After
// a cancellation the next Run resumes where this one stopped.
func (e *Engine) Run(ctx context.Context) (*Summary, error) {
	sum := &Summary{Started: time.Now(), DryRun: e.opt.DryRun}
	var mu gosync.Mutex
	var errs []error
	var g errgroup.Group
	for _, src := range e.sources {
		g.Go(func() error {
			cs, objs, err := e.runConn(ctx, src)
			mu.Lock()
			defer mu.Unlock()
			sum.Conns = append(sum.Conns, cs)
			sum.Objects = append(sum.Objects, objs...)
			if err != nil {
				errs = append(errs, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	sum.sort(e.sources)
	sum.Elapsed = time.Since(sum.Started)
	return sum, errors.Join(errs...)
}

func (e *Engine) runConn(ctx context.Context, src Source) (cs ConnSummary, objs []ObjectSummary, _ error) {
	name := src.Conn.Name()
	cs = ConnSummary{Conn: name}
	objs = make([]ObjectSummary, len(src.Objects))
	for i, o := range src.Objects {
		objs[i] = ObjectSummary{Conn: name, Object: string(o)}
	}
	callsBefore := totalCalls(src.Conn)
	defer func() { cs.APICalls = totalCalls(src.Conn) - callsBefore }()

	if !e.opt.DryRun {
		unlock, err := e.lock(ctx, name)
		if err != nil {
			return cs, objs, fmt.Errorf("sync %s: %w", name, err)
		}
		defer unlock()
	}
	c := &connRun{e: e, src: src, dirty: map[string]bool{}, forgotten: map[string]bool{}}
	forgotten, err := e.st.Client().SMembers(ctx, forgottenKey(e.st, name)).Result()
	if err != nil {
		return cs, objs, fmt.Errorf("sync %s: read suppression list: %w", name, err)
	}
	for _, h := range forgotten {
		c.forgotten[h] = true
	}

	// 1. Read every object.
	var errs []error
	var mu gosync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opt.Workers)
	for i, obj := range src.Objects {
		g.Go(func() error {
			err := c.readObject(gctx, obj, &objs[i])
			if err != nil {
				objs[i].Error = err.Error()
				mu.Lock()
				errs = append(errs, fmt.Errorf("sync %s %s: %w", name, obj, err))
				mu.Unlock()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil // other objects go on
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return cs, objs, errors.Join(append(errs, err)...)
	}

	// 2. Reconcile ids when due (only after every object read cleanly).
	if len(errs) == 0 {
		due, err := c.reconcileDue(ctx)
		if err != nil {
			errs = append(errs, err)
		} else if due {
			cs.Reconciled = true
			if err := c.reconcile(ctx, objs); err != nil {
				errs = append(errs, fmt.Errorf("sync %s: reconcile: %w", name, err))
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return cs, objs, errors.Join(append(errs, err)...)
	}

	// 3. Rebuild derived data of every dirty account.
	if err := c.derive(ctx, &cs); err != nil {
		errs = append(errs, fmt.Errorf("sync %s: derive: %w", name, err))
	}
	return cs, objs, errors.Join(errs...)
}

func totalCalls(c *connectors.Conn) int64 {
	var n int64
	for _, v := range c.Usage().Calls {
		n += v
	}
	return n
}

// lock takes the run lock of a connection, refreshing it while held.
func (e *Engine) lock(ctx context.Context, conn string) (func(), error) {
	const ttl = 30 * time.Second
	key := lockKey(e.st, conn)
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	rdb := e.st.Client()
	ok, err := rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("take lock: %w", err)
	}
	if !ok {
		return nil, ErrBusy
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = refreshLock.Run(context.Background(), rdb, []string{key}, token, ttl.Milliseconds()).Err()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		_ = releaseLock.Run(context.Background(), rdb, []string{key}, token).Err()
	}, nil
}

var refreshLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

var releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// connRun is the state of one connection's run.
type connRun struct {
	e   *Engine
	src Source

	mu             gosync.Mutex
	dirty          map[string]bool // dry run: accounts that would be rebuilt
	forceReconcile bool            // a deletion list was unavailable
	forgotten      map[string]bool // id hashes erased by Forget
}

func (c *connRun) name() string { return c.src.Conn.Name() }

// Sorting helpers.
func (s *Summary) sort(sources []Source) {
	order := map[string]int{}
	for i, src := range sources {
		order[src.Conn.Name()] = i
	}
	objOrder := map[string]int{}
	for i, o := range connectors.AllObjects {
		objOrder[string(o)] = i
	}
	slices.SortFunc(s.Conns, func(a, b ConnSummary) int { return order[a.Conn] - order[b.Conn] })
	slices.SortFunc(s.Objects, func(a, b ObjectSummary) int {
		if d := order[a.Conn] - order[b.Conn]; d != 0 {
			return d
		}
		return objOrder[a.Object] - objOrder[b.Object]
	})
}
