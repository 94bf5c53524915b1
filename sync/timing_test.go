package sync

import (
	"context"
	gosync "sync"
	"os"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

func TestTimingProbe(t *testing.T) {
	if os.Getenv("PROBE") == "" {
		t.Skip()
	}
	h := newHarness(t, sandbox.Options{Accounts: 2000, Seed: 11, ActivityScale: 0.25}, app.SandboxSalesforce)
	start := time.Now()
	var last string
	e := h.engine(&Options{Progress: func(p Progress) {
		if p.Phase != last {
			t.Logf("%s: phase %s starts", time.Since(start).Round(time.Millisecond), p.Phase)
			last = p.Phase
		}
	}})
	var mu gosync.Mutex
	acc := map[string]time.Duration{}
	lastAt := map[string]time.Time{}
	e.hook = func(ctx context.Context, point string) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		switch point {
		case "page:read":
			acc["read"] += now.Sub(lastAt["page:before-read"])
		case "page:written":
			acc["write"] += now.Sub(lastAt["page:read"])
		}
		lastAt[point] = now
	}
	defer func() { t.Logf("%v", acc) }()
	sum, err := e.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s total; %+v %+v", time.Since(start), sum.Totals(), sum.Conns)
}
