package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/internal/bench"
	"github.com/crmpulse/crmpulse/internal/redistest"
)

// TestBenchCLI runs the retrieval group through the CLI against a private
// Redis and checks the printed table and the JSON file.
func TestBenchCLI(t *testing.T) {
	t.Setenv("REDIS_URL", redistest.URL(t))
	out := filepath.Join(t.TempDir(), "sub", "bench.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--only", "retrieval", "--vectors", "300", "--json", out}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, s := range []string{"| metric", "retrieval p99, one account (exact)", "300 vectors", "< 3 s"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "bench: ") {
		t.Errorf("no progress on stderr: %s", stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := bench.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if row, ok := rep.Find("retrieval p50, industry + type filter", "300 vectors"); !ok || row.Value == nil {
		t.Errorf("JSON lacks the retrieval row: %+v", row)
	}
}

func TestBenchCLIBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--accounts", "lots"},
		{"bench", "--vectors", "0"},
		{"bench", "--llm-latency", "-1s"},
		{"bench", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr.String())
		}
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts("vectors", "3000, 100k,1M,2_000")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{3000, 100_000, 1_000_000, 2000}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", ",", "-5", "1.5k", "x"} {
		if _, err := parseCounts("vectors", bad); err == nil {
			t.Errorf("parseCounts(%q) succeeded", bad)
		}
	}
}
