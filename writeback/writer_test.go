package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/writeback"
)

// TestBatchedWritesAndNoOpCycle: 1000 changed records cost exactly the
// batch minimum of write calls (5 Salesforce, 10 HubSpot); a second cycle
// with the same values costs none; a third with one changed field on 10
// records costs one call.
func TestBatchedWritesAndNoOpCycle(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, kind, 1000, nil)
			r.provision(t)
			want := map[string]int64{config.KindSalesforce: 5, config.KindHubSpot: 10}[kind]

			r.enqueue(t, 1)
			before := r.writeCalls()
			sum := runOnce(t, r.writer(nil))
			if got := r.writeCalls() - before; got != want {
				t.Errorf("write calls for 1000 records = %d, want %d", got, want)
			}
			if sum.Written != 1000 || sum.Dead != 0 || sum.Pending != 0 {
				t.Errorf("summary: %+v", sum)
			}
			// The values landed, in the CRM's formats.
			score := r.value(t, r.ids[3], r.field(config.OutChurnScore))
			if fmt.Sprint(score) != "34" {
				t.Errorf("churn score of account 3 = %v, want 34", score)
			}
			if got := fmt.Sprint(r.value(t, r.ids[0], r.field(config.OutNextActionDue))); got != "2025-03-08" {
				t.Errorf("next action due = %q", got)
			}

			// Same insights again: nothing to write.
			r.enqueue(t, 1)
			before = r.writeCalls()
			sum = runOnce(t, r.writer(nil))
			if got := r.writeCalls() - before; got != 0 {
				t.Errorf("unchanged cycle made %d write calls", got)
			}
			if sum.Unchanged != 1000 || sum.Written != 0 {
				t.Errorf("unchanged summary: %+v", sum)
			}
			if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n != 0 {
				t.Errorf("outbox still holds %d entries", n)
			}
		})
	}
}

// TestCrashBetweenSendAndAck kills the writer (cancels its context) after
// the first batch's API call returned and before its outcome was recorded.
// A new writer finishes the job: every record holds its value, the crashed
// batch is recognised as already applied (re-read, not re-sent), and the
// total write calls stay at the batch minimum.
func TestCrashBetweenSendAndAck(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, kind, 450, nil)
			r.provision(t)
			r.enqueue(t, 1)
			before := r.writeCalls()

			ctx, cancel := context.WithCancel(context.Background())
			var crashed []string
			w := r.writer(&writeback.Options{AfterSend: func(_ context.Context, ids []string) {
				if crashed == nil {
					crashed = ids
					cancel()
				}
			}})
			if _, err := w.RunOnce(ctx); err == nil {
				t.Fatal("crashed run returned no error")
			}
			if got := r.writeCalls() - before; got != 1 {
				t.Fatalf("crashed run made %d write calls, want 1", got)
			}
			// The batch reached the CRM but nothing was recorded.
			field := r.field(config.OutNextAction)
			if v := r.value(t, crashed[0], field); v == nil {
				t.Fatal("first batch did not reach the CRM")
			}
			if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n != 450 {
				t.Fatalf("outbox after crash holds %d entries, want 450", n)
			}

			sum := runOnce(t, r.writer(nil))
			batches := map[string]int64{config.KindSalesforce: 3, config.KindHubSpot: 5}[kind]
			if got := r.writeCalls() - before; got != batches {
				t.Errorf("write calls in total = %d, want %d (the batch minimum: nothing sent twice)", got, batches)
			}
			if sum.Written != 450-len(crashed) || sum.Already != len(crashed)*len(r.mappings) {
				t.Errorf("recovery summary: %+v (crashed batch %d)", sum, len(crashed))
			}
			if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n != 0 {
				t.Errorf("outbox after recovery holds %d entries", n)
			}
			for i, id := range r.ids {
				if got, want := fmt.Sprint(r.value(t, id, field)), insight(id, i, 1).NextAction; got != want {
					t.Fatalf("record %s next action = %q, want %q", id, got, want)
				}
			}
			// A third run finds nothing to do.
			r.enqueue(t, 1)
			before = r.writeCalls()
			if sum := runOnce(t, r.writer(nil)); sum.Unchanged != 450 || r.writeCalls() != before {
				t.Errorf("after recovery, an unchanged cycle wrote: %+v", sum)
			}
		})
	}
}

