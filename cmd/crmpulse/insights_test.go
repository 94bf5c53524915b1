package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

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

func TestInsightsOtherSubcommandsNotBuilt(t *testing.T) {
	for _, sub := range []string{"run", "show", "eval"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"insights", sub}, &out, &errb)
		if code != exitNotBuilt || !strings.Contains(errb.String(), "not available in this build yet") {
			t.Errorf("insights %s: exit %d, stderr %q", sub, code, errb.String())
		}
	}
}
