package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/bench"
)

func init() {
	register(&command{name: "bench", summary: "print the benchmark table", run: runBench})
}

const benchUsage = `bench [--accounts 2000,100000] [--vectors 3000,100000,1000000] [--quick] [--json FILE]
       [--llm-latency 1s] [--llm-concurrency 1,4,16,64] [--only GROUP,...] [--keep-vectors]
       [--max-sync 30m]

Measures crmpulse on this machine and prints one table (Markdown), also written
as JSON: initial and incremental sync throughput and read calls against the
minimum for both CRM dialects of the in-process sandbox (served over HTTP);
write-back calls per 1000 changed records against the batch minimum and an
unchanged cycle; filtered retrieval latency p50/p99 at each vector count;
statistical and LLM analysis throughput (the LLM is an in-process
OpenAI-compatible endpoint with the given latency); one-account latency,
1000 accounts at once, and peak memory per scenario, beside the product's
targets.

Redis: REDIS_URL, else the local server of scripts/redis.sh start (found from
the working directory upwards). Keys go under "crmpulse-bench:" and are removed
afterwards.

Run time on 2 cores: the defaults (2k accounts, 3k and 100k vectors) take
about 5 minutes, most of it the HubSpot initial sync (HubSpot's 5 searches
per second bound its feed) and building 100k vectors; 1M vectors add about
25 minutes of inserts; 100k accounts take ~1.5 minutes and ~4.5 GB to
generate, and their syncs are skipped when estimated past --max-sync;
--quick (200 accounts, 3k vectors, fewer calls) well under 2 minutes.
Groups for --only: sync, insights, writeback, cycle (one full pipeline
cycle after ~1% edits), llm, retrieval.`

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench", benchUsage)
	accounts := fs.String("accounts", "", "sandbox sizes in accounts, comma-separated (default 2000; 200 with --quick)")
	vectors := fs.String("vectors", "", "vector counts of the retrieval scenario, comma-separated (default 3000,100000; 3000 with --quick)")
	quick := fs.Bool("quick", false, "trimmed run for smoke tests (well under 2 minutes)")
	jsonPath := fs.String("json", "out/bench.json", "write the report as JSON here (\"\" or - for none)")
	latency := fs.Duration("llm-latency", bench.DefaultLLMLatency, "latency of the test LLM endpoint per answer")
	conc := fs.String("llm-concurrency", "1,4,16,64", "LLM concurrencies measured, comma-separated")
	only := fs.String("only", "", "run only these groups: sync,insights,writeback,cycle,llm,retrieval")
	maxSync := fs.Duration("max-sync", 30*time.Minute, "skip an initial sync estimated (from a smaller scale's rate) to take longer")
	keep := fs.Bool("keep-vectors", false, "keep the retrieval vector sets in Redis and reuse them next time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	opt := bench.Options{Quick: *quick, LLMLatency: *latency, KeepVectors: *keep, MaxSync: *maxSync, Progress: e.stderr,
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	var err error
	if *accounts != "" {
		if opt.Accounts, err = parseCounts("accounts", *accounts); err != nil {
			return err
		}
	}
	if *vectors != "" {
		if opt.Vectors, err = parseCounts("vectors", *vectors); err != nil {
			return err
		}
	}
	if opt.LLMConcurrency, err = parseCounts("llm-concurrency", *conc); err != nil {
		return err
	}
	if *latency <= 0 {
		return usagef("--llm-latency %s: must be positive", *latency)
	}
	if *only != "" {
		for g := range strings.SplitSeq(*only, ",") {
			opt.Only = append(opt.Only, strings.TrimSpace(g))
		}
	}

	url, err := benchRedisURL(ctx)
	if err != nil {
		return err
	}
	ropt, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("redis url %q: %w", url, err)
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("redis at %s does not answer: %w (set REDIS_URL or run scripts/redis.sh start)", url, err)
	}
	opt.Redis, opt.RedisURL = rdb, url

	rep, err := bench.Run(ctx, opt)
	if err != nil {
		return err
	}
	if err := rep.WriteTable(e.stdout); err != nil {
		return err
	}
	if *jsonPath != "" && *jsonPath != "-" {
		if dir := filepath.Dir(*jsonPath); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write %s: %w", *jsonPath, err)
			}
		}
		var buf bytes.Buffer
		if err := rep.WriteJSON(&buf); err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *jsonPath, err)
		}
		fmt.Fprintf(e.stderr, "bench: report written to %s\n", *jsonPath)
	}
	return nil
}

// parseCounts parses "2000,100000" (also 2k, 100k, 1M).
func parseCounts(flagName, s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		p := strings.TrimSpace(part)
		if p == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(p, "k"), strings.HasSuffix(p, "K"):
			mult, p = 1000, p[:len(p)-1]
		case strings.HasSuffix(p, "M"), strings.HasSuffix(p, "m"):
			mult, p = 1_000_000, p[:len(p)-1]
		}
		n, err := strconv.Atoi(strings.ReplaceAll(p, "_", ""))
		if err != nil || n <= 0 {
			return nil, usagef("--%s %q: %q is not a positive count", flagName, s, part)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, usagef("--%s %q: no count given", flagName, s)
	}
	return out, nil
}

// benchRedisURL is REDIS_URL, else the URL of the local server that
// scripts/redis.sh starts (or finds running).
func benchRedisURL(ctx context.Context) (string, error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u, nil
	}
	script, err := findScript("scripts/redis.sh")
	if err != nil {
		return "", fmt.Errorf("no Redis: REDIS_URL is not set and %w", err)
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "start")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("no Redis: REDIS_URL is not set and %s start failed: %v: %s", script, err, strings.TrimSpace(errb.String()))
	}
	u := strings.TrimSpace(out.String())
	if u == "" {
		return "", fmt.Errorf("no Redis: %s start printed no URL", script)
	}
	return u, nil
}

// findScript looks for rel in the working directory and its parents.
func findScript(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New(rel + " was not found in the working directory or its parents (run from the repository, or set REDIS_URL)")
		}
		dir = parent
	}
}
