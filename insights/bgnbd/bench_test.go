package bgnbd

import "testing"

func BenchmarkFitCDNOW(b *testing.B) {
	cs := loadCDNOW(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Fit(cs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fit")
}

func BenchmarkExpectedPurchases(b *testing.B) {
	c := Customer{2, 30.43, 38.86}
	for b.Loop() {
		_ = paper.ExpectedPurchases(c, 39)
	}
}
