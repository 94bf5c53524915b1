package sync

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
)

// TestWritebackDoesNotReembed writes churn scores through the connector and
// checks that the next run stores the new versions but embeds nothing and
// queues nothing.
func TestWritebackDoesNotReembed(t *testing.T) {
	h := newHarness(t, sandbox.Options{Accounts: 25, Seed: 9}, app.SandboxSalesforce)
	ctx := context.Background()
	h.run(nil)
	conn := mustConn(h, app.SandboxSalesforce)
	if _, err := conn.EnsureField(ctx, connectors.Accounts, connectors.FieldSpec{Name: "AI_Churn_Score__c", Label: "AI churn score",
		Type: connectors.TypeNumber, Precision: 5, Scale: 2}); err != nil {
		t.Fatal(err)
	}
	ids, err := Accounts(ctx, h.st, app.SandboxSalesforce)
	if err != nil {
		t.Fatal(err)
	}
	var ups []connectors.Update
	for i, id := range ids[:20] {
		ups = append(ups, connectors.Update{ID: id, Fields: map[string]any{"AI_Churn_Score__c": float64(10 + i)}})
	}
	res, err := conn.UpdateFields(ctx, connectors.Accounts, ups)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK {
			t.Fatalf("write-back of %s failed: %v", r.ID, r.Err)
		}
	}
	texts, calls := h.inner.texts.Load(), h.inner.calls.Load()
	queued, _ := h.rdb.XLen(ctx, AnalysisQueue(h.st, app.SandboxSalesforce)).Result()
	if queued < 25 {
		t.Fatalf("the first sync queued %d accounts for analysis, want 25", queued)
	}
	h.advance()
	sum := h.run(nil)
	acc := sum.Objects[0]
	if acc.Object != string(connectors.Accounts) || acc.Changed() != 0 || acc.Echo+acc.Unchanged < 20 {
		t.Fatalf("accounts after write-back: %+v", acc)
	}
	if d := h.inner.calls.Load() - calls; d != 0 {
		t.Errorf("write-back caused %d embedder calls (%d texts)", d, h.inner.texts.Load()-texts)
	}
	if q, _ := h.rdb.XLen(ctx, AnalysisQueue(h.st, app.SandboxSalesforce)).Result(); q != queued {
		t.Errorf("write-back queued %d accounts for analysis", q-queued)
	}
	if sum.Conns[0].Accounts != 0 {
		t.Errorf("write-back rebuilt %d accounts", sum.Conns[0].Accounts)
	}
	h.check(ctx) // the new stamps are stored
	t.Logf("write-back of 20 accounts: %d echo-skipped, %d skipped, 0 embedded", acc.Echo, acc.Unchanged)
}

// TestQuarantine syncs a page holding an oversized record: the record is
// quarantined with its connection, object, id, field and reason, the others
// sync, the checkpoint moves on, and a corrected version clears it.
func TestQuarantine(t *testing.T) {
	h := newHarness(t, sandbox.Options{Accounts: 15, Seed: 2}, app.SandboxSalesforce)
	ctx := context.Background()
	h.run(nil)
	ids, _ := Accounts(ctx, h.st, app.SandboxSalesforce)
	bad, good := ids[0], ids[1]
	if _, err := h.sb.SF.Update(sandbox.SFAccount, bad, map[string]any{"Description": strings.Repeat("x", 5000)}, sandbox.ActorUser); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sb.SF.Update(sandbox.SFAccount, good, map[string]any{"Description": "Renewal at risk after budget cut."}, sandbox.ActorUser); err != nil {
		t.Fatal(err)
	}
	h.advance()
	opt := &Options{MaxFieldBytes: 4096}
	sum := h.run(opt)
	if acc := sum.Objects[0]; acc.Quarantined != 1 || acc.Updated != 1 {
		t.Fatalf("accounts: %+v", acc)
	}
	q, err := Quarantine(ctx, h.st, app.SandboxSalesforce)
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine = %+v, %v", q, err)
	}
	if q[0].ID != bad || q[0].Object != store.TypeAccount || q[0].Field != connectors.FDescription || q[0].Connection != app.SandboxSalesforce ||
		!strings.Contains(q[0].Reason, "5000 bytes") {
		t.Errorf("entry = %+v", q[0])
	}
	rec, err := h.st.GetRecord(ctx, store.Ref{Connection: app.SandboxSalesforce, Object: store.TypeAccount, ID: good})
	if err != nil || rec.Fields[connectors.FDescription] != "Renewal at risk after budget cut." {
		t.Errorf("good record not synced: %v %v", rec.Fields[connectors.FDescription], err)
	}
	// The checkpoint moved past it: nothing is read again.
	h.advance()
	if sum := h.run(opt); sum.Objects[0].Read != 0 {
		t.Errorf("quarantined record read again: %+v", sum.Objects[0])
	}
	if _, err := h.sb.SF.Update(sandbox.SFAccount, bad, map[string]any{"Description": "Fixed."}, sandbox.ActorUser); err != nil {
		t.Fatal(err)
	}
	h.advance()
	h.run(opt)
	if q, _ := Quarantine(ctx, h.st, app.SandboxSalesforce); len(q) != 0 {
		t.Errorf("corrected record still quarantined: %+v", q)
	}
	h.check(ctx)
}

// TestValidate covers the malformed values a driver could hand over.
func TestValidate(t *testing.T) {
	c := &connRun{e: &Engine{opt: Options{MaxFieldBytes: 100}}, src: Source{Conn: connectors.New("c1", nil)}}
	now := time.Now()
	ok := connectors.Record{ID: "A1", Modified: now, Fields: map[string]any{connectors.FName: "Acme", connectors.FAmount: 3.0}}
	if q, valid := c.validate(connectors.Opportunities, ok); !valid {
		t.Fatalf("valid record refused: %v", q)
	}
	for _, tc := range []struct {
		name  string
		rec   connectors.Record
		field string
		want  string
	}{
		{"missing id", connectors.Record{Modified: now}, "id", "missing id"},
		{"id with colon", connectors.Record{ID: "a:b", Modified: now}, "id", "contains"},
		{"bad account", connectors.Record{ID: "x", AccountID: "a\"b", Modified: now}, "account", "contains"},
		{"invalid utf-8", connectors.Record{ID: "x", Modified: now, Fields: map[string]any{connectors.FName: "a\xffb"}}, connectors.FName, "invalid UTF-8"},
		{"huge text", connectors.Record{ID: "x", Modified: now, Fields: map[string]any{connectors.FDescription: strings.Repeat("y", 101)}}, connectors.FDescription, "exceeds"},
		{"wrong type", connectors.Record{ID: "x", Modified: now, Fields: map[string]any{connectors.FAmount: "12 dollars"}}, connectors.FAmount, "want number"},
		{"not finite", connectors.Record{ID: "x", Modified: now, Fields: map[string]any{connectors.FAmount: math.Inf(1)}}, connectors.FAmount, "not finite"},
		{"no stamp", connectors.Record{ID: "x"}, "modified", "missing"},
	} {
		q, valid := c.validate(connectors.Opportunities, tc.rec)
		if valid || q.Field != tc.field || !strings.Contains(q.Reason, tc.want) || q.Connection != "c1" || q.Object != store.TypeOpportunity {
			t.Errorf("%s: valid=%v %+v", tc.name, valid, q)
		}
		if msg := q.Error(); !strings.Contains(msg, "c1 opportunity") || !strings.Contains(msg, tc.field) {
			t.Errorf("%s: message %q", tc.name, msg)
		}
	}
}
