package sandbox

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkGenerate2k builds the default sandbox: 2,000 accounts in both
// tenants.
func BenchmarkGenerate2k(b *testing.B) { benchGenerate(b, 2000) }

// BenchmarkGenerate100k builds 100,000 accounts (about 900k opportunities,
// 3M activities and 400k contacts per tenant). It takes minutes and several
// GB, so it runs only with SANDBOX_BENCH_LARGE=1:
//
//	SANDBOX_BENCH_LARGE=1 go test -run '^$' -bench Generate100k -benchtime 1x ./internal/sandbox/
func BenchmarkGenerate100k(b *testing.B) {
	if os.Getenv("SANDBOX_BENCH_LARGE") == "" {
		b.Skip("set SANDBOX_BENCH_LARGE=1 to generate 100,000 accounts")
	}
	benchGenerate(b, 100_000)
}

// benchGenerate reports, besides time and allocations, the peak heap seen
// while generating (sampled), the live heap of the finished sandbox, the
// process's peak resident set, and rows written per second.
func benchGenerate(b *testing.B, n int) {
	b.ReportAllocs()
	runtime.GC()
	w := watchHeap()
	var sb *Sandbox
	for b.Loop() {
		sb = nil
		var err error
		if sb, err = New(Options{Accounts: n, Now: testNow}); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := b.Elapsed()
	peak := w.stop()
	rows := 0
	for _, s := range []*Store{sb.SF, sb.HS} {
		for _, t := range s.Tables() {
			rows += s.Len(t)
		}
	}
	runtime.GC()
	live := heapBytes()
	runtime.KeepAlive(sb)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "live-heap-MB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
}

// heapWatch samples the heap's object bytes (live and not yet collected)
// every few milliseconds and keeps the maximum.
type heapWatch struct {
	done chan struct{}
	peak chan uint64
}

func watchHeap() *heapWatch {
	w := &heapWatch{done: make(chan struct{}), peak: make(chan uint64)}
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var peak uint64
		for {
			peak = max(peak, heapBytes())
			select {
			case <-w.done:
				w.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *heapWatch) stop() uint64 {
	close(w.done)
	return <-w.peak
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakRSS is the process's resident-set high-water mark (VmHWM), 0 where
// /proc is not available.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
