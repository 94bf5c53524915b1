package churn

import (
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/crmpulse/crmpulse/insights/eval"
)

// Label returns whether the account churned in (cutoff, cutoff+horizon]
// and whether it is eligible at all. An account is not eligible when it did
// not exist yet at the cutoff or had already churned by then. With a
// recorded ChurnedAt the label is that date falling inside the window;
// without one, churn means no purchase inside the window.
func Label(h *AccountHistory, cutoff time.Time, horizon time.Duration) (churned, eligible bool) {
	if !h.FirstSeen.IsZero() && h.FirstSeen.After(cutoff) {
		return false, false
	}
	end := cutoff.Add(horizon)
	if !h.ChurnedAt.IsZero() {
		if !h.ChurnedAt.After(cutoff) {
			return false, false
		}
		return !h.ChurnedAt.After(end), true
	}
	for _, p := range h.Purchases {
		if p.Date.After(cutoff) && !p.Date.After(end) {
			return false, true
		}
	}
	return true, true
}

// BacktestConfig describes a time-based evaluation.
type BacktestConfig struct {
	// TrainCutoff: features as of this date, labels from the following
	// horizon, train on them.
	TrainCutoff time.Time
	// TestCutoff: features as of this date, labels from the following
	// horizon, evaluate. It must be at least TrainCutoff+Horizon, so that
	// training labels were known at test time. Zero means "same as
	// TrainCutoff" with accounts split instead (see TestFraction).
	TestCutoff time.Time
	Horizon    time.Duration
	// TestFraction is the share of accounts held out when TestCutoff is
	// zero (default 0.3); accounts are assigned by a hash of their id, so
	// the split is stable.
	TestFraction float64
	Lambda       float64 // L2 penalty (default 1)
	Exclude      []Group // feature groups left out (ablation)
	Bins         int     // calibration bins (default 10)
}

// BacktestResult reports a backtest.
type BacktestResult struct {
	Train, Test                   int // eligible accounts
	TrainPositives, TestPositives int
	AUC, Brier                    float64
	// BaseBrier is the Brier score of predicting the training churn rate
	// for everyone; a useful model is below it.
	BaseBrier   float64
	Calibration []eval.Bin
	Model       *Model
	Scores      []Score // eligible test accounts, in input order
	Labels      []bool  // their outcomes
}

// ErrLeak reports a test cutoff earlier than the training labels' end.
var ErrLeak = errors.New("churn: test cutoff before the end of the training label window")

// Backtest trains on one cutoff or split and evaluates on the other.
func Backtest(hs []AccountHistory, cfg BacktestConfig) (BacktestResult, error) {
	d, err := prepare(hs, &cfg)
	if err != nil {
		return BacktestResult{}, err
	}
	return d.run(cfg, cfg.Exclude)
}

// dataset holds the extracted features and labels of a backtest, so an
// ablation extracts (and fits BG/NBD) once.
type dataset struct {
	xTrain, xTest []Features
	yTrain, yTest []bool
}

func prepare(hs []AccountHistory, cfg *BacktestConfig) (*dataset, error) {
	if cfg.Horizon <= 0 {
		return nil, fmt.Errorf("churn: backtest: horizon %v must be positive", cfg.Horizon)
	}
	if cfg.Bins <= 0 {
		cfg.Bins = 10
	}
	if cfg.TestFraction <= 0 || cfg.TestFraction >= 1 {
		cfg.TestFraction = 0.3
	}
	split := cfg.TestCutoff.IsZero()
	if !split && cfg.TestCutoff.Before(cfg.TrainCutoff.Add(cfg.Horizon)) {
		return nil, ErrLeak
	}
	trainF, _, err := ExtractAll(hs, cfg.TrainCutoff, cfg.Horizon)
	if err != nil {
		return nil, err
	}
	testF := trainF
	testCut := cfg.TrainCutoff
	if !split {
		testCut = cfg.TestCutoff
		if testF, _, err = ExtractAll(hs, testCut, cfg.Horizon); err != nil {
			return nil, err
		}
	}
	d := &dataset{}
	for i := range hs {
		held := split && heldOut(hs[i].ID, cfg.TestFraction)
		if !held {
			if y, ok := Label(&hs[i], cfg.TrainCutoff, cfg.Horizon); ok {
				d.xTrain = append(d.xTrain, trainF[i])
				d.yTrain = append(d.yTrain, y)
			}
		}
		if held || !split {
			if y, ok := Label(&hs[i], testCut, cfg.Horizon); ok {
				d.xTest = append(d.xTest, testF[i])
				d.yTest = append(d.yTest, y)
			}
		}
	}
	return d, nil
}

func count(ys []bool) int {
	n := 0
	for _, y := range ys {
		if y {
			n++
		}
	}
	return n
}

func (d *dataset) run(cfg BacktestConfig, exclude []Group) (BacktestResult, error) {
	res := BacktestResult{
		Train: len(d.xTrain), Test: len(d.xTest),
		TrainPositives: count(d.yTrain), TestPositives: count(d.yTest),
		Labels: d.yTest,
	}
	m, err := Train(d.xTrain, d.yTrain, &TrainOptions{Lambda: cfg.Lambda, Exclude: exclude})
	if err != nil {
		return res, err
	}
	res.Model = m
	probs := make([]float64, len(d.xTest))
	base := make([]float64, len(d.xTest))
	rate := float64(res.TrainPositives) / float64(res.Train)
	for k, f := range d.xTest {
		s := m.Score(f, 5)
		res.Scores = append(res.Scores, s)
		probs[k] = s.Probability
		base[k] = rate
	}
	if res.AUC, err = eval.AUC(probs, res.Labels); err != nil {
		return res, fmt.Errorf("churn: backtest: %w", err)
	}
	res.Brier, _ = eval.Brier(probs, res.Labels)
	res.BaseBrier, _ = eval.Brier(base, res.Labels)
	res.Calibration, _ = eval.Calibration(probs, res.Labels, cfg.Bins)
	return res, nil
}

func heldOut(id string, frac float64) bool {
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()%10000) < frac*10000
}

// AblationResult is the backtest AUC without one feature group.
type AblationResult struct {
	Without Group // empty for the full model
	AUC     float64
	Delta   float64 // AUC − full model's AUC (negative: the group helps)
	Brier   float64
}

// Ablation runs the backtest with all features, then once without each
// group, and reports the AUCs. Groups already excluded in cfg stay
// excluded.
func Ablation(hs []AccountHistory, cfg BacktestConfig) ([]AblationResult, error) {
	d, err := prepare(hs, &cfg)
	if err != nil {
		return nil, err
	}
	full, err := d.run(cfg, cfg.Exclude)
	if err != nil {
		return nil, err
	}
	out := []AblationResult{{AUC: full.AUC, Brier: full.Brier}}
	for _, g := range Groups {
		ex := append(append([]Group(nil), cfg.Exclude...), g)
		r, err := d.run(cfg, ex)
		if err != nil {
			return nil, fmt.Errorf("churn: ablation without %s: %w", g, err)
		}
		out = append(out, AblationResult{Without: g, AUC: r.AUC, Delta: r.AUC - full.AUC, Brier: r.Brier})
	}
	return out, nil
}
