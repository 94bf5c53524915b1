// Package actions turns a churn score, its drivers and cross-sell
// recommendations into ranked next best actions: what to do, with whom, by
// when, and on which records the advice rests.
//
// # Rules
//
// Each driver of the score maps to one action (see [playbook]): cancellation
// talk → renewal call with the decision maker (2 days); complaints →
// escalation and fix review with the person who complained (3 days);
// champion departure → find the new champion, executive outreach (5 days);
// competitor → value and competitive review (7 days); budget cut →
// right-sizing and ROI review with the economic buyer (7 days); fading
// engagement → check-in call (7 days); purchase lapse (BG/NBD or recency) →
// reorder proposal (14 days); stalled deals → deal review with the owner
// (7 days); lost deals → loss debrief (14 days); renewal in the horizon →
// start the renewal conversation (by 60 days before renewal). Expansion cues
// give a follow-up on expansion interest (5 days) and cross-sell
// recommendations an introduction of the product (30 days), the latter only
// when the churn probability is below 0.5: selling more to an account about
// to leave is the wrong conversation.
//
// Urgency: with churn probability ≥ 0.5 every deadline is halved (at least
// one day); below 0.2 it is stretched by half. Priority is the driver's
// contribution to the score times the action's weight; actions are ordered
// by priority, then due date, then kind.
package actions

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/crosssell"
)

// Person is who the action involves.
type Person struct {
	ContactID string // empty when the account owner acts alone
	Name      string
	Role      string
}

// Action is one recommended step.
type Action struct {
	Kind     string // stable identifier, e.g. "renewal_call"
	Title    string
	TitleJA  string
	With     Person // the customer-side contact
	Owner    string // the account owner who acts
	Due      time.Time
	Priority float64 // higher first
	Reason   string  // the driver or signal behind it
	Evidence []string
}

// Input is what Recommend reads.
type Input struct {
	Account   *churn.AccountHistory
	Score     churn.Score
	AsOf      time.Time
	CrossSell []crosssell.Recommendation
	Limit     int // at most this many actions (default 5; <0 = all)
}

type play struct {
	kind, title, titleJA string
	days                 int
	weight               float64
	roles                []string // preferred contact roles, in order
}

// playbook maps a driver feature to its action.
var playbook = map[string]play{
	"cue_cancellation":    {"renewal_call", "Call the decision maker about renewal and their concerns", "決裁者に連絡し、更新と懸念事項について協議する", 2, 1.5, []string{"decision", "economic buyer", "champion"}},
	"cue_complaints":      {"escalate_issues", "Escalate the open issues and hold a fix review", "未解決の課題をエスカレーションし、改善レビューを実施する", 3, 1.3, []string{"champion", "user"}},
	"cue_champion_left":   {"new_champion", "Identify and meet the new champion; executive sponsor outreach", "新しい推進者を特定して面談し、役員層にもアプローチする", 5, 1.3, []string{"decision", "economic buyer", "user"}},
	"cue_competitor":      {"competitive_review", "Run a value and competitive comparison review", "価値の再確認と競合比較のレビューを実施する", 7, 1.2, []string{"decision", "champion"}},
	"cue_budget_cut":      {"roi_review", "Offer a right-sized plan and an ROI review", "適正規模のプランとROIレビューを提案する", 7, 1.2, []string{"economic buyer", "decision"}},
	"days_since_activity": {"check_in", "Schedule a check-in call", "定期フォローの電話を設定する", 7, 1.0, []string{"champion", "user"}},
	"activities_90":       {"check_in", "Schedule a check-in call", "定期フォローの電話を設定する", 7, 1.0, []string{"champion", "user"}},
	"activity_trend":      {"check_in", "Schedule a check-in call", "定期フォローの電話を設定する", 7, 1.0, []string{"champion", "user"}},
	"activity_slope":      {"check_in", "Schedule a check-in call", "定期フォローの電話を設定する", 7, 1.0, []string{"champion", "user"}},
	"p_no_purchase":       {"reorder_offer", "Propose a reorder or replenishment offer", "再注文・補充の提案を行う", 14, 0.9, []string{"user", "champion"}},
	"p_alive":             {"reorder_offer", "Propose a reorder or replenishment offer", "再注文・補充の提案を行う", 14, 0.9, []string{"user", "champion"}},
	"recency_days":        {"reorder_offer", "Propose a reorder or replenishment offer", "再注文・補充の提案を行う", 14, 0.9, []string{"user", "champion"}},
	"frequency_365":       {"reorder_offer", "Propose a reorder or replenishment offer", "再注文・補充の提案を行う", 14, 0.9, []string{"user", "champion"}},
	"monetary_365":        {"reorder_offer", "Propose a reorder or replenishment offer", "再注文・補充の提案を行う", 14, 0.9, []string{"user", "champion"}},
	"stalled_deals":       {"deal_review", "Review the stalled deals: agree a next step or close them", "停滞している商談を見直し、次のステップを決めるかクローズする", 7, 0.8, []string{"champion", "decision"}},
	"lost_deals_180":      {"loss_debrief", "Debrief the lost deals with the customer", "失注した商談について顧客と振り返りを行う", 14, 0.7, []string{"decision", "champion"}},
	"renewal_in_horizon":  {"renewal_prep", "Start the renewal conversation", "契約更新の協議を開始する", 30, 1.0, []string{"economic buyer", "decision"}},
}

var (
	expansionPlay = play{"expansion_follow_up", "Follow up on the expansion interest with a quote", "拡大の意向をフォローし見積を提示する", 5, 1.0, []string{"champion", "economic buyer"}}
	crossSellPlay = play{"cross_sell", "Introduce a product similar accounts use", "類似企業が利用している製品を紹介する", 30, 0.5, []string{"champion", "user"}}
)

