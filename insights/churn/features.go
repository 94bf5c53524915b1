package churn

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/crmpulse/crmpulse/insights/bgnbd"
)

// Group is a family of features, the unit of ablation.
type Group string

// Feature groups.
const (
	GroupBGNBD      Group = "bgnbd"      // purchase-process model
	GroupRFM        Group = "rfm"        // recency, frequency, monetary
	GroupEngagement Group = "engagement" // activity recency, volume and trend
	GroupText       Group = "text"       // lexicon cues in communications
	GroupDeals      Group = "deals"      // pipeline, lost and stalled deals, renewal
)

// Groups lists the groups in a fixed order.
var Groups = []Group{GroupBGNBD, GroupRFM, GroupEngagement, GroupText, GroupDeals}

// FeatureDef describes one model input.
type FeatureDef struct {
	Name  string // stable identifier
	Label string // for people, e.g. in a driver list
	Group Group
	Log   bool // the model sees log(1+max(v,0)) instead of v
	Cue   Cue  // for text features: the cue counted
}

// Window lengths used by the features.
const (
	day          = 24 * time.Hour
	week         = 7 * day
	recentWindow = 90 * day  // engagement and text cues
	dealWindow   = 180 * day // lost deals
	yearWindow   = 365 * day // frequency and monetary
	stalledAge   = 120 * day // an open deal older than this is stalled
	slopeWeeks   = 26
)

// FeatureDefs are the model's inputs, in vector order.
var FeatureDefs = []FeatureDef{
	{Name: "p_alive", Label: "probability the account is still buying (BG/NBD P(alive))", Group: GroupBGNBD},
	{Name: "p_no_purchase", Label: "probability of no purchase within the horizon (BG/NBD)", Group: GroupBGNBD},
	{Name: "recency_days", Label: "days since the last purchase", Group: GroupRFM, Log: true},
	{Name: "frequency_365", Label: "purchases in the last 365 days", Group: GroupRFM, Log: true},
	{Name: "monetary_365", Label: "amount bought in the last 365 days", Group: GroupRFM, Log: true},
	{Name: "days_since_activity", Label: "days since the last email, meeting or call", Group: GroupEngagement, Log: true},
	{Name: "activities_90", Label: "activities in the last 90 days", Group: GroupEngagement, Log: true},
	{Name: "activity_trend", Label: "activity change, last 90 days vs the prior 90 (−1..1)", Group: GroupEngagement},
	{Name: "activity_slope", Label: "weekly activity slope over 26 weeks, relative to the mean", Group: GroupEngagement},
	{Name: "cue_complaints", Label: "complaints in recent communications", Group: GroupText, Cue: CueComplaints},
	{Name: "cue_budget_cut", Label: "budget cuts mentioned", Group: GroupText, Cue: CueBudgetCut},
	{Name: "cue_competitor", Label: "competitor mentioned or lost to a competitor", Group: GroupText, Cue: CueCompetitor},
	{Name: "cue_champion_left", Label: "champion or key contact left", Group: GroupText, Cue: CueChampionLeft},
	{Name: "cue_cancellation", Label: "cancellation or non-renewal mentioned", Group: GroupText, Cue: CueCancellation},
	{Name: "cue_expansion", Label: "expansion signals", Group: GroupText, Cue: CueExpansion},
	{Name: "lost_deals_180", Label: "deals lost in the last 180 days", Group: GroupDeals},
	{Name: "stalled_deals", Label: "open deals older than 120 days", Group: GroupDeals},
	{Name: "open_pipeline", Label: "open pipeline amount", Group: GroupDeals, Log: true},
	{Name: "renewal_in_horizon", Label: "contract renewal falls within the horizon", Group: GroupDeals},
}

func featureIndex(name string) int {
	for i, d := range FeatureDefs {
		if d.Name == name {
			return i
		}
	}
	panic("churn: unknown feature " + name)
}

