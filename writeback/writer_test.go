package writeback_test

import (
	"context"
	"fmt"
	"testing"

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
