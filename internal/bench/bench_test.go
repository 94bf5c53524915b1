package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/llm"
	"github.com/crmpulse/crmpulse/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// expectedRows lists the (metric, scale) rows a run with these settings must
// print, each with a value or a skip reason.
func expectedRows(accounts, vectors int, conc []int, latency time.Duration) [][2]string {
	var rows [][2]string
	label := ScaleName(accounts) + " accounts"
	rows = append(rows, [2]string{"sandbox generation", label})
	for _, c := range []string{"sf", "hs"} {
		s := label + ", " + c
		for _, m := range []string{"initial sync throughput", "read API calls, initial sync", "incremental sync throughput",
			"incremental sync cycle", "statistical insights throughput", "base preparation (BG/NBD fit, churn model)",
			"one account, statistical (p50)", "one account, statistical (p99)", "1000 accounts at once, statistical",
			"write API calls per 1000 changed records", "write-back throughput", "write API calls, unchanged cycle"} {
			rows = append(rows, [2]string{m, s})
		}
		rows = append(rows, [2]string{"full cycle, statistical", s + ", 1% changed"})
	}
	for _, c := range conc {
		rows = append(rows, [2]string{"LLM analyses per second", fmt.Sprintf("concurrency %d, latency %s", c, latency)})
	}
	rows = append(rows, [2]string{"one account, LLM analysis (p50)", "latency " + latency.String()})
	vs := ScaleName(vectors) + " vectors"
	for _, m := range []string{"vector index build", "retrieval p50, industry + type filter", "retrieval p99, industry + type filter",
		"retrieval p50, one account (exact)", "retrieval p99, one account (exact)"} {
		rows = append(rows, [2]string{m, vs})
	}
	for _, sc := range []string{"sandbox generation " + ScaleName(accounts), "sync " + ScaleName(accounts), "insights " + ScaleName(accounts),
		"writeback " + ScaleName(accounts), "cycle " + ScaleName(accounts), "llm " + ScaleName(accounts), "retrieval " + ScaleName(vectors)} {
		rows = append(rows, [2]string{"peak Go heap", sc}, [2]string{"peak RSS", sc})
	}
	return rows
}

