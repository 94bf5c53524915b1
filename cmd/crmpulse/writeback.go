package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/lists"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/writeback"
)

func init() {
	register(&command{name: "writeback", summary: "write insights back to the CRM", run: runWriteback})
}

const writebackUsage = `writeback [--connection C] [--dry-run] [--no-enqueue]
       writeback --audit [--connection C] [--limit N]
       writeback --dead-letters [--connection C] [--limit N]
       writeback --retry-dead [--connection C] [ENTRY ...]

  Queues every account's latest insight as field changes and writes what
  differs from the values crmpulse last wrote, in batches at each API's
  limit. A field a person edited since is kept or overwritten as its
  mapping's on_human_edit says.

  --dry-run       print the pending field diff (record, field, old → new) and
                  each segment list's membership change; write nothing
  --no-enqueue    only drain what is already queued
  --audit         print the audit trail, newest first
  --dead-letters  print the records the CRM refused, with its error
  --retry-dead    requeue dead letters (the given entries, or all), then run`

func runWriteback(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "writeback", writebackUsage)
	connName := fs.String("connection", "", "only this connection (default: every connection written to)")
	dryRun := fs.Bool("dry-run", false, "show the pending diff and segment list deltas; write nothing")
	noEnqueue := fs.Bool("no-enqueue", false, "do not queue the stored insights; only drain the outbox")
	audit := fs.Bool("audit", false, "print the audit trail")
	dead := fs.Bool("dead-letters", false, "print the dead letters")
	retry := fs.Bool("retry-dead", false, "requeue dead letters, then write")
	limit := fs.Int64("limit", 50, "rows printed by --audit and --dead-letters (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	modes := 0
	for _, b := range []bool{*dryRun, *audit, *dead, *retry} {
		if b {
			modes++
		}
	}
	if modes > 1 {
		return usagef("--dry-run, --audit, --dead-letters and --retry-dead exclude each other")
	}
	if fs.NArg() > 0 && !*retry {
		return usagef("unexpected argument %q (entry ids go with --retry-dead)", fs.Arg(0))
	}
	a, targets, err := openWriteback(ctx, e, *connName, *audit || *dead)
	if err != nil {
		return err
	}
	defer a.Close()
	st := a.Store
	for _, tg := range targets {
		switch {
		case *audit:
			entries, err := writeback.Audit(ctx, st, tg.name, *limit)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: audit trail, %d entries, newest first\n", tg.name, len(entries))
			if err := writeback.WriteAudit(e.stdout, entries); err != nil {
				return err
			}
			continue
		case *dead:
			dls, err := writeback.DeadLetters(ctx, st, tg.name, *limit)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %d dead letters\n", tg.name, len(dls))
			if err := writeback.WriteDeadLetters(e.stdout, dls); err != nil {
				return err
			}
			continue
		case *retry:
			n, err := writeback.RetryDead(ctx, st, tg.name, fs.Args()...)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: requeued %d dead letters\n", tg.name, n)
		}
		conn, err := a.Conn(tg.name)
		if err != nil {
			return err
		}
		target, err := writeback.LoadTarget(ctx, conn, tg.mappings)
		if err != nil {
			return err
		}
		checks, err := writeback.CheckFields(ctx, conn, tg.mappings)
		if err != nil {
			return err
		}
		var problems []string
		for _, c := range checks {
			if !c.OK() {
				problems = append(problems, c.Field+" ("+c.Status+")")
			}
		}
		if len(problems) > 0 {
			msg := fmt.Sprintf("%s: %d mapped fields are not ready: %s; see: crmpulse fields validate --connection %s",
				tg.name, len(problems), strings.Join(problems, ", "), tg.name)
			if !*dryRun {
				return errors.New(msg)
			}
			fmt.Fprintln(e.stderr, "warning: "+msg)
		}
		var changes []writeback.Change
		if !*noEnqueue && !*retry {
			ins, err := writeback.LoadInsights(ctx, st, tg.name)
			if err != nil {
				return err
			}
			if changes, err = writeback.Changes(target, ins); err != nil {
				return configError{fmt.Errorf("%w (check the mappings with: crmpulse fields validate)", err)}
			}
		}
		listName, err := segmentListNamer(ctx, st, tg.name, a.Config.LLM.Language)
		if err != nil {
			return err
		}
		w := writeback.NewWriter(st, conn, target, &writeback.Options{Logger: e.log, SegmentList: listName})
		if *dryRun {
			plan, err := w.Plan(ctx, changes...)
			if err != nil {
				return err
			}
			if err := writeback.WritePlan(e.stdout, plan); err != nil {
				return err
			}
			continue
		}
		if err := writeback.Enqueue(ctx, st, tg.name, changes); err != nil {
			return err
		}
		total, err := writeback.Pending(ctx, st, tg.name)
		if err != nil {
			return err
		}
		w = writeback.NewWriter(st, conn, target, &writeback.Options{Logger: e.log, Progress: progressReporter(e, tg.name, total)})
		sum, err := w.RunOnce(ctx)
		if isTerminal(e.stderr) && total > 0 {
			fmt.Fprintln(e.stderr)
		}
		if werr := writeback.WriteSummary(e.stdout, sum); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		if sum.Dead > 0 {
			fmt.Fprintf(e.stdout, "%s: %d records refused by the CRM; see: crmpulse writeback --dead-letters --connection %s\n", tg.name, sum.Dead, tg.name)
		}
	}
	return nil
}

// segmentListNamer names a segment's CRM list in dry-run output exactly as
// `segments apply` names it (lists.ListName over the latest segmentation's
// labels; the built-in label when no segmentation was recorded yet).
func segmentListNamer(ctx context.Context, st *store.Store, conn, lang string) (func(string) string, error) {
	labels := map[string]string{}
	seg, err := segments.NewTracker(st.Client(), st.Namespace()).Latest(ctx, conn)
	switch {
	case err == nil:
		labels = seg.Labels()
	case !errors.Is(err, segments.ErrNoRun):
		return nil, fmt.Errorf("read the latest segmentation of %s: %w", conn, err)
	}
	return func(id string) string {
		label, ok := labels[id]
		if !ok {
			label = segments.Label(id, lang)
		}
		return lists.ListName(label, id)
	}, nil
}

// progressReporter prints the writer's progress: a rewritten line with rate
// and ETA on a terminal, a log line per page otherwise.
func progressReporter(e *env, conn string, total int64) func(writeback.Summary) {
	start := time.Now()
	tty := isTerminal(e.stderr)
	return func(s writeback.Summary) {
		done := int64(s.Entries)
		el := time.Since(start).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(done) / el
		}
		eta := "?"
		if rate > 0 && total >= done {
			eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
		}
		if tty {
			fmt.Fprintf(e.stderr, "\r%s: %d/%d entries, %d written, %.0f/s, ETA %s   ", conn, done, total, s.Written, rate, eta)
			return
		}
		e.log.Info("write-back progress", "connection", conn, "entries", done, "total", total, "written", s.Written, "per_second", int(rate), "eta", eta)
	}
}
