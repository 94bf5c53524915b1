package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/engine"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/crmhist"
	"github.com/crmpulse/crmpulse/segments/lists"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

func init() {
	register(&command{name: "segments", summary: "design, apply and export segments", run: runSegments})
}

const segmentsUsage = `segments <subcommand> [flags]

subcommands:
  design  segment every account (RFM + B2B axes), record moves since the last run
  show    print the last segmentation and the moves since the run before
  apply   create or update one CRM list per segment (HubSpot dynamic lists,
          Salesforce list views) filtering on the segment field
  export  write the segment definitions as JSON, SOQL and HubSpot list filters

Segment ids (the values of the CRM segment field) are stable slugs:
vip, loyal, promising_new, needs_attention, cant_lose, at_risk, dormant,
prospect. Labels follow llm.language and segments.overrides.`

func runSegments(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n", segmentsUsage)
		return usagef("missing subcommand")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n", segmentsUsage)
		return nil
	case "design":
		return runSegmentsDesign(ctx, e, args[1:])
	case "show":
		return runSegmentsShow(ctx, e, args[1:])
	case "apply":
		return runSegmentsApply(ctx, e, args[1:])
	case "export":
		return runSegmentsExport(ctx, e, args[1:])
	}
	return usagef("unknown subcommand %q (want design, show, apply or export)", args[0])
}

// openSegments loads the configuration and opens the app for the named
// connection (all when empty); withConns opens CRM connections too.
func openSegments(ctx context.Context, e *env, name string, withConns bool) (*app.App, []string, error) {
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return nil, nil, configError{err}
	}
	var names []string
	for _, c := range cfg.Connections {
		if name == "" || c.Name == name {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		if name != "" {
			return nil, nil, configError{fmt.Errorf("no connection named %q in the configuration", name)}
		}
		return nil, nil, configError{errors.New("no connections configured")}
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, NoIndex: true, Connections: names, NoConnections: !withConns})
	if err != nil {
		return nil, nil, err
	}
	return a, names, nil
}

func tracker(a *app.App) *segments.Tracker {
	return segments.NewTracker(a.Store.Client(), a.Store.Namespace())
}

func runSegmentsDesign(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "segments design", `segments design [--connection C] [--as-of YYYY-MM-DD] [--from-crm] [--json]

Segments every account of each connection from its synced records (won deals
give recency, frequency and monetary value; industry, size, activity in the
last 90 days and renewal timing refine segments into sub-segments as
segments.b2b says), applies the migration rules against the previous run,
records each account's segment and history in Redis, and prints the segments
and the moves since the previous run.`)
	connName := fs.String("connection", "", "only this connection (default: all)")
	asOfFlag := fs.String("as-of", "", "reference date YYYY-MM-DD (default: now)")
	fromCRM := fs.Bool("from-crm", false, "read accounts, deals and activities from the CRM instead of the synced store")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	asOf := time.Now().UTC()
	if *asOfFlag != "" {
		d, err := time.Parse("2006-01-02", *asOfFlag)
		if err != nil {
			return usagef("--as-of %q: want YYYY-MM-DD", *asOfFlag)
		}
		asOf = d.Add(24*time.Hour - time.Second)
	}
	a, names, err := openSegments(ctx, e, *connName, *fromCRM)
	if err != nil {
		return err
	}
	defer a.Close()
	tr := tracker(a)
	var outs []segmentsView
	for _, name := range names {
		hs, err := segmentHistories(ctx, e, a, name, asOf, *fromCRM)
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			return fmt.Errorf("connection %s: no accounts synced yet (run crmpulse sync, or pass --from-crm)", name)
		}
		var strat segments.Strategist
		if a.Config.LLM.Enabled {
			strat = storedStrategy{st: a.Store, conn: name}
		}
		seg, err := segments.Design(ctx, hs, asOf, a.Config, &segments.DesignOptions{Strategist: strat, Logger: e.log})
		if err != nil {
			if errors.Is(err, segments.ErrUnknownSegment) {
				return configError{err}
			}
			return fmt.Errorf("connection %s: %w", name, err)
		}
		run, err := tr.Record(ctx, name, seg)
		if err != nil {
			return fmt.Errorf("connection %s: %w", name, err)
		}
		outs = append(outs, segmentsView{Connection: name, Segmentation: seg, Run: run})
	}
	return printSegments(e.stdout, outs, *asJSON)
}

