package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	gosync "sync"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

const syncUsage = `sync [--connection NAME]... [--dry-run] [--reconcile] [--json]

Reads every configured connection's changes since the last run into Redis:
records, chunks and vectors, per-account aggregates and the analysis queue.
Without --config, the built-in sandbox connections are synced (a local Redis
is all that is needed: scripts/redis.sh start).`

func init() {
	register(&command{name: "sync", summary: "sync CRM records into Redis", run: runSync})
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runSync(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sync", syncUsage)
	var conns multiFlag
	fs.Var(&conns, "connection", "sync only this connection (repeatable; default all)")
	dry := fs.Bool("dry-run", false, "read and compare, report what would change, write nothing")
	reconcile := fs.Bool("reconcile", false, "also compare stored ids with the CRM's to find purged records")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	workers := fs.Int("workers", 0, "objects and accounts processed in parallel (default: sync.workers)")
	sbAccounts := fs.Int("sandbox-accounts", 0, "accounts of the in-process sandbox (sandbox connections without base_url; default 2000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	opts := &app.Options{Logger: e.log, Connections: conns}
	if *sbAccounts > 0 {
		opts.Sandbox = &sandbox.Options{Accounts: *sbAccounts}
	}
	a, err := app.Open(ctx, cfg, opts)
	if err != nil {
		if errors.Is(err, app.ErrUnknownConnection) {
			return usagef("%v", err)
		}
		return err
	}
	defer a.Close()
	if len(a.Conns) == 0 {
		return configError{errors.New("no connections configured")}
	}
	prog := newSyncProgress(e.stderr, isTerminal(e.stderr), e)
	eng, err := crmsync.FromApp(a, &crmsync.Options{DryRun: *dry, Reconcile: *reconcile, Workers: *workers, Progress: prog.update})
	if err != nil {
		return err
	}
	sum, runErr := eng.Run(ctx)
	prog.finish()
	if sum != nil {
		if *asJSON {
			if err := sum.WriteJSON(e.stdout); err != nil {
				return err
			}
		} else if err := sum.WriteTable(e.stdout); err != nil {
			return err
		}
	}
	return runErr
}

// syncProgress renders sync progress: a redrawn status line with rates and ETA
// on a terminal, a log line every few seconds otherwise.
type syncProgress struct {
	w     io.Writer
	tty   bool
	e     *env
	mu    gosync.Mutex
	start time.Time
	state map[string]crmsync.Progress
	last  time.Time
}

func newSyncProgress(w io.Writer, tty bool, e *env) *syncProgress {
	return &syncProgress{w: w, tty: tty, e: e, start: time.Now(), state: map[string]crmsync.Progress{}}
}

func (p *syncProgress) update(ev crmsync.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state[ev.Conn+"/"+ev.Phase+"/"+ev.Object] = ev
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	var read, derived, total int64
	conns := map[string]bool{}
	for _, s := range p.state {
		conns[s.Conn] = true
		switch s.Phase {
		case crmsync.PhaseRead:
			read += s.Done
		case crmsync.PhaseDerive:
			derived += s.Done
			total += s.Total
		}
	}
	line := fmt.Sprintf("read %d records (%.0f/s)", read, float64(read)/max(elapsed, 0.001))
	if total > 0 {
		frac := float64(derived) / float64(total)
		eta := "?"
		if derived > 0 {
			eta = time.Duration(float64(now.Sub(p.start)) * (1 - frac) / frac).Round(time.Second).String()
		}
		line += fmt.Sprintf(" · accounts %s %d/%d (%.0f%%, ETA %s)", syncBar(frac, 20), derived, total, 100*frac, eta)
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	p.e.log.Info("sync progress", "read", read, "accounts_done", derived, "accounts_total", total,
		"elapsed", now.Sub(p.start).Round(time.Second))
}

func (p *syncProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func syncBar(frac float64, width int) string {
	n := int(frac*float64(width) + 0.5)
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
