package writeback

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/store"
)

// MaxItems bounds the drivers and cross-sell products written per account.
const MaxItems = 3

// FromResult converts a stored insight result and the account's segment id
// ("" when none) into an Insight: the top drivers' labels, the first
// action and its due date, the top cross-sell products, and the summary
// with its cited records as evidence.
func FromResult(r *result.Result, segment string) Insight {
	in := Insight{AccountID: r.Account, ChurnScore: r.Churn, RiskBand: r.Band, Summary: r.Summary, AnalyzedAt: r.AnalysedAt}
	if in.RiskBand == "" {
		in.RiskBand = result.BandOf(r.Churn)
	}
	for _, d := range r.Drivers[:min(len(r.Drivers), MaxItems)] {
		label := d.Label
		if label == "" {
			label = d.Feature
		}
		in.TopDrivers = append(in.TopDrivers, label)
	}
	if len(r.Actions) > 0 {
		in.NextAction, in.NextActionDue = r.Actions[0].Title, r.Actions[0].Due
	}
	for _, c := range r.CrossSell[:min(len(r.CrossSell), MaxItems)] {
		in.CrossSell = append(in.CrossSell, c.Product)
	}
	// The segment id (vip, at_risk, ...) is the value written: CRM lists
	// published by segments/lists filter on it, in text fields as well as
	// picklists (whose option values are the ids).
	in.Segment = segment
	for _, c := range r.Evidence {
		in.Evidence = append(in.Evidence, evidenceOf(c))
	}
	return in
}

// evidenceOf turns a citation (record ref, chunk id or bare id) into a
// short reference.
func evidenceOf(c result.Citation) Evidence {
	e := Evidence{ID: c.ID, Title: c.Title, Kind: "record"}
	var ref store.Ref
	var err error
	if strings.Contains(c.ID, "#") {
		ref, _, err = store.ParseChunkID(c.ID)
	} else {
		ref, err = store.ParseRef(c.ID)
	}
	if err == nil {
		e.Kind, e.ID = ref.Object, ref.ID
	}
	if e.Kind == "opportunity" {
		e.Kind = "deal"
	}
	return e
}

// LoadInsights reads the latest stored insight result of every analysed
// account of conn, with the account's current segment when one is
// recorded (segments.Tracker).
func LoadInsights(ctx context.Context, st *store.Store, conn string) ([]Insight, error) {
	rs, err := result.LoadAll(ctx, st, conn)
	if err != nil {
		return nil, fmt.Errorf("load insights of %s: %w", conn, err)
	}
	tr := segments.NewTracker(st.Client(), st.Namespace())
	out := make([]Insight, 0, len(rs))
	for _, r := range rs {
		s, ok, err := tr.Current(ctx, conn, r.Account)
		if err != nil {
			return nil, fmt.Errorf("load segment of %s/%s: %w", conn, r.Account, err)
		}
		seg := ""
		if ok {
			seg = strings.TrimSpace(s.Segment)
		}
		out = append(out, FromResult(r, seg))
	}
	return out, nil
}
