package sync

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// benchScale is the activity scale of the benchmarks: CRMPULSE_BENCH_FULL=1
// syncs 2000 accounts with ~20k opportunities and ~200k activities.
func benchScale() float64 {
	if os.Getenv("CRMPULSE_BENCH_FULL") != "" {
		return 4
	}
	return 1
}

// heapPeak samples HeapInuse until stopped and returns the peak in MiB.
func heapPeak() func() float64 {
	stop := make(chan struct{})
	var peak uint64
	var wg gosync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	return func() float64 {
		close(stop)
		wg.Wait()
		return float64(peak) / (1 << 20)
	}
}

// BenchmarkInitialSync syncs the Salesforce dialect of a 2000-account
// sandbox (served in-process) into an empty store: records/s, API calls
// against the minimum (records ÷ the 2000-record maximum page), vectors
// written, vectors/s over the whole run and over the derive phase alone
// (chunking, embedding, chunk and vector writes), the seconds of each phase,
// the server seconds Redis spent in VADD (the floor of the derive phase)
// and peak heap.
func BenchmarkInitialSync(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, sandbox.Options{Accounts: 2000, Seed: 1, ActivityScale: benchScale()}, app.SandboxSalesforce)
		runtime.GC()
		vaddBefore := vaddSeconds(b, h)
		b.StartTimer()
		peak := heapPeak()
		start := time.Now()
		var deriveStart atomic.Int64
		sum, err := h.engine(&Options{Workers: 4, Progress: func(p Progress) {
			if p.Phase == PhaseDerive {
				deriveStart.CompareAndSwap(0, int64(time.Since(start)))
			}
		}}).Run(context.Background())
		elapsed := time.Since(start)
		read := time.Duration(deriveStart.Load())
		mib := peak()
		if err != nil {
			b.Fatal(err)
		}
		tot := sum.Totals()
		c := sum.Conns[0]
		b.ReportMetric(float64(tot.Read)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(tot.Read), "records")
		b.ReportMetric(float64(c.APICalls), "api-calls")
		b.ReportMetric(float64(minCalls(tot.Read, 2000)), "min-api-calls")
		b.ReportMetric(float64(c.Chunks), "vectors")
		b.ReportMetric(float64(c.Chunks)/elapsed.Seconds(), "vectors/s")
		b.ReportMetric(float64(c.Chunks)/(elapsed-read).Seconds(), "derive-vectors/s")
		b.ReportMetric(read.Seconds(), "read-s")
		b.ReportMetric((elapsed - read).Seconds(), "derive-s")
		b.ReportMetric(vaddSeconds(b, h)-vaddBefore, "redis-vadd-s")
		b.ReportMetric(mib, "peak-heap-MiB")
	}
}

// vaddSeconds returns the server time Redis has spent in VADD so far
// (INFO commandstats): how much of the derive phase the vector set itself
// takes.
func vaddSeconds(b *testing.B, h *harness) float64 {
	b.Helper()
	info, err := h.rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(line)), "cmdstat_vadd:")
		if !ok {
			continue
		}
		for kv := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "usec="); ok {
				us, err := strconv.ParseFloat(v, 64)
				if err != nil {
					b.Fatalf("commandstats %q: %v", line, err)
				}
				return us / 1e6
			}
		}
	}
	return 0
}

// minCalls is the fewest change-feed pages that can carry n records (one
// per object at least).
func minCalls(n, page int) int { return max(4, (n+page-1)/page) }

// BenchmarkIncrementalCycle changes ~1% of the records of a synced
// 2000-account sandbox and measures the following incremental run.
func BenchmarkIncrementalCycle(b *testing.B) {
	h := newHarness(b, sandbox.Options{Accounts: 2000, Seed: 1, ActivityScale: benchScale()}, app.SandboxSalesforce)
	if _, err := h.engine(nil).Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		changed := touchPercent(b, h, round)
		h.advance()
		texts := h.inner.texts.Load()
		b.StartTimer()
		start := time.Now()
		sum, err := h.engine(nil).Run(context.Background())
		elapsed := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		tot := sum.Totals()
		if tot.Changed() < changed {
			b.Fatalf("changed %d of %d edited records", tot.Changed(), changed)
		}
		b.ReportMetric(float64(changed), "changed-records")
		b.ReportMetric(float64(tot.Changed())/elapsed.Seconds(), "changed/s")
		b.ReportMetric(float64(sum.Conns[0].APICalls), "api-calls")
		b.ReportMetric(float64(sum.Conns[0].Accounts), "accounts-rebuilt")
		b.ReportMetric(float64(h.inner.texts.Load()-texts), "texts-embedded")
	}
}

// touchPercent edits the text of 1% of the accounts, opportunities and
// activities of the Salesforce tenant.
func touchPercent(b *testing.B, h *harness, round int) int {
	b.Helper()
	n := 0
	for _, table := range []string{sandbox.SFAccount, sandbox.SFOpportunity, sandbox.SFTask} {
		var ids []string
		_ = h.sb.SF.Scan(table, func(r sandbox.Row) bool {
			if !r.Deleted {
				ids = append(ids, r.ID)
			}
			return true
		})
		for i := round % 100; i < len(ids); i += 100 {
			if _, err := h.sb.SF.Update(table, ids[i], map[string]any{"Description": fmt.Sprintf("Edited in round %d.", round)}, sandbox.ActorUser); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	return n
}
