package writeback_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/writeback"
)

// TestDeadLetters: a value the CRM refuses (not one of a restricted
// picklist's options) and a deleted record are dead-lettered with the CRM's
// own code and message; the rest of the batch is written; RetryDead
// requeues them once fixed.
func TestDeadLetters(t *testing.T) {
	cases := map[string]struct{ picklist, deleted string }{
		config.KindSalesforce: {"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "ENTITY_IS_DELETED"},
		config.KindHubSpot:    {"INVALID_OPTION", "OBJECT_NOT_FOUND"},
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, kind, 5, nil)
			for i := range r.mappings {
				if r.mappings[i].Output == config.OutSegment {
					r.mappings[i].Type = "picklist"
				}
			}
			if kind == config.KindSalesforce {
				// A restricted picklist an admin made (the provisioned ones are open).
				err := r.sb.SF.AddField(sandbox.SFAccount, &sandbox.Field{Name: "AI_Segment__c", Label: "AI segment", Type: sandbox.FPicklist,
					Custom: true, Updateable: true, Createable: true, Nillable: true, Options: []string{"vip", "loyal", "at_risk", "dormant"}})
				if err != nil {
					t.Fatal(err)
				}
			}
			r.provision(t)
			ctx := context.Background()
			bad, gone := r.ids[1], r.ids[3]
			if err := r.sbStore().Delete(r.table, gone); err != nil {
				t.Fatal(err)
			}
			var ins []writeback.Insight
			for i, id := range r.ids {
				in := insight(id, i, 1)
				if id == bad {
					in.Segment = "Hibernating"
				}
				ins = append(ins, in)
			}
			if err := writeback.EnqueueInsights(ctx, r.st, r.target, ins); err != nil {
				t.Fatal(err)
			}
			sum := runOnce(t, r.writer(nil))
			if sum.Written != 3 || sum.Dead != 2 {
				t.Fatalf("summary: %+v", sum)
			}
			dls, err := writeback.DeadLetters(ctx, r.st, r.conn.Name(), 0)
			if err != nil {
				t.Fatal(err)
			}
			byRec := map[string]writeback.DeadLetter{}
			for _, d := range dls {
				byRec[d.Record] = d
			}
			want := cases[kind]
			if d := byRec[bad]; !strings.Contains(d.Code, want.picklist) || !strings.Contains(d.Message, "Hibernating") {
				t.Errorf("bad picklist value: dead letter %+v, want code %s and the CRM's message naming the value", d, want.picklist)
			}
			if d := byRec[gone]; !strings.Contains(d.Code+" "+d.Message, want.deleted) && !strings.Contains(d.Message, "deleted") {
				t.Errorf("deleted record: dead letter %+v, want %s", d, want.deleted)
			}
			if d := byRec[gone]; len(d.Fields) != len(r.mappings) {
				t.Errorf("dead letter keeps %d fields, want %d", len(d.Fields), len(r.mappings))
			}
			var out strings.Builder
			if err := writeback.WriteDeadLetters(&out, dls); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), want.picklist) {
				t.Errorf("dead letter table lacks the code:\n%s", out.String())
			}

			// Fix both: restore the record; the admin adds the option (HubSpot)
			// or the value is corrected... here: undelete and retry all.
			if err := r.sbStore().Undelete(r.table, gone); err != nil {
				t.Fatal(err)
			}
			n, err := writeback.RetryDead(ctx, r.st, r.conn.Name(), byRec[gone].ID)
			if err != nil || n != 1 {
				t.Fatalf("retry dead: %d, %v", n, err)
			}
			sum = runOnce(t, r.writer(nil))
			if sum.Written != 1 || sum.Dead != 0 {
				t.Errorf("after retry: %+v", sum)
			}
			if v := r.value(t, gone, r.field(config.OutNextAction)); v == nil {
				t.Error("requeued record was not written")
			}
			left, _ := writeback.DeadLetters(ctx, r.st, r.conn.Name(), 0)
			if len(left) != 1 || left[0].Record != bad {
				t.Errorf("dead letters left: %+v", left)
			}
		})
	}
}

// TestTransientFailuresRetried: 503s and 429s on the write call (with the
// HTTP layer's own retries off) are retried by the writer; nothing is lost
// or dead-lettered.
func TestTransientFailuresRetried(t *testing.T) {
	for _, kind := range kinds {
		for _, fault := range []string{"5xx", "429"} {
			t.Run(kind+"/"+fault, func(t *testing.T) {
				r := newRig(t, kind, 150, func(o *httpx.Options) { o.RetryMax = -1 })
				r.provision(t)
				r.enqueue(t, 1)
				r.sb.Faults.Set(func(f *sandbox.Faults) {
					if fault == "5xx" {
						f.Fail5xx = 2
					} else {
						f.Fail429 = 2
					}
				})
				if kind == config.KindSalesforce && fault == "429" {
					// Salesforce answers an exhausted allowance with 403
					// REQUEST_LIMIT_EXCEEDED: the run stops, the records stay queued.
					_, err := r.writer(nil).RunOnce(context.Background())
					if !errors.Is(err, connectors.ErrQuotaExhausted) {
						t.Fatalf("run = %v, want ErrQuotaExhausted", err)
					}
					if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n != 150 {
						t.Fatalf("outbox holds %d entries, want 150", n)
					}
					r.sb.Faults.Set(func(f *sandbox.Faults) { f.Fail429 = 0 })
				}
				sum := runOnce(t, r.writer(nil))
				if kind == config.KindSalesforce && fault == "429" {
					sum.Retries++ // the retry was the second run
				}
				if sum.Written != 150 || sum.Dead != 0 || sum.Pending != 0 || sum.Retries == 0 {
					t.Errorf("summary: %+v", sum)
				}
				for _, id := range r.ids {
					if r.value(t, id, r.field(config.OutNextAction)) == nil {
						t.Fatalf("record %s not written", id)
					}
				}
			})
		}
	}
}

// TestTransientFailuresOutlastAttempts: when the CRM keeps failing, the
// records stay queued (not dead-lettered) and the next run writes them.
func TestTransientFailuresOutlastAttempts(t *testing.T) {
	r := newRig(t, config.KindHubSpot, 20, func(o *httpx.Options) { o.RetryMax = -1 })
	r.provision(t)
	r.enqueue(t, 1)
	r.sb.Faults.Set(func(f *sandbox.Faults) { f.Fail5xx = 3 })
	sum := runOnce(t, r.writer(&writeback.Options{MaxAttempts: 2}))
	if sum.Pending != 20 || sum.Written != 0 || sum.Dead != 0 {
		t.Fatalf("summary while failing: %+v", sum)
	}
	if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n != 20 {
		t.Fatalf("outbox holds %d entries, want 20", n)
	}
	sum = runOnce(t, r.writer(nil))
	if sum.Written != 20 || sum.Pending != 0 {
		t.Errorf("summary after the outage: %+v", sum)
	}
}
