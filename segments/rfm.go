// Package segments assigns customers to RFM segments (recency, frequency,
// monetary value of their won deals or orders), refines them with B2B axes,
// describes each segment in plain terms from the actual cut-offs, and
// tracks migrations between two assignments.
//
// # Scoring
//
// Each of R, F and M is scored 1..5 (5 best: most recent, most frequent,
// highest spend). By default the cut-offs are the 20/40/60/80% quantiles of
// the customer base (lower empirical quantile: the value at rank ⌈k·n/5⌉ of
// the sorted values), and a score counts how many cut-offs a value passes:
// F = 1 + #{k : f > q_k}, M likewise, R = 5 − #{k : days > q_k}. Equal values
// therefore always get equal scores, whatever the input order; when many
// customers share a value (F = 1 is common) some quintiles merge and some
// scores do not occur. Fixed cut-offs can be configured instead.
//
// # Segments
//
// Rules are tried in this order; the first that holds names the segment
// (every R, F, M combination lands in exactly one):
//
//	VIP              R ≥ 4, F ≥ 4, M ≥ 4   bought recently, often, and spend the most
//	Loyal            R ≥ 3, F ≥ 4          buy often and not lapsed
//	Can't Lose       R ≤ 2, F ≥ 4, M ≥ 4   were among the best, now lapsing
//	At Risk          R ≤ 2, F ≥ 3 or M ≥ 4 used to buy regularly or big, now lapsing
//	Promising New    R ≥ 4, F ≤ 2          recent first purchases
//	Needs Attention  R ≥ 3                 recent-ish, middling frequency
//	Dormant          otherwise             long gone, few and small purchases
//
// Segment rank, used to call a migration an upgrade or a downgrade, follows
// the desirability of the state: VIP 7, Loyal 6, Promising New 5,
// Needs Attention 4, Can't Lose 3, At Risk 2, Dormant 1. Accounts that never
// bought are Prospect (rank 0) when the account list is known.
//
// Segment ids (vip, loyal, promising_new, needs_attention, cant_lose,
// at_risk, dormant, prospect) are stable slugs: they are the values written
// to the CRM segment field and selected by the CRM lists of package
// segments/lists. Display labels are English or Japanese and can be
// overridden in the configuration.
//
// # Design, history and migration rules
//
// Design segments account histories (churn.AccountHistory) with the
// configuration's segments section: RFM from won purchases, B2B sub-segment
// labels (industry, size band, engagement from activities in the last 90
// days, renewal timing), and a communication strategy per segment (built-in
// EN/JA guidance, a Strategist such as the LLM segment analysis, or a
// configured override). Tracker.Record applies the migration rules (see
// ApplyRules: upgrades need a purchase since the previous run, downgrades
// its absence), keeps each account's segment and history in Redis, and logs
// the run with its moves ("42 accounts moved Loyal → At Risk"). History and
// LastMove expose an account's moves as a signal for insights.
// MembershipDelta tells write-back which accounts would join or leave each
// CRM list.
package segments

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Order is a won deal or an order: money received from a customer.
type Order struct {
	CustomerID string
	Date       time.Time
	Amount     float64
}

// RFM is one customer's raw values and scores.
type RFM struct {
	CustomerID  string
	RecencyDays float64 // days from the last order to the as-of date
	Frequency   int     // orders
	Monetary    float64 // total amount
	R, F, M     int     // scores 1..5
}

// Cutoffs are the four boundaries of each score, ascending. A customer
// scores R = 5 − #{k : RecencyDays > Recency[k]}, F = 1 + #{k : Frequency >
// Frequency[k]}, M = 1 + #{k : Monetary > Monetary[k]}.
type Cutoffs struct {
	Recency   [4]float64 `json:"recency_days"`
	Frequency [4]float64 `json:"frequency"`
	Monetary  [4]float64 `json:"monetary"`
}

// ErrNoOrders reports an input with no usable order.
var ErrNoOrders = errors.New("segments: no orders on or before the as-of date")

// Aggregate sums the orders dated on or before asOf per customer and
// returns the raw R, F, M values (scores unset), sorted by customer id.
// Orders with an empty customer id are skipped.
func Aggregate(orders []Order, asOf time.Time) ([]RFM, error) {
	type acc struct {
		last    time.Time
		n       int
		amounts []float64
	}
	by := map[string]*acc{}
	for _, o := range orders {
		if o.CustomerID == "" || o.Date.After(asOf) {
			continue
		}
		a := by[o.CustomerID]
		if a == nil {
			a = &acc{}
			by[o.CustomerID] = a
		}
		if o.Date.After(a.last) {
			a.last = o.Date
		}
		a.n++
		a.amounts = append(a.amounts, o.Amount)
	}
	if len(by) == 0 {
		return nil, ErrNoOrders
	}
	out := make([]RFM, 0, len(by))
	for id, a := range by {
		// Summing in sorted order makes the total independent of input order.
		sort.Float64s(a.amounts)
		money := 0.0
		for _, v := range a.amounts {
			money += v
		}
		out = append(out, RFM{CustomerID: id, RecencyDays: asOf.Sub(a.last).Hours() / 24, Frequency: a.n, Monetary: money})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CustomerID < out[j].CustomerID })
	return out, nil
}

// QuintileCutoffs returns the 20/40/60/80% lower empirical quantiles of
// each measure.
func QuintileCutoffs(rs []RFM) Cutoffs {
	var c Cutoffs
	rec, freq, mon := make([]float64, len(rs)), make([]float64, len(rs)), make([]float64, len(rs))
	for i, r := range rs {
		rec[i], freq[i], mon[i] = r.RecencyDays, float64(r.Frequency), r.Monetary
	}
	for _, v := range [][]float64{rec, freq, mon} {
		sort.Float64s(v)
	}
	n := len(rs)
	for k := 1; k <= 4; k++ {
		i := int(math.Ceil(float64(k*n)/5)) - 1
		i = max(i, 0)
		c.Recency[k-1], c.Frequency[k-1], c.Monetary[k-1] = rec[i], freq[i], mon[i]
	}
	return c
}

// Validate checks that each row of cut-offs is ascending (non-strictly).
func (c Cutoffs) Validate() error {
	for name, row := range map[string][4]float64{"recency": c.Recency, "frequency": c.Frequency, "monetary": c.Monetary} {
		for k := 1; k < 4; k++ {
			if row[k] < row[k-1] || math.IsNaN(row[k]) {
				return fmt.Errorf("segments: %s cut-offs %v are not ascending", name, row)
			}
		}
	}
	return nil
}

func above(v float64, cuts [4]float64) int {
	n := 0
	for _, c := range cuts {
		if v > c {
			n++
		}
	}
	return n
}

// Score sets R, F and M of each row from the cut-offs.
func (c Cutoffs) Score(rs []RFM) {
	for i := range rs {
		rs[i].R = 5 - above(rs[i].RecencyDays, c.Recency)
		rs[i].F = 1 + above(float64(rs[i].Frequency), c.Frequency)
		rs[i].M = 1 + above(rs[i].Monetary, c.Monetary)
	}
}
