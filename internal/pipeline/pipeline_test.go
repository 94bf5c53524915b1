package pipeline_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/pipeline"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/server"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/writeback"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func stage(t *testing.T, s server.CycleSummary, name string) server.StageSummary {
	t.Helper()
	for _, st := range s.Stages {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("%s: no stage %s in %+v", s.Connection, name, s.Stages)
	return server.StageSummary{}
}

// TestFullCycleTwice runs the whole cycle against both sandbox CRMs over
// HTTP and real Redis, checks what reached the CRM, and that a second cycle
// without CRM changes writes nothing.
func TestFullCycleTwice(t *testing.T) {
	ctx := context.Background()
	cfg := app.DefaultConfig()
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Namespace = "pipetest"
	cfg.LLM.Language = "en"
	a, err := app.Open(ctx, cfg, &app.Options{Sandbox: &sandbox.Options{Accounts: 80, Seed: 7}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// The generator stamps the newest records at the sandbox's "now"; an
	// incremental read ends at now minus the configured lag, so those would
	// only arrive with the second cycle. Move the clock past the lag so the
	// first cycle sees the whole base and the second sees no CRM change.
	a.Sandbox.Clock.Advance(time.Minute)
	p, err := pipeline.New(a, &pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Runner()
	for _, c := range a.Conns {
		conn := c.Name()
		first, err := r.RunCycle(ctx, conn)
		if err != nil {
			t.Fatalf("%s: first cycle: %v", conn, err)
		}
		if got := len(first.Stages); got != len(pipeline.AllStages) {
			t.Fatalf("%s: %d stages ran, want %d", conn, got, len(pipeline.AllStages))
		}
		syncSt := stage(t, first, server.StageSync)
		var accounts int64
		for _, rc := range syncSt.Records {
			if rc.Object == "accounts" {
				accounts = rc.Read
			}
		}
		if accounts == 0 {
			t.Fatalf("%s: sync read no accounts: %+v", conn, syncSt.Records)
		}
		ins := stage(t, first, server.StageInsights)
		if ins.Counts["analysed"] == 0 {
			t.Fatalf("%s: insights analysed nothing: %v", conn, ins.Counts)
		}
		wb := stage(t, first, server.StageWriteback)
		if wb.Counts["records_written"] == 0 || wb.Counts["dead_lettered"] != 0 {
			t.Fatalf("%s: writeback: %v", conn, wb.Counts)
		}
		lists := stage(t, first, server.StageLists)
		if lists.Counts["created"] == 0 {
			t.Fatalf("%s: no lists created: %v", conn, lists.Counts)
		}

		// What reached the CRM: every list's members carry its segment id in
		// the segment field, as the CRM itself evaluates the list.
		applied, err := segments.NewTracker(a.Store.Client(), a.Store.Namespace()).Applied(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for id, ap := range applied {
			members, err := c.SegmentMembers(ctx, ap.Segment)
			if err != nil {
				t.Fatal(err)
			}
			total += len(members)
			if id != ap.Value {
				t.Fatalf("%s: list for %s filters on %q", conn, id, ap.Value)
			}
		}
		if int64(total) != accounts {
			t.Fatalf("%s: lists hold %d accounts, the CRM has %d", conn, total, accounts)
		}

		second, err := r.RunCycle(ctx, conn)
		if err != nil {
			t.Fatalf("%s: second cycle: %v", conn, err)
		}
		wb2 := stage(t, second, server.StageWriteback)
		if wb2.Counts["write_calls"] != 0 || wb2.Counts["fields_written"] != 0 {
			au, _ := writeback.Audit(ctx, a.Store, conn, 12)
			for _, e := range au {
				t.Logf("audit %s %s %q -> %q %s %s", e.Record, e.Field, e.Old, e.New, e.Result, e.Note)
			}
			t.Fatalf("%s: second cycle without CRM changes wrote: %v", conn, wb2.Counts)
		}
		if l2 := stage(t, second, server.StageLists); l2.Counts["created"] != 0 {
			t.Fatalf("%s: second cycle created lists again: %v", conn, l2.Counts)
		}
		if n, err := writeback.Pending(ctx, a.Store, conn); err != nil || n != 0 {
			t.Fatalf("%s: outbox pending %d, %v", conn, n, err)
		}
	}
}

func TestUnknownStageIsRefused(t *testing.T) {
	ctx := context.Background()
	cfg := app.DefaultConfig()
	cfg.Redis.URL = redistest.URL(t)
	a, err := app.Open(ctx, cfg, &app.Options{NoConnections: true, NoIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := pipeline.New(a, &pipeline.Options{Stages: []string{"sync", "publish"}}); err == nil {
		t.Fatal("unknown stage accepted")
	}
}

// TestCyclesKeepTheirOwnAccounts syncs both connections and then runs the
// insights stage of one: it must analyse that connection's accounts only,
// leaving the other's queued for its own cycle (the daemon runs cycles of
// different connections at the same time).
func TestCyclesKeepTheirOwnAccounts(t *testing.T) {
	ctx := context.Background()
	cfg := app.DefaultConfig()
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Namespace = "pipeown"
	a, err := app.Open(ctx, cfg, &app.Options{Sandbox: &sandbox.Options{Accounts: 40, Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Sandbox.Clock.Advance(time.Minute)
	if len(a.Conns) < 2 {
		t.Fatalf("want two sandbox connections, have %d", len(a.Conns))
	}
	syncOnly, err := pipeline.New(a, &pipeline.Options{Stages: []string{server.StageSync}})
	if err != nil {
		t.Fatal(err)
	}
	insightsOnly, err := pipeline.New(a, &pipeline.Options{Stages: []string{server.StageInsights}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range a.Conns {
		if _, err := syncOnly.Runner().RunCycle(ctx, c.Name()); err != nil {
			t.Fatalf("%s: sync: %v", c.Name(), err)
		}
	}
	for _, c := range a.Conns {
		s, err := insightsOnly.Runner().RunCycle(ctx, c.Name())
		if err != nil {
			t.Fatalf("%s: insights: %v", c.Name(), err)
		}
		if got := stage(t, s, server.StageInsights).Counts["analysed"]; got != 40 {
			t.Errorf("%s: the insights stage analysed %d accounts, want its own 40", c.Name(), got)
		}
	}
}
