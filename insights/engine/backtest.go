package engine

import (
	"fmt"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/eval"
)

// TruncateHistory returns the account as the CRM showed it at cutoff:
// purchases, activities and opportunities created after it removed,
// opportunities closed after it reopened, contacts that left after it
// still present. A backtest computes features from truncated histories
// only, so nothing after the cutoff can leak into them.
func TruncateHistory(h *churn.AccountHistory, cutoff time.Time) *churn.AccountHistory {
	out := *h
	out.Purchases, out.Opportunities, out.Activities, out.Contacts = nil, nil, nil, nil
	if !h.ChurnedAt.IsZero() && h.ChurnedAt.After(cutoff) {
		out.ChurnedAt = time.Time{}
	}
	for _, p := range h.Purchases {
		if !p.Date.After(cutoff) {
			out.Purchases = append(out.Purchases, p)
		}
	}
	for _, o := range h.Opportunities {
		if o.Created.After(cutoff) {
			continue
		}
		if !o.Closed.IsZero() && o.Closed.After(cutoff) {
			o.Closed, o.Won, o.Lost, o.LossReason = time.Time{}, false, false, ""
		}
		out.Opportunities = append(out.Opportunities, o)
	}
	for _, a := range h.Activities {
		if !a.Date.After(cutoff) {
			out.Activities = append(out.Activities, a)
		}
	}
	for _, c := range h.Contacts {
		if c.Left.After(cutoff) {
			c.Left = time.Time{}
		}
		out.Contacts = append(out.Contacts, c)
	}
	return &out
}

// BacktestReport is the outcome of Backtest.
type BacktestReport struct {
	Cutoff      time.Time
	Horizon     time.Duration
	N           int // labelled accounts scored
	Positives   int
	AUC         float64
	Brier       float64
	BaseBrier   float64 // predicting the observed rate for everyone
	Calibration []eval.Bin
	Model       ModelInfo
	Ablation    []Ablated
}

// Ablated is the backtest AUC without one feature group.
type Ablated struct {
	Without churn.Group
	AUC     float64
	Delta   float64
}

// Backtest scores the accounts as of cutoff exactly as a run at that date
// would (histories truncated to the cutoff, BG/NBD fitted and the model
// trained on the connection's history before it) and compares the
// probabilities with outcomes known from elsewhere (labels: account id →
// churned after the cutoff). With ablate, the procedure is repeated
// without each feature group.
func (e *Engine) Backtest(conn string, cutoff time.Time, ids []string, hs map[string]*churn.AccountHistory, labels map[string]bool, ablate bool) (*BacktestReport, error) {
	cut := make(map[string]*churn.AccountHistory, len(hs))
	for _, id := range ids {
		cut[id] = TruncateHistory(hs[id], cutoff)
	}
	rep, err := e.backtestOnce(conn, cutoff, ids, cut, labels)
	if err != nil {
		return nil, err
	}
	if ablate {
		for _, g := range churn.Groups {
			o := e.Opt
			o.Exclude = append(append([]churn.Group(nil), o.Exclude...), g)
			sub := &Engine{Store: e.Store, Embedder: e.Embedder, Source: e.Source, Opt: o}
			r, err := sub.backtestOnce(conn, cutoff, ids, cut, labels)
			if err != nil {
				return nil, fmt.Errorf("ablation without %s: %w", g, err)
			}
			rep.Ablation = append(rep.Ablation, Ablated{Without: g, AUC: r.AUC, Delta: r.AUC - rep.AUC})
		}
	}
	return rep, nil
}

func (e *Engine) backtestOnce(conn string, cutoff time.Time, ids []string, hs map[string]*churn.AccountHistory, labels map[string]bool) (*BacktestReport, error) {
	b, err := e.PrepareFrom(conn, cutoff, ids, hs)
	if err != nil {
		return nil, err
	}
	var probs []float64
	var ys []bool
	for _, id := range ids {
		y, ok := labels[id]
		if !ok {
			continue
		}
		f, _ := b.Features(id)
		probs = append(probs, b.Model.Predict(f))
		ys = append(ys, y)
	}
	rep := &BacktestReport{Cutoff: cutoff, Horizon: e.Opt.Horizon, N: len(ys), Model: b.Info}
	for _, y := range ys {
		if y {
			rep.Positives++
		}
	}
	if rep.AUC, err = eval.AUC(probs, ys); err != nil {
		return nil, fmt.Errorf("backtest %s at %s: %w", conn, cutoff.Format("2006-01-02"), err)
	}
	rep.Brier, _ = eval.Brier(probs, ys)
	rate := float64(rep.Positives) / float64(rep.N)
	base := make([]float64, len(ys))
	for i := range base {
		base[i] = rate
	}
	rep.BaseBrier, _ = eval.Brier(base, ys)
	rep.Calibration, _ = eval.Calibration(probs, ys, 10)
	return rep, nil
}
