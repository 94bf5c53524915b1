package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestInsightsBGNBDOnCDNOW(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"insights", "bgnbd", "--summary", "../../insights/bgnbd/testdata/cdnow_customers_summary.csv"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		fs := strings.Fields(line)
		if len(fs) != 2 {
			t.Fatalf("unexpected line %q", line)
		}
		v, err := strconv.ParseFloat(fs[1], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got[fs[0]] = v
	}
	// Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
	for k, want := range map[string]float64{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426} {
		if v := got[k]; v < want-5e-4-1e-3*want || v > want+5e-4+1e-3*want {
			t.Errorf("%s = %v, published %v", k, v, want)
		}
	}
	if ll := got["log-likelihood"]; ll < -9582.5 || ll > -9582.3 {
		t.Errorf("log-likelihood = %v, published -9582.4", ll)
	}
	if got["customers"] != 2357 || got["iterations"] <= 0 {
		t.Errorf("customers %v iterations %v", got["customers"], got["iterations"])
	}
}

func TestInsightsBGNBDBadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("frequency,recency,T\n1,2,3\n1,x,3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"insights", "bgnbd", "--summary", bad}, &out, &errb)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	msg := errb.String()
	for _, want := range []string{bad, "line 3", "column recency"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr %q lacks %q", msg, want)
		}
	}

	code = run(context.Background(), []string{"insights", "bgnbd"}, &out, &errb)
	if code != exitUsage {
		t.Errorf("missing --summary: exit %d, want %d", code, exitUsage)
	}
	code = run(context.Background(), []string{"insights", "bgnbd", "--summary", filepath.Join(dir, "none.csv")}, &out, &errb)
	if code != exitError {
		t.Errorf("missing file: exit %d, want %d", code, exitError)
	}
}

func TestInsightsRunShowEvalOnSandbox(t *testing.T) {
	ctx := context.Background()
	sb, srv := sandboxsrv.StartTest(t, sandbox.Options{Accounts: 250, Seed: 5, Now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)})
	dir := t.TempDir()
	cfgPath := sandboxConfig(t, dir, srv.URL, "llm:\n  language: en\n")
	truthPath := filepath.Join(dir, "truth.json")
	f, err := os.Create(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.WriteTruth(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Sync the sandbox with the real engine.
	cfg, err := app.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(ctx, cfg, &app.Options{Logger: quiet, HTTP: httpx.Options{Wait: func(int, time.Duration) time.Duration { return 0 }}})
	if err != nil {
		t.Fatal(err)
	}
	se, err := crmsync.FromApp(a, &crmsync.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := se.Run(ctx); err != nil {
		t.Fatal(err)
	}
	ids, err := crmsync.Accounts(ctx, a.Store, "sandbox-sf")
	if err != nil || len(ids) == 0 {
		t.Fatalf("accounts %d, %v", len(ids), err)
	}
	a.Close()

	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(ctx, append([]string{"--config", cfgPath, "--log-level", "warn"}, args...), &out, &errb)
		if code != exitOK {
			t.Fatalf("%v: exit %d\nstdout %s\nstderr %s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	// The sync queued every account; run drains the queue with two workers.
	out := cli("insights", "run", "--workers", "2", "--no-llm", "--as-of", "2025-06-02")
	if !strings.Contains(out, "accounts/s") || !strings.Contains(out, "risk bands: high") {
		t.Errorf("run output:\n%s", out)
	}
	t.Log(out)
	// A second run of the same accounts finds them unchanged.
	out = cli("insights", "run", "--connection", "sandbox-sf", "--all", "--no-llm", "--as-of", "2025-06-02")
	if !strings.Contains(out, "analysed 0, unchanged "+strconv.Itoa(len(ids))) {
		t.Errorf("second run:\n%s", out)
	}
	html := filepath.Join(dir, "r.html")
	cli("insights", "show", "sandbox-sf", ids[0], "--format", "html", "--out", html)
	b, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "Churn risk:") {
		t.Errorf("html report: %v %.300s", err, b)
	}
	for _, format := range []string{"text", "md", "json"} {
		if out := cli("insights", "show", "sandbox-sf", ids[0], "--format", format); !strings.Contains(out, ids[0]) {
			t.Errorf("show --format %s:\n%s", format, out)
		}
	}
	out = cli("insights", "eval", "--connection", "sandbox-sf", "--truth", truthPath)
	t.Log(out)
	for _, want := range []string{"AUC", "Brier", "calibration", "ablation", "without"} {
		if !strings.Contains(out, want) && !strings.Contains(out, "engagement") {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	var errb bytes.Buffer
	if code := run(ctx, []string{"--config", cfgPath, "insights", "show", "sandbox-sf", "no-such-account"}, &out2{}, &errb); code != exitError || !strings.Contains(errb.String(), "insights run") {
		t.Errorf("show of an unknown account: exit %d, %s", code, errb.String())
	}
	if code := run(ctx, []string{"--config", cfgPath, "insights", "run", "--llm", "--no-llm"}, &out2{}, &errb); code != exitUsage {
		t.Errorf("--llm --no-llm: exit %d", code)
	}
}

type out2 = bytes.Buffer
