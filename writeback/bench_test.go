package writeback_test

import (
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/config"
)

// BenchmarkWriteback writes 1000 changed records per iteration (every
// mapped field changes) over HTTP to the sandbox and reports the write
// calls per 1000 records next to the batch minimum, and records written/s.
func BenchmarkWriteback(b *testing.B) {
	for _, kind := range kinds {
		b.Run(kind, func(b *testing.B) {
			r := newRig(b, kind, 1000, nil)
			r.provision(b)
			minimum := map[string]float64{config.KindSalesforce: 5, config.KindHubSpot: 10}[kind]
			var calls int64
			var written int
			var elapsed time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				r.enqueue(b, i+1)
				before := r.writeCalls()
				b.StartTimer()
				start := time.Now()
				sum := runOnce(b, r.writer(nil))
				elapsed += time.Since(start)
				calls += r.writeCalls() - before
				written += sum.Written
			}
			b.ReportMetric(float64(calls)/float64(written)*1000, "calls/1000rec")
			b.ReportMetric(minimum, "min-calls/1000rec")
			b.ReportMetric(float64(written)/elapsed.Seconds(), "records/s")
		})
	}
}

// BenchmarkUnchanged is a cycle where nothing changed: no API call at all.
func BenchmarkUnchanged(b *testing.B) {
	r := newRig(b, config.KindSalesforce, 1000, nil)
	r.provision(b)
	r.enqueue(b, 1)
	runOnce(b, r.writer(nil))
	var calls int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.enqueue(b, 1)
		before := r.writeCalls()
		b.StartTimer()
		runOnce(b, r.writer(nil))
		calls += r.writeCalls() - before
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/cycle")
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