// Recommend returns the ranked actions for one account.
func Recommend(in Input) []Action {
	limit := in.Limit
	if limit == 0 {
		limit = 5
	}
	p := in.Score.Probability
	factor := 1.0
	switch {
	case p >= 0.5:
		factor = 0.5
	case p < 0.2:
		factor = 1.5
	}
	due := func(days int) time.Time {
		d := int(math.Max(1, math.Round(float64(days)*factor)))
		return in.AsOf.AddDate(0, 0, d)
	}
	var out []Action
	seen := map[string]int{} // kind → index in out
	add := func(pl play, prio float64, reason string, evidence []string, title, titleJA string) {
		if i, ok := seen[pl.kind]; ok {
			a := &out[i]
			a.Priority += prio
			a.Reason += "; " + reason
			a.Evidence = mergeIDs(a.Evidence, evidence)
			return
		}
		if title == "" {
			title, titleJA = pl.title, pl.titleJA
		}
		a := Action{Kind: pl.kind, Title: title, TitleJA: titleJA, Owner: in.Account.Owner, Due: due(pl.days), Priority: prio, Reason: reason, Evidence: mergeIDs(nil, evidence)}
		a.With = pickContact(in.Account, in.AsOf, pl.roles, evidence)
		seen[pl.kind] = len(out)
		out = append(out, a)
	}
	f := in.Score.Features
	for _, d := range in.Score.Drivers {
		pl, ok := playbook[d.Feature]
		if !ok {
			continue
		}
		var ev []string
		for _, h := range d.Evidence {
			ev = append(ev, h.RecordID)
		}
		switch d.Feature {
		case "stalled_deals":
			ev = append(ev, stalledDeals(in.Account, in.AsOf)...)
		case "lost_deals_180":
			ev = append(ev, lostDeals(in.Account, in.AsOf)...)
		}
		add(pl, d.Contribution*pl.weight, d.Label, ev, "", "")
		if d.Feature == "renewal_in_horizon" && !in.Account.Renewal.IsZero() {
			i := seen[pl.kind]
			by := in.Account.Renewal.AddDate(0, 0, -60)
			if by.Before(out[i].Due) {
				out[i].Due = maxTime(by, in.AsOf.AddDate(0, 0, 1))
			}
		}
	}
	if ups := crosssell.UpsellCues(f); len(ups) > 0 {
		var ev []string
		var phrases []string
		for _, u := range ups {
			ev = append(ev, u.RecordIDs...)
			phrases = append(phrases, u.Phrase)
		}
		add(expansionPlay, 0.5*float64(len(ev))*expansionPlay.weight, "expansion signals: "+strings.Join(phrases, ", "), ev, "", "")
	}
	if p < 0.5 {
		for _, r := range in.CrossSell {
			var ev []string
			for _, s := range r.Accounts {
				ev = append(ev, s.DealIDs...)
			}
			pl := crossSellPlay
			pl.kind = "cross_sell:" + r.Product
			add(pl, r.Score*pl.weight, "similar accounts use "+r.Product, ev, "Introduce "+r.Product+" (used by similar accounts)", "類似企業が利用している「"+r.Product+"」を紹介する")
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority > out[j].Priority
		}
		if !out[i].Due.Equal(out[j].Due) {
			return out[i].Due.Before(out[j].Due)
		}
		return out[i].Kind < out[j].Kind
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func mergeIDs(a, b []string) []string {
	set := map[string]bool{}
	for _, id := range a {
		set[id] = true
	}
	for _, id := range b {
		if id != "" {
			set[id] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// pickContact chooses who to talk to: the contact on an evidence activity
// if still at the account, else the first active contact whose role matches
// the preferred roles in order (champions count as "champion"), else any
// active contact (by id), else nobody (the owner acts alone).
func pickContact(h *churn.AccountHistory, asOf time.Time, roles []string, evidence []string) Person {
	active := func(c churn.Contact) bool { return c.Left.IsZero() || c.Left.After(asOf) }
	byID := map[string]churn.Contact{}
	for _, c := range h.Contacts {
		byID[c.ID] = c
	}
	ev := map[string]bool{}
	for _, id := range evidence {
		ev[id] = true
	}
	for _, a := range h.Activities {
		if ev[a.ID] && a.ContactID != "" {
			if c, ok := byID[a.ContactID]; ok && active(c) {
				return person(c)
			}
		}
	}
	contacts := append([]churn.Contact(nil), h.Contacts...)
	sort.SliceStable(contacts, func(i, j int) bool { return contacts[i].ID < contacts[j].ID })
	for _, role := range roles {
		for _, c := range contacts {
			if !active(c) {
				continue
			}
			r := strings.ToLower(c.Role)
			if strings.Contains(r, role) || (role == "champion" && c.Champion) {
				return person(c)
			}
		}
	}
	for _, c := range contacts {
		if active(c) {
			return person(c)
		}
	}
	return Person{}
}

func person(c churn.Contact) Person { return Person{ContactID: c.ID, Name: c.Name, Role: c.Role} }

func stalledDeals(h *churn.AccountHistory, asOf time.Time) []string {
	var ids []string
	for _, o := range h.Opportunities {
		if o.Open(asOf) && asOf.Sub(o.Created) > 120*24*time.Hour {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

func lostDeals(h *churn.AccountHistory, asOf time.Time) []string {
	var ids []string
	for _, o := range h.Opportunities {
		if o.Lost && !o.Closed.IsZero() && !o.Closed.After(asOf) && asOf.Sub(o.Closed) <= 180*24*time.Hour {
			ids = append(ids, o.ID)
		}
	}
	return ids
}