// segmentHistories loads every account's history from the store (or the CRM).
func segmentHistories(ctx context.Context, e *env, a *app.App, name string, asOf time.Time, fromCRM bool) ([]churn.AccountHistory, error) {
	if fromCRM {
		conn, err := a.Conn(name)
		if err != nil {
			return nil, err
		}
		e.log.Info("reading accounts, deals and activities from the CRM", "connection", name)
		return crmhist.Load(ctx, conn, asOf)
	}
	ids, err := crmsync.Accounts(ctx, a.Store, name)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", name, err)
	}
	tty := isTerminal(e.stderr)
	start, last := time.Now(), time.Now()
	out := make([]churn.AccountHistory, 0, len(ids))
	src := &engine.StoreSource{Store: a.Store}
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		byID, err := src.Histories(ctx, name, part)
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", name, err)
		}
		for _, id := range part {
			if h, ok := byID[id]; ok {
				out = append(out, h)
			}
		}
		if done := i + len(part); done == len(ids) || time.Since(last) > time.Second {
			last = time.Now()
			rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
			eta := (time.Duration(float64(len(ids)-done)/rate) * time.Second).Round(time.Second)
			if tty {
				fmt.Fprintf(e.stderr, "\r%s: %d/%d accounts loaded, %.0f/s, ETA %s   ", name, done, len(ids), rate, eta)
				if done == len(ids) {
					fmt.Fprintln(e.stderr)
				}
			} else {
				e.log.Info("loading account histories", "connection", name, "done", done, "total", len(ids), "per_second", int(rate), "eta", eta.String())
			}
		}
	}
	return out, nil
}

// storedStrategy is a segments.Strategist over the segment strategies the
// insights LLM analysis stored (insights/result); only LLM results count.
type storedStrategy struct {
	st   *store.Store
	conn string
}

func (s storedStrategy) SegmentStrategy(ctx context.Context, b segments.Brief) (segments.Strategy, error) {
	r, err := result.LoadSegmentStrategy(ctx, s.st, s.conn, b.Segment.Key)
	if errors.Is(err, result.ErrNotFound) || (err == nil && r.Source != result.SourceLLM) {
		return segments.Strategy{}, segments.ErrNoStrategy
	}
	if err != nil {
		return segments.Strategy{}, err
	}
	out := segments.Strategy{Comms: b.Segment.Comms}
	if b.Language == "ja" {
		out.Comms = b.Segment.CommsJA
	}
	if t := points(r.Approach); t != "" {
		out.Message = t
	}
	var why []string
	if t := points(r.Needs); t != "" {
		why = append(why, "needs: "+t)
	}
	if t := points(r.Risks); t != "" {
		why = append(why, "risks: "+t)
	}
	out.Rationale = strings.Join(why, "; ")
	return out, nil
}