// TestRunQuick runs every scenario at its smallest against a real Redis and
// the sandbox over HTTP and checks the table is complete, the counts that
// do not depend on timing, and the JSON round trip.
func TestRunQuick(t *testing.T) {
	const accounts, vectors = 60, 400
	latency := 20 * time.Millisecond
	conc := []int{1, 4}
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Options{
		Redis: redistest.Client(t), RedisURL: "redis://user:secret@127.0.0.1:1/0", Quick: true,
		Accounts: []int{accounts}, Vectors: []int{vectors}, LLMLatency: latency, LLMConcurrency: conc,
		Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		var b strings.Builder
		_ = rep.WriteTable(&b)
		t.Log("\n" + b.String())
	}
	for _, want := range expectedRows(accounts, vectors, conc, latency) {
		row, ok := rep.Find(want[0], want[1])
		if !ok {
			t.Errorf("no row %q at %q", want[0], want[1])
			continue
		}
		if (row.Value == nil) == (row.Skip == "") {
			t.Errorf("row %q at %q: want a value or a skip reason, got value %v skip %q", want[0], want[1], row.Value, row.Skip)
		}
	}
	for _, row := range rep.Rows {
		if row.Value == nil && row.Skip == "" {
			t.Errorf("row %q at %q has neither value nor skip reason", row.Metric, row.Scale)
		}
		// In this configuration only the 1000-at-once LLM run is skipped
		// (--quick); every other scenario must have measured.
		if row.Skip != "" && row.Metric != "1000 accounts at once, LLM" {
			t.Errorf("row %q at %q skipped: %s", row.Metric, row.Scale, row.Skip)
		}
	}
	if row, ok := rep.Find("1000 accounts at once, LLM", fmt.Sprintf("%d accounts, concurrency 4, latency %s", accounts, latency)); !ok || row.Skip != "--quick" {
		t.Errorf("1000-at-once LLM row: %+v (found %v), want skipped for --quick", row, ok)
	}

	// Counts that do not depend on timing.
	for _, c := range crms {
		scale := fmt.Sprintf("%s accounts, %s", ScaleName(accounts), c.short)
		if row, _ := rep.Find("write API calls, unchanged cycle", scale); row.Value == nil || *row.Value != 0 {
			t.Errorf("%s: unchanged write-back cycle made calls: %+v", c.short, row)
		}
		// 60 records fit in one batch of either CRM: one call, i.e.
		// 1000/60 per 1000 records, which is the minimum.
		if row, _ := rep.Find("write API calls per 1000 changed records", scale); row.Value == nil || !strings.HasPrefix(row.Verdict, "at the minimum") {
			t.Errorf("%s: write calls not at the batch minimum: %+v", c.short, row)
		}
		if row, _ := rep.Find("read API calls, initial sync", scale); row.Value == nil || *row.Value < 1 {
			t.Errorf("%s: no read calls counted: %+v", c.short, row)
		}
	}
	if !strings.Contains(progress.String(), "bench: ") {
		t.Error("no progress lines")
	}
	if rep.Machine.Cores < 1 || rep.Machine.GoVersion == "" || !strings.HasPrefix(rep.Machine.RedisVersion, "8.") {
		t.Errorf("machine header incomplete: %+v", rep.Machine)
	}
	if strings.Contains(rep.Machine.RedisURL, "secret") {
		t.Errorf("credentials in the report: %s", rep.Machine.RedisURL)
	}

	// JSON round trip.
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalise(rep), normalise(back)) {
		t.Errorf("JSON round trip changed the report:\n got %+v\nwant %+v", back, rep)
	}

	// The table has a header and every row.
	var tb strings.Builder
	if err := rep.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	table := tb.String()
	for _, s := range []string{"| metric", "| verdict", "Redis " + rep.Machine.RedisVersion, "skipped: --quick", "retrieval p99, one account (exact)"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	if got, want := strings.Count(table, "\n| "), len(rep.Rows)+2; got != want {
		t.Errorf("table has %d lines starting with '| ', want %d (header, rule, rows)", got, want)
	}

	// Nothing is left under the namespace.
	keys, err := redistest.Client(t).Keys(t.Context(), "crmpulse-bench:*").Result()
	if err == nil && len(keys) > 0 {
		t.Errorf("keys left behind: %v", keys[:min(len(keys), 5)])
	}
}

// normalise drops the monotonic clock reading, which JSON does not keep.
func normalise(r *Report) *Report {
	c := *r
	c.Started = time.Unix(0, c.Started.UnixNano()).UTC()
	return &c
}

