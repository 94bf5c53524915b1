package sync

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

var cancelPoints = []string{"page:before-read", "page:read", "delete:before", "page:before-write", "page:written",
	"embed:before", "write:chunks", "write:aggregate"}

// TestCancelledRunsConverge stops runs at random points (hooks at every
// stage of reading, writing, embedding and deriving, and random timers that
// land inside store writes), mutating the sandbox between runs, and checks
// that a following complete run leaves exactly the sandbox's data.
func TestCancelledRunsConverge(t *testing.T) {
	for _, tc := range []struct {
		conn   string
		trials int
	}{{app.SandboxSalesforce, 24}, {app.SandboxHubSpot, 4}} {
		t.Run(tc.conn, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, sandbox.Options{Accounts: 30, Seed: 5, ActivityScale: 0.5}, tc.conn)
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.conn))))
			cancelled := 0
			for trial := range tc.trials {
				if trial%3 == 1 {
					h.sb.Step(1 + rng.IntN(3))
					h.advance()
				}
				ctx, cancel := context.WithCancel(context.Background())
				e := h.engine(&Options{Workers: 1 + rng.IntN(4), EmbedBatch: 1 + rng.IntN(40), Reconcile: rng.IntN(2) == 0})
				if trial%2 == 0 {
					point := cancelPoints[rng.IntN(len(cancelPoints))]
					var skip atomic.Int64
					skip.Store(int64(rng.IntN(6)))
					e.hook = func(_ context.Context, p string) {
						if p == point && skip.Add(-1) == -1 {
							cancel()
						}
					}
				} else {
					d := time.Duration(rng.IntN(400)) * time.Millisecond
					timer := time.AfterFunc(d, cancel)
					defer timer.Stop()
				}
				_, err := e.Run(ctx)
				cancel()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("trial %d: %v", trial, err)
					}
					cancelled++
				}
				if trial%4 == 3 { // the following complete run converges
					h.advance()
					h.run(&Options{Reconcile: true})
					h.check(context.Background())
				}
			}
			if cancelled == 0 {
				t.Fatal("no run was cancelled")
			}
			h.advance()
			h.run(&Options{Reconcile: true})
			h.check(context.Background())
			t.Logf("%d of %d runs cancelled; converged", cancelled, tc.trials)
		})
	}
}
