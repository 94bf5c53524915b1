package writeback_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/writeback"
)

// TestLoadInsights reads stored insight results and converts them: top
// drivers, first action, cross-sell, evidence from cited records.
func TestLoadInsights(t *testing.T) {
	r := newRig(t, config.KindHubSpot, 1, nil)
	ctx := context.Background()
	due := epoch.AddDate(0, 0, 10)
	res := &result.Result{
		Account: r.ids[0], Connection: "hs", Churn: 0.61, Band: result.BandHigh,
		Drivers: []result.Driver{{Feature: "email_trend", Label: "emails down 60%"}, {Feature: "recency", Label: "no order for 200 days"},
			{Feature: "x", Label: "third"}, {Feature: "y", Label: "fourth"}},
		Actions:    []result.Action{{Title: "Call the new champion", Due: due}, {Title: "Second"}},
		CrossSell:  []result.CrossSell{{Product: "Analytics"}},
		Summary:    "Usage is falling.",
		Evidence:   []result.Citation{{ID: "hs:activity:901", Title: "Budget cut"}, {ID: "hs:opportunity:77#0", Title: "Renewal"}},
		AnalysedAt: epoch,
	}
	if err := result.Save(ctx, r.st, res); err != nil {
		t.Fatal(err)
	}
	ins, err := writeback.LoadInsights(ctx, r.st, "hs")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 {
		t.Fatalf("insights: %+v", ins)
	}
	in := ins[0]
	if in.AccountID != r.ids[0] || in.ChurnScore != 0.61 || in.RiskBand != "high" || len(in.TopDrivers) != writeback.MaxItems ||
		in.TopDrivers[0] != "emails down 60%" || in.NextAction != "Call the new champion" || !in.NextActionDue.Equal(due) ||
		strings.Join(in.CrossSell, ",") != "Analytics" || !in.AnalyzedAt.Equal(epoch) || in.Segment != "" {
		t.Errorf("insight: %+v", in)
	}
	if len(in.Evidence) != 2 || in.Evidence[0].String() != "activity 901 “Budget cut”" || in.Evidence[1].String() != "deal 77 “Renewal”" {
		t.Errorf("evidence: %v", in.Evidence)
	}
}
