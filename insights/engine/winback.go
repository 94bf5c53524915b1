package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/result"
)

const monthDays = 30.44

// MonthsSincePurchase returns the months since the last purchase up to
// asOf, and false when the account never bought.
func MonthsSincePurchase(h *churn.AccountHistory, asOf time.Time) (float64, bool) {
	var last time.Time
	for _, p := range h.Purchases {
		if !p.Date.After(asOf) && p.Date.After(last) {
			last = p.Date
		}
	}
	if last.IsZero() {
		return 0, false
	}
	return asOf.Sub(last).Hours() / 24 / monthDays, true
}

// IsWinbackTarget reports whether the account bought before but not in the
// last WinbackMonths months.
func (e *Engine) IsWinbackTarget(h *churn.AccountHistory, asOf time.Time) bool {
	m, ok := MonthsSincePurchase(h, asOf)
	return ok && m >= float64(e.Opt.WinbackMonths)
}

// Recovery is a past win-back: an account that went at least the win-back
// gap without buying and then bought again.
type Recovery struct {
	Account    string
	Name       string
	Industry   string
	SizeBand   string
	GapMonths  float64
	ReturnDeal string   // the purchase that ended the gap
	Products   []string // bought on return
	Returned   time.Time
	// Touches are the activities of the 90 days before the return purchase,
	// what the seller did to win the account back.
	Touches []string
}

// Recoveries finds the past win-backs of the base: gaps of at least
// WinbackMonths between consecutive purchases up to the base date, ranked
// by likeness to h (same industry, then same size band, then most recent).
// The base's win-backs are collected once and shared by every account's
// ranking; callers must not modify the returned slices' contents.
func (e *Engine) Recoveries(b *Base, h *churn.AccountHistory, limit int) []Recovery {
	all := b.recoveries(e.Opt.WinbackMonths)
	band := SizeBand(h.Employees)
	// all is sorted most recent first; the likeness rank takes four values,
	// so one pass into four buckets keeps the order within each rank.
	var buckets [4][]Recovery
	for _, r := range all {
		if r.Account == h.ID {
			continue
		}
		s := 0
		if r.Industry == h.Industry {
			s += 2
		}
		if r.SizeBand == band {
			s++
		}
		if limit > 0 && len(buckets[s]) >= limit {
			continue
		}
		buckets[s] = append(buckets[s], r)
	}
	var out []Recovery
	for s := 3; s >= 0; s-- {
		out = append(out, buckets[s]...)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// recoveries returns every past win-back of the base, most recent first
// (ties by account id), computed on first use.
func (b *Base) recoveries(winbackMonths int) []Recovery {
	b.recMu.Lock()
	defer b.recMu.Unlock()
	if b.recs != nil && b.recMonths == winbackMonths {
		return b.recs
	}
	gap := time.Duration(float64(winbackMonths)*monthDays*24) * time.Hour
	out := []Recovery{}
	for _, id := range b.IDs {
		o := b.Histories[id]
		ps := make([]churn.Purchase, 0, len(o.Purchases))
		for _, p := range o.Purchases {
			if !p.Date.After(b.AsOf) {
				ps = append(ps, p)
			}
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].Date.Before(ps[j].Date) })
		for i := 1; i < len(ps); i++ {
			d := ps[i].Date.Sub(ps[i-1].Date)
			if d < gap {
				continue
			}
			r := Recovery{Account: id, Name: o.Name, Industry: o.Industry, SizeBand: SizeBand(o.Employees),
				GapMonths: d.Hours() / 24 / monthDays, ReturnDeal: ps[i].ID, Products: ps[i].Products, Returned: ps[i].Date}
			for _, a := range o.Activities {
				if a.Date.Before(ps[i].Date) && ps[i].Date.Sub(a.Date) <= 90*24*time.Hour {
					r.Touches = append(r.Touches, a.ID)
				}
			}
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Returned.Equal(out[j].Returned) {
			return out[i].Returned.After(out[j].Returned)
		}
		return out[i].Account < out[j].Account
	})
	b.recs, b.recMonths = out, winbackMonths
	return out
}

