package chaos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/chaos"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/writeback"
)

// wbRig is a rig whose CRMs hold n accounts each, with the write-back
// fields provisioned, and the expected final value of every queued field.
type wbRig struct {
	*chaos.Rig
	st     *store.Store
	ids    map[string][]string             // conn -> account ids
	fields map[string][]string             // conn -> CRM fields written
	want   map[string]map[string]string    // conn -> "id field" -> final value
	wantAt map[string]map[string]time.Time // conn -> "id field" -> its version time
	ver    int
}

func newWBRig(t *testing.T, n int, opt chaos.RigOptions) *wbRig {
	t.Helper()
	ctx := context.Background()
	opt.Sandbox = sandbox.Options{Empty: true}
	rig := chaos.NewRig(t, opt)
	w := &wbRig{Rig: rig, ids: map[string][]string{}, fields: map[string][]string{},
		want: map[string]map[string]string{}, wantAt: map[string]map[string]time.Time{}}
	for _, conn := range chaos.Conns {
		table, name := sandbox.SFAccount, "Name"
		if conn == app.SandboxHubSpot {
			table, name = sandbox.HSCompanies, "name"
		}
		for i := range n {
			row, err := rig.Tenant(conn).Insert(table, map[string]any{name: fmt.Sprintf("Account %04d", i)}, sandbox.ActorUser)
			if err != nil {
				t.Fatal(err)
			}
			w.ids[conn] = append(w.ids[conn], row.ID)
		}
		w.want[conn], w.wantAt[conn] = map[string]string{}, map[string]time.Time{}
	}
	a, err := rig.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.st = a.Store
	for _, conn := range chaos.Conns {
		c, err := a.Conn(conn)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := writeback.Mappings(a.Config, conn)
		if _, err := writeback.ProvisionFields(ctx, c, ms, false); err != nil {
			t.Fatalf("provision %s: %v", conn, err)
		}
		for _, m := range ms {
			if m.Output == config.OutNextAction || m.Output == config.OutInsightSummary {
				w.fields[conn] = append(w.fields[conn], m.Field)
			}
		}
		if len(w.fields[conn]) != 2 {
			t.Fatalf("%s: text fields %v", conn, w.fields[conn])
		}
	}
	return w
}

// enqueue queues new versions of the text fields of a random subset of
// accounts: some records twice (the later version first, so order in the
// outbox is not version order), and records the final values.
func (w *wbRig) enqueue(t *testing.T, rng *rand.Rand) int {
	t.Helper()
	base := chaos.Epoch
	queued := 0
	for _, conn := range chaos.Conns {
		var changes []writeback.Change
		for _, id := range w.ids[conn] {
			if rng.IntN(3) == 0 {
				continue
			}
			versions := []int{w.next()}
			if rng.IntN(4) == 0 {
				versions = append(versions, w.next())
				versions[0], versions[1] = versions[1], versions[0] // newer first
			}
			for _, v := range versions {
				at := base.Add(time.Duration(v) * time.Second)
				ch := writeback.Change{Object: store.TypeAccount, ID: id, At: at, Fields: map[string]string{}}
				for _, f := range w.fields[conn] {
					val := fmt.Sprintf("v%06d %s %s", v, f, strings.Repeat("x", rng.IntN(40)))
					ch.Fields[f] = val
					k := id + " " + f
					if at.After(w.wantAt[conn][k]) {
						w.want[conn][k], w.wantAt[conn][k] = val, at
					}
				}
				changes = append(changes, ch)
			}
		}
		if err := writeback.Enqueue(context.Background(), w.st, conn, changes); err != nil {
			t.Fatal(err)
		}
		queued += len(changes)
	}
	return queued
}

// writeCalls counts the write-back calls both CRMs served.
func (w *wbRig) writeCalls() int64 {
	snap := w.SB.Counters.Snapshot()
	return snap["salesforce PATCH /composite/sobjects"] + snap["hubspot POST /crm/v3/objects/{type}/batch/update"]
}

func (w *wbRig) next() int { w.ver++; return w.ver }

// version parses the version of a written value ("v000123 ...").
func version(s string) int {
	if len(s) < 7 || s[0] != 'v' {
		return -1
	}
	v, err := strconv.Atoi(s[1:7])
	if err != nil {
		return -1
	}
	return v
}

