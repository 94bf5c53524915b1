// Package eval measures probabilistic classifiers such as the churn score:
// ranking quality (AUC), accuracy of the probabilities (Brier score, log
// loss) and calibration (a table of mean predicted versus observed rate).
//
// All functions take parallel slices of predictions and outcomes and are
// deterministic: ties are handled by mid-ranks, and bins are formed on a
// stable order.
package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrInput reports unusable input: mismatched lengths, no data, or a
// single class where both are needed.
var ErrInput = errors.New("eval: invalid input")

func check(scores []float64, labels []bool) error {
	if len(scores) != len(labels) {
		return fmt.Errorf("%w: %d scores but %d labels", ErrInput, len(scores), len(labels))
	}
	if len(scores) == 0 {
		return fmt.Errorf("%w: no observations", ErrInput)
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return fmt.Errorf("%w: score %d is NaN", ErrInput, i)
		}
	}
	return nil
}

// AUC returns the area under the ROC curve: the probability that a randomly
// chosen positive scores higher than a randomly chosen negative, ties counting
// one half. It is computed as the Mann–Whitney U statistic from mid-ranks:
// AUC = (R₊ − n₊(n₊+1)/2) / (n₊ n₋), where R₊ is the sum of the positives'
// ranks among all scores (tied scores share the average of their ranks).
func AUC(scores []float64, labels []bool) (float64, error) {
	if err := check(scores, labels); err != nil {
		return math.NaN(), err
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum, nPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+1+j) / 2 // average of ranks i+1 .. j
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += mid
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(scores)) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN(), fmt.Errorf("%w: AUC needs both positives and negatives (%v positive of %d)", ErrInput, nPos, len(scores))
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg), nil
}

// Brier returns the mean squared difference between the predicted
// probabilities and the outcomes (1 for true, 0 for false).
func Brier(probs []float64, labels []bool) (float64, error) {
	if err := check(probs, labels); err != nil {
		return math.NaN(), err
	}
	var s float64
	for i, p := range probs {
		y := 0.0
		if labels[i] {
			y = 1
		}
		s += (p - y) * (p - y)
	}
	return s / float64(len(probs)), nil
}

// LogLoss returns the mean negative log-likelihood of the outcomes, with
// probabilities clipped to [1e-15, 1−1e-15].
func LogLoss(probs []float64, labels []bool) (float64, error) {
	if err := check(probs, labels); err != nil {
		return math.NaN(), err
	}
	var s float64
	for i, p := range probs {
		p = math.Min(math.Max(p, 1e-15), 1-1e-15)
		if labels[i] {
			s -= math.Log(p)
		} else {
			s -= math.Log1p(-p)
		}
	}
	return s / float64(len(probs)), nil
}

// Bin is one row of a calibration table.
type Bin struct {
	Lo, Hi        float64 // smallest and largest prediction in the bin
	MeanPredicted float64
	ObservedRate  float64 // share of true outcomes
	Count         int
}

// Calibration sorts the predictions (ties in input order) and cuts them into
// bins of equal count (the first len%bins bins get one more), returning for
// each the mean prediction, the observed rate and the count. With bins = 10
// these are the deciles of predicted risk. A well-calibrated model has
// MeanPredicted ≈ ObservedRate in every bin.
func Calibration(probs []float64, labels []bool, bins int) ([]Bin, error) {
	if err := check(probs, labels); err != nil {
		return nil, err
	}
	if bins <= 0 {
		return nil, fmt.Errorf("%w: %d bins", ErrInput, bins)
	}
	bins = min(bins, len(probs))
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] < probs[idx[b]] })
	out := make([]Bin, 0, bins)
	size, extra := len(probs)/bins, len(probs)%bins
	start := 0
	for b := range bins {
		n := size
		if b < extra {
			n++
		}
		var sp, sy float64
		for _, i := range idx[start : start+n] {
			sp += probs[i]
			if labels[i] {
				sy++
			}
		}
		out = append(out, Bin{
			Lo: probs[idx[start]], Hi: probs[idx[start+n-1]],
			MeanPredicted: sp / float64(n), ObservedRate: sy / float64(n), Count: n,
		})
		start += n
	}
	return out, nil
}

// ExpectedCalibrationError is the count-weighted mean of
// |MeanPredicted − ObservedRate| over the bins.
func ExpectedCalibrationError(bins []Bin) float64 {
	var s float64
	n := 0
	for _, b := range bins {
		s += float64(b.Count) * math.Abs(b.MeanPredicted-b.ObservedRate)
		n += b.Count
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
