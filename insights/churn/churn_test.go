package churn

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/bgnbd"
	"github.com/crmpulse/crmpulse/insights/eval"
)

func TestMatchText(t *testing.T) {
	for _, c := range []struct {
		text string
		want []Cue
	}{
		{"They COMPLAINED about the outage.", []Cue{CueComplaints}},
		{"No complaints so far.", nil},
		{"来期は予算削減の方針です。", []Cue{CueBudgetCut}},
		{"競合へ乗り換えを検討、解約の可能性あり", []Cue{CueCompetitor, CueCancellation}},
		{"解約する予定はありません。", nil},
		{"不満はないとのこと", nil},
		{"不具合が直らない", []Cue{CueComplaints}},
		{"担当の佐藤さんが退職されました", []Cue{CueChampionLeft}},
		{"全社展開に向けてライセンス追加を希望", []Cue{CueExpansion}},
		{"We will not renew and plan to switch to another provider.", []Cue{CueCancellation}},
		{"The RFP is out.", []Cue{CueCompetitor}},
		{"Their scrfp tool", nil}, // no match inside a word
		{"Meeting went well.", nil},
	} {
		got := MatchText(c.text)
		var cues []Cue
		for _, cue := range Cues {
			if _, ok := got[cue]; ok {
				cues = append(cues, cue)
			}
		}
		if !slices.Equal(cues, c.want) {
			t.Errorf("MatchText(%q) = %v, want %v", c.text, cues, c.want)
		}
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestExtractHandBuilt(t *testing.T) {
	asOf := date(2024, 6, 30)
	h := AccountHistory{
		ID: "A", FirstSeen: date(2022, 1, 1), Renewal: date(2024, 8, 1),
		Purchases: []Purchase{
			{ID: "p1", Date: date(2023, 3, 1), Amount: 100},
			{ID: "p2", Date: date(2023, 9, 1), Amount: 200},
			{ID: "p3", Date: date(2024, 5, 31), Amount: 300},
			{ID: "p4", Date: date(2024, 7, 5), Amount: 999}, // after as-of: ignored
		},
		Activities: []Activity{
			{ID: "a1", Date: date(2024, 6, 20), Text: "They are evaluating other vendors."},
			{ID: "a2", Date: date(2024, 6, 10), Text: "予算削減の話がありました"},
			{ID: "a3", Date: date(2024, 2, 1), Text: "unhappy"}, // prior 90 days: not a recent cue
			{ID: "a4", Date: date(2024, 1, 20), Text: "QBR"},
			{ID: "a5", Date: date(2024, 7, 2), Text: "cancel"}, // future
		},
		Opportunities: []Opportunity{
			{ID: "o1", Created: date(2024, 1, 1), Closed: date(2024, 5, 1), Lost: true, Competitor: "Rival"},
			{ID: "o2", Created: date(2024, 1, 15), Amount: 5000}, // open, 167 days: stalled
			{ID: "o3", Created: date(2024, 6, 1), Amount: 2000},  // open, fresh
			{ID: "o4", Created: date(2023, 1, 1), Closed: date(2023, 6, 1), Lost: true},
		},
		Contacts: []Contact{{ID: "c1", Name: "Kim", Champion: true, Left: date(2024, 6, 1)}},
	}
	e := &Extractor{AsOf: asOf, Horizon: 90 * day, BGNBD: &bgnbd.Params{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}}
	f := e.Extract(&h)
	want := map[string]float64{
		"recency_days": 30, "frequency_365": 2, "monetary_365": 500,
		"days_since_activity": 10, "activities_90": 2, "activity_trend": 0, // 2 vs 2
		"cue_complaints": 0, "cue_budget_cut": 1, "cue_competitor": 2, "cue_champion_left": 1, "cue_cancellation": 0,
		"lost_deals_180": 1, "stalled_deals": 1, "open_pipeline": 7000, "renewal_in_horizon": 1,
	}
	// activity_trend: 2 in the last 90 days, 2 (a3, a4) in the prior 90 → 0/5.
	for name, w := range want {
		if got := f.Value(name); math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	c, _ := Summary(&h, asOf)
	if c.Frequency != 2 || math.Abs(c.T-(asOf.Sub(date(2023, 3, 1)).Hours()/168)) > 1e-9 {
		t.Errorf("summary %+v", c)
	}
	if got, want := f.Value("p_alive"), e.BGNBD.PAlive(c); got != want {
		t.Errorf("p_alive %v, want %v", got, want)
	}
	var ids []string
	for _, hit := range f.Hits[CueCompetitor] {
		ids = append(ids, hit.RecordID)
	}
	if !slices.Equal(ids, []string{"a1", "o1"}) {
		t.Errorf("competitor evidence %v, want [a1 o1] (newest first)", ids)
	}
}

// A one-time buyer is "alive" for BG/NBD with certainty; P(no purchase
// within the horizon) is what exposes the risk.
func TestOneTimeBuyerTrap(t *testing.T) {
	p := bgnbd.Params{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}
	e := &Extractor{AsOf: date(2024, 6, 30), Horizon: 90 * day, BGNBD: &p}
	once := AccountHistory{ID: "once", Purchases: []Purchase{{Date: date(2023, 1, 1)}}}
	regular := AccountHistory{ID: "regular"}
	for d := date(2023, 1, 1); d.Before(date(2024, 6, 20)); d = d.AddDate(0, 0, 14) {
		regular.Purchases = append(regular.Purchases, Purchase{Date: d})
	}
	fo, fr := e.Extract(&once), e.Extract(&regular)
	if fo.Value("p_alive") != 1 || fr.Value("p_alive") >= 1 {
		t.Fatalf("p_alive once %v regular %v", fo.Value("p_alive"), fr.Value("p_alive"))
	}
	if fo.Value("p_no_purchase") <= fr.Value("p_no_purchase")+0.3 {
		t.Errorf("p_no_purchase once %v should far exceed regular %v", fo.Value("p_no_purchase"), fr.Value("p_no_purchase"))
	}
}

// Train recovers the coefficients of a known logistic model.
func TestTrainRecoversCoefficients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 20000
	bTrend, bSlope, b0 := 1.2, -0.8, -1.0
	xs := make([]Features, n)
	ys := make([]bool, n)
	iTrend, iSlope := featureIndex("activity_trend"), featureIndex("activity_slope")
	for i := range xs {
		v := make([]float64, len(FeatureDefs))
		v[iTrend], v[iSlope] = rng.NormFloat64(), rng.NormFloat64()
		xs[i] = Features{Values: v}
		ys[i] = rng.Float64() < sigmoid(b0+bTrend*v[iTrend]+bSlope*v[iSlope])
	}
	m, err := Train(xs, ys, &TrainOptions{Lambda: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	k := func(name string) int { return slices.Index(m.Features, name) }
	// Coefficients are per standard deviation; back to raw units.
	gotTrend := m.Coef[k("activity_trend")] / m.SD[k("activity_trend")]
	gotSlope := m.Coef[k("activity_slope")] / m.SD[k("activity_slope")]
	gotB0 := m.Intercept - m.Coef[k("activity_trend")]*m.Mean[k("activity_trend")]/m.SD[k("activity_trend")] -
		m.Coef[k("activity_slope")]*m.Mean[k("activity_slope")]/m.SD[k("activity_slope")]
	// Standard errors at n = 20000 are about 0.02–0.03; allow 4 of them.
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"trend", gotTrend, bTrend}, {"slope", gotSlope, bSlope}, {"intercept", gotB0, b0}} {
		if math.Abs(c.got-c.want) > 0.1 {
			t.Errorf("%s = %.3f, true %.3f", c.name, c.got, c.want)
		}
	}
	for j, name := range m.Features {
		if name != "activity_trend" && name != "activity_slope" && m.Coef[j] != 0 {
			t.Errorf("constant feature %s got coefficient %v", name, m.Coef[j])
		}
	}
}

func TestTrainOneClass(t *testing.T) {
	xs := []Features{{Values: make([]float64, len(FeatureDefs))}, {Values: make([]float64, len(FeatureDefs))}}
	if _, err := Train(xs, []bool{true, true}, nil); err != ErrOneClass {
		t.Errorf("err = %v, want ErrOneClass", err)
	}
}

func TestPriorModelRanksCues(t *testing.T) {
	hs := synthAccounts(300, 120, 3)
	asOf := synthStart.AddDate(0, 0, 7*100)
	fs, _, err := ExtractAll(hs, asOf, 90*day)
	if err != nil {
		t.Fatal(err)
	}
	m, err := PriorModel(fs, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	calm := fs[0]
	calm.Values = slices.Clone(calm.Values)
	for _, d := range FeatureDefs {
		if d.Cue != "" {
			calm.Values[featureIndex(d.Name)] = 0
		}
	}
	risky := calm
	risky.Values = slices.Clone(calm.Values)
	risky.Values[featureIndex("cue_cancellation")] = 1
	risky.Hits = map[Cue][]Hit{CueCancellation: {{Cue: CueCancellation, Phrase: "解約", RecordID: "x1"}}}
	if m.Predict(risky) <= m.Predict(calm) {
		t.Errorf("cancellation cue did not raise the prior score: %v vs %v", m.Predict(risky), m.Predict(calm))
	}
	s := m.Score(risky, 3)
	if len(s.Drivers) == 0 || s.Model != "prior" {
		t.Fatalf("score %+v", s)
	}
	found := false
	for i, d := range s.Drivers {
		if i > 0 && d.Contribution > s.Drivers[i-1].Contribution {
			t.Errorf("drivers not sorted: %+v", s.Drivers)
		}
		if d.Contribution <= 0 {
			t.Errorf("non-positive driver %+v", d)
		}
		if d.Feature == "cue_cancellation" && len(d.Evidence) == 1 && d.Evidence[0].RecordID == "x1" {
			found = true
		}
	}
	if !found {
		t.Errorf("cancellation driver with evidence missing: %+v", s.Drivers)
	}
}

func TestLabel(t *testing.T) {
	cut := date(2024, 1, 1)
	h := AccountHistory{FirstSeen: date(2023, 1, 1), Purchases: []Purchase{{Date: date(2024, 2, 1)}}}
	if y, ok := Label(&h, cut, 90*day); y || !ok {
		t.Errorf("purchase in window: %v %v", y, ok)
	}
	if y, ok := Label(&h, date(2024, 2, 1), 90*day); !y || !ok {
		t.Errorf("no purchase in window: %v %v", y, ok)
	}
	h.ChurnedAt = date(2024, 3, 1)
	if y, ok := Label(&h, cut, 90*day); !y || !ok {
		t.Errorf("recorded churn in window: %v %v", y, ok)
	}
	if _, ok := Label(&h, date(2024, 4, 1), 90*day); ok {
		t.Error("already churned: should be ineligible")
	}
	if _, ok := Label(&h, date(2022, 6, 1), 90*day); ok {
		t.Error("not yet a customer: should be ineligible")
	}
}

func TestBacktestSynthetic(t *testing.T) {
	hs := synthAccounts(2000, 130, 11)
	cfg := BacktestConfig{
		TrainCutoff: synthStart.AddDate(0, 0, 7*78),
		TestCutoff:  synthStart.AddDate(0, 0, 7*104),
		Horizon:     91 * day,
	}
	res, err := Backtest(hs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train %d (%d churned), test %d (%d churned): AUC %.3f, Brier %.4f (base %.4f)", res.Train, res.TrainPositives, res.Test, res.TestPositives, res.AUC, res.Brier, res.BaseBrier)
	for _, b := range res.Calibration {
		t.Logf("  bin [%.3f, %.3f] n=%d predicted %.3f observed %.3f", b.Lo, b.Hi, b.Count, b.MeanPredicted, b.ObservedRate)
	}
	if res.TestPositives < 50 {
		t.Fatalf("only %d churners in the test window; the simulation is too mild", res.TestPositives)
	}
	// Baseline: days since the last purchase alone.
	var rec []float64
	for _, sc := range res.Scores {
		rec = append(rec, sc.Features.Value("recency_days"))
	}
	recAUC, err := eval.AUC(rec, res.Labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recency-only AUC %.3f", recAUC)
	if res.AUC < 0.7 || res.AUC < recAUC+0.03 {
		t.Errorf("AUC %.3f: want ≥ 0.7 and ≥ recency-only %.3f + 0.03", res.AUC, recAUC)
	}
	if res.Brier >= res.BaseBrier {
		t.Errorf("Brier %.4f not below the base rate's %.4f", res.Brier, res.BaseBrier)
	}
	// Calibration across cutoffs: the mean predicted rate in the top and
	// bottom deciles brackets the observed ones.
	top, bottom := res.Calibration[len(res.Calibration)-1], res.Calibration[0]
	if top.ObservedRate < 3*bottom.ObservedRate || math.Abs(top.MeanPredicted-top.ObservedRate) > 0.15 {
		t.Errorf("calibration: top %+v bottom %+v", top, bottom)
	}

	again, err := Backtest(hs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.AUC != res.AUC || !reflect.DeepEqual(again.Model.Coef, res.Model.Coef) {
		t.Error("backtest is not deterministic")
	}

	split, err := Backtest(hs, BacktestConfig{TrainCutoff: cfg.TestCutoff, Horizon: cfg.Horizon})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("account split at one cutoff: train %d, test %d, AUC %.3f", split.Train, split.Test, split.AUC)
	if split.AUC < 0.62 {
		t.Errorf("split AUC %.3f < 0.62", split.AUC)
	}
	if _, err := Backtest(hs, BacktestConfig{TrainCutoff: cfg.TrainCutoff, TestCutoff: cfg.TrainCutoff.Add(30 * day), Horizon: cfg.Horizon}); err != ErrLeak {
		t.Errorf("overlapping windows: err = %v, want ErrLeak", err)
	}
}

func TestAblationSynthetic(t *testing.T) {
	hs := synthAccounts(2000, 130, 11)
	res, err := Ablation(hs, BacktestConfig{
		TrainCutoff: synthStart.AddDate(0, 0, 7*78),
		TestCutoff:  synthStart.AddDate(0, 0, 7*104),
		Horizon:     91 * day,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("without %-10q AUC %.3f (Δ %+.3f) Brier %.4f", r.Without, r.AUC, r.Delta, r.Brier)
	}
	// The simulation makes disengaging accounts write cancellation notes and
	// risk events appear in text, so the text group must carry signal.
	for _, r := range res {
		if r.Without == GroupText && r.Delta > -0.01 {
			t.Errorf("dropping text cues changed AUC by %+.3f; expected a loss", r.Delta)
		}
	}
}
