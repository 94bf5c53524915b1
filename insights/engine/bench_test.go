package engine

import (
	"context"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/result"
)

// BenchmarkStatisticalInsights analyses and stores every account of a
// 2000-account sandbox synced with the real sync engine (base preparation
// included: loading, BG/NBD fit, training).
func BenchmarkStatisticalInsights(b *testing.B) {
	s := syncSandbox(b, 2000)
	ctx := context.Background()
	eng := New(s.st, s.app.Embedder, nil, Options{})
	now := s.sb.Clock.Now()
	var n int
	start := time.Now()
	for b.Loop() {
		r := &Runner{Engine: eng, AsOf: now, Force: true}
		base, err := r.Base(ctx, conn)
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range base.IDs {
			res, err := eng.Analyze(ctx, base, id)
			if err != nil {
				b.Fatal(err)
			}
			res.AnalysedAt = time.Now()
			if err := result.Save(ctx, s.st, res); err != nil {
				b.Fatal(err)
			}
		}
		n += len(base.IDs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "accounts/s")
}