// StatisticalWinback writes a win-back plan from the account's insight and
// the past recoveries of similar accounts.
func (e *Engine) StatisticalWinback(b *Base, h *churn.AccountHistory, r *result.Result, recs []Recovery) *result.WinbackPlan {
	lang := e.Opt.Language
	months, _ := MonthsSincePurchase(h, b.AsOf)
	p := &result.WinbackPlan{Account: h.ID, Connection: b.Conn, MonthsSince: months, Source: result.SourceStatistical,
		Model: r.Model, AnalysedAt: time.Now().UTC()}
	// Risk of losing the account for good: the churn band, raised one step
	// for a gap twice the win-back threshold and when no precedent exists.
	lvl := map[string]int{result.BandLow: 0, result.BandMedium: 1, result.BandHigh: 2}[r.Band]
	if months >= 2*float64(e.Opt.WinbackMonths) {
		lvl++
	}
	if len(recs) == 0 {
		lvl++
	}
	p.Risk = []string{result.BandLow, result.BandMedium, result.BandHigh}[min(lvl, 2)]
	var drivers []string
	var ev []string
	for _, d := range r.Drivers {
		drivers = append(drivers, d.Label)
		ev = append(ev, d.Evidence...)
	}
	if len(drivers) > 3 {
		drivers = drivers[:3]
	}
	p.Assessment = result.Point{
		Text: tr(lang,
			fmt.Sprintf("No purchase for %.1f months; risk of permanent loss %s; churn probability %.0f%%; main factors: %s. %d similar accounts came back after a comparable gap.", months, p.Risk, r.Churn*100, strings.Join(drivers, "; "), len(recs)),
			fmt.Sprintf("%.1fか月購入がありません。完全離反のリスクは%s、解約確率は%.0f%%、主な要因: %s。類似企業%d社が同程度の空白期間の後に再購入しています。", months, bandJA[p.Risk], r.Churn*100, strings.Join(drivers, "、"), len(recs))),
		Citations: uniq(ev),
	}
	// Steps: address the drivers, then offer what returning accounts bought.
	for i, a := range r.Actions {
		if i == 2 {
			break
		}
		title := a.Title
		if lang != "en" && a.TitleJA != "" {
			title = a.TitleJA
		}
		p.Steps = append(p.Steps, result.Point{Text: title, Citations: nonNilIDs(a.Evidence)})
	}
	prods := map[string]int{}
	var deals []string
	for _, rc := range recs {
		p.Precedents = append(p.Precedents, rc.Account)
		deals = append(deals, rc.ReturnDeal)
		for _, x := range rc.Products {
			prods[x]++
		}
	}
	if len(recs) > 0 {
		best, n := "", 0
		for x, c := range prods {
			if c > n || (c == n && x < best) {
				best, n = x, c
			}
		}
		p.Steps = append(p.Steps, result.Point{
			Text: tr(lang,
				fmt.Sprintf("Offer %s: %d of %d comparable accounts returned with it.", best, n, len(recs)),
				fmt.Sprintf("「%s」を提案する: 比較対象%d社中%d社がこの製品で再購入しました。", best, len(recs), n)),
			Citations: deals,
		})
		var touches []string
		for _, rc := range recs {
			touches = append(touches, rc.Touches...)
		}
		if len(touches) > 5 {
			touches = touches[:5]
		}
		p.Steps = append(p.Steps, result.Point{
			Text: tr(lang, "Re-open the conversation the way returning accounts were re-engaged (calls and meetings in the 90 days before their return).",
				"再購入した企業と同様に、再購入前90日間の電話・面談のような接点を再開する。"),
			Citations: nonNilIDs(touches),
		})
	} else {
		p.Steps = append(p.Steps, result.Point{Text: tr(lang, "Executive outreach to understand why purchases stopped.", "購入が止まった理由を把握するため役員層にアプローチする。"), Citations: []string{}})
	}
	if p.Precedents == nil {
		p.Precedents = []string{}
	}
	return p
}

func uniq(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		out = appendUnique(out, id)
	}
	return out
}

