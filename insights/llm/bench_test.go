package llm

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkAccountInsight measures analyses per second against a test
// endpoint that answers after 1 s, at several concurrency limits.
func BenchmarkAccountInsight(b *testing.B) {
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			fx := newFixture(b)
			f, url := startLLM(b, func(n int, u string) (string, time.Duration) { return validAccount(), time.Second })
			a := newAnalyst(b, fx, url, func(c *Config) { c.Concurrency = conc; c.Timeout = 10 * time.Second })
			per := max(4, 2*conc)
			in := accountInput()
			total := 0
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for range per {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, _, err := a.Account(context.Background(), in); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				total += per
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "analyses/s")
			b.ReportMetric(float64(f.maxInflight.Load()), "max-in-flight")
		})
	}
}
