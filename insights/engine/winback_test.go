package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
)

// referenceRecoveries is the direct definition of Recoveries: scan every
// other account's purchase gaps, rank by likeness, most recent first.
func referenceRecoveries(e *Engine, b *Base, h *churn.AccountHistory, limit int) []Recovery {
	gap := time.Duration(float64(e.Opt.WinbackMonths)*monthDays*24) * time.Hour
	var out []Recovery
	for _, id := range b.IDs {
		if id == h.ID {
			continue
		}
		o := b.Histories[id]
		var ps []churn.Purchase
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
	band := SizeBand(h.Employees)
	rank := func(r Recovery) int {
		s := 0
		if r.Industry == h.Industry {
			s += 2
		}
		if r.SizeBand == band {
			s++
		}
		return s
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := rank(out[i]), rank(out[j]); a != b {
			return a > b
		}
		if !out[i].Returned.Equal(out[j].Returned) {
			return out[i].Returned.After(out[j].Returned)
		}
		return out[i].Account < out[j].Account
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// TestRecoveriesMatchDefinition checks the shared, once-computed win-back
// list against the direct definition for every account of a random base,
// with and without a limit, including ties on the return date.
func TestRecoveriesMatchDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	industries := []string{"Manufacturing", "Retail", "Finance", ""}
	sizes := []int{0, 30, 300, 3000}
	b := &Base{AsOf: asOf, Histories: map[string]*churn.AccountHistory{}}
	for i := range 300 {
		h := &churn.AccountHistory{ID: fmt.Sprintf("acc%03d", i), Name: fmt.Sprintf("Account %d", i),
			Industry: industries[rng.IntN(len(industries))], Employees: sizes[rng.IntN(len(sizes))]}
		for j := range rng.IntN(8) {
			// Dates on a coarse grid so that several accounts return on the
			// same day; some after asOf, which must be ignored.
			d := asOf.AddDate(0, -rng.IntN(30)+2, 0)
			h.Purchases = append(h.Purchases, churn.Purchase{ID: fmt.Sprintf("%s-d%d", h.ID, j), Date: d, Products: []string{"P"}})
			h.Activities = append(h.Activities, churn.Activity{ID: fmt.Sprintf("%s-a%d", h.ID, j), Date: d.AddDate(0, 0, -rng.IntN(120))})
		}
		b.IDs = append(b.IDs, h.ID)
		b.Histories[h.ID] = h
	}
	e := &Engine{Opt: Options{}.withDefaults()}
	total := 0
	for _, limit := range []int{5, 0} {
		for _, id := range b.IDs {
			h := b.Histories[id]
			got := e.Recoveries(b, h, limit)
			want := referenceRecoveries(e, b, h, limit)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("limit %d, account %s: got %d recoveries, want %d\ngot  %+v\nwant %+v", limit, id, len(got), len(want), got, want)
			}
			total += len(got)
		}
	}
	if total == 0 {
		t.Fatal("the random base produced no win-backs; the test checks nothing")
	}
}
