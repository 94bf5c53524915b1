package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/crmpulse/crmpulse/insights/engine"
	"github.com/crmpulse/crmpulse/insights/llm"
	"github.com/crmpulse/crmpulse/insights/report"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/insights/worker"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("--as-of %q: want YYYY-MM-DD or RFC 3339", s)
}

func engineOptions(cfg *config.Config) engine.Options {
	return engine.Options{
		Horizon:       time.Duration(cfg.Insights.HorizonDays) * 24 * time.Hour,
		WinbackMonths: cfg.Insights.WinbackMonths,
		Language:      cfg.LLM.Language,
	}
}

func runInsightsRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "insights run", `insights run [--connection C] [--account ID | --all] [--workers N] [--llm | --no-llm]

Analyses accounts: churn probability and drivers, next actions, cross-sell,
competitor signals (and a win-back plan for accounts without a purchase in
insights.winback_months), with the LLM analysis when llm.enabled (or --llm).
--account and --all add accounts to the analysis queue first; then N workers
drain the queue (the sync engine fills it with changed accounts). Accounts
unchanged since their last result are skipped unless --force.`)
	connName := fs.String("connection", "", "connection (default: every configured connection)")
	account := fs.String("account", "", "analyse this account id")
	all := fs.Bool("all", false, "analyse every stored account")
	workers := fs.Int("workers", 0, "worker processes in this run (default insights.workers)")
	useLLM := fs.Bool("llm", false, "use the LLM (needs llm settings)")
	noLLM := fs.Bool("no-llm", false, "statistical analyses only")
	force := fs.Bool("force", false, "analyse accounts even when unchanged")
	asOfS := fs.String("as-of", "", "analysis date (default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *useLLM && *noLLM {
		return usagef("--llm and --no-llm exclude each other")
	}
	if *account != "" && *all {
		return usagef("--account and --all exclude each other")
	}
	if *account != "" && *connName == "" {
		return usagef("--account needs --connection")
	}
	asOf, err := parseDate(*asOfS)
	if err != nil {
		return err
	}
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	conns := []string{}
	for _, c := range cfg.Connections {
		if *connName == "" || c.Name == *connName {
			conns = append(conns, c.Name)
		}
	}
	if len(conns) == 0 {
		return configError{fmt.Errorf("no connection named %q in the configuration", *connName)}
	}
	enabled := (cfg.LLM.Enabled || *useLLM) && !*noLLM
	if *useLLM && !cfg.LLM.Enabled {
		cfg.LLM.Enabled = true
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, NoConnections: true})
	if err != nil {
		return err
	}
	defer a.Close()
	st := a.Store
	eng := engine.New(st, a.Embedder, nil, engineOptions(cfg))
	runner := &engine.Runner{Engine: eng, AsOf: asOf, Force: *force, Logger: e.log}
	if enabled {
		lc, err := llm.FromConfig(cfg.LLM, os.LookupEnv)
		if err != nil {
			return configError{err}
		}
		client, err := llm.New(lc)
		if err != nil {
			return configError{err}
		}
		runner.Analyst = &llm.Analyst{Client: client, Retriever: &llm.Retriever{Store: st, Embedder: a.Embedder, TopK: cfg.Retrieval.TopK, Threshold: cfg.Retrieval.SimilarityThreshold}}
	}
	if _, err := crmsync.MigrateAnalysisQueue(ctx, st); err != nil {
		return err
	}
	queued := 0
	var backlog int64
	streams := map[string]string{} // connection -> its queue, when it has work
	for _, c := range conns {
		stream := crmsync.AnalysisQueue(st, c)
		var ids []string
		switch {
		case *account != "":
			ids = []string{*account}
		case *all:
			if ids, err = crmsync.Accounts(ctx, st, c); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			if err := worker.Enqueue(ctx, st.Client(), stream, c, ids...); err != nil {
				return err
			}
			queued += len(ids)
		}
		b, err := worker.Backlog(ctx, st.Client(), stream, "insights")
		if err != nil {
			return err
		}
		if b > 0 {
			backlog += b
			streams[c] = stream
		}
	}
	if backlog == 0 {
		fmt.Fprintln(e.stdout, "nothing queued: use --all or --account ID, or run crmpulse sync")
		return nil
	}
	n := *workers
	if n <= 0 {
		n = cfg.Insights.Workers
	}
	start := time.Now()
	var mu sync.Mutex
	bands := map[string]int{}
	failures := 0
	handle := func(ctx context.Context, it worker.Item) error {
		err := runner.Handle(ctx, it.Conn, it.Account, it.Deleted)
		if errors.Is(err, engine.ErrUnchanged) {
			return fmt.Errorf("%w: %v", worker.ErrSkip, err)
		}
		if err != nil {
			mu.Lock()
			failures++
			mu.Unlock()
			return err
		}
		if !it.Deleted {
			if r, err := result.LoadResult(ctx, st, it.Conn, it.Account); err == nil {
				mu.Lock()
				bands[r.Band]++
				mu.Unlock()
			}
		}
		return nil
	}
	var ws []*worker.Worker
	var wsConn []string
	for _, c := range conns {
		stream, ok := streams[c]
		if !ok {
			continue
		}
		for i := range n {
			w, err := worker.New(st.Client(), worker.Options{Stream: stream, Consumer: fmt.Sprintf("cli-%d-%d", os.Getpid(), i),
				Concurrency: 4, Logger: e.log}, handle)
			if err != nil {
				return err
			}
			ws = append(ws, w)
			wsConn = append(wsConn, c)
		}
	}
	progressDone := make(chan struct{})
	go progress(e, ws, backlog, start, progressDone)
	g, gctx := errgroup.WithContext(ctx)
	for _, w := range ws {
		g.Go(func() error { return w.Drain(gctx) })
	}
	err = g.Wait()
	close(progressDone)
	var tot worker.Stats
	deadIn := map[string]bool{}
	for i, w := range ws {
		s := w.Stats()
		if s.Dead > 0 {
			deadIn[streams[wsConn[i]]+":dead"] = true
		}
		tot.Processed += s.Processed
		tot.Skipped += s.Skipped
		tot.Failed += s.Failed
		tot.Dead += s.Dead
		tot.Duplicates += s.Duplicates
	}
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "queued %d, analysed %d, unchanged %d, duplicates %d, failed attempts %d, dead-lettered %d in %s (%.1f accounts/s, %d workers)\n",
		queued, tot.Processed, tot.Skipped, tot.Duplicates, tot.Failed, tot.Dead, el.Round(time.Millisecond), float64(tot.Processed)/el.Seconds(), n)
	fmt.Fprintf(e.stdout, "risk bands: high %d, medium %d, low %d; win-back plans %d\n", bands[result.BandHigh], bands[result.BandMedium], bands[result.BandLow], runner.Winbacks.Load())
	if runner.Analyst != nil {
		req, tok := runner.Analyst.Client.Usage()
		fmt.Fprintf(e.stdout, "LLM: %d analyses, %d rejected, %d skipped (budget), %d requests, %d tokens\n", runner.LLMOK.Load(), runner.LLMFailed.Load(), runner.LLMSkipped.Load(), req, tok)
		if runner.Analyst.Client.Exhausted() {
			fmt.Fprintln(e.stdout, "LLM token budget exhausted: the remaining accounts kept the statistical analysis")
		}
	}
	if err != nil {
		return err
	}
	if tot.Dead > 0 {
		keys := make([]string, 0, len(deadIn))
		for k := range deadIn {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Errorf("%d accounts could not be analysed (see %s)", tot.Dead, strings.Join(keys, ", "))
	}
	return nil
}

