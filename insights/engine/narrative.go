package engine

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/result"
)

// Competitors lists the competitors named in the account's deals (the
// competitor field) and in its communications (subject or text naming one
// of the known competitors) up to asOf, most mentioned first. Generic
// competitor cues ("他社", "evaluating other vendors") without a name are
// reported under the name "(unnamed)".
func Competitors(h *churn.AccountHistory, known []string, f churn.Features, asOf time.Time) []result.Competitor {
	by := map[string]*result.Competitor{}
	get := func(name string) *result.Competitor {
		c := by[name]
		if c == nil {
			c = &result.Competitor{Name: name}
			by[name] = c
		}
		return c
	}
	note := func(c *result.Competitor, id string, t time.Time) {
		c.Mentions++
		c.Evidence = appendUnique(c.Evidence, id)
		if t.After(c.Last) {
			c.Last = t
		}
	}
	for _, o := range h.Opportunities {
		name := strings.TrimSpace(o.Competitor)
		if name == "" || o.Created.After(asOf) {
			continue
		}
		c := get(name)
		note(c, o.ID, o.Created)
		if o.Lost && !o.Closed.IsZero() && !o.Closed.After(asOf) {
			c.LostDeals++
		}
	}
	named := map[string]bool{}
	for _, a := range h.Activities {
		if a.Date.After(asOf) {
			continue
		}
		text := strings.ToLower(a.Subject + "\n" + a.Text)
		for _, k := range known {
			if strings.Contains(text, strings.ToLower(k)) {
				note(get(k), a.ID, a.Date)
				named[a.ID] = true
			}
		}
	}
	for _, hit := range f.Hits[churn.CueCompetitor] {
		if !named[hit.RecordID] {
			note(get("(unnamed)"), hit.RecordID, hit.Date)
		}
	}
	out := make([]result.Competitor, 0, len(by))
	for _, c := range by {
		sort.Strings(c.Evidence)
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Mentions != out[j].Mentions {
			return out[i].Mentions > out[j].Mentions
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Quarters returns the purchase totals of the n calendar quarters up to
// asOf, oldest first (empty quarters included).
func Quarters(h *churn.AccountHistory, asOf time.Time, n int) []result.Quarter {
	q := func(t time.Time) int { return t.Year()*4 + (int(t.Month())-1)/3 }
	last := q(asOf)
	out := make([]result.Quarter, n)
	for i := range out {
		k := last - n + 1 + i
		out[i].Label = fmt.Sprintf("%dQ%d", k/4, k%4+1)
	}
	for _, p := range h.Purchases {
		if p.Date.After(asOf) {
			continue
		}
		if i := q(p.Date) - (last - n + 1); i >= 0 && i < n {
			out[i].Amount += p.Amount
			out[i].Count++
		}
	}
	return out
}

// evidence lists every record the result cites, with a title for people.
func evidence(h *churn.AccountHistory, r *result.Result) []result.Citation {
	titles := map[string]string{}
	for _, a := range h.Activities {
		titles[a.ID] = fmt.Sprintf("%s %s: %s", a.Date.Format("2006-01-02"), a.Kind, a.Subject)
	}
	for _, o := range h.Opportunities {
		state := "open"
		switch {
		case o.Won:
			state = "won"
		case o.Lost:
			state = "lost"
		}
		titles[o.ID] = fmt.Sprintf("deal %s (%s, %.0f)", o.Name, state, o.Amount)
	}
	for _, c := range h.Contacts {
		titles[c.ID] = "contact " + c.Title
	}
	var ids []string
	add := func(xs []string) {
		for _, x := range xs {
			ids = appendUnique(ids, x)
		}
	}
	for _, d := range r.Drivers {
		add(d.Evidence)
	}
	for _, a := range r.Actions {
		add(a.Evidence)
	}
	for _, c := range r.CrossSell {
		add(c.Evidence)
	}
	for _, c := range r.Competitors {
		add(c.Evidence)
	}
	sort.Strings(ids)
	out := make([]result.Citation, 0, len(ids))
	for _, id := range ids {
		title := titles[id]
		if title == "" {
			title = "deal of a similar account"
		}
		out = append(out, result.Citation{ID: id, Title: title})
	}
	return out
}

func tr(lang, en, ja string) string {
	if lang == "en" {
		return en
	}
	return ja
}

var bandJA = map[string]string{result.BandLow: "低", result.BandMedium: "中", result.BandHigh: "高"}

// StatisticalAnalysis writes the six-part account review from the
// statistics alone: what the LLM analysis produces, without an LLM.
func StatisticalAnalysis(h *churn.AccountHistory, r *result.Result, lang string) *result.Analysis {
	a := &result.Analysis{}
	asOf := r.AsOf
	// Purchase pattern.
	var n12 int
	var amt12 float64
	var dates []time.Time
	var won []string
	for _, p := range h.Purchases {
		if p.Date.After(asOf) {
			continue
		}
		dates = append(dates, p.Date)
		won = append(won, p.ID)
		if asOf.Sub(p.Date) <= 365*24*time.Hour {
			n12++
			amt12 += p.Amount
		}
	}
	interval := 0.0
	if len(dates) > 1 {
		interval = dates[len(dates)-1].Sub(dates[0]).Hours() / 24 / float64(len(dates)-1)
	}
	recent := won
	if len(recent) > 3 {
		recent = recent[len(recent)-3:]
	}
	switch {
	case len(dates) == 0:
		a.PurchasePattern = result.Point{Text: tr(lang, "No purchase recorded yet.", "購入実績はまだありません。")}
	default:
		days := asOf.Sub(dates[len(dates)-1]).Hours() / 24
		a.PurchasePattern = result.Point{
			Text: tr(lang,
				fmt.Sprintf("%d purchases in total, %d in the last 12 months (%.0f); last purchase %.0f days ago; average interval %.0f days.", len(dates), n12, amt12, days, interval),
				fmt.Sprintf("累計%d件の購入、直近12か月で%d件（%.0f）。最終購入は%.0f日前、平均購入間隔は%.0f日です。", len(dates), n12, amt12, days, interval)),
			Citations: recent,
		}
	}
	// Decision process: deal cycle and contacts.
	var cycle float64
	var nc int
	var deals []string
	for _, o := range h.Opportunities {
		if o.Won && !o.Closed.IsZero() && !o.Closed.After(asOf) && !o.Created.IsZero() {
			cycle += o.Closed.Sub(o.Created).Hours() / 24
			nc++
			deals = append(deals, o.ID)
		}
	}
	if len(deals) > 3 {
		deals = deals[len(deals)-3:]
	}
	if nc > 0 {
		cycle /= float64(nc)
	}
	titles := map[string]bool{}
	for _, c := range h.Contacts {
		if c.Title != "" {
			titles[c.Title] = true
		}
	}
	var ts []string
	for t := range titles {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	if len(ts) > 4 {
		ts = ts[:4]
	}
	a.DecisionProcess = result.Point{
		Text: tr(lang,
			fmt.Sprintf("%d contacts on record (%s); won deals took %.0f days from creation to close on average.", len(h.Contacts), strings.Join(ts, ", "), cycle),
			fmt.Sprintf("登録済みの担当者は%d名（%s）。受注商談は作成からクローズまで平均%.0f日です。", len(h.Contacts), strings.Join(ts, "、"), cycle)),
		Citations: deals,
	}
	// Churn risk and challenges.
	a.ChurnRisk.Level = r.Band
	for _, d := range r.Drivers {
		text := d.Label
		if len(d.Phrases) > 0 {
			text += " (" + strings.Join(d.Phrases, ", ") + ")"
		}
		p := result.Point{Text: text, Citations: d.Evidence}
		a.ChurnRisk.Factors = append(a.ChurnRisk.Factors, p)
		if d.Group == string(churn.GroupText) || d.Group == string(churn.GroupDeals) {
			a.Challenges = append(a.Challenges, p)
		}
	}
	if len(a.Challenges) == 0 && len(a.ChurnRisk.Factors) > 0 {
		a.Challenges = append(a.Challenges, a.ChurnRisk.Factors[0])
	}
	// Needs and cross-sell.
	for _, c := range r.CrossSell {
		if c.Upsell {
			a.Needs = append(a.Needs, result.Point{Text: tr(lang, "Expansion interest: ", "拡大の意向: ") + strings.TrimPrefix(c.Product, "expansion: "), Citations: c.Evidence})
			continue
		}
		a.CrossSell = append(a.CrossSell, result.Point{
			Text: tr(lang,
				fmt.Sprintf("%s: owned by %d similar accounts (score %.2f)", c.Product, len(c.Accounts), c.Score),
				fmt.Sprintf("%s: 類似企業%d社が導入（スコア%.2f）", c.Product, len(c.Accounts), c.Score)),
			Citations: c.Evidence,
		})
	}
	for _, c := range r.Competitors {
		a.Competitors = append(a.Competitors, result.Point{
			Text: tr(lang,
				fmt.Sprintf("%s: %d mentions, %d deals lost, last %s", c.Name, c.Mentions, c.LostDeals, c.Last.Format("2006-01-02")),
				fmt.Sprintf("%s: 言及%d件、失注%d件、最終%s", c.Name, c.Mentions, c.LostDeals, c.Last.Format("2006-01-02"))),
			Citations: c.Evidence,
		})
	}
	for _, ac := range r.Actions {
		title := ac.Title
		if lang != "en" && ac.TitleJA != "" {
			title = ac.TitleJA
		}
		a.NextActions = append(a.NextActions, result.Point{Text: fmt.Sprintf("%s (%s)", title, ac.Due.Format("2006-01-02")), Citations: ac.Evidence})
	}
	// Summary.
	var top string
	if len(r.Drivers) > 0 {
		top = r.Drivers[0].Label
	}
	next := ""
	if len(a.NextActions) > 0 {
		next = a.NextActions[0].Text
	}
	pct := math.Round(r.Churn * 100)
	if lang == "en" {
		a.Summary = fmt.Sprintf("%s: churn risk %s (%.0f%% within the horizon)", nameOr(h), r.Band, pct)
		if top != "" {
			a.Summary += "; main driver: " + top
		}
		if next != "" {
			a.Summary += "; next: " + next
		}
		a.Summary += "."
	} else {
		a.Summary = fmt.Sprintf("%s: 解約リスク%s（予測期間内%.0f%%）", nameOr(h), bandJA[r.Band], pct)
		if top != "" {
			a.Summary += "。主な要因: " + top
		}
		if next != "" {
			a.Summary += "。次のアクション: " + next
		}
		a.Summary += "。"
	}
	nonNil(a)
	return a
}

func nameOr(h *churn.AccountHistory) string {
	if h.Name != "" {
		return h.Name
	}
	return h.ID
}

// nonNil replaces nil lists by empty ones so the JSON form always has them
// (the schema requires the arrays).
func nonNil(a *result.Analysis) {
	for _, p := range []*[]result.Point{&a.Challenges, &a.Needs, &a.CrossSell, &a.ChurnRisk.Factors, &a.Competitors, &a.NextActions} {
		if *p == nil {
			*p = []result.Point{}
		}
		for i := range *p {
			if (*p)[i].Citations == nil {
				(*p)[i].Citations = []string{}
			}
		}
	}
	for _, p := range []*result.Point{&a.PurchasePattern, &a.DecisionProcess} {
		if p.Citations == nil {
			p.Citations = []string{}
		}
	}
}
