package salesforce

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
)

// FuzzQueryPage decodes arbitrary bytes as a /query (queryAll) response page
// and normalises every record as the change feed does: decoding either fails
// or every record either is refused with a connector error or comes out with
// an id, a modification stamp and fields of the kinds the sync engine checks;
// nothing panics.
func FuzzQueryPage(f *testing.F) {
	f.Add([]byte(`{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account"},"Id":"0018d00000000AAAAA","SystemModstamp":"2025-06-01T10:00:00.000+0000","Name":"Acme","NumberOfEmployees":120,"AnnualRevenue":1.5e6,"Industry":"Technology","IsDeleted":false}]}`))
	f.Add([]byte(`{"totalSize":2,"done":false,"nextRecordsUrl":"/services/data/v61.0/query/01g-2000","records":[{"Id":"0068d00000000AAAAA","SystemModstamp":"2025-06-01T10:00:00Z","Amount":"lots","CloseDate":"2025-13-45","StageName":null,"IsWon":"yes","AccountId":123},{"Id":"","SystemModstamp":"x"}]}`))
	f.Add([]byte(`{"records":[{"Id":"00T8d00000000AAAAA","SystemModstamp":"2025-06-01","Subject":"\ud800 broken","Description":"line\nbreak","WhatId":"0018d00000000AAAAA","ActivityDate":"2025-06-01"}]}`))
	f.Add([]byte(`{"records":[{"Id":"0038d00000000AAAAA","SystemModstamp":"2025-06-01T10:00:00.000+0000","Email":{"nested":[1,2]},"AccountId":["a"]}]}`))
	f.Add([]byte(`{"records":null}`))
	objs := []struct {
		obj     connectors.Object
		sobject string
	}{
		{connectors.Accounts, "Account"}, {connectors.Contacts, "Contact"}, {connectors.Opportunities, "Opportunity"},
		{connectors.Activities, "Task"}, {connectors.Activities, "Event"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var page queryResult
		if err := json.Unmarshal(body, &page); err != nil {
			return
		}
		for _, o := range objs {
			for _, raw := range page.Records {
				rec := normalise(o.obj, o.sobject, raw)
				id, _ := raw["Id"].(string)
				_, stamped := parseTime(raw["SystemModstamp"])
				if rec.Malformed() != (id == "" || !stamped) {
					t.Fatalf("Malformed() = %t for Id %q, SystemModstamp %v", rec.Malformed(), id, raw["SystemModstamp"])
				}
				for k, v := range rec.Fields {
					switch x := v.(type) {
					case string, bool, []string, nil:
					case float64:
						_ = math.IsNaN(x)
					case time.Time:
						if x.Location() != time.UTC {
							t.Fatalf("field %s: time %v not in UTC", k, x)
						}
					default:
						// Values of the wrong type pass through for the
						// engine's quarantine; they must still encode.
						if _, err := json.Marshal(x); err != nil {
							t.Fatalf("field %s: value %T does not encode: %v", k, x, err)
						}
					}
				}
				if _, err := json.Marshal(rec.Raw); err != nil {
					t.Fatalf("raw payload does not encode: %v", err)
				}
			}
		}
	})
}
