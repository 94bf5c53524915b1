package sync

import (
	"context"
	"testing"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

func TestSyncSmallConverges(t *testing.T) {
	t.Parallel() // mostly waits on the HubSpot search rate limit
	h := newHarness(t, sandbox.Options{Accounts: 40, Seed: 3})
	ctx := context.Background()
	sum := h.run(nil)
	h.check(ctx)
	tot := sum.Totals()
	if tot.New == 0 || sum.Conns[0].Chunks == 0 || sum.Conns[0].Queued == 0 {
		t.Fatalf("initial sync did nothing: %+v %+v", tot, sum.Conns)
	}
	// A second run with nothing changed writes nothing.
	before := h.inner.texts.Load()
	h.advance()
	sum = h.run(nil)
	if tot := sum.Totals(); tot.Changed() != 0 || tot.Deleted != 0 {
		t.Errorf("idle run changed %d, deleted %d", tot.Changed(), tot.Deleted)
	}
	if h.inner.texts.Load() != before {
		t.Errorf("idle run embedded %d texts", h.inner.texts.Load()-before)
	}
	for cycle := range 3 {
		h.sb.Step(2)
		h.advance()
		sum := h.run(&Options{Reconcile: true})
		t.Logf("cycle %d: %+v", cycle, sum.Totals())
		h.check(ctx)
	}
}
