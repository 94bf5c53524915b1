package engine

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

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
	var prepare, analyse time.Duration
	start := time.Now()
	for b.Loop() {
		r := &Runner{Engine: eng, AsOf: now, Force: true}
		t0 := time.Now()
		base, err := r.Base(ctx, conn)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		prepare += t1.Sub(t0)
		// Eight at a time, as the workers do.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, id := range base.IDs {
			g.Go(func() error {
				res, err := eng.Analyze(gctx, base, id)
				if err != nil {
					return err
				}
				res.AnalysedAt = time.Now()
				return result.Save(gctx, s.st, res)
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		analyse += time.Since(t1)
		n += len(base.IDs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "accounts/s")
	b.ReportMetric(prepare.Seconds()/float64(b.N), "prepare-s")
	b.ReportMetric(float64(n)/analyse.Seconds(), "analysed/s")
}
