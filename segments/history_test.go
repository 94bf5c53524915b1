package segments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/internal/segtest"
)

// TestMigrationAcrossSandboxSteps records a segmentation, lets the sandbox
// live through time steps (new deals, churn, edits) and records again after
// each: moves land in the account histories and the run log, the counts add
// up, and every move obeys the rules (purchase → never down, no purchase →
// never up).
func TestMigrationAcrossSandboxSteps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := segtest.Start(t, sandbox.Options{Accounts: 240, Seed: 11, Now: sandboxNow, ActivityScale: 0.3})
	tr := segments.NewTracker(redistest.Client(t), "t")
	cfg := config.Default()
	cfg.LLM.Language = "en"

	design := func() *segments.Segmentation {
		now := env.SB.Clock.Now()
		seg, err := segments.Design(ctx, loadHistories(t, env.SF, now), now, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return seg
	}
	seg := design()
	run, err := tr.Record(ctx, "sf", seg)
	if err != nil {
		t.Fatal(err)
	}
	if !run.First || run.Entered != len(seg.Accounts) || len(run.Moves) != 0 || run.ID != 1 {
		t.Fatalf("first run %+v", run)
	}
	// Recording the same data again moves nobody.
	if run, err = tr.Record(ctx, "sf", design()); err != nil || run.Unchanged != len(seg.Accounts) || run.Held != 0 || run.First {
		t.Fatalf("same data again: %+v, %v", run, err)
	}

	totalMoves, totalHeld := 0, 0
	for step := 1; step <= 4; step++ {
		before := map[string]segments.State{}
		for _, a := range seg.Accounts {
			s, ok, err := tr.Current(ctx, "sf", a.AccountID)
			if err != nil || !ok {
				t.Fatalf("current %s: %v %v", a.AccountID, ok, err)
			}
			before[a.AccountID] = s
		}
		env.Step(t, 45)
		seg = design()
		run, err = tr.Record(ctx, "sf", seg)
		if err != nil {
			t.Fatal(err)
		}
		moved := 0
		for _, m := range run.Moves {
			moved += m.Count
		}
		if moved != run.Upgrades+run.Downgrades || run.Upgrades+run.Downgrades+run.Unchanged+run.Entered != run.Accounts {
			t.Errorf("step %d: run counts do not add up: %+v", step, run)
		}
		totalMoves += moved
		totalHeld += run.Held
		t.Logf("step %d (as of %s): %d up, %d down, %d same, %d new, %d left, %d held; %s", step, run.AsOf.Format("2006-01-02"),
			run.Upgrades, run.Downgrades, run.Unchanged, run.Entered, run.Left, run.Held, strings.Join(run.Summary(seg.Labels()), "; "))
		for _, a := range seg.Accounts {
			p, ok := before[a.AccountID]
			if !ok {
				continue
			}
			bought := a.LastOrder.After(p.LastOrder) || a.Frequency > p.Frequency
			up, down := segments.Rank(a.Segment) > segments.Rank(p.Segment), segments.Rank(a.Segment) < segments.Rank(p.Segment)
			if bought && down {
				t.Errorf("%s bought (orders %d→%d) yet moved down %s→%s", a.AccountID, p.Frequency, a.Frequency, p.Segment, a.Segment)
			}
			if !bought && up {
				t.Errorf("%s did not buy yet moved up %s→%s", a.AccountID, p.Segment, a.Segment)
			}
			if a.Segment != p.Segment {
				last, ok, err := tr.LastMove(ctx, "sf", a.AccountID)
				if err != nil || !ok || last.From != p.Segment || last.To != a.Segment || last.Run != run.ID || !last.At.Equal(run.AsOf.UTC()) {
					t.Errorf("%s: last move %+v %v %v, want %s→%s in run %d", a.AccountID, last, ok, err, p.Segment, a.Segment, run.ID)
				}
				cur, _, _ := tr.Current(ctx, "sf", a.AccountID)
				if !cur.Since.Equal(run.AsOf.UTC()) {
					t.Errorf("%s: since %v, want %v", a.AccountID, cur.Since, run.AsOf)
				}
			}
			if a.Held != "" && a.Segment != p.Segment {
				t.Errorf("%s held (%s) but moved", a.AccountID, a.Held)
			}
		}
	}
	if totalMoves == 0 {
		t.Error("180 days of sandbox life moved nobody")
	}
	runs, err := tr.Runs(ctx, "sf", 0)
	if err != nil || len(runs) != 6 || runs[0].ID != 6 || runs[5].ID != 1 {
		t.Fatalf("run log: %d runs, %v", len(runs), err)
	}
	latest, err := tr.Latest(ctx, "sf")
	if err != nil || !latest.AsOf.Equal(seg.AsOf) || len(latest.Accounts) != len(seg.Accounts) {
		t.Fatalf("latest: %v", err)
	}
	// Going back in time is refused.
	old := *seg
	old.AsOf = seg.AsOf.AddDate(0, 0, -1)
	if _, err := tr.Record(ctx, "sf", &old); !errors.Is(err, segments.ErrStale) {
		t.Errorf("older segmentation: %v", err)
	}
	t.Logf("%d moves, %d held over 4 steps", totalMoves, totalHeld)
}

