package chaos_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/chaos"
)

func TestMain(m *testing.M) { os.Exit(chaos.Main(m)) }

// newRand returns a seeded generator and logs its seed so that a failing
// trial sequence can be replayed (CRMPULSE_CHAOS_SEED).
func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRMPULSE_CHAOS_SEED"); s != "" {
		var v uint64
		for _, c := range s {
			v = v*10 + uint64(c-'0')
		}
		seed = v
	}
	t.Logf("seed %d (replay with CRMPULSE_CHAOS_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// TestChaosKillSync kills crmpulse sync (SIGKILL) at random moments, then
// runs it to completion and checks the store exactly. A third of the trials
// start from an empty database, so the kill lands in an initial sync; the
// others mutate the sandbox first (Step) and kill an incremental one.
func TestChaosKillSync(t *testing.T) {
	ctx := context.Background()
	rng := newRand(t)
	rig := chaos.NewRig(t, chaos.RigOptions{})
	trials := chaos.Trials()

	// Calibrate the kill window on an uninterrupted initial sync.
	p := rig.StartSync()
	if err := p.Wait(3 * time.Minute); err != nil {
		t.Fatalf("initial sync: %v\n%s", err, p.Output())
	}
	initial := time.Since(p.Start)
	incremental := initial / 2
	t.Logf("initial sync as a subprocess: %s (sync built into crmpulse: %v)", initial.Round(time.Millisecond), chaos.Build(t).SyncBuilt)
	if chaos.Full() {
		rig.MustCheck(ctx, "initial sync")
	}

	midRun := 0
	for trial := range trials {
		fresh := trial%3 == 0
		window := incremental
		if fresh {
			rig.NewDatabase()
			window = initial
		} else {
			rig.SB.Step(1 + rng.IntN(3))
		}
		rig.Advance()
		kills := 1 + rng.IntN(2)
		for range kills {
			p := rig.StartSync()
			delay := time.Duration(rng.Int64N(int64(window)*6/5 + 1))
			select {
			case <-p.Done():
			case <-time.After(delay):
			}
			if p.Kill() {
				midRun++
				rig.BreakLocks(ctx) // the holder is dead
			} else if code := p.ExitCode(); code != 0 {
				t.Fatalf("trial %d: sync exited %d before the kill:\n%s", trial, code, p.Output())
			}
		}
		p := rig.StartSync()
		if err := p.Wait(3 * time.Minute); err != nil {
			t.Fatalf("trial %d: recovery sync: %v\n%s", trial, err, p.Output())
		}
		if !fresh {
			incremental = max(time.Since(p.Start), 200*time.Millisecond)
		}
		rep, err := rig.Check(ctx)
		if err != nil {
			t.Fatalf("trial %d: check: %v", trial, err)
		}
		chaos.All.Add("kill -9 sync", rep.Lost, rep.Duplicated+rep.Stale)
		t.Logf("trial %d (fresh %v, %d kills): %d lost, %d duplicated, %d stale; %d records, %d chunks, %d vectors",
			trial, fresh, kills, rep.Lost, rep.Duplicated, rep.Stale, rep.Records, rep.Chunks, rep.Vectors)
		if !rep.OK() {
			t.Fatalf("trial %d: store differs after recovery: %s", trial, rep)
		}
	}
	t.Logf("kill -9 sync: %d trials, %d kills landed mid-run, 0 lost, 0 duplicated", trials, midRun)
	if midRun == 0 {
		t.Errorf("no kill landed while a sync was running")
	}
}