// check compares the CRM with the final queued values: every one applied,
// nothing pending, nothing dead, and no field ever written with a value
// older than one written before it (the audit trail in time order).
func (w *wbRig) check(t *testing.T) (lost, stale int, problems []string) {
	t.Helper()
	ctx := context.Background()
	add := func(n *int, format string, a ...any) {
		*n++
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	for _, conn := range chaos.Conns {
		pending, err := writeback.Pending(ctx, w.st, conn)
		if err != nil {
			t.Fatal(err)
		}
		if pending != 0 {
			add(&lost, "%s: %d outbox entries still pending", conn, pending)
		}
		dead, err := writeback.DeadLetters(ctx, w.st, conn, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dead {
			add(&lost, "%s: dead letter %+v", conn, d)
		}
		table := sandbox.SFAccount
		if conn == app.SandboxHubSpot {
			table = sandbox.HSCompanies
		}
		keys := make([]string, 0, len(w.want[conn]))
		for k := range w.want[conn] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			id, field, _ := strings.Cut(k, " ")
			row, ok := w.Tenant(conn).Get(table, id)
			if !ok {
				add(&lost, "%s %s gone", conn, id)
				continue
			}
			got, _ := row.Get(field)
			if got != w.want[conn][k] {
				add(&lost, "%s %s %s = %q, want %q", conn, id, field, got, w.want[conn][k])
			}
		}
		audit, err := writeback.Audit(ctx, w.st, conn, 0)
		if err != nil {
			t.Fatal(err)
		}
		last := map[string]int{}
		for i := len(audit) - 1; i >= 0; i-- { // oldest first
			e := audit[i]
			if e.Result != "written" {
				continue
			}
			k := e.Record + " " + e.Field
			v := version(e.New)
			if v < last[k] {
				add(&stale, "%s %s %s written with v%d after v%d", conn, e.Record, e.Field, v, last[k])
			}
			last[k] = max(last[k], v)
		}
	}
	return lost, stale, problems
}

// TestChaosKillWriteback kills crmpulse writeback (SIGKILL) at random
// moments while it drains queued field changes into both CRMs, then runs it
// to completion: every queued value is in the CRM in its final version,
// nothing is pending or dead, and no field was ever written with a stale
// value.
func TestChaosKillWriteback(t *testing.T) {
	rng := newRand(t)
	n := 250
	if chaos.Full() {
		n = 600
	}
	w := newWBRig(t, n, chaos.RigOptions{})
	trials := chaos.Trials()
	// Latency makes a run long enough to be killed between batches.
	const latency = 30 * time.Millisecond
	w.SB.Faults.Set(func(f *sandbox.Faults) { f.Latency = latency })
	var window time.Duration
	midRun, midWrite := 0, 0
	for trial := range trials {
		queued := w.enqueue(t, rng)
		kills := 1 + rng.IntN(2)
		if window == 0 { // calibrate on the first trial
			kills = 0
		}
		for range kills {
			before := w.writeCalls()
			p := w.StartCrmpulse("writeback", "--no-enqueue")
			select {
			case <-p.Done():
			case <-time.After(time.Duration(rng.Int64N(int64(window) + 1))):
			}
			if p.Kill() {
				midRun++
				if w.writeCalls() > before {
					midWrite++
				}
			} else if code := p.ExitCode(); code != 0 {
				t.Fatalf("trial %d: writeback exited %d before the kill:\n%s", trial, code, p.Output())
			}
		}
		p := w.StartCrmpulse("writeback", "--no-enqueue")
		if err := p.Wait(3 * time.Minute); err != nil {
			t.Fatalf("trial %d: writeback: %v\n%s", trial, err, p.Output())
		}
		if window == 0 {
			window = time.Since(p.Start)
			t.Logf("writeback of %d entries with %s latency: %s", queued, latency, window.Round(time.Millisecond))
		}
		lost, stale, problems := w.check(t)
		chaos.All.Add("kill -9 writeback", lost, stale)
		t.Logf("trial %d (%d entries queued, %d kills): %d lost, %d stale writes", trial, queued, kills, lost, stale)
		if len(problems) > 0 {
			t.Fatalf("trial %d:\n  %s\noutput of the last run:\n%s", trial, strings.Join(problems, "\n  "), p.Output())
		}
	}
	t.Logf("kill -9 writeback: %d trials, %d kills landed mid-run (%d after batches were sent), 0 lost, 0 duplicated", trials, midRun, midWrite)
	if trials > 1 && midRun == 0 {
		t.Errorf("no kill landed while a writeback was running")
	}
}
