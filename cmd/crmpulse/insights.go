package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/crmpulse/crmpulse/insights/bgnbd"
)

func init() {
	register(&command{name: "insights", summary: "compute and show account insights", run: runInsights})
}

const insightsUsage = `insights <subcommand> [flags]

subcommands:
  bgnbd  fit the BG/NBD repeat-purchase model to a customer summary CSV
  run    analyse queued accounts (or --account ID / --all) with N workers
  show   show one account's insight as text, Markdown, HTML or JSON
  eval   backtest the churn model on the sandbox truth (AUC, Brier, calibration, ablation)`

func runInsights(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n", insightsUsage)
		return usagef("missing subcommand")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n", insightsUsage)
		return nil
	case "bgnbd":
		return runInsightsBGNBD(ctx, e, args[1:])
	case "run":
		return runInsightsRun(ctx, e, args[1:])
	case "show":
		return runInsightsShow(ctx, e, args[1:])
	case "eval":
		return runInsightsEval(ctx, e, args[1:])
	default:
		return usagef("unknown subcommand %q (want bgnbd, run, show or eval)", args[0])
	}
}

func runInsightsBGNBD(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "insights bgnbd", `insights bgnbd --summary FILE.csv

Fits the BG/NBD model (Fader, Hardie & Lee 2005) by maximum likelihood to a
customer summary CSV whose header names the columns frequency, recency and T
(any order; other columns ignored; times in one unit, e.g. weeks) and prints
r, alpha, a, b and the log-likelihood.`)
	summary := fs.String("summary", "", "customer summary CSV (columns frequency, recency, T)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *summary == "" {
		return usagef("--summary FILE.csv is required")
	}
	f, err := os.Open(*summary)
	if err != nil {
		return err
	}
	defer f.Close()
	cs, err := bgnbd.ReadSummary(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *summary, err)
	}
	res, err := bgnbd.Fit(cs, nil)
	if err != nil {
		if errors.Is(err, bgnbd.ErrNoRepeat) {
			return fmt.Errorf("%s: %w", *summary, err)
		}
		return err
	}
	p := res.Params
	fmt.Fprintf(e.stdout, "customers       %d\n", res.N)
	fmt.Fprintf(e.stdout, "r               %.6f\n", p.R)
	fmt.Fprintf(e.stdout, "alpha           %.6f\n", p.Alpha)
	fmt.Fprintf(e.stdout, "a               %.6f\n", p.A)
	fmt.Fprintf(e.stdout, "b               %.6f\n", p.B)
	fmt.Fprintf(e.stdout, "log-likelihood  %.4f\n", res.LogLikelihood)
	fmt.Fprintf(e.stdout, "iterations      %d\n", res.Iterations)
	if !res.Converged {
		fmt.Fprintln(e.stdout, "warning         the optimiser stopped on its iteration limit")
	}
	return nil
}
