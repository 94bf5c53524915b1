package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/insights/report"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/pipeline"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/writeback"
)

func init() {
	register(&command{name: "demo", summary: "run the demo: local Redis + the CRM sandbox, one full cycle", run: runDemo})
}

const demoUsage = `demo [--accounts N] [--seed S] [--out DIR] [--lang en|ja] [--keep]

Starts a local Redis 8 (REDIS_URL when set, else scripts/redis.sh start) and
the offline CRM sandbox (a Salesforce org and a HubSpot portal holding the
same synthetic customers), then runs one full cycle for both: sync →
insights → segments → writeback → segment lists. It prints the cycle
summary and what to look at: account reports (Markdown and HTML), a sandbox
record with the AI fields crmpulse wrote, and the CRM-native segment lists.

The demo uses its own Redis key namespace (crmpulse-demo), cleared at the
start unless --keep.`

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", demoUsage)
	accounts := fs.Int("accounts", 2000, "synthetic customers in the sandbox")
	seed := fs.Int64("seed", 1, "sandbox generator seed")
	outDir := fs.String("out", filepath.Join("out", "demo"), "where reports are written")
	lang := fs.String("lang", "en", "language of generated text and labels: en or ja")
	keep := fs.Bool("keep", false, "keep data from an earlier demo run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *accounts < 1 {
		return usagef("--accounts must be at least 1, got %d", *accounts)
	}
	if *lang != "en" && *lang != "ja" {
		return usagef("--lang must be en or ja, got %q", *lang)
	}
	start := time.Now()
	url, err := benchRedisURL(ctx)
	if err != nil {
		return err
	}
	cfg := app.DefaultConfig()
	if e.configPath != "" {
		if cfg, err = app.LoadConfig(e.configPath); err != nil {
			return configError{err}
		}
	}
	cfg.Redis.URL = url
	cfg.Redis.Namespace = "crmpulse-demo"
	cfg.LLM.Language = *lang
	if err := cfg.Validate(); err != nil {
		return configError{err}
	}
	if !*keep {
		if err := clearNamespace(ctx, url, cfg.Redis.Namespace); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "crmpulse demo: Redis %s, sandbox with %d accounts (seed %d)\n", url, *accounts, *seed)
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, Sandbox: &sandbox.Options{Accounts: *accounts, Seed: *seed}})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.SandboxURL != "" {
		fmt.Fprintf(e.stderr, "crmpulse demo: sandbox serving Salesforce and HubSpot at %s\n", a.SandboxURL)
	}
	p, err := pipeline.New(a, &pipeline.Options{Logger: e.log, Provision: true})
	if err != nil {
		return err
	}
	sums, failed := runAll(ctx, e, a, p)
	if err := writeCycleReport(e.stdout, sums); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed (see the summary above)", failed, len(sums))
	}
	fmt.Fprintf(e.stdout, "\nDemo cycle finished in %s. What to look at:\n", time.Since(start).Round(100*time.Millisecond))
	for _, c := range a.Conns {
		if err := demoShow(ctx, e.stdout, a, c.Name(), *outDir); err != nil {
			return fmt.Errorf("%s: %w", c.Name(), err)
		}
	}
	fmt.Fprintf(e.stdout, "\nNext: crmpulse insights show <connection> <account-id>, crmpulse segments show, crmpulse writeback --audit\n"+
		"(with REDIS_URL=%s and the demo's namespace: add --config with redis.namespace: crmpulse-demo).\n", url)
	return nil
}

// clearNamespace deletes every key under ns (the demo's own data).
func clearNamespace(ctx context.Context, url, ns string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return configError{fmt.Errorf("redis url %q: %w", url, err)}
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if _, err := store.DeletePrefix(ctx, rdb, ns+":"); err != nil {
		return fmt.Errorf("clear demo data: %w", err)
	}
	return nil
}

// demoShow writes reports for the riskiest accounts of conn and prints a
// record with its AI fields and the segment lists.
func demoShow(ctx context.Context, w io.Writer, a *app.App, conn, outDir string) error {
	st := a.Store
	ids, err := result.Accounts(ctx, st, conn)
	if err != nil {
		return err
	}
	var rs []*result.Result
	for _, id := range ids {
		if r, err := result.LoadResult(ctx, st, conn, id); err == nil {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Churn != rs[j].Churn {
			return rs[i].Churn > rs[j].Churn
		}
		return rs[i].Account < rs[j].Account
	})
	fmt.Fprintf(w, "\n== %s ==\n", conn)
	bands := map[string]int{}
	for _, r := range rs {
		bands[r.Band]++
	}
	fmt.Fprintf(w, "Analysed %d accounts: %d high, %d medium, %d low churn risk.\n", len(rs),
		bands[result.BandHigh], bands[result.BandMedium], bands[result.BandLow])
	dir := filepath.Join(outDir, conn)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	top := rs[:min(5, len(rs))]
	fmt.Fprintln(w, "Reports of the riskiest accounts:")
	for _, r := range top {
		in := report.Input{Result: r}
		if p, err := result.LoadWinback(ctx, st, conn, r.Account); err == nil {
			in.Winback = p
		}
		base := filepath.Join(dir, safeFileName(r.Account))
		if err := writeReport(base+".md", func(f io.Writer) error { return report.Markdown(f, in) }); err != nil {
			return err
		}
		if err := writeReport(base+".html", func(f io.Writer) error { return report.HTML(f, in) }); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %5.1f%%  %-40s %s.html\n", 100*r.Churn, truncateRunes(r.AccountName, 40), base)
	}
	if len(top) > 0 && a.Sandbox != nil {
		showSandboxRecord(w, a, conn, top[0].Account)
	}
	applied, err := segments.NewTracker(st.Client(), st.Namespace()).Applied(ctx, conn)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		c, err := a.Conn(conn)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "Segment lists in the CRM (filtering on the segment field, members as the CRM evaluates them):")
		keys := make([]string, 0, len(applied))
		for k := range applied {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return segments.Rank(keys[i]) < segments.Rank(keys[j]) })
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range keys {
			ap := applied[k]
			members, err := c.SegmentMembers(ctx, ap.Segment)
			if err != nil {
				return fmt.Errorf("members of list %s: %w", ap.Name, err)
			}
			fmt.Fprintf(tw, "  %s\t%s %s\t%s = %q\t%d members\n", ap.Name, ap.Kind, ap.ID, ap.Field, ap.Value, len(members))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// showSandboxRecord prints the CRM account record with the fields crmpulse
// wrote, as the sandbox CRM holds it now.
func showSandboxRecord(w io.Writer, a *app.App, conn, id string) {
	cc, ok := a.ConnConfig(conn)
	if !ok {
		return
	}
	ms, _ := writeback.Mappings(a.Config, conn)
	store, table, nameField := a.Sandbox.SF, "Account", "Name"
	if cc.Kind == config.KindHubSpot {
		store, table, nameField = a.Sandbox.HS, "companies", "name"
	}
	row, ok := store.Get(table, id)
	if !ok {
		return
	}
	name, _ := row.Get(nameField)
	fmt.Fprintf(w, "The CRM record of %q (%s %s) with the AI fields crmpulse wrote:\n", name, table, id)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range ms {
		v, _ := row.Get(m.Field)
		fmt.Fprintf(tw, "  %s\t%s\n", m.Field, truncateRunes(strings.ReplaceAll(fmt.Sprint(v), "\n", " ⏎ "), 110))
	}
	_ = tw.Flush()
}

func writeReport(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < 32 {
			return '_'
		}
		return r
	}, s)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
