package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/pipeline"
	"github.com/crmpulse/crmpulse/internal/server"
)

func init() {
	register(&command{name: "run", summary: "run one full cycle (sync, insights, segments, writeback, lists)", run: runCycle})
}

const runUsage = `run [--connection C] [--stages sync,insights,...] [--provision] [--no-llm] [--json]

Runs one full cycle for each connection, the connections side by side:
sync → insights → segments → writeback → segment lists, and prints a summary per connection and stage
(records read and changed per object, API calls by endpoint, fields written,
records dead-lettered, lists created or updated, durations). --json prints the
same as JSON. A failing stage stops that connection's cycle; the others run.`

func runCycle(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", runUsage)
	connName := fs.String("connection", "", "only this connection (default: all)")
	stagesFlag := fs.String("stages", "", "comma-separated stages to run (default: all: "+strings.Join(pipeline.AllStages, ",")+")")
	provision := fs.Bool("provision", false, "create missing mapped CRM fields before writing back")
	noLLM := fs.Bool("no-llm", false, "statistical analyses only, even when llm.enabled")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var stages []string
	if *stagesFlag != "" {
		for _, s := range strings.Split(*stagesFlag, ",") {
			if s = strings.TrimSpace(s); s != "" {
				stages = append(stages, s)
			}
		}
	}
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	opts := &app.Options{Logger: e.log}
	if *connName != "" {
		if cfg.Connection(*connName) == nil {
			return configError{fmt.Errorf("no connection named %q in the configuration", *connName)}
		}
		opts.Connections = []string{*connName}
	}
	a, err := app.Open(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := pipeline.New(a, &pipeline.Options{Logger: e.log, Stages: stages, Provision: *provision, NoLLM: *noLLM})
	if err != nil {
		return usageError{err}
	}
	sums, failed := runAll(ctx, e, a, p)
	if *asJSON {
		if err := writeCycleJSON(e.stdout, sums); err != nil {
			return err
		}
	} else if err := writeCycleReport(e.stdout, sums); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed (see the summary above)", failed, len(sums))
	}
	return nil
}

// runAll runs one cycle per connection of a, the connections side by side,
// logging each stage as it ends. The summaries come back in configuration
// order.
func runAll(ctx context.Context, e *env, a *app.App, p *pipeline.Pipeline) ([]server.CycleSummary, int) {
	runner := p.Runner()
	sums := make([]server.CycleSummary, len(a.Conns))
	var wg sync.WaitGroup
	for i, c := range a.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.log.Info("cycle started", "connection", c.Name())
			sum, err := runner.RunCycle(ctx, c.Name())
			sum.Connection = c.Name()
			sum.Err = err
			for _, st := range sum.Stages {
				e.log.Info("stage done", "connection", c.Name(), "stage", st.Name, "duration", st.Duration.Round(time.Millisecond), "error", st.Err)
			}
			if err != nil {
				e.log.Error("cycle failed", "connection", c.Name(), "error", err)
			}
			sums[i] = sum
		}()
	}
	wg.Wait()
	failed := 0
	for _, s := range sums {
		if s.Err != nil {
			failed++
		}
	}
	return sums, failed
}

// cycleJSON is the JSON form of a cycle summary.
type cycleJSON struct {
	Connection string      `json:"connection"`
	Outcome    string      `json:"outcome"`
	Started    time.Time   `json:"started"`
	DurationMS int64       `json:"duration_ms"`
	Error      string      `json:"error,omitempty"`
	Stages     []stageJSON `json:"stages"`
}

type stageJSON struct {
	Name       string               `json:"name"`
	DurationMS int64                `json:"duration_ms"`
	Error      string               `json:"error,omitempty"`
	Records    []server.RecordCount `json:"records,omitempty"`
	APICalls   map[string]int64     `json:"api_calls,omitempty"`
	Errors     map[string]int64     `json:"errors,omitempty"`
	Counts     map[string]int64     `json:"counts,omitempty"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func writeCycleJSON(w io.Writer, sums []server.CycleSummary) error {
	out := make([]cycleJSON, 0, len(sums))
	for _, s := range sums {
		c := cycleJSON{Connection: s.Connection, Outcome: s.Outcome(), Started: s.Started,
			DurationMS: s.Duration().Milliseconds(), Error: errString(s.Err)}
		for _, st := range s.Stages {
			c.Stages = append(c.Stages, stageJSON{Name: st.Name, DurationMS: st.Duration.Milliseconds(), Error: errString(st.Err),
				Records: st.Records, APICalls: st.APICalls, Errors: st.Errors, Counts: st.Counts})
		}
		out = append(out, c)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"cycles": out})
}

// writeCycleReport prints, per connection, one line per stage with its
// duration, records and counts, then the API calls by endpoint.
func writeCycleReport(w io.Writer, sums []server.CycleSummary) error {
	for _, s := range sums {
		fmt.Fprintf(w, "\n%s: %s in %s\n", s.Connection, s.Outcome(), s.Duration().Round(time.Millisecond))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  STAGE\tDURATION\tAPI CALLS\tFIGURES")
		for _, st := range s.Stages {
			var calls int64
			for _, n := range st.APICalls {
				calls += n
			}
			var figs []string
			for _, rc := range st.Records {
				figs = append(figs, fmt.Sprintf("%s %d read/%d changed/%d deleted", rc.Object, rc.Read, rc.Changed, rc.Deleted))
			}
			figs = append(figs, sortedCounts(st.Counts)...)
			for _, kv := range sortedCounts(st.Errors) {
				figs = append(figs, "error "+kv)
			}
			if st.Err != nil {
				figs = append(figs, "FAILED: "+st.Err.Error())
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", st.Name, st.Duration.Round(time.Millisecond), calls, strings.Join(figs, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		all := map[string]int64{}
		for _, st := range s.Stages {
			for k, v := range st.APICalls {
				all[k] += v
			}
		}
		if len(all) > 0 {
			fmt.Fprintf(w, "  API calls by endpoint: %s\n", strings.Join(sortedCounts(all), ", "))
		}
	}
	return nil
}

func sortedCounts(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return out
}
