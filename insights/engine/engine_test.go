package engine

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

const conn = app.SandboxSalesforce

type synced struct {
	sb  *sandbox.Sandbox
	app *app.App
	st  *store.Store
}

// syncSandbox serves a sandbox over HTTP and syncs its Salesforce org into
// a fresh Redis database with the real sync engine.
func syncSandbox(t testing.TB, accounts int) *synced {
	t.Helper()
	sb, srv := sandboxsrv.StartTest(t, sandbox.Options{Accounts: accounts, Seed: 11, Now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)})
	rdb := redistest.Client(t)
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.DefaultConfig()
	for i := range cfg.Connections {
		cfg.Connections[i].BaseURL = srv.URL
	}
	cfg.Writeback.Connections = nil
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), cfg, &app.Options{Store: st, Connections: []string{conn},
		HTTP: httpx.Options{Wait: func(int, time.Duration) time.Duration { return 0 }}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	eng, err := crmsync.FromApp(a, &crmsync.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &synced{sb: sb, app: a, st: a.Store}
}

func TestOnSyncedSandbox(t *testing.T) {
	s := syncSandbox(t, 300)
	ctx := context.Background()
	eng := New(s.st, s.app.Embedder, nil, Options{Language: "en"})
	now := s.sb.Clock.Now()

	t.Run("insights", func(t *testing.T) {
		r := &Runner{Engine: eng, AsOf: now}
		b, err := r.Base(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("model %+v", b.Info)
		bands := map[string]int{}
		var withCross, withComp, withDrivers int
		for _, id := range b.IDs {
			if err := r.Handle(ctx, conn, id, false); err != nil {
				t.Fatal(err)
			}
			res, err := result.LoadResult(ctx, s.st, conn, id)
			if err != nil {
				t.Fatal(err)
			}
			if !(res.Churn >= 0 && res.Churn <= 1) || res.Band != result.BandFor(res.Churn, b.BaseRate()) || res.Source != result.SourceStatistical {
				t.Fatalf("result %+v", res)
			}
			bands[res.Band]++
			h := b.Histories[id]
			known := map[string]bool{}
			for _, a := range h.Activities {
				known[a.ID] = true
			}
			for _, o := range h.Opportunities {
				known[o.ID] = true
			}
			for _, d := range res.Drivers {
				for _, ev := range d.Evidence {
					if !known[ev] {
						t.Errorf("%s: driver %s cites %s, not a record of the account", id, d.Feature, ev)
					}
				}
			}
			if len(res.Drivers) > 0 {
				withDrivers++
			}
			for _, c := range res.CrossSell {
				if !c.Upsell {
					withCross++
					if slices.Contains(c.Accounts, id) {
						t.Errorf("%s is its own neighbour", id)
					}
					break
				}
			}
			if len(res.Competitors) > 0 {
				withComp++
				for _, c := range res.Competitors {
					for _, ev := range c.Evidence {
						if !known[ev] {
							t.Errorf("%s: competitor %s cites unknown %s", id, c.Name, ev)
						}
					}
				}
			}
			if len(res.Quarters) != 8 || res.Analysis == nil || res.Summary == "" {
				t.Fatalf("result lacks quarters or analysis: %+v", res)
			}
		}
		t.Logf("bands %v, with drivers %d, cross-sell %d, competitors %d of %d", bands, withDrivers, withCross, withComp, len(b.IDs))
		if bands[result.BandHigh] == 0 || bands[result.BandLow]+bands[result.BandMedium] == 0 {
			t.Errorf("bands %v: no spread", bands)
		}
		if withCross == 0 || withComp == 0 || withDrivers == 0 {
			t.Errorf("cross-sell %d, competitors %d, drivers %d", withCross, withComp, withDrivers)
		}
		// Unchanged accounts are not analysed twice.
		if err := r.Handle(ctx, conn, b.IDs[0], false); !errors.Is(err, ErrUnchanged) {
			t.Errorf("second analysis: %v, want ErrUnchanged", err)
		}
		if ids, _ := result.Accounts(ctx, s.st, conn); len(ids) != len(b.IDs) {
			t.Errorf("%d listed results, want %d", len(ids), len(b.IDs))
		}
		if wb := r.Winbacks.Load(); wb == 0 {
			t.Errorf("no win-back plan written")
		}
	})

	ids, hs, err := eng.LoadHistories(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("exact neighbours are at least as near as the index's", func(t *testing.T) {
		b, err := eng.Prepare(ctx, conn, now)
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.profiles(ctx, eng)
		if err != nil {
			t.Fatal(err)
		}
		if p.Len() != len(b.IDs) || p.Missing != 0 {
			t.Fatalf("%d profiles (missing %d) for %d accounts", p.Len(), p.Missing, len(b.IDs))
		}
		const k = 10
		var found, agree int
		for _, id := range b.IDs[:100] {
			h := b.Histories[id]
			ind, band := groupOf(h)
			exact := p.Nearest(p.vecs[p.pos[id]], ind, band, id, k)
			raw, _ := eng.profileVector(ctx, conn, h)
			flt := store.Filter{Equals: map[string][]string{"type": {store.TypeAccount}, "conn": {conn}, "industry": {ind}, "size": {band}}}
			hits, err := s.st.Index().Search(ctx, store.Query{Vector: raw, K: k + 4, Filter: flt})
			if err != nil {
				t.Fatal(err)
			}
			var idx []float64
			inExact := map[string]bool{}
			for _, e := range exact {
				inExact[p.ids[e.pos]] = true
			}
			seen := map[string]bool{id: true}
			for _, hit := range hits {
				if a := hit.Attrs.Account; !seen[a] && len(idx) < k {
					seen[a] = true
					// Re-scored exactly: the index's scores carry its
					// quantisation error.
					idx = append(idx, (1+dot(p.vecs[p.pos[id]], p.vecs[p.pos[a]]))/2)
					found++
					if inExact[a] {
						agree++
					}
				}
			}
			slices.SortFunc(idx, func(x, y float64) int { return cmp.Compare(y, x) })
			for r := range min(len(idx), len(exact)) {
				if exact[r].score < idx[r]-1e-6 {
					t.Errorf("%s: rank %d exact similarity %.5f below the index's %.5f", id, r, exact[r].score, idx[r])
				}
			}
			if len(exact) < len(idx) {
				t.Errorf("%s: %d exact neighbours, the index found %d", id, len(exact), len(idx))
			}
		}
		t.Logf("index neighbours also found by the exact scan: %d of %d", agree, found)
	})

	t.Run("histories carry the CRM's recorded churn", func(t *testing.T) {
		churned := 0
		for _, id := range ids {
			if !hs[id].ChurnedAt.IsZero() {
				churned++
			}
		}
		if churned == 0 {
			t.Errorf("no recorded churn found")
		}
	})
	truth := s.sb.Truth
	labels := map[string]bool{}
	for _, id := range ids {
		if at, ok := truth.BySalesforceID(id); ok && at.AliveAtCutoff {
			labels[id] = at.Churned
		}
	}
	bt := New(s.st, nil, nil, Options{Horizon: truth.Horizon.Sub(truth.Cutoff), MinLabels: 10})

	t.Run("backtest", func(t *testing.T) {
		rep, err := bt.Backtest(conn, truth.Cutoff, ids, hs, labels, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("backtest at %s: n=%d positives=%d AUC=%.3f Brier=%.3f (base %.3f) model=%+v", rep.Cutoff.Format("2006-01-02"), rep.N, rep.Positives, rep.AUC, rep.Brier, rep.BaseBrier, rep.Model)
		for _, a := range rep.Ablation {
			t.Logf("without %-10s AUC %.3f (%+.3f)", a.Without, a.AUC, a.Delta)
		}
		if rep.AUC < 0.6 {
			t.Errorf("AUC %.3f, want at least 0.6", rep.AUC)
		}
	})

	t.Run("no leakage", func(t *testing.T) {
		// Rewrite the future: drop every purchase after the cutoff and add
		// alarming activities after it. Features and scores at the cutoff
		// must not move.
		altered := map[string]*churn.AccountHistory{}
		for _, id := range ids {
			h := *hs[id]
			h.Purchases = slices.DeleteFunc(slices.Clone(h.Purchases), func(p churn.Purchase) bool { return p.Date.After(truth.Cutoff) })
			h.Activities = append(slices.Clone(h.Activities), churn.Activity{ID: "future-" + id, Date: truth.Cutoff.Add(24 * time.Hour), Kind: "email", Text: "We will cancel and switch to a competitor; budget cut; 解約します"})
			for i := range h.Opportunities {
				if h.Opportunities[i].Created.After(truth.Cutoff) {
					h.Opportunities[i].Amount *= 100
				}
			}
			altered[id] = &h
		}
		a, err := bt.Backtest(conn, truth.Cutoff, ids, hs, labels, false)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bt.Backtest(conn, truth.Cutoff, ids, altered, labels, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.AUC != b.AUC || a.Brier != b.Brier {
			t.Errorf("post-cutoff data changed the backtest: AUC %v vs %v, Brier %v vs %v", a.AUC, b.AUC, a.Brier, b.Brier)
		}
		// The engine itself ignores post-cutoff records even without truncation.
		full, err := bt.PrepareFrom(conn, truth.Cutoff, ids, hs)
		if err != nil {
			t.Fatal(err)
		}
		cut := map[string]*churn.AccountHistory{}
		for _, id := range ids {
			cut[id] = TruncateHistory(hs[id], truth.Cutoff)
		}
		trunc, err := bt.PrepareFrom(conn, truth.Cutoff, ids, cut)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[:50] {
			fa, _ := full.Features(id)
			fb, _ := trunc.Features(id)
			for k := range fa.Values {
				x, y := fa.Values[k], fb.Values[k]
				if !(x == y || math.IsNaN(x) && math.IsNaN(y) || math.Abs(x-y) < 1e-9) {
					t.Errorf("%s: feature %s is %v with post-cutoff records, %v without", id, churn.FeatureDefs[k].Name, x, y)
				}
			}
		}
	})
}

// TestBacktestLarge reports the backtest on a larger sandbox; set
// CRMPULSE_EVAL_ACCOUNTS (e.g. 2000) to run it.
func TestBacktestLarge(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CRMPULSE_EVAL_ACCOUNTS"))
	if n <= 0 {
		t.Skip("set CRMPULSE_EVAL_ACCOUNTS to run")
	}
	s := syncSandbox(t, n)
	ctx := context.Background()
	truth := s.sb.Truth
	bt := New(s.st, nil, nil, Options{Horizon: truth.Horizon.Sub(truth.Cutoff), MinLabels: 10})
	ids, hs, err := bt.LoadHistories(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, id := range ids {
		if at, ok := truth.BySalesforceID(id); ok && at.AliveAtCutoff {
			labels[id] = at.Churned
		}
	}
	for _, prior := range []bool{false, true} {
		bt.Opt.ForcePrior = prior
		rep, err := bt.Backtest(conn, truth.Cutoff, ids, hs, labels, !prior)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("prior=%v n=%d positives=%d AUC=%.3f Brier=%.4f base=%.4f model=%s train=%d/%d validationAUC=%.3f", prior, rep.N, rep.Positives, rep.AUC, rep.Brier, rep.BaseBrier, rep.Model.Kind, rep.Model.TrainPositives, rep.Model.Train, rep.Model.ValidationAUC)
		for _, b := range rep.Calibration {
			t.Logf("  calib n=%d predicted %.3f observed %.3f", b.Count, b.MeanPredicted, b.ObservedRate)
		}
		for _, a := range rep.Ablation {
			t.Logf("  without %-10s AUC %.3f (%+.3f)", a.Without, a.AUC, a.Delta)
		}
	}
}
