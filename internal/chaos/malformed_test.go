package chaos_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/chaos"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

// badRecord is a malformed record injected into the sandbox.
type badRecord struct {
	conn, table, object string
	fields              map[string]any
	field               string // the field the quarantine entry must name
	why                 string
}

// TestChaosMalformedRecords injects records the engine cannot store
// faithfully (values of the wrong type, a text field over the limit, ids
// that keys cannot hold, invalid UTF-8) into both CRMs and checks that each
// is quarantined with an error naming connection, object, id and field,
// while everything else syncs exactly; a later valid version of a
// quarantined record lifts its quarantine.
func TestChaosMalformedRecords(t *testing.T) {
	ctx := context.Background()
	rig := chaos.NewRig(t, chaos.RigOptions{})
	if _, err := rig.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sfAccount := firstID(t, rig.SB.SF, sandbox.SFAccount)
	huge := strings.Repeat("長いテキスト ", crmsync.DefaultMaxFieldBytes/len("長いテキスト ")+10)
	bad := []badRecord{
		{conn: app.SandboxSalesforce, table: sandbox.SFAccount, object: store.TypeAccount, why: "text in a number field",
			fields: map[string]any{"Name": "Wrong Type KK", "NumberOfEmployees": "many"}, field: "employees"},
		{conn: app.SandboxSalesforce, table: sandbox.SFAccount, object: store.TypeAccount, why: "huge text",
			fields: map[string]any{"Name": "Huge Text KK", "Description": huge}, field: "description"},
		{conn: app.SandboxSalesforce, table: sandbox.SFOpportunity, object: store.TypeOpportunity, why: "text amount",
			fields: map[string]any{"Name": "Bad Amount", "AccountId": sfAccount, "StageName": "Prospecting", "Amount": "lots",
				"CloseDate": sandbox.NewDate(chaos.Epoch)}, field: "amount"},
		{conn: app.SandboxSalesforce, table: sandbox.SFContact, object: "contact", why: "id unusable in keys",
			fields: map[string]any{"Id": "003bad:id *x", "LastName": "Colon", "AccountId": sfAccount}, field: "id"},
		{conn: app.SandboxHubSpot, table: sandbox.HSCompanies, object: store.TypeAccount, why: "huge text",
			fields: map[string]any{"name": "Huge Text Inc", "description": huge}, field: "description"},
		{conn: app.SandboxHubSpot, table: sandbox.HSCompanies, object: store.TypeAccount, why: "text in a number field",
			fields: map[string]any{"name": "Wrong Type Inc", "numberofemployees": "a few"}, field: "employees"},
	}
	ids := make([]string, len(bad))
	for i, b := range bad {
		row, err := rig.Tenant(b.conn).Insert(b.table, b.fields, sandbox.ActorUser)
		if err != nil {
			t.Fatalf("inject %s: %v", b.why, err)
		}
		ids[i] = row.ID
	}
	// Invalid UTF-8 cannot cross the JSON wire as such: the dialects send
	// U+FFFD, which is stored like any other text. Inject it anyway.
	utf8Row, err := rig.SB.SF.Insert(sandbox.SFAccount, map[string]any{"Name": "Bad \xff\xfe UTF-8 KK"}, sandbox.ActorUser)
	if err != nil {
		t.Fatal(err)
	}
	rig.Advance()
	if _, err := rig.Sync(ctx, &crmsync.Options{Reconcile: true}); err != nil {
		t.Fatalf("sync with malformed records: %v", err)
	}
	st, err := store.New(rig.Rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	quarantined := map[string]crmsync.Quarantined{}
	for _, conn := range chaos.Conns {
		qs, err := crmsync.Quarantine(ctx, st, conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			quarantined[q.Connection+" "+q.ID] = q
			t.Logf("quarantined: %s", q.Error())
		}
	}
	for i, b := range bad {
		q, ok := quarantined[b.conn+" "+ids[i]]
		if !ok {
			t.Errorf("%s %s %s (%s) not quarantined", b.conn, b.object, ids[i], b.why)
			continue
		}
		msg := q.Error()
		if q.Object != b.object || q.Field != b.field {
			t.Errorf("%s (%s): quarantined as object %q field %q, want %q %q", ids[i], b.why, q.Object, q.Field, b.object, b.field)
		}
		for _, part := range []string{b.conn, b.object, ids[i], b.field} {
			if !strings.Contains(msg, part) {
				t.Errorf("quarantine error %q does not name %q", msg, part)
			}
		}
		if _, err := st.GetRecord(ctx, store.Ref{Connection: b.conn, Object: b.object, ID: ids[i]}); err == nil {
			t.Errorf("%s (%s) stored although quarantined", ids[i], b.why)
		}
	}
	if q, ok := quarantined[app.SandboxSalesforce+" "+utf8Row.ID]; ok {
		t.Logf("invalid UTF-8 quarantined: %s", q.Error())
	} else {
		rec, err := st.GetRecord(ctx, store.Ref{Connection: app.SandboxSalesforce, Object: store.TypeAccount, ID: utf8Row.ID})
		if err != nil {
			t.Errorf("invalid UTF-8 record neither quarantined nor stored: %v", err)
		} else {
			t.Logf("invalid UTF-8 arrived as %q (the wire's replacement characters) and was stored", rec.Fields["name"])
		}
	}
	rep := rig.MustCheck(ctx, "malformed records")
	chaos.All.Add("malformed records", rep.Lost, rep.Duplicated+rep.Stale)
	t.Logf("%d malformed records quarantined; the rest: %s", len(bad), rep)

	// A valid version lifts the quarantine.
	if _, err := rig.SB.SF.Update(sandbox.SFAccount, ids[0], map[string]any{"NumberOfEmployees": 42.0}, sandbox.ActorUser); err != nil {
		t.Fatal(err)
	}
	rig.Advance()
	if _, err := rig.Sync(ctx, &crmsync.Options{Reconcile: true}); err != nil {
		t.Fatal(err)
	}
	qs, err := crmsync.Quarantine(ctx, st, app.SandboxSalesforce)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.ID == ids[0] {
			t.Errorf("%s still quarantined after a valid version: %s", ids[0], q.Error())
		}
	}
	if _, err := st.GetRecord(ctx, store.Ref{Connection: app.SandboxSalesforce, Object: store.TypeAccount, ID: ids[0]}); err != nil {
		t.Errorf("fixed record not stored: %v", err)
	}
	rig.MustCheck(ctx, "after the fix")
}

func firstID(t *testing.T, ten *sandbox.Store, table string) string {
	t.Helper()
	var id string
	_ = ten.Scan(table, func(r sandbox.Row) bool {
		if r.Deleted {
			return true
		}
		id = r.ID
		return false
	})
	if id == "" {
		t.Fatalf("no live row in %s", table)
	}
	return id
}
