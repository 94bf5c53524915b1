package hubspot

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
)

// FuzzSearchPage decodes arbitrary bytes as a CRM search (or batch read)
// response and normalises every result as the change feed does: each result
// is refused with a connector error or comes out with an id, a modification
// stamp and fields of the kinds the sync engine checks; nothing panics.
func FuzzSearchPage(f *testing.F) {
	f.Add([]byte(`{"total":1,"results":[{"id":"1000001","properties":{"name":"Acme","numberofemployees":"120","annualrevenue":"1500000","hs_lastmodifieddate":"2025-06-01T10:00:00.000Z","createdate":"2024-01-01T00:00:00Z"},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2025-06-01T10:00:00.000Z","archived":false}],"paging":{"next":{"after":"1"}}}`))
	f.Add([]byte(`{"results":[{"id":"2","properties":{"amount":"12abc","closedate":"not a date","dealstage":null,"hs_lastmodifieddate":"2025-06-01T10:00:00Z"}},{"id":"","properties":null}]}`))
	f.Add([]byte(`{"results":[{"id":"3","properties":{"hs_call_body":"\ud800 broken","hs_timestamp":"1717236000000","hs_lastmodifieddate":12}}]}`))
	f.Add([]byte(`{"results":[{"id":"4","properties":{"amount":"NaN","numberofemployees":"1e400","hs_lastmodifieddate":"2025-06-01T10:00:00Z"},"archived":true,"archivedAt":"2025-06-02T00:00:00Z"}]}`))
	f.Add([]byte(`{"status":"error","message":"boom","results":"nope"}`))
	types := []struct {
		obj connectors.Object
		typ string
	}{
		{connectors.Accounts, "companies"}, {connectors.Contacts, "contacts"}, {connectors.Opportunities, "deals"},
		{connectors.Activities, "calls"}, {connectors.Activities, "emails"}, {connectors.Activities, "meetings"},
		{connectors.Activities, "notes"}, {connectors.Activities, "tasks"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var res struct {
			Results []hsObject `json:"results"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return
		}
		for _, ty := range types {
			for _, o := range res.Results {
				rec := normalise(ty.obj, ty.typ, o)
				_, stamped := parseTime(o.Properties[stampProperty(ty.typ)])
				if !stamped {
					_, stamped = parseTime(o.UpdatedAt)
				}
				if rec.Malformed() != (o.ID == "" || !stamped) {
					t.Fatalf("Malformed() = %t for id %q, stamp present %t", rec.Malformed(), o.ID, stamped)
				}
				for k, v := range rec.Fields {
					if tm, ok := v.(time.Time); ok && tm.Location() != time.UTC {
						t.Fatalf("field %s: time %v not in UTC", k, tm)
					}
				}
				if _, err := json.Marshal(rec.Raw); err != nil {
					t.Fatalf("raw payload does not encode: %v", err)
				}
			}
		}
	})
}
