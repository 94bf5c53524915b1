package crosssell

import (
	"math"
	"reflect"
	"testing"

	"github.com/crmpulse/crmpulse/insights/churn"
)

func TestRecommend(t *testing.T) {
	neighbors := []Neighbor{
		{AccountID: "n1", Similarity: 0.9, Products: []string{"Core", "Analytics"}, Deals: []Deal{{ID: "d1", Products: []string{"Analytics"}}}},
		{AccountID: "n2", Similarity: 0.6, Products: []string{"core", " analytics ", "Support+"}},
		{AccountID: "n3", Similarity: 0.5, Deals: []Deal{{ID: "d3", Products: []string{"Support+"}}, {ID: "d2", Products: []string{"Support+", "Training"}}}},
		{AccountID: "n4", Similarity: 0.05, Products: []string{"Training"}}, // below MinSimilarity
	}
	got := Recommend([]string{"CORE"}, neighbors, &Options{MinSimilarity: 0.1})
	// Total similarity considered: 0.9 + 0.6 + 0.5 = 2.0.
	// Analytics: (0.9 + 0.6) / 2 = 0.75; Support+: (0.6 + 0.5) / 2 = 0.55;
	// Training has one supporter (n3) and is dropped.
	want := []Recommendation{
		{Product: "Analytics", Score: 0.75, Accounts: []Support{{AccountID: "n1", Similarity: 0.9, DealIDs: []string{"d1"}}, {AccountID: "n2", Similarity: 0.6}}},
		{Product: "Support+", Score: 0.55, Accounts: []Support{{AccountID: "n2", Similarity: 0.6}, {AccountID: "n3", Similarity: 0.5, DealIDs: []string{"d2", "d3"}}}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Product != want[i].Product || math.Abs(got[i].Score-want[i].Score) > 1e-12 || !reflect.DeepEqual(got[i].Accounts, want[i].Accounts) {
			t.Errorf("rec %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if r := Recommend([]string{"Core", "Analytics", "Support+", "training"}, neighbors, nil); len(r) != 0 {
		t.Errorf("owned everything, got %+v", r)
	}
}

func TestRecommendOrderFree(t *testing.T) {
	ns := []Neighbor{
		{AccountID: "a", Similarity: 0.5, Products: []string{"X", "Y"}},
		{AccountID: "b", Similarity: 0.5, Products: []string{"Y", "X"}},
	}
	r1 := Recommend(nil, ns, nil)
	r2 := Recommend(nil, []Neighbor{ns[1], ns[0]}, nil)
	if !reflect.DeepEqual(r1, r2) || len(r1) != 2 || r1[0].Product != "X" {
		t.Errorf("%+v vs %+v", r1, r2)
	}
}

func TestUpsellCues(t *testing.T) {
	f := churn.Features{Hits: map[churn.Cue][]churn.Hit{churn.CueExpansion: {
		{Phrase: "more seats", RecordID: "a2"}, {Phrase: "拡大", RecordID: "a1"}, {Phrase: "more seats", RecordID: "a3"},
	}}}
	got := UpsellCues(f)
	want := []Upsell{{Phrase: "more seats", RecordIDs: []string{"a2", "a3"}}, {Phrase: "拡大", RecordIDs: []string{"a1"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