func nonNilIDs(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// SegmentInput is one segment to write a strategy for.
type SegmentInput struct {
	Key, Name, Definition string
	Accounts              []string
}

// StatisticalSegmentStrategy summarises a segment from its accounts'
// insights: the commonest drivers (risks), expansion and cross-sell
// (needs), purchase behaviour, and the commonest next actions (approach).
func (e *Engine) StatisticalSegmentStrategy(conn string, seg SegmentInput, rs map[string]*result.Result, hs map[string]*churn.AccountHistory, asOf time.Time) *result.SegmentStrategy {
	lang := e.Opt.Language
	s := &result.SegmentStrategy{Segment: seg.Key, Connection: conn, Accounts: len(seg.Accounts), Source: result.SourceStatistical, Model: "statistical", AnalysedAt: time.Now().UTC()}
	type tally struct {
		n   int
		ids []string
	}
	count := func(m map[string]*tally, k, id string) {
		t := m[k]
		if t == nil {
			t = &tally{}
			m[k] = t
		}
		t.n++
		if len(t.ids) < 5 {
			t.ids = append(t.ids, id)
		}
	}
	drivers, needs, acts := map[string]*tally{}, map[string]*tally{}, map[string]*tally{}
	var churnSum float64
	var nr, purchases int
	var amount float64
	for _, id := range seg.Accounts {
		r := rs[id]
		if r == nil {
			continue
		}
		nr++
		churnSum += r.Churn
		for _, d := range r.Drivers {
			ev := id
			if len(d.Evidence) > 0 {
				ev = d.Evidence[0]
			}
			count(drivers, d.Label, ev)
		}
		for _, c := range r.CrossSell {
			ev := id
			if len(c.Evidence) > 0 {
				ev = c.Evidence[0]
			}
			count(needs, c.Product, ev)
		}
		for _, a := range r.Actions {
			title := a.Title
			if lang != "en" && a.TitleJA != "" {
				title = a.TitleJA
			}
			if strings.HasPrefix(a.Kind, "cross_sell:") {
				title = tr(lang, "Introduce products similar accounts use", "類似企業が利用している製品を紹介する")
			}
			count(acts, title, id)
		}
		if h := hs[id]; h != nil {
			for _, p := range h.Purchases {
				if !p.Date.After(asOf) && asOf.Sub(p.Date) <= 365*24*time.Hour {
					purchases++
					amount += p.Amount
				}
			}
		}
	}
	top := func(m map[string]*tally, k int) []result.Point {
		keys := make([]string, 0, len(m))
		for x := range m {
			keys = append(keys, x)
		}
		sort.Slice(keys, func(i, j int) bool {
			if m[keys[i]].n != m[keys[j]].n {
				return m[keys[i]].n > m[keys[j]].n
			}
			return keys[i] < keys[j]
		})
		out := []result.Point{}
		for _, x := range keys[:min(k, len(keys))] {
			out = append(out, result.Point{Text: fmt.Sprintf("%s (%d/%d)", x, m[x].n, max(nr, 1)), Citations: m[x].ids})
		}
		return out
	}
	s.Risks = top(drivers, 3)
	s.Needs = top(needs, 3)
	s.Approach = top(acts, 3)
	mean := 0.0
	if nr > 0 {
		mean = churnSum / float64(nr)
	}
	per := 0.0
	if len(seg.Accounts) > 0 {
		per = float64(purchases) / float64(len(seg.Accounts))
	}
	ids := seg.Accounts
	if len(ids) > 5 {
		ids = ids[:5]
	}
	s.Behaviour = []result.Point{{
		Text: tr(lang,
			fmt.Sprintf("%s: %s. %.1f purchases per account in the last 12 months (total %.0f); mean churn probability %.0f%%.", seg.Name, seg.Definition, per, amount, mean*100),
			fmt.Sprintf("%s: %s。直近12か月の購入は1社あたり%.1f件（合計%.0f）、平均解約確率は%.0f%%。", seg.Name, seg.Definition, per, amount, mean*100)),
		Citations: append([]string{}, ids...),
	}}
	return s
}
