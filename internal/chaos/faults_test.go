package chaos_test

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/chaos"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
	"github.com/crmpulse/crmpulse/writeback"
)

// lightTrials is the trial count of the in-process kinds: one in the quick
// suite, the full count otherwise.
func lightTrials() int {
	if chaos.Full() {
		return chaos.Trials()
	}
	return 1
}

// atProgress returns sync options whose Progress callback runs fn once,
// after the n-th progress event.
func atProgress(n int64, fn func()) *crmsync.Options {
	var seen atomic.Int64
	var once gosync.Once
	return &crmsync.Options{Progress: func(crmsync.Progress) {
		if seen.Add(1) == n {
			once.Do(fn)
		}
	}}
}

// atReadProgress calls fn once, at the n-th progress event of the read phase
// (while CRM pages are still being fetched), so that API calls follow it.
func atReadProgress(n int64, fn func()) *crmsync.Options {
	var seen atomic.Int64
	var once gosync.Once
	return &crmsync.Options{Progress: func(p crmsync.Progress) {
		if p.Phase == crmsync.PhaseRead && seen.Add(1) == n {
			once.Do(fn)
		}
	}}
}

// storedRecord is a record of the store: connection and id.
type storedRecord struct{ conn, obj, id string }

// storedRecords lists the records of the store.
func storedRecords(t *testing.T, rig *chaos.Rig) map[storedRecord]bool {
	t.Helper()
	st, err := store.New(rig.Rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[storedRecord]bool{}
	for _, conn := range chaos.Conns {
		for _, obj := range connectors.AllObjects {
			ids, err := st.RecordIDs(context.Background(), conn, chaos.StoreType(obj))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				out[storedRecord{conn, chaos.StoreType(obj), id}] = true
			}
		}
	}
	return out
}

// liveInCRM reports whether the CRM of conn holds id as a live record.
func liveInCRM(rig *chaos.Rig, conn, id string) bool {
	ten := rig.Tenant(conn)
	for _, table := range ten.Tables() {
		if r, ok := ten.Get(table, id); ok && !r.Deleted {
			return true
		}
	}
	return false
}