func points(ps []result.Point) string {
	var out []string
	for _, p := range ps {
		if t := strings.TrimSpace(p.Text); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

type segmentsView struct {
	Connection   string                 `json:"connection"`
	Segmentation *segments.Segmentation `json:"segmentation"`
	Run          *segments.Run          `json:"run,omitempty"`
}

// printSegments prints the segment table and migration summary of each
// connection, or JSON (segments and run; accounts omitted).
func printSegments(w io.Writer, vs []segmentsView, asJSON bool) error {
	if asJSON {
		type brief struct {
			Connection string             `json:"connection"`
			AsOf       time.Time          `json:"as_of"`
			Language   string             `json:"language"`
			Method     string             `json:"method"`
			Cutoffs    segments.Cutoffs   `json:"cutoffs"`
			Accounts   int                `json:"accounts"`
			Segments   []segments.Segment `json:"segments"`
			Run        *segments.Run      `json:"run,omitempty"`
			Moves      []string           `json:"moves"`
		}
		var out []brief
		for _, v := range vs {
			s := v.Segmentation
			b := brief{Connection: v.Connection, AsOf: s.AsOf, Language: s.Language, Method: s.Method, Cutoffs: s.Cutoffs,
				Accounts: len(s.Accounts), Segments: s.Segments, Run: v.Run, Moves: []string{}}
			if v.Run != nil {
				b.Moves = append(b.Moves, v.Run.Summary(s.Labels())...)
			}
			out = append(out, b)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i, v := range vs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		s := v.Segmentation
		fmt.Fprintf(w, "%s: %d accounts as of %s (%s cut-offs)\n\n", v.Connection, len(s.Accounts), s.AsOf.Format("2006-01-02"), s.Method)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEGMENT\tID\tCOUNT\tSHARE\tDEFINITION\tCOMMUNICATION")
		for _, g := range s.Segments {
			comm := ""
			if g.Strategy != nil {
				comm = g.Strategy.Channel + "; " + g.Strategy.Frequency
				if g.Strategy.Source != "builtin" {
					comm += " [" + g.Strategy.Source + "]"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%s\t%s\n", g.Label, g.Key, g.Count, 100*g.Share, g.Conditions, comm)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		for _, g := range s.Segments {
			if g.Strategy == nil || g.Count == 0 {
				continue
			}
			fmt.Fprintf(w, "%s — offer: %s. %s\n", g.Label, g.Strategy.Offer, g.Strategy.Message)
		}
		r := v.Run
		switch {
		case r == nil:
		case r.First:
			fmt.Fprintf(w, "\nFirst recorded run (%d): %d accounts assigned.\n", r.ID, r.Entered)
		default:
			fmt.Fprintf(w, "\nSince the previous run (run %d): %d upgraded, %d downgraded, %d unchanged, %d new, %d gone, %d held by the migration rules.\n",
				r.ID, r.Upgrades, r.Downgrades, r.Unchanged, r.Entered, r.Left, r.Held)
			for _, line := range r.Summary(s.Labels()) {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
	}
	return nil
}

func runSegmentsShow(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "segments show", `segments show [--connection C] [--json]

Prints the last recorded segmentation of each connection (label, definition,
count, share, recommended communication) and the moves of its run.`)
	connName := fs.String("connection", "", "only this connection (default: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	a, names, err := openSegments(ctx, e, *connName, false)
	if err != nil {
		return err
	}
	defer a.Close()
	tr := tracker(a)
	var vs []segmentsView
	for _, name := range names {
		seg, err := tr.Latest(ctx, name)
		if errors.Is(err, segments.ErrNoRun) && *connName == "" {
			continue
		}
		if err != nil {
			return err
		}
		v := segmentsView{Connection: name, Segmentation: seg}
		if runs, err := tr.Runs(ctx, name, 1); err != nil {
			return err
		} else if len(runs) == 1 {
			v.Run = &runs[0]
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return segments.ErrNoRun
	}
	return printSegments(e.stdout, vs, *asJSON)
}

func runSegmentsApply(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "segments apply", `segments apply [--connection C]

Creates or updates, for every segment of the last recorded segmentation, a
CRM list selecting the accounts whose segment field holds the segment id:
a HubSpot dynamic list, a Salesforce list view (a report when list views
are unavailable). The segment field (writeback mapping with output
"segment") is provisioned with every segment id first. Lists are updated in
place when labels or definitions change; applying again creates nothing.`)
	connName := fs.String("connection", "", "only this connection (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return eachLatest(ctx, e, *connName, true, func(a *app.App, tr *segments.Tracker, name string, seg *segments.Segmentation, f lists.Field) error {
		conn, err := a.Conn(name)
		if err != nil {
			return err
		}
		res, err := lists.Apply(ctx, conn, tr, seg, f)
		for _, r := range res {
			what := "updated"
			switch {
			case r.Created:
				what = "created"
			case r.Renamed:
				what = "renamed"
			}
			fmt.Fprintf(e.stdout, "%s: %-16s %-8s %s %s %q\n", name, r.Segment, what, r.List.Kind, r.List.ID, r.List.Name)
		}
		if err != nil {
			return fmt.Errorf("connection %s: %w", name, err)
		}
		return nil
	})
}

// eachLatest opens the store (and the connections, withConns) and calls fn
// with the last recorded segmentation and the segment field of each selected
// connection, stopping at the first error.
func eachLatest(ctx context.Context, e *env, connName string, withConns bool,
	fn func(a *app.App, tr *segments.Tracker, name string, seg *segments.Segmentation, f lists.Field) error) error {
	a, names, err := openSegments(ctx, e, connName, withConns)
	if err != nil {
		return err
	}
	defer a.Close()
	tr := tracker(a)
	for _, name := range names {
		seg, err := tr.Latest(ctx, name)
		if err != nil {
			return err
		}
		f, err := lists.FieldFor(a.Config, name)
		if err != nil {
			return configError{err}
		}
		if err := fn(a, tr, name, seg, f); err != nil {
			return err
		}
	}
	return nil
}

func runSegmentsExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "segments export", `segments export [--connection C] [--out DIR]

Writes the definitions of the last recorded segmentation for admins who
apply them by hand: <conn>.segments.json (per segment: id, label,
conditions, share, communication, CRM filter) and <conn>.segments.soql
(Salesforce) or <conn>.hubspot-lists.json (HubSpot Lists v3 bodies).`)
	connName := fs.String("connection", "", "only this connection (default: all)")
	out := fs.String("out", "crmpulse-segments", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return eachLatest(ctx, e, *connName, false, func(_ *app.App, _ *segments.Tracker, name string, seg *segments.Segmentation, f lists.Field) error {
		ex, err := lists.Definitions(seg, f)
		if err != nil {
			return configError{fmt.Errorf("connection %s: %w", name, err)}
		}
		paths, err := ex.WriteFiles(*out)
		if err != nil {
			return err
		}
		for _, p := range paths {
			fmt.Fprintln(e.stdout, p)
		}
		return nil
	})
}

var _ segments.Strategist = storedStrategy{}
