package hubspot_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	sbhubspot "github.com/crmpulse/crmpulse/internal/sandbox/hubspot"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
)

// BenchmarkInitialRead reads every object of a 2000-account sandbox portal
// from an empty cursor with each InitialRead mode, the sandbox's search
// limiter off, the driver's search rate unbounded and 1000 requests/s: records/s, API calls,
// search calls and the time the same read would take at HubSpot's search
// limit (the driver's default 4 searches/s; list calls are bounded by the
// general limit of 100–190 requests per 10 s, i.e. at least 10/s).
func BenchmarkInitialRead(b *testing.B) {
	sb, err := sandbox.New(sandbox.Options{Accounts: benchAccounts(), Seed: 1, Now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sandboxsrv.NewWithOptions(sb, sandboxsrv.Options{HubSpot: sbhubspot.Options{SearchPerSecond: -1}}))
	defer srv.Close()
	ctx := context.Background()
	for _, mode := range []hubspot.ReadMode{hubspot.ReadSearch, hubspot.ReadList} {
		b.Run(string(mode), func(b *testing.B) {
			var records, calls, searches int64
			var elapsed time.Duration
			for b.Loop() {
				d, err := hubspot.New(hubspot.Options{Name: "bench", Session: httpx.StaticSession(sb.Opt.HubSpotToken), BaseURL: srv.URL,
					HTTP: httpx.Options{Wait: noWait, RequestsPerSecond: 1000, Burst: 200}, SearchPerSecond: 1e6, InitialRead: mode})
				if err != nil {
					b.Fatal(err)
				}
				c := connectors.New("bench", d)
				start := time.Now()
				for _, obj := range connectors.AllObjects {
					if _, err := c.ReadChanges(ctx, obj, connectors.Cursor{}, func(p connectors.Page) error {
						records += int64(len(p.Records))
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				for k, n := range d.Usage().Calls {
					calls += n
					if strings.Contains(k, "/search") {
						searches += n
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(records)/n, "records")
			b.ReportMetric(float64(calls)/n, "api-calls")
			b.ReportMetric(float64(searches)/n, "search-calls")
			// At the real limits: searches at 4/s, the other calls at 10/s.
			b.ReportMetric(float64(searches)/n/4+float64(calls-searches)/n/10, "s-at-hubspot-limits")
		})
	}
}

// benchAccounts is the sandbox size of the benchmarks: 2000, or
// CRMPULSE_BENCH_ACCOUNTS.
func benchAccounts() int {
	if n, err := strconv.Atoi(os.Getenv("CRMPULSE_BENCH_ACCOUNTS")); err == nil && n > 0 {
		return n
	}
	return 2000
}