func progress(e *env, ws []*worker.Worker, total int64, start time.Time, done chan struct{}) {
	tty := isTerminal(e.stderr)
	every := 5 * time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			if tty {
				fmt.Fprintln(e.stderr)
			}
			return
		case <-t.C:
		}
		var n int64
		for _, w := range ws {
			s := w.Stats()
			n += s.Processed + s.Skipped + s.Dead
		}
		rate := float64(n) / time.Since(start).Seconds()
		eta := "?"
		if rate > 0 && total > n {
			eta = (time.Duration(float64(total-n)/rate) * time.Second).String()
		}
		if tty {
			fmt.Fprintf(e.stderr, "\r%d/%d accounts  %.1f/s  ETA %s   ", n, total, rate, eta)
		} else {
			e.log.Info("insights progress", "done", n, "total", total, "rate", fmt.Sprintf("%.1f/s", rate), "eta", eta)
		}
	}
}

func runInsightsShow(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "insights show", `insights show <connection> <account-id> [--format text|md|html|json] [--out FILE]

Shows the latest stored insight of an account (run crmpulse insights run first).`)
	format := fs.String("format", "text", "text, md, html or json")
	out := fs.String("out", "", "write to FILE instead of standard output")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want <connection> <account-id>, got %d arguments", fs.NArg())
	}
	switch *format {
	case "text", "md", "html", "json":
	default:
		return usagef("--format %q: want text, md, html or json", *format)
	}
	conn, id := fs.Arg(0), fs.Arg(1)
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, NoConnections: true, NoIndex: true})
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := result.LoadResult(ctx, a.Store, conn, id)
	if errors.Is(err, result.ErrNotFound) {
		return fmt.Errorf("no insight stored for account %s of %s: run crmpulse insights run --connection %s --account %s", id, conn, conn, id)
	}
	if err != nil {
		return err
	}
	in := report.Input{Result: r}
	if p, err := result.LoadWinback(ctx, a.Store, conn, id); err == nil {
		in.Winback = p
	}
	var w io.Writer = e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	switch *format {
	case "md":
		err = report.Markdown(w, in)
	case "html":
		err = report.HTML(w, in)
	case "json":
		err = writeJSON(w, in)
	default:
		err = writeText(w, in)
	}
	if err == nil && *out != "" {
		fmt.Fprintf(e.stdout, "wrote %s\n", *out)
	}
	return err
}