// Features are one account's inputs as of a date.
type Features struct {
	AccountID string
	AsOf      time.Time
	// Values are raw (untransformed) values in FeatureDefs order; NaN means
	// unavailable (the model then uses the training mean).
	Values []float64
	// Hits are the text-cue evidence of the recent window, per cue.
	Hits map[Cue][]Hit
	// LastPurchase and LastActivity are zero when there is none.
	LastPurchase, LastActivity time.Time
}

// Value returns the named raw feature.
func (f Features) Value(name string) float64 { return f.Values[featureIndex(name)] }

// Extractor builds features as of one date for one account base.
type Extractor struct {
	AsOf    time.Time
	Horizon time.Duration
	// BGNBD is the purchase-process fit on the account base in weeks; nil
	// when the base could not be fitted (the BG/NBD features are then NaN).
	BGNBD *bgnbd.Params
}

// NewExtractor fits BG/NBD on the purchase histories of the accounts as of
// asOf (time unit: weeks; purchases on one day count once) and returns an
// extractor. A base where the fit is impossible (no repeat purchases) is not
// an error: the BG/NBD features are then left unavailable.
func NewExtractor(hs []AccountHistory, asOf time.Time, horizon time.Duration) (*Extractor, error) {
	if horizon <= 0 {
		return nil, fmt.Errorf("churn: horizon %v must be positive", horizon)
	}
	e := &Extractor{AsOf: asOf, Horizon: horizon}
	var cs []bgnbd.Customer
	for i := range hs {
		if c, ok := Summary(&hs[i], asOf); ok {
			cs = append(cs, c)
		}
	}
	if len(cs) >= 2 {
		res, err := bgnbd.Fit(cs, nil)
		switch {
		case err == nil:
			e.BGNBD = &res.Params
		case errors.Is(err, bgnbd.ErrNoRepeat):
		default:
			return nil, fmt.Errorf("churn: fit BG/NBD on %d accounts: %w", len(cs), err)
		}
	}
	return e, nil
}

// Summary returns the BG/NBD summary (x, t_x, T) in weeks of the account's
// purchases up to asOf. An account without purchases is summarised from
// FirstSeen as if that were its first purchase (x = 0); ok is false when
// neither exists before asOf.
func Summary(h *AccountHistory, asOf time.Time) (bgnbd.Customer, bool) {
	days := purchaseDays(h, asOf)
	var first, last time.Time
	if len(days) > 0 {
		first, last = days[0], days[len(days)-1]
	} else if !h.FirstSeen.IsZero() && !h.FirstSeen.After(asOf) {
		first, last = h.FirstSeen, h.FirstSeen
	} else {
		return bgnbd.Customer{}, false
	}
	T := asOf.Sub(first).Hours() / (24 * 7)
	if T <= 0 {
		T = 1.0 / 7 // bought today: one day of observation
	}
	x := math.Max(float64(len(days)-1), 0)
	tx := 0.0
	if x > 0 {
		tx = last.Sub(first).Hours() / (24 * 7)
	}
	return bgnbd.Customer{Frequency: x, Recency: math.Min(tx, T), T: T}, true
}

