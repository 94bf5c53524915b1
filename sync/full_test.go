package sync

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// fullSize runs both dialects at 2000 accounts with the default activity
// volume and 20 mutation cycles (CRMPULSE_SYNC_FULL=1); the default suite
// runs the Salesforce dialect at 2000 accounts with fewer activities and 2
// cycles, the HubSpot dialect (4 searches/s) at 200.
func fullSize() bool { return os.Getenv("CRMPULSE_SYNC_FULL") != "" }

// TestSyncFullSizeMutationCycles syncs 2000 accounts and checks, after each
// mutation cycle, that store, chunks and vectors equal the sandbox.
func TestSyncFullSizeMutationCycles(t *testing.T) {
	for _, tc := range []struct {
		conn     string
		accounts int
		scale    float64
	}{
		{app.SandboxSalesforce, 2000, 0.1},
		// HubSpot allows 4 searches per second: the full base takes minutes.
		{app.SandboxHubSpot, 200, 0.25},
	} {
		t.Run(tc.conn, func(t *testing.T) {
			// The HubSpot run mostly waits on its search rate limit.
			t.Parallel()
			accounts, cycles, scale := tc.accounts, 2, tc.scale
			if fullSize() {
				accounts, cycles, scale = 2000, 20, 1
			}
			h := newHarness(t, sandbox.Options{Accounts: accounts, Seed: 11, ActivityScale: scale}, tc.conn)
			ctx := context.Background()
			start := time.Now()
			sum := h.run(&Options{Workers: 4})
			t.Logf("initial: %d records read, %d chunks, %d API calls in %s", sum.Totals().Read, sum.Conns[0].Chunks, sum.Conns[0].APICalls, time.Since(start).Round(time.Millisecond))
			start = time.Now()
			h.check(ctx)
			t.Logf("checked in %s", time.Since(start).Round(time.Millisecond))
			for cycle := range cycles {
				h.sb.Step(1 + cycle%3)
				h.advance()
				start := time.Now()
				sum := h.run(&Options{Reconcile: cycle%2 == 0})
				t.Logf("cycle %d synced in %s", cycle, time.Since(start).Round(time.Millisecond))
				if cycle%2 == 1 {
					// Purged records wait for the next reconciliation.
					continue
				}
				tot := sum.Totals()
				t.Logf("cycle %d: read %d, changed %d, deleted %d, purged %d, unchanged %d; accounts rebuilt %d", cycle, tot.Read, tot.Changed(), tot.Deleted, tot.Purged, tot.Unchanged, sum.Conns[0].Accounts)
				h.check(ctx)
			}
		})
	}
}