// reorder moves flags after positional arguments in front of them, so
// "show sf 001 --format md" works like "show --format md sf 001".
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func writeJSON(w io.Writer, in report.Input) error {
	enc := jsonEncoder(w)
	return enc.Encode(struct {
		*result.Result
		Winback *result.WinbackPlan `json:"winback,omitempty"`
	}{in.Result, in.Winback})
}

func writeText(w io.Writer, in report.Input) error {
	r := in.Result
	fmt.Fprintf(w, "%s (%s, %s)\n", r.AccountName, r.Account, r.Connection)
	fmt.Fprintf(w, "churn     %.0f%% (%s)   model %s   source %s   as of %s\n", r.Churn*100, r.Band, r.Model, r.Source, r.AsOf.Format("2006-01-02"))
	fmt.Fprintf(w, "summary   %s\n", r.Summary)
	for i, d := range r.Drivers {
		fmt.Fprintf(w, "driver %d  %s [%s]\n", i+1, d.Label, strings.Join(d.Evidence, ", "))
	}
	for i, a := range r.Actions {
		fmt.Fprintf(w, "action %d  %s (due %s) [%s]\n", i+1, a.Title, a.Due.Format("2006-01-02"), strings.Join(a.Evidence, ", "))
	}
	for _, c := range r.CrossSell {
		fmt.Fprintf(w, "cross     %s %.2f\n", c.Product, c.Score)
	}
	for _, c := range r.Competitors {
		fmt.Fprintf(w, "rival     %s: %d mentions, %d lost deals [%s]\n", c.Name, c.Mentions, c.LostDeals, strings.Join(c.Evidence, ", "))
	}
	if p := in.Winback; p != nil {
		fmt.Fprintf(w, "win-back  %.1f months without purchase, risk %s: %s\n", p.MonthsSince, p.Risk, p.Assessment.Text)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "note      %s\n", x)
	}
	return nil
}