// purchaseDays returns the distinct UTC purchase days up to asOf, sorted.
func purchaseDays(h *AccountHistory, asOf time.Time) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, p := range h.Purchases {
		if p.Date.After(asOf) {
			continue
		}
		d := p.Date.UTC().Truncate(day)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Extract computes one account's features.
func (e *Extractor) Extract(h *AccountHistory) Features {
	asOf := e.AsOf
	f := Features{AccountID: h.ID, AsOf: asOf, Values: make([]float64, len(FeatureDefs))}
	set := func(name string, v float64) { f.Values[featureIndex(name)] = v }
	days := func(d time.Duration) float64 { return d.Hours() / 24 }

	// BG/NBD.
	pAlive, pNone := math.NaN(), math.NaN()
	if c, ok := Summary(h, asOf); ok && e.BGNBD != nil {
		pAlive = e.BGNBD.PAlive(c)
		pNone = e.BGNBD.PNoPurchase(c, e.Horizon.Hours()/(24*7))
	}
	set("p_alive", pAlive)
	set("p_no_purchase", pNone)

	// RFM.
	var freq, money float64
	for _, p := range h.Purchases {
		if p.Date.After(asOf) {
			continue
		}
		if p.Date.After(f.LastPurchase) {
			f.LastPurchase = p.Date
		}
		if asOf.Sub(p.Date) <= yearWindow {
			freq++
			money += p.Amount
		}
	}
	since := f.LastPurchase
	if since.IsZero() {
		since = h.FirstSeen
	}
	if since.IsZero() || since.After(asOf) {
		set("recency_days", math.NaN())
	} else {
		set("recency_days", days(asOf.Sub(since)))
	}
	set("frequency_365", freq)
	set("monetary_365", money)

	// Engagement.
	var n90, nPrev float64
	weekly := make([]float64, slopeWeeks)
	for _, a := range h.Activities {
		if a.Date.After(asOf) {
			continue
		}
		if a.Date.After(f.LastActivity) {
			f.LastActivity = a.Date
		}
		age := asOf.Sub(a.Date)
		switch {
		case age < recentWindow:
			n90++
		case age < 2*recentWindow:
			nPrev++
		}
		if w := int(age / week); w < slopeWeeks {
			weekly[slopeWeeks-1-w]++
		}
	}
	if f.LastActivity.IsZero() {
		ref := h.FirstSeen
		if ref.IsZero() || ref.After(asOf) {
			set("days_since_activity", math.NaN())
		} else {
			set("days_since_activity", days(asOf.Sub(ref)))
		}
	} else {
		set("days_since_activity", days(asOf.Sub(f.LastActivity)))
	}
	set("activities_90", n90)
	set("activity_trend", (n90-nPrev)/(n90+nPrev+1))
	set("activity_slope", relativeSlope(weekly))

	// Text cues: distinct records per cue in the recent window, capped at 3.
	f.Hits = cueHits(h, asOf.Add(-recentWindow), asOf)
	for _, d := range FeatureDefs {
		if d.Cue != "" {
			ids := map[string]bool{}
			for _, hit := range f.Hits[d.Cue] {
				ids[hit.RecordID] = true
			}
			set(d.Name, math.Min(float64(len(ids)), 3))
		}
	}

	// Deals.
	var lost, stalled, pipeline float64
	for _, o := range h.Opportunities {
		if o.Lost && !o.Closed.IsZero() && !o.Closed.After(asOf) && asOf.Sub(o.Closed) <= dealWindow {
			lost++
		}
		if o.Open(asOf) {
			pipeline += o.Amount
			if asOf.Sub(o.Created) > stalledAge {
				stalled++
			}
		}
	}
	set("lost_deals_180", lost)
	set("stalled_deals", stalled)
	set("open_pipeline", pipeline)
	renewal := 0.0
	if !h.Renewal.IsZero() && h.Renewal.After(asOf) && !h.Renewal.After(asOf.Add(e.Horizon)) {
		renewal = 1
	}
	set("renewal_in_horizon", renewal)
	return f
}

// relativeSlope is the least-squares slope of the weekly counts divided by
// (mean + 1): about −1/26 per week for a steady fall to zero.
func relativeSlope(ys []float64) float64 {
	n := float64(len(ys))
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x := float64(i)
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	slope := (n*sxy - sx*sy) / den
	return slope / (sy/n + 1)
}

// ExtractAll computes features for all accounts as of asOf.
func ExtractAll(hs []AccountHistory, asOf time.Time, horizon time.Duration) ([]Features, *Extractor, error) {
	e, err := NewExtractor(hs, asOf, horizon)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Features, len(hs))
	for i := range hs {
		out[i] = e.Extract(&hs[i])
	}
	return out, e, nil
}
