package churn

import "testing"

// BenchmarkScore2000 measures end-to-end scoring of 2,000 synthetic account
// histories: BG/NBD fit on the base, feature extraction and scoring with
// drivers.
func BenchmarkScore2000(b *testing.B) {
	hs := synthAccounts(2000, 130, 11)
	asOf := synthStart.AddDate(0, 0, 7*104)
	fs, _, err := ExtractAll(hs, asOf, 91*day)
	if err != nil {
		b.Fatal(err)
	}
	m, err := PriorModel(fs, 0.1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fs, _, err := ExtractAll(hs, asOf, 91*day)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range fs {
			_ = m.Score(f, 5)
		}
	}
	b.ReportMetric(float64(b.N*len(hs))/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkScoreOnly excludes the BG/NBD fit: features and scores for
// 2,000 accounts with a fitted extractor.
func BenchmarkScoreOnly(b *testing.B) {
	hs := synthAccounts(2000, 130, 11)
	asOf := synthStart.AddDate(0, 0, 7*104)
	fs, e, err := ExtractAll(hs, asOf, 91*day)
	if err != nil {
		b.Fatal(err)
	}
	m, err := PriorModel(fs, 0.1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range hs {
			_ = m.Score(e.Extract(&hs[i]), 5)
		}
	}
	b.ReportMetric(float64(b.N*len(hs))/b.Elapsed().Seconds(), "accounts/s")
}