func runInsightsEval(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "insights eval", `insights eval [--connection C] [--truth FILE] [--horizon-days N]

Backtests the churn model on the sandbox truth: features as of the truth's
cutoff computed only from records before it (histories truncated), the model
trained on the connection's own history before the cutoff, labels from the
truth (accounts alive at the cutoff; churned = dropped out in the holdout).
The truth comes from --truth FILE (written by crmpulse sandbox serve --truth)
for data already synced; without it, a sandbox connection served in-process
is synced first and its truth read in-process. Prints AUC, Brier score, a
calibration table and the AUC without each feature group.`)
	connName := fs.String("connection", app.SandboxSalesforce, "connection to evaluate")
	truthFile := fs.String("truth", "", "truth JSON written by crmpulse sandbox serve --truth")
	accounts := fs.Int("accounts", 2000, "in-process sandbox size (without --truth)")
	seed := fs.Int64("seed", 1, "in-process sandbox seed (without --truth)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	cc := cfg.Connection(*connName)
	if cc == nil {
		return configError{fmt.Errorf("no connection named %q in the configuration", *connName)}
	}
	var truth *sandbox.Truth
	opts := &app.Options{Logger: e.log, Connections: []string{*connName}}
	if *truthFile != "" {
		f, err := os.Open(*truthFile)
		if err != nil {
			return err
		}
		truth, err = sandbox.ReadTruth(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *truthFile, err)
		}
		opts.NoConnections = true
	} else if !cc.Sandbox || cc.BaseURL != "" {
		return usagef("connection %s is not served in-process: pass --truth FILE (crmpulse sandbox serve --truth FILE)", *connName)
	} else {
		opts.Sandbox = &sandbox.Options{Accounts: *accounts, Seed: *seed}
	}
	a, err := app.Open(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	if truth == nil {
		truth = a.Sandbox.Truth
		fmt.Fprintf(e.stderr, "syncing the in-process sandbox (%d accounts) into %s …\n", *accounts, cfg.Redis.URL)
		se, err := crmsync.FromApp(a, &crmsync.Options{Logger: e.log})
		if err != nil {
			return err
		}
		if _, err := se.Run(ctx); err != nil {
			return err
		}
	}
	o := engineOptions(cfg)
	o.Horizon = truth.Horizon.Sub(truth.Cutoff)
	o.MinLabels = 10
	eng := engine.New(a.Store, nil, nil, o)
	ids, hs, err := eng.LoadHistories(ctx, *connName)
	if err != nil {
		return err
	}
	labels := map[string]bool{}
	for _, id := range ids {
		var at sandbox.AccountTruth
		var ok bool
		if cc.Kind == config.KindHubSpot {
			at, ok = truth.ByHubSpotID(id)
		} else {
			at, ok = truth.BySalesforceID(id)
		}
		if ok && at.AliveAtCutoff {
			labels[id] = at.Churned
		}
	}
	if len(labels) == 0 {
		return fmt.Errorf("no stored account of %s matches the truth: was this sandbox synced into %s?", *connName, cfg.Redis.URL)
	}
	start := time.Now()
	rep, err := eng.Backtest(*connName, truth.Cutoff, ids, hs, labels, true)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "backtest of %s: features as of %s, outcomes over %d days\n", *connName, truth.Cutoff.Format("2006-01-02"), int(o.Horizon.Hours()/24))
	fmt.Fprintf(w, "model      %s (trained on %d accounts, %d churned, cutoff %s; validation AUC %.3f)\n", rep.Model.Kind, rep.Model.Train, rep.Model.TrainPositives, rep.Model.TrainCutoff.Format("2006-01-02"), rep.Model.ValidationAUC)
	if rep.Model.Reason != "" {
		fmt.Fprintf(w, "note       %s\n", rep.Model.Reason)
	}
	fmt.Fprintf(w, "accounts   %d alive at the cutoff, %d churned (%.1f%%)\n", rep.N, rep.Positives, 100*float64(rep.Positives)/float64(rep.N))
	fmt.Fprintf(w, "AUC        %.3f\n", rep.AUC)
	fmt.Fprintf(w, "Brier      %.4f (base rate %.4f)\n", rep.Brier, rep.BaseBrier)
	fmt.Fprintln(w, "calibration (deciles of predicted risk)")
	fmt.Fprintln(w, "  bin  count  predicted  observed")
	for i, b := range rep.Calibration {
		fmt.Fprintf(w, "  %3d  %5d  %9.3f  %8.3f\n", i+1, b.Count, b.MeanPredicted, b.ObservedRate)
	}
	fmt.Fprintln(w, "ablation (AUC without each feature group)")
	abl := append([]engine.Ablated(nil), rep.Ablation...)
	sort.SliceStable(abl, func(i, j int) bool { return abl[i].Delta < abl[j].Delta })
	for _, x := range abl {
		fmt.Fprintf(w, "  %-10s %.3f (%+.3f)\n", x.Without, x.AUC, x.Delta)
	}
	fmt.Fprintf(w, "elapsed    %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
