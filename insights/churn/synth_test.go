package churn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// synthStart is the first day of the synthetic calendar.
var synthStart = time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)

var riskTexts = map[Cue][]string{
	CueComplaints:   {"Customer is unhappy with response times and escalated to their VP.", "サポートの対応が遅いと不満の声がありました。", "They complained that the export is still broken."},
	CueBudgetCut:    {"They announced a budget freeze for next quarter.", "来期は予算削減のため見直しとのこと。", "Finance asked to reduce spend across all tools."},
	CueCompetitor:   {"They are evaluating other vendors after a cheaper option was pitched.", "競合他社から提案を受けて比較検討中。", "Procurement issued an RFP including two competitors."},
	CueChampionLeft: {"Our champion has left the company; no successor named yet.", "担当の部長が退職されました。後任は未定。", "Main contact resigned last week."},
}

var cancelTexts = []string{"They asked how to cancel at the end of the term.", "契約終了の手続きについて問い合わせあり。解約を検討中。", "Customer said they will not renew."}

var neutralTexts = []string{
	"Quarterly business review, usage steady.", "定例ミーティングを実施。特に問題なし。",
	"Sent the invoice and release notes.", "No complaints so far, team is happy.", "不満はないとのこと。",
	"Training session for new users.", "請求書を送付しました。",
}

var expansionTexts = []string{"They want to expand to the sales team and add more seats.", "他部署への全社展開を検討、ライセンス追加の見積依頼。"}

// synthAccounts simulates n B2B accounts over weeks weeks. Each week an
// active account may suffer a risk event (complaints, budget cut,
// competitor, champion departure) that multiplies its disengagement hazard
// for 20 weeks and is written into an activity; a disengaging account buys
// and talks less, sometimes says it will cancel, and churns 6–12 weeks
// later. Expansion events lower the hazard.
func synthAccounts(n, weeks int, seed uint64) []AccountHistory {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]AccountHistory, n)
	for i := range out {
		h := &out[i]
		h.ID = fmt.Sprintf("acc-%05d", i)
		h.Name = fmt.Sprintf("Account %d", i)
		first := rng.IntN(26)
		h.FirstSeen = synthStart.AddDate(0, 0, 7*first)
		h.Contacts = []Contact{
			{ID: h.ID + "-c1", Name: "Champion " + h.ID, Role: "champion", Champion: true},
			{ID: h.ID + "-c2", Name: "Buyer " + h.ID, Role: "economic buyer"},
		}
		lambda := 0.1 + rng.ExpFloat64()*0.25 // purchases per week
		actRate := 0.5 + rng.Float64()*1.5    // activities per week
		base := 0.002 + rng.Float64()*0.004   // weekly disengagement hazard
		riskUntil, expandUntil := -1, -1
		disengageAt := -1
		churnAt := -1
		seq := 0
		next := func(kind string) string { seq++; return fmt.Sprintf("%s-%s%d", h.ID, kind, seq) }
		h.Renewal = h.FirstSeen.AddDate(1+rng.IntN(2), 0, 0)
		for w := first; w < weeks; w++ {
			day := synthStart.AddDate(0, 0, 7*w+rng.IntN(5))
			if churnAt >= 0 && w >= churnAt {
				break
			}
			// Events.
			if disengageAt < 0 && rng.Float64() < 0.012 {
				cue := []Cue{CueComplaints, CueBudgetCut, CueCompetitor, CueChampionLeft}[rng.IntN(4)]
				riskUntil = w + 20
				texts := riskTexts[cue]
				h.Activities = append(h.Activities, Activity{ID: next("a"), Date: day, Kind: "email", Text: texts[rng.IntN(len(texts))]})
				if cue == CueChampionLeft && h.Contacts[0].Left.IsZero() {
					h.Contacts[0].Left = day
				}
				if cue == CueCompetitor && rng.Float64() < 0.5 {
					h.Opportunities = append(h.Opportunities, Opportunity{ID: next("o"), Created: day.AddDate(0, 0, -60), Closed: day, Lost: true, Competitor: "Rival Inc", Amount: 5000})
				}
			}
			if disengageAt < 0 && rng.Float64() < 0.006 {
				expandUntil = w + 26
				h.Activities = append(h.Activities, Activity{ID: next("a"), Date: day, Kind: "meeting", Text: expansionTexts[rng.IntN(len(expansionTexts))]})
			}
			hazard := base
			if w < riskUntil {
				hazard *= 8
			}
			if w < expandUntil {
				hazard *= 0.3
			}
			if disengageAt < 0 && rng.Float64() < hazard {
				disengageAt = w
				churnAt = w + 6 + rng.IntN(7)
			}
			disengaging := disengageAt >= 0
			// Purchases.
			pr, ar := lambda, actRate
			if disengaging {
				pr *= 0.25
				ar *= 0.3
			}
			if w < expandUntil {
				pr *= 1.5
			}
			if rng.Float64() < 1-math.Exp(-pr) {
				h.Purchases = append(h.Purchases, Purchase{ID: next("p"), Date: day, Amount: 500 + 2000*rng.Float64(), Products: []string{"core"}})
			}
			// Activities.
			for k := poisson(rng, ar); k > 0; k-- {
				text := neutralTexts[rng.IntN(len(neutralTexts))]
				if disengaging && rng.Float64() < 0.15 {
					text = cancelTexts[rng.IntN(len(cancelTexts))]
				}
				h.Activities = append(h.Activities, Activity{ID: next("a"), Date: day.AddDate(0, 0, rng.IntN(2)), Kind: "email", Text: text})
			}
			// Pipeline.
			if rng.Float64() < 0.02 {
				o := Opportunity{ID: next("o"), Created: day, Amount: 1000 + 9000*rng.Float64(), Stage: "Proposal"}
				switch r := rng.Float64(); {
				case r < 0.5:
					o.Closed, o.Won = day.AddDate(0, 0, 30+rng.IntN(60)), true
				case r < 0.8:
					o.Closed, o.Lost, o.LossReason = day.AddDate(0, 0, 30+rng.IntN(60)), true, "timing"
				}
				h.Opportunities = append(h.Opportunities, o)
			}
		}
		if churnAt >= 0 {
			h.ChurnedAt = synthStart.AddDate(0, 0, 7*churnAt)
		}
	}
	return out
}

func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
