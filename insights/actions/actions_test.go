package actions

import (
	"slices"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/crosssell"
)

var asOf = time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)

func account() *churn.AccountHistory {
	return &churn.AccountHistory{
		ID: "A", Owner: "rep@example.com", Renewal: asOf.AddDate(0, 2, 0),
		Contacts: []churn.Contact{
			{ID: "c1", Name: "Aoki", Role: "champion", Champion: true, Left: asOf.AddDate(0, 0, -10)},
			{ID: "c2", Name: "Baker", Role: "Economic Buyer"},
			{ID: "c3", Name: "Chen", Role: "user"},
		},
		Activities: []churn.Activity{
			{ID: "a1", Date: asOf.AddDate(0, 0, -3), ContactID: "c3", Text: "解約を検討しています"},
		},
		Opportunities: []churn.Opportunity{{ID: "o1", Created: asOf.AddDate(0, -6, 0), Amount: 1000}},
	}
}

func score(p float64) churn.Score {
	return churn.Score{Probability: p, Drivers: []churn.Driver{
		{Feature: "cue_cancellation", Label: "cancellation or non-renewal mentioned", Contribution: 1.0,
			Evidence: []churn.Hit{{Cue: churn.CueCancellation, RecordID: "a1", Phrase: "解約"}}},
		{Feature: "cue_champion_left", Label: "champion or key contact left", Contribution: 0.8,
			Evidence: []churn.Hit{{Cue: churn.CueChampionLeft, RecordID: "c1"}}},
		{Feature: "stalled_deals", Label: "open deals older than 120 days", Contribution: 0.3},
	}}
}

func TestRecommendHighRisk(t *testing.T) {
	cs := []crosssell.Recommendation{{Product: "Analytics", Score: 0.7, Accounts: []crosssell.Support{{AccountID: "n1", Similarity: 0.9, DealIDs: []string{"d9"}}}}}
	got := Recommend(Input{Account: account(), Score: score(0.7), AsOf: asOf, CrossSell: cs, Limit: -1})
	kinds := make([]string, len(got))
	for i, a := range got {
		kinds[i] = a.Kind
	}
	if !slices.Equal(kinds, []string{"renewal_call", "new_champion", "deal_review"}) {
		t.Fatalf("kinds %v", kinds)
	}
	call := got[0]
	// Contact on the evidence activity; deadline halved from 2 days to 1.
	if call.With.ContactID != "c3" || !call.Due.Equal(asOf.AddDate(0, 0, 1)) || !slices.Equal(call.Evidence, []string{"a1"}) || call.Owner != "rep@example.com" {
		t.Errorf("renewal call %+v", call)
	}
	// The departed champion is not the one to call; the economic buyer is.
	if got[1].With.ContactID != "c2" {
		t.Errorf("new champion action with %+v, want c2", got[1].With)
	}
	if !slices.Equal(got[2].Evidence, []string{"o1"}) {
		t.Errorf("deal review evidence %v, want [o1]", got[2].Evidence)
	}
	for _, a := range got {
		if a.Kind == "cross_sell:Analytics" {
			t.Error("cross-sell offered to a high-risk account")
		}
	}
}

func TestRecommendLowRiskCrossSell(t *testing.T) {
	cs := []crosssell.Recommendation{{Product: "Analytics", Score: 0.7, Accounts: []crosssell.Support{{AccountID: "n1", Similarity: 0.9, DealIDs: []string{"d9"}}}}}
	s := churn.Score{Probability: 0.1, Features: churn.Features{Hits: map[churn.Cue][]churn.Hit{churn.CueExpansion: {{Phrase: "more seats", RecordID: "a7"}}}}}
	got := Recommend(Input{Account: account(), Score: s, AsOf: asOf, CrossSell: cs})
	if len(got) != 2 {
		t.Fatalf("actions %+v", got)
	}
	var x, e Action
	for _, a := range got {
		switch a.Kind {
		case "cross_sell:Analytics":
			x = a
		case "expansion_follow_up":
			e = a
		}
	}
	// Low risk stretches 30 days to 45 and 5 to 8 (rounded).
	if !x.Due.Equal(asOf.AddDate(0, 0, 45)) || !slices.Equal(x.Evidence, []string{"d9"}) {
		t.Errorf("cross-sell %+v", x)
	}
	if !e.Due.Equal(asOf.AddDate(0, 0, 8)) || !slices.Equal(e.Evidence, []string{"a7"}) {
		t.Errorf("expansion %+v", e)
	}
}

func TestRenewalDueBeforeRenewal(t *testing.T) {
	s := churn.Score{Probability: 0.3, Drivers: []churn.Driver{{Feature: "renewal_in_horizon", Contribution: 0.2}}}
	acc := account()
	acc.Renewal = asOf.AddDate(0, 0, 70)
	got := Recommend(Input{Account: acc, Score: s, AsOf: asOf})
	if len(got) != 1 || !got[0].Due.Equal(asOf.AddDate(0, 0, 10)) {
		t.Errorf("renewal prep %+v, want due 60 days before renewal", got)
	}
}
