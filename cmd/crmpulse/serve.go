package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/pipeline"
	"github.com/crmpulse/crmpulse/internal/server"
	crmsync "github.com/crmpulse/crmpulse/sync"
	"github.com/crmpulse/crmpulse/writeback"
)

func init() {
	register(&command{name: "serve", summary: "run the scheduling daemon", run: runServe})
}

// analysisGroup is the consumer group of the analysis queue (insights/worker's
// default).
const analysisGroup = "insights"

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", `serve [--addr HOST:PORT] [--once] [--connections A,B] [--grace D] [--jitter D] [--max-concurrent N]

Runs the daemon: a cycle per connection every sync.interval (capped backoff
after failures), with /healthz, /readyz, /metrics and, when the env var named
by serve.admin_token_env holds a token, the admin page /admin and the admin
API (/api/status, POST /api/run?connection=NAME) behind "Authorization:
Bearer <token>". SIGINT or SIGTERM stops scheduling and lets running cycles
finish their current stage (cancelled after --grace); a second signal cancels
them at once. --once runs one cycle of every connection and exits (no HTTP).`)
	addr := fs.String("addr", "", "listen address (default serve.addr)")
	once := fs.Bool("once", false, "run one cycle of every connection, print the summary and exit")
	only := fs.String("connections", "", "comma-separated connections to schedule (default all configured)")
	grace := fs.Duration("grace", server.DefaultGrace, "on shutdown, how long running cycles may finish their stage before they are cancelled")
	jitter := fs.Duration("jitter", -1, "random extra wait before each cycle (default a tenth of sync.interval, at most 1m)")
	maxConc := fs.Int("max-concurrent", server.DefaultMaxConcurrent, "cycles of different connections running at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *maxConc < 1 {
		return usagef("--max-concurrent must be at least 1, got %d", *maxConc)
	}
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	var subset []string
	if *only != "" {
		subset = connectors.SplitList(*only)
	}
	listen := cfg.Serve.Addr
	if *addr != "" {
		listen = *addr
	}
	token := ""
	if cfg.Serve.AdminTokenEnv != "" {
		token = strings.TrimSpace(os.Getenv(cfg.Serve.AdminTokenEnv))
	}
	j := *jitter
	if j < 0 {
		j = min(cfg.Sync.Interval/10, time.Minute)
	}

	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, Connections: subset})
	if err != nil {
		if errors.Is(err, app.ErrUnknownConnection) {
			return usagef("%v", err)
		}
		return err
	}
	defer a.Close()
	if len(a.Conns) == 0 {
		return configError{errors.New("no connections configured: nothing to schedule")}
	}
	runner, err := newCycleRunner(a, e.log)
	if err != nil {
		return err
	}
	rdb := a.Store.Client()
	var streams []server.Stream
	for _, name := range a.ConnNames() {
		streams = append(streams,
			server.Stream{Name: "analysis:" + name, Key: crmsync.AnalysisQueue(a.Store, name), Group: analysisGroup},
			server.Stream{Name: "outbox:" + name, Key: writeback.OutboxKey(a.Store, name), Group: writeback.Group},
			server.Stream{Name: "deadletter:" + name, Key: writeback.DeadLetterKey(a.Store, name)})
	}
	srv := server.New(server.Options{
		Runner:         runner,
		Connections:    a.ConnNames(),
		Interval:       cfg.Sync.Interval,
		Jitter:         j,
		MaxConcurrent:  *maxConc,
		Grace:          *grace,
		Addr:           listen,
		AdminToken:     token,
		DisableMetrics: !cfg.Serve.Metrics,
		Ping:           func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Depths:         server.StreamDepths(rdb, streams...),
		Logger:         e.log,
		Version:        buildVersion(),
	})
	stages := make([]string, len(runner.Stages))
	for i, s := range runner.Stages {
		stages[i] = s.Name
	}

	if *once {
		sums, err := srv.RunOnce(ctx)
		if werr := writeCycleTable(e.stdout, sums); werr != nil && err == nil {
			err = werr
		}
		return err
	}

	if err := srv.Start(ctx); err != nil {
		return err
	}
	e.log.Info("daemon running", "addr", srv.Addr(), "connections", strings.Join(a.ConnNames(), ","),
		"stages", strings.Join(stages, ","), "interval", cfg.Sync.Interval, "jitter", j)
	<-ctx.Done()
	e.log.Info("signal received: shutting down (a second signal cancels running cycles)", "grace", *grace)

	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			e.log.Warn("second signal: cancelling running cycles now")
			cancel()
		case <-sctx.Done():
		}
	}()
	return srv.Shutdown(sctx)
}

// newCycleRunner wires the full cycle (internal/pipeline: sync → insights →
// segments → writeback → lists) for every connection of a.
func newCycleRunner(a *app.App, log *slog.Logger) (*server.StageRunner, error) {
	p, err := pipeline.New(a, &pipeline.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return p.Runner(), nil
}

func writeCycleTable(w io.Writer, sums []server.CycleSummary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTION\tOUTCOME\tDURATION\tSTAGES\tREAD\tCHANGED\tDELETED")
	for _, s := range sums {
		if s.Connection == "" {
			continue
		}
		var read, changed, deleted int64
		var stages []string
		for _, st := range s.Stages {
			stages = append(stages, fmt.Sprintf("%s %s", st.Name, st.Duration.Round(time.Millisecond)))
			for _, rc := range st.Records {
				read += rc.Read
				changed += rc.Changed
				deleted += rc.Deleted
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", s.Connection, s.Outcome(),
			s.Duration().Round(time.Millisecond), strings.Join(stages, ", "), read, changed, deleted)
	}
	return tw.Flush()
}

func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "dev"
	}
	return bi.Main.Version
}
