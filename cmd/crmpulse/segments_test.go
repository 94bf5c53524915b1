package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

// TestSegmentsCLI syncs a sandbox with the real engine, then designs,
// shows, applies (twice) and exports segments through the CLI.
func TestSegmentsCLI(t *testing.T) {
	ctx := context.Background()
	sb, srv := sandboxsrv.StartTest(t, sandbox.Options{Accounts: 150, Seed: 9, Now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC), ActivityScale: 0.2})
	sb.Clock.Advance(time.Minute)
	dir := t.TempDir()
	cfgPath := sandboxConfig(t, dir, srv.URL, "llm:\n  language: en\n")
	syncAll := func() {
		cfg, err := app.LoadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, err := app.Open(ctx, cfg, &app.Options{Logger: quiet, HTTP: httpx.Options{Wait: func(int, time.Duration) time.Duration { return 0 }}})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		se, err := crmsync.FromApp(a, &crmsync.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := se.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	syncAll()
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append([]string{"--config", cfgPath}, args...), &out, &errb); code != want {
			t.Fatalf("%v: exit %d, want %d; stderr %s", args, code, want, errb.String())
		}
		return out.String()
	}
	asOf := sb.Clock.Now().Format("2006-01-02")
	out := cli(exitOK, "segments", "design", "--as-of", asOf)
	for _, want := range []string{"sandbox-sf: 150 accounts", "VIP", "Dormant", "Prospect", "last order ≤", "First recorded run (1): 150 accounts assigned."} {
		if !strings.Contains(out, want) {
			t.Errorf("design output lacks %q:\n%s", want, out)
		}
	}
	var shown []struct {
		Accounts int `json:"accounts"`
		Segments []struct {
			ID    string  `json:"id"`
			Count int     `json:"count"`
			Share float64 `json:"share"`
		} `json:"segments"`
	}
	if err := json.Unmarshal([]byte(cli(exitOK, "segments", "show", "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || shown[0].Accounts != 150 || len(shown[0].Segments) != 8 {
		t.Fatalf("show --json: %+v", shown)
	}
	first := cli(exitOK, "segments", "apply")
	if strings.Count(first, " created ") != 8 {
		t.Errorf("first apply:\n%s", first)
	}
	second := cli(exitOK, "segments", "apply")
	if strings.Count(second, " updated ") != 8 || strings.Contains(second, "created") {
		t.Errorf("second apply:\n%s", second)
	}
	exp := filepath.Join(dir, "exp")
	out = cli(exitOK, "segments", "export", "--out", exp)
	soql, err := os.ReadFile(filepath.Join(exp, "sandbox-sf.segments.soql"))
	if err != nil || !strings.Contains(string(soql), "SELECT Id, Name FROM Account WHERE AI_Segment__c = 'vip'") {
		t.Errorf("export wrote %s; soql %s %v", out, soql, err)
	}

	// Three months later: the second design reports the moves.
	sb.Step(90)
	sb.Clock.Advance(time.Minute)
	syncAll()
	out = cli(exitOK, "segments", "design", "--as-of", sb.Clock.Now().Format("2006-01-02"))
	if !strings.Contains(out, "Since the previous run (run 2)") || !strings.Contains(out, " moved ") {
		t.Errorf("second design lacks the migration summary:\n%s", out)
	}
	t.Logf("%s", out[strings.Index(out, "Since the previous run"):])

	cli(exitUsage, "segments", "frobnicate")
	cli(exitConfig, "segments", "show", "--connection", "nope")
}