func TestApplyRules(t *testing.T) {
	d := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := func(id, seg string, freq int, last time.Time) segments.AccountSegment {
		return segments.AccountSegment{AccountID: id, Segment: seg, SubSegment: segments.Label(seg, "en") + " · Retail", Frequency: freq, LastOrder: last}
	}
	seg := &segments.Segmentation{
		Segments: []segments.Segment{{Key: segments.VIP}, {Key: segments.Loyal}, {Key: segments.AtRisk}, {Key: segments.Dormant}},
		Accounts: []segments.AccountSegment{
			acct("big-buy", segments.AtRisk, 6, d),                // bought big, quantiles say down: held
			acct("aged", segments.AtRisk, 5, d.AddDate(0, -6, 0)), // no purchase, down: allowed
			acct("drift", segments.VIP, 5, d.AddDate(0, -6, 0)),   // no purchase, up: held
			acct("buyer", segments.VIP, 6, d),                     // purchase, up: allowed
			acct("new", segments.Dormant, 1, d.AddDate(-2, 0, 0)),
		},
	}
	prev := map[string]segments.State{
		"big-buy": {Segment: segments.Loyal, Frequency: 5, LastOrder: d.AddDate(0, -6, 0)},
		"aged":    {Segment: segments.Loyal, Frequency: 5, LastOrder: d.AddDate(0, -6, 0)},
		"drift":   {Segment: segments.Loyal, Frequency: 5, LastOrder: d.AddDate(0, -6, 0)},
		"buyer":   {Segment: segments.Loyal, Frequency: 5, LastOrder: d.AddDate(0, -6, 0)},
	}
	if n := segments.ApplyRules(prev, seg); n != 2 {
		t.Errorf("%d held, want 2", n)
	}
	want := map[string][3]string{
		"big-buy": {segments.Loyal, segments.HeldNoDowngrade, "Loyal · Retail"},
		"aged":    {segments.AtRisk, "", "At Risk · Retail"},
		"drift":   {segments.Loyal, segments.HeldNoUpgrade, "Loyal · Retail"},
		"buyer":   {segments.VIP, "", "VIP · Retail"},
		"new":     {segments.Dormant, "", "Dormant · Retail"},
	}
	for _, a := range seg.Accounts {
		if w := want[a.AccountID]; a.Segment != w[0] || a.Held != w[1] || a.SubSegment != w[2] {
			t.Errorf("%s: %s held %q sub %q, want %v", a.AccountID, a.Segment, a.Held, a.SubSegment, w)
		}
	}
	counts := map[string]int{}
	for _, s := range seg.Segments {
		counts[s.Key] = s.Count
	}
	if counts[segments.Loyal] != 2 || counts[segments.VIP] != 1 || counts[segments.AtRisk] != 1 || counts[segments.Dormant] != 1 {
		t.Errorf("recount %v", counts)
	}
}

func TestTrackerBusyAndLeft(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	tr := segments.NewTracker(rdb, "t")
	d := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seg := &segments.Segmentation{AsOf: d, Segments: []segments.Segment{{Key: segments.Dormant}},
		Accounts: []segments.AccountSegment{{AccountID: "a", Segment: segments.Dormant}, {AccountID: "b", Segment: segments.Dormant}}}
	if _, err := tr.Record(ctx, "c", seg); err != nil {
		t.Fatal(err)
	}
	seg.AsOf = d.AddDate(0, 0, 1)
	seg.Accounts = seg.Accounts[:1]
	run, err := tr.Record(ctx, "c", seg)
	if err != nil || run.Left != 1 {
		t.Fatalf("%+v %v", run, err)
	}
	if _, ok, _ := tr.Current(ctx, "c", "b"); ok {
		t.Error("b still has a segment after leaving")
	}
	cs, err := segments.History(ctx, rdb, "t", "c", "b")
	if err != nil || len(cs) != 2 || cs[0].Direction() != "left" || cs[1].Direction() != "new" {
		t.Errorf("history of b: %+v %v", cs, err)
	}
	if err := rdb.Set(ctx, "t:segments:c:lock", "other", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Record(ctx, "c", seg); !errors.Is(err, segments.ErrBusy) {
		t.Errorf("locked: %v", err)
	}
	if _, err := tr.Record(ctx, "bad:name", seg); err == nil || !strings.Contains(err.Error(), "bad:name") {
		t.Errorf("bad connection name: %v", err)
	}
	if _, err := segments.NewTracker(rdb, "t").Latest(ctx, "none"); !errors.Is(err, segments.ErrNoRun) {
		t.Errorf("latest of nothing: %v", err)
	}
}