func TestOptionsRejectBadInput(t *testing.T) {
	rdb := redistest.Client(t)
	for _, o := range []Options{
		{},
		{Redis: rdb, Accounts: []int{10}},
		{Redis: rdb, Vectors: []int{5}},
		{Redis: rdb, LLMConcurrency: []int{0}},
		{Redis: rdb, Only: []string{"nope"}},
	} {
		if _, err := Run(t.Context(), o); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
}

func TestOnlyRetrieval(t *testing.T) {
	rdb := redistest.Client(t)
	rep, err := Run(t.Context(), Options{Redis: rdb, Only: []string{GroupRetrieval}, Vectors: []int{300}, KeepVectors: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rep.Rows {
		if row.Group != GroupRetrieval && row.Group != GroupMemory {
			t.Errorf("row of group %s in a retrieval-only run: %+v", row.Group, row)
		}
	}
	if _, ok := rep.Find("retrieval p99, one account (exact)", "300 vectors"); !ok {
		t.Error("no retrieval row")
	}
	// A kept set is reused by the next run.
	rep, err = Run(t.Context(), Options{Redis: rdb, Only: []string{GroupRetrieval}, Vectors: []int{300}})
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := rep.Find("vector index build", "300 vectors"); !strings.HasPrefix(row.Verdict, "reused") {
		t.Errorf("second run did not reuse the kept set: %+v", row)
	}
	// That run did not keep it: nothing is left.
	if keys, err := rdb.Keys(t.Context(), "crmpulse-bench:*").Result(); err != nil || len(keys) > 0 {
		t.Errorf("keys left behind: %v %v", keys, err)
	}
}

func TestAnswerSatisfiesSchemas(t *testing.T) {
	// The test endpoint's answers must pass the analyses' own validation.
	for name, schema := range map[string]llm.Schema{"account": llm.AccountSchema, "winback": llm.WinbackSchema, "segments": llm.SegmentSchema} {
		raw, err := json.Marshal(schema)
		if err != nil {
			t.Fatal(err)
		}
		var wire map[string]any // the schema as the endpoint receives it
		if err := json.Unmarshal(raw, &wire); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(answer(wire, "", []string{"006A", "00TB"}, new(int)))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		if errs := schema.Validate(v); len(errs) > 0 {
			t.Errorf("%s: answer %s fails its schema: %v", name, out, errs)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 5: "5", 1234567: "1,234,567", 0.236: "0.236", 7.1: "7.10", 97.04: "97.0", 1395.4: "1,395", -2500: "-2,500"} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
	if got := ScaleName(100_000); got != "100k" {
		t.Errorf("ScaleName(100000) = %q", got)
	}
	if got := ScaleName(1_000_000); got != "1M" {
		t.Errorf("ScaleName(1e6) = %q", got)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Minute: "1h30m", 2 * time.Hour: "2h", 45 * time.Minute: "45m", 200 * time.Second: "3m20s", 30 * time.Minute: "30m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestMaxSyncSkips checks that a scale whose sync is estimated past
// MaxSync (from the first scale's rate) is skipped with the reason, and
// that its dependent rows say why.
func TestMaxSyncSkips(t *testing.T) {
	rep, err := Run(t.Context(), Options{Redis: redistest.Client(t), Only: []string{GroupSync, GroupWriteback}, Accounts: []int{50, 60}, MaxSync: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := rep.Find("initial sync throughput", "50 accounts, sf"); row.Value == nil {
		t.Errorf("first scale not synced: %+v", row)
	}
	for _, c := range []string{"sf", "hs"} {
		row, ok := rep.Find("initial sync throughput", "60 accounts, "+c)
		if !ok || row.Value != nil || !strings.Contains(row.Skip, "--max-sync") {
			t.Errorf("%s: second scale not skipped for --max-sync: %+v", c, row)
		}
		row, ok = rep.Find("write API calls, unchanged cycle", "60 accounts, "+c)
		if !ok || row.Value != nil || row.Skip == "" {
			t.Errorf("%s: write-back row of the skipped scale: %+v", c, row)
		}
	}
	if _, ok := rep.Find("peak RSS", "sync 60"); ok {
		t.Error("memory row for a scale whose syncs were all skipped")
	}
}

func TestSkipKeepsMeasuredRows(t *testing.T) {
	r := &runner{rep: &Report{}}
	r.add(GroupSync, "initial sync throughput", "2k accounts, hs", 615, "records/s", "", "")
	r.skipSyncCRM("2k accounts", crms[1], "sync failed: incremental")
	n := 0
	for _, row := range r.rep.Rows {
		if row.Metric == "initial sync throughput" {
			n++
			if row.Value == nil {
				t.Errorf("measured row replaced by a skip: %+v", row)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d initial sync rows, want 1", n)
	}
	if row, ok := r.rep.Find("incremental sync cycle", "2k accounts, hs"); !ok || row.Skip != "sync failed: incremental" {
		t.Errorf("missing row not skipped: %+v", row)
	}
}
