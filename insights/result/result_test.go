package result

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestSaveLoadHistoryDelete(t *testing.T) {
	ctx := context.Background()
	st, err := store.New(redistest.Client(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadResult(ctx, st, "sf", "001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing result: %v", err)
	}
	if err := Save(ctx, st, &Result{Connection: "sf", Account: "001"}); err == nil {
		t.Errorf("result without analysed_at saved")
	}
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range HistoryLimit + 3 {
		r := &Result{Connection: "sf", Account: "001", Churn: float64(i) / 100, Band: BandOf(float64(i) / 100), AnalysedAt: t0.Add(time.Duration(i) * time.Hour)}
		if err := Save(ctx, st, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := Save(ctx, st, &Result{Connection: "sf", Account: "002", AnalysedAt: t0}); err != nil {
		t.Fatal(err)
	}
	r, err := LoadResult(ctx, st, "sf", "001")
	if err != nil || r.Churn != float64(HistoryLimit+2)/100 {
		t.Fatalf("latest %+v %v", r, err)
	}
	hist, err := History(ctx, st, "sf", "001", 0)
	if err != nil || len(hist) != HistoryLimit || hist[0].Churn != r.Churn {
		t.Errorf("history %d entries, %v", len(hist), err)
	}
	ids, _ := Accounts(ctx, st, "sf")
	if len(ids) != 2 || ids[0] != "001" {
		t.Errorf("accounts %v", ids)
	}
	all, err := LoadAll(ctx, st, "sf")
	if err != nil || len(all) != 2 {
		t.Errorf("load all: %d, %v", len(all), err)
	}
	if err := SaveWinback(ctx, st, &WinbackPlan{Connection: "sf", Account: "001", Risk: BandHigh}); err != nil {
		t.Fatal(err)
	}
	if p, err := LoadWinback(ctx, st, "sf", "001"); err != nil || p.Risk != BandHigh {
		t.Errorf("win-back %+v %v", p, err)
	}
	if err := SaveSegmentStrategy(ctx, st, &SegmentStrategy{Connection: "sf", Segment: "at_risk", Accounts: 3}); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadSegmentStrategy(ctx, st, "sf", "at_risk"); err != nil || s.Accounts != 3 {
		t.Errorf("segment strategy %+v %v", s, err)
	}
	if err := Delete(ctx, st, "sf", "001"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadResult(ctx, st, "sf", "001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := LoadWinback(ctx, st, "sf", "001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("win-back after delete: %v", err)
	}
	if ids, _ := Accounts(ctx, st, "sf"); len(ids) != 1 {
		t.Errorf("accounts after delete %v", ids)
	}
	for p, want := range map[float64]string{0: BandLow, 0.19: BandLow, 0.2: BandMedium, 0.49: BandMedium, 0.5: BandHigh, 1: BandHigh} {
		if BandOf(p) != want {
			t.Errorf("BandOf(%v) = %s, want %s", p, BandOf(p), want)
		}
	}
}

func TestBandForUsesLiftOverTheBaseRate(t *testing.T) {
	cases := []struct {
		p, base float64
		want    string
	}{
		{0.04, 0.05, BandLow},    // below 1.5 × base
		{0.08, 0.05, BandMedium}, // 1.6 × base
		{0.16, 0.05, BandHigh},   // 3.2 × base
		{0.30, 0.30, BandMedium}, // a high-churn base: absolute 0.2 floor
		{0.50, 0.30, BandHigh},   // absolute 0.5 ceiling for high
		{0.10, 0, BandLow},       // unknown base: absolute thresholds
		{0.25, 0, BandMedium},
		{0.60, 1, BandHigh}, // nonsense base rate: absolute thresholds
	}
	for _, c := range cases {
		if got := BandFor(c.p, c.base); got != c.want {
			t.Errorf("BandFor(%v, %v) = %s, want %s", c.p, c.base, got, c.want)
		}
	}
}