// TestHumanEditPolicy: a field a person edited since crmpulse wrote it is
// kept (policy keep) or overwritten (policy overwrite), and the audit trail
// says which.
func TestHumanEditPolicy(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, kind, 3, nil)
			for i := range r.mappings {
				if r.mappings[i].Output == config.OutChurnScore {
					r.mappings[i].OnHumanEdit = config.HumanEditOverwrite
				}
			}
			r.provision(t)
			r.enqueue(t, 1)
			runOnce(t, r.writer(nil))

			action, score := r.field(config.OutNextAction), r.field(config.OutChurnScore)
			a, b := r.ids[0], r.ids[1]
			if _, err := r.sbStore().Update(r.table, a, map[string]any{action: "Visit them in person"}, "user"); err != nil {
				t.Fatal(err)
			}
			if _, err := r.sbStore().Update(r.table, b, map[string]any{score: 1.0}, "user"); err != nil {
				t.Fatal(err)
			}
			r.enqueue(t, 2)
			sum := runOnce(t, r.writer(nil))
			if sum.Kept != 1 || sum.Overwrote != 1 {
				t.Errorf("summary: kept %d, overwrote %d, want 1 and 1: %+v", sum.Kept, sum.Overwrote, sum)
			}
			if got := fmt.Sprint(r.value(t, a, action)); got != "Visit them in person" {
				t.Errorf("keep: next action = %q, want the person's edit", got)
			}
			if got := fmt.Sprint(r.value(t, b, score)); got != fmt.Sprint(float64((1*7+2*13)%100)) {
				t.Errorf("overwrite: churn score = %q", got)
			}
			// Other records follow the new version as usual.
			if got := fmt.Sprint(r.value(t, r.ids[2], action)); got != insight(r.ids[2], 2, 2).NextAction {
				t.Errorf("untouched record: next action = %q", got)
			}
			audit, err := writeback.Audit(context.Background(), r.st, r.conn.Name(), 0)
			if err != nil {
				t.Fatal(err)
			}
			var kept, over bool
			for _, e := range audit {
				if e.Record == a && e.Field == action && e.Result == writeback.ResultKept && e.Old == "Visit them in person" && e.New == insight(a, 0, 2).NextAction {
					kept = true
				}
				if e.Record == b && e.Field == score && e.Result == writeback.ResultWritten && e.Old == "1" && oneLine(e.Note) != "" {
					over = true
				}
			}
			if !kept || !over {
				t.Errorf("audit lacks the kept (%v) or overwritten (%v) decision: %+v", kept, over, audit[:min(len(audit), 6)])
			}
			// The kept field stays kept while the person's value stands.
			r.enqueue(t, 3, a)
			if sum := runOnce(t, r.writer(nil)); sum.Kept != 1 {
				t.Errorf("next cycle: kept %d, want 1", sum.Kept)
			}
			if got := fmt.Sprint(r.value(t, a, action)); got != "Visit them in person" {
				t.Errorf("keep, next cycle: next action = %q", got)
			}
		})
	}
}

// TestRunLoop: a running writer picks up entries as they are queued and
// stops with its context.
func TestRunLoop(t *testing.T) {
	r := newRig(t, config.KindSalesforce, 5, nil)
	r.provision(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.writer(nil).Run(ctx, time.Minute) }()
	r.enqueue(t, 1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n == 0 && r.value(t, r.ids[4], r.field(config.OutNextAction)) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running writer did not pick up the queued entries")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}
