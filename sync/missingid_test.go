package sync

import (
	"context"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// TestQuarantineMissingID has the sandbox send a few records of the first
// sync without their id, over HTTP in each CRM's wire format. Each is
// quarantined alone, under its own entry, while the rest of its page is
// stored; once the CRM sends those records again (they change), the store
// equals the CRM.
func TestQuarantineMissingID(t *testing.T) {
	for _, conn := range []string{app.SandboxSalesforce, app.SandboxHubSpot} {
		t.Run(conn, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, sandbox.Options{Accounts: 20, Seed: 6}, conn)
			ctx := context.Background()
			const dropped = 4
			h.sb.Faults.Set(func(f *sandbox.Faults) { f.DropIDs = dropped })
			sum := h.run(nil)
			quarantined := 0
			for _, o := range sum.Objects {
				quarantined += o.Quarantined
			}
			if quarantined != dropped {
				t.Fatalf("quarantined %d records, want %d: %+v", quarantined, dropped, sum.Objects)
			}
			q, err := Quarantine(ctx, h.st, conn)
			if err != nil {
				t.Fatal(err)
			}
			if len(q) != dropped {
				t.Fatalf("%d quarantine entries, want one per record (%d): %+v", len(q), dropped, q)
			}
			for _, e := range q {
				if e.ID != "" || e.Field != "id" || !strings.Contains(e.Reason, "missing id") || len(e.Digest) != 16 {
					t.Errorf("entry = %+v", e)
				}
			}
			// The records sent without ids are the ones the store lacks;
			// everything else of their pages is stored.
			var missing []struct{ table, id string }
			for _, obj := range connectors.AllObjects {
				ids, err := h.st.RecordIDs(ctx, conn, storeType(obj))
				if err != nil {
					t.Fatal(err)
				}
				have := map[string]bool{}
				for _, id := range ids {
					have[id] = true
				}
				for id, tr := range h.truth(conn, obj) {
					if !have[id] {
						missing = append(missing, struct{ table, id string }{tr.table, id})
					}
				}
			}
			if len(missing) != dropped {
				t.Fatalf("the store lacks %d records, want the %d sent without ids", len(missing), dropped)
			}
			for _, m := range missing {
				if _, err := h.tenant(conn).Touch(m.table, m.id, sandbox.ActorUser); err != nil {
					t.Fatal(err)
				}
			}
			h.advance()
			h.run(nil)
			h.check(ctx)
		})
	}
}