// converge runs in-process syncs until one succeeds (at most three; a run
// may meet a Redis still loading its data) and checks the store exactly.
func converge(t *testing.T, rig *chaos.Rig, kind string, trial int) {
	t.Helper()
	ctx := context.Background()
	rig.Advance()
	var err error
	for range 3 {
		if _, err = rig.Sync(ctx, &crmsync.Options{Reconcile: true}); err == nil {
			break
		}
		if errors.Is(err, crmsync.ErrBusy) {
			rig.BreakLocks(ctx) // the previous run has returned
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s trial %d: next run: %v", kind, trial, err)
	}
	rep, err := rig.Check(ctx)
	if err != nil {
		t.Fatalf("%s trial %d: check: %v", kind, trial, err)
	}
	chaos.All.Add(kind, rep.Lost, rep.Duplicated+rep.Stale)
	t.Logf("%s trial %d: %d lost, %d duplicated, %d stale; %d records, %d chunks, %d vectors",
		kind, trial, rep.Lost, rep.Duplicated, rep.Stale, rep.Records, rep.Chunks, rep.Vectors)
	if !rep.OK() {
		t.Fatalf("%s trial %d: store differs: %s", kind, trial, rep)
	}
}

// TestChaosRedisRestart restarts the Redis server while a sync runs: the
// run fails cleanly (an error, no panic, no hang) or finishes, and the next
// run converges exactly.
func TestChaosRedisRestart(t *testing.T) {
	ctx := context.Background()
	rng := newRand(t)
	rig := chaos.NewRig(t, chaos.RigOptions{})
	srv := redistest.Shared(t)
	for trial := range lightTrials() {
		if trial%2 == 0 {
			rig.NewDatabase()
		} else {
			rig.SB.Step(1 + rng.IntN(3))
			rig.Advance()
		}
		var restartErr error
		opt := atProgress(1+rng.Int64N(30), func() { restartErr = srv.Restart() })
		done := make(chan error, 1)
		go func() {
			_, err := rig.Sync(ctx, opt)
			done <- err
		}()
		select {
		case err := <-done:
			t.Logf("trial %d: run during the restart: %v", trial, firstLine(err))
		case <-time.After(3 * time.Minute):
			t.Fatalf("trial %d: sync hangs after a Redis restart", trial)
		}
		if restartErr != nil {
			t.Fatalf("restart: %v", restartErr)
		}
		converge(t, rig, "redis restart mid-sync", trial)
	}
}

func firstLine(err error) string {
	if err == nil {
		return "completed"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// countingWait counts the HTTP layer's retries and shortens the waits
// (Retry-After of rate-limit windows is honoured up to max).
type countingWait struct {
	n   atomic.Int64
	max time.Duration
}

func (c *countingWait) wait(_ int, d time.Duration) time.Duration {
	c.n.Add(1)
	return min(d, c.max)
}

// TestChaos429Storm syncs and writes back while the sandbox answers bursts
// of 429s and enforces a request-rate window: both complete, the store is
// exact, every queued value reaches the CRM, and the retries are counted.
func TestChaos429Storm(t *testing.T) {
	ctx := context.Background()
	rng := newRand(t)
	cw := &countingWait{max: 1100 * time.Millisecond}
	rig := chaos.NewRig(t, chaos.RigOptions{HTTP: httpx.Options{Wait: cw.wait, RetryMax: 8}})
	for trial := range lightTrials() {
		if trial > 0 {
			rig.SB.Step(1 + rng.IntN(3))
		}
		rig.Advance()
		window, limit := 500*time.Millisecond, 15+rng.IntN(15)
		rig.SB.Faults.Set(func(f *sandbox.Faults) {
			f.RateLimit, f.RateWindow, f.Fail429 = limit, window, 3+rng.IntN(5)
		})
		// A new burst of 429s every few progress events.
		var events atomic.Int64
		bursts := atomic.Int64{}
		opt := &crmsync.Options{Progress: func(crmsync.Progress) {
			if events.Add(1)%7 == 0 {
				bursts.Add(1)
				rig.SB.Faults.Set(func(f *sandbox.Faults) { f.Fail429 = 2 + int(events.Load()%4) })
			}
		}}
		before := cw.n.Load()
		if _, err := rig.Sync(ctx, opt); err != nil {
			t.Fatalf("trial %d: sync under a 429 storm: %v", trial, err)
		}
		retries := cw.n.Load() - before
		rig.SB.Faults.Set(func(f *sandbox.Faults) { f.RateLimit, f.Fail429 = 0, 0 })
		rep, err := rig.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		chaos.All.Add("429 storm sync", rep.Lost, rep.Duplicated+rep.Stale)
		t.Logf("trial %d: rate window %d/%s, %d bursts, %d HTTP retries; %s", trial, limit, window, bursts.Load(), retries, rep)
		if !rep.OK() {
			t.Fatalf("trial %d: store differs after a 429 storm: %s", trial, rep)
		}
		if retries == 0 {
			t.Errorf("trial %d: no retries counted under a 429 storm", trial)
		}
	}
}

// TestChaosTokenRevocation revokes every token of both CRMs while a sync
// runs: the run stops with connectors.ErrReauthorize and a message saying
// so, nothing already stored is lost, and after a new authorisation (a
// sandbox connection logs in again when opened) the next run converges.
func TestChaosTokenRevocation(t *testing.T) {
	ctx := context.Background()
	rng := newRand(t)
	rig := chaos.NewRig(t, chaos.RigOptions{AuthCode: true})
	for trial := range lightTrials() {
		if trial%2 == 0 {
			rig.NewDatabase()
		} else {
			rig.SB.Step(1 + rng.IntN(3))
			rig.Advance()
		}
		var stored map[storedRecord]bool
		// Early in the read phase, so that the run still has pages to fetch
		// (a revocation after the last API call cannot be noticed).
		opt := atReadProgress(1+rng.Int64N(3), func() {
			stored = storedRecords(t, rig)
			rig.SB.Tokens.RevokeAll("salesforce")
			rig.SB.Tokens.RevokeAll("hubspot")
		})
		_, err := rig.Sync(ctx, opt)
		if err == nil {
			t.Fatalf("trial %d: sync succeeded with every token revoked", trial)
		}
		if !errors.Is(err, connectors.ErrReauthorize) {
			t.Fatalf("trial %d: error does not wrap ErrReauthorize: %v", trial, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "re-authorized") && !strings.Contains(msg, "auth login") {
			t.Errorf("trial %d: error does not tell to re-authorize: %v", trial, err)
		}
		// Records may leave the store after the revocation only when the
		// CRM deleted them (pages and deletion lists fetched before it are
		// still applied).
		after := storedRecords(t, rig)
		for r := range stored {
			if !after[r] && liveInCRM(rig, r.conn, r.id) {
				t.Fatalf("trial %d: %s %s %s, live in the CRM, was stored before the revocation and is gone after the failed run", trial, r.conn, r.obj, r.id)
			}
		}
		t.Logf("trial %d: %d records stored at the revocation, %d after; error: %s", trial, len(stored), len(after), firstLine(err))
		converge(t, rig, "token revocation mid-sync", trial)
	}
}

// TestChaos429StormWriteback drains queued field changes into both CRMs
// while the sandbox answers bursts of 429s and enforces a request-rate
// window: every value arrives in its final version, nothing is left
// pending or dead, and the writer's retries are counted.
func TestChaos429StormWriteback(t *testing.T) {
	ctx := context.Background()
	rng := newRand(t)
	cw := &countingWait{max: 1100 * time.Millisecond}
	w := newWBRig(t, 120, chaos.RigOptions{HTTP: httpx.Options{Wait: cw.wait, RetryMax: 2}})
	a, err := w.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	writers := map[string]*writeback.Writer{}
	for _, name := range chaos.Conns {
		conn, err := a.Conn(name)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := writeback.Mappings(a.Config, name)
		target, err := writeback.LoadTarget(ctx, conn, ms)
		if err != nil {
			t.Fatal(err)
		}
		writers[name] = writeback.NewWriter(w.st, conn, target, &writeback.Options{Logger: a.Logger,
			Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	}
	for trial := range lightTrials() {
		w.enqueue(t, rng)
		w.SB.Faults.Set(func(f *sandbox.Faults) {
			f.RateLimit, f.RateWindow, f.Fail429 = 4+rng.IntN(4), 300*time.Millisecond, 4+rng.IntN(6)
		})
		before := cw.n.Load()
		var writerRetries, runs int
		for _, name := range chaos.Conns {
			wr := writers[name]
			// Transient failures past MaxAttempts stay queued for the next
			// run, as the scheduler would do.
			for runs = 1; ; runs++ {
				sum, err := wr.RunOnce(ctx)
				writerRetries += sum.Retries
				n, perr := writeback.Pending(ctx, w.st, name)
				if perr != nil {
					t.Fatal(perr)
				}
				if err == nil && n == 0 {
					break
				}
				if runs == 10 {
					t.Fatalf("trial %d: %s: %d entries still pending after %d runs (%v)", trial, name, n, runs, err)
				}
				w.SB.Faults.Set(func(f *sandbox.Faults) { f.Fail429 = 2 })
			}
		}
		w.SB.Faults.Set(func(f *sandbox.Faults) { f.RateLimit, f.Fail429 = 0, 0 })
		lost, stale, problems := w.check(t)
		chaos.All.Add("429 storm writeback", lost, stale)
		t.Logf("trial %d: %d HTTP retries, %d writer re-sends; %d lost, %d stale writes", trial, cw.n.Load()-before, writerRetries, lost, stale)
		if len(problems) > 0 {
			t.Fatalf("trial %d:\n  %s", trial, strings.Join(problems, "\n  "))
		}
		if cw.n.Load() == before && writerRetries == 0 {
			t.Errorf("trial %d: no retries counted under a 429 storm", trial)
		}
	}
}
