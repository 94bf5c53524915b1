package eval

import (
	"errors"
	"math"
	"testing"
)

func TestAUCHandComputed(t *testing.T) {
	// Pairs (positive, negative): 0.8 vs 0.1, 0.3, 0.5 → 3 wins; 0.5 vs 0.1, 0.3
	// → 2 wins, vs 0.5 → one tie (½); 0.2 vs 0.1 → 1 win, vs 0.3, 0.5 → 0.
	// U = 3 + 2.5 + 1 = 6.5 of 9 pairs.
	scores := []float64{0.8, 0.5, 0.2, 0.1, 0.3, 0.5}
	labels := []bool{true, true, true, false, false, false}
	got, err := AUC(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	if want := 6.5 / 9; math.Abs(got-want) > 1e-15 {
		t.Errorf("AUC = %v, want %v", got, want)
	}
	// Perfect, reversed and all-tied rankings.
	for _, c := range []struct {
		s    []float64
		want float64
	}{{[]float64{3, 4, 1, 2}, 1}, {[]float64{1, 2, 3, 4}, 0}, {[]float64{1, 1, 1, 1}, 0.5}} {
		got, err := AUC(c.s, []bool{true, true, false, false})
		if err != nil || got != c.want {
			t.Errorf("AUC(%v) = %v, %v; want %v", c.s, got, err, c.want)
		}
	}
}

func TestAUCErrors(t *testing.T) {
	if _, err := AUC([]float64{1, 2}, []bool{true, true}); !errors.Is(err, ErrInput) {
		t.Errorf("one class: %v", err)
	}
	if _, err := AUC([]float64{1}, []bool{true, false}); !errors.Is(err, ErrInput) {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := AUC([]float64{math.NaN(), 1}, []bool{true, false}); !errors.Is(err, ErrInput) {
		t.Errorf("NaN: %v", err)
	}
}

func TestBrierAndLogLoss(t *testing.T) {
	probs := []float64{0.9, 0.2, 0.6, 0.0}
	labels := []bool{true, false, false, false}
	// (0.01 + 0.04 + 0.36 + 0) / 4
	if got, _ := Brier(probs, labels); math.Abs(got-0.1025) > 1e-15 {
		t.Errorf("Brier = %v, want 0.1025", got)
	}
	want := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.4) + math.Log(1)) / 4
	if got, _ := LogLoss(probs, labels); math.Abs(got-want) > 1e-12 {
		t.Errorf("LogLoss = %v, want %v", got, want)
	}
}

func TestCalibrationTable(t *testing.T) {
	probs := []float64{0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4}
	labels := []bool{false, true, false, true, true, false, false}
	bins, err := Calibration(probs, labels, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted: 0.1 0.2 0.3 | 0.4 0.7 | 0.8 0.9 (7 = 3+2+2).
	want := []Bin{
		{Lo: 0.1, Hi: 0.3, MeanPredicted: 0.2, ObservedRate: 1.0 / 3, Count: 3},
		{Lo: 0.4, Hi: 0.7, MeanPredicted: 0.55, ObservedRate: 0, Count: 2},
		{Lo: 0.8, Hi: 0.9, MeanPredicted: 0.85, ObservedRate: 1, Count: 2},
	}
	for i := range want {
		g, w := bins[i], want[i]
		if g.Count != w.Count || g.Lo != w.Lo || g.Hi != w.Hi || math.Abs(g.MeanPredicted-w.MeanPredicted) > 1e-12 || math.Abs(g.ObservedRate-w.ObservedRate) > 1e-12 {
			t.Errorf("bin %d = %+v, want %+v", i, g, w)
		}
	}
	// ECE = (3·|0.2−1/3| + 2·0.55 + 2·0.15) / 7
	if got, want := ExpectedCalibrationError(bins), (3*(1.0/3-0.2)+2*0.55+2*0.15)/7; math.Abs(got-want) > 1e-12 {
		t.Errorf("ECE = %v, want %v", got, want)
	}
}
