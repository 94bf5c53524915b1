package hubspot

import (
	"testing"

	"github.com/crmpulse/crmpulse/connectors"
)

// A number property that does not parse reaches the sync engine as sent
// (which quarantines the record) instead of disappearing.
func TestNormaliseKeepsUnparsableNumbers(t *testing.T) {
	o := hsObject{ID: "1000001", UpdatedAt: "2025-06-01T10:00:00Z", Properties: map[string]any{
		"name": "Acme", "numberofemployees": "a few", "annualrevenue": "1500000", "hs_lastmodifieddate": "2025-06-01T10:00:00Z"}}
	rec := normalise(connectors.Accounts, "companies", o)
	if rec.Malformed() {
		t.Fatalf("well-formed record marked malformed: %+v", rec)
	}
	if got := rec.Fields[connectors.FEmployees]; got != "a few" {
		t.Errorf("employees = %#v, want the text as sent", got)
	}
	if got := rec.Fields[connectors.FAnnualRevenue]; got != 1500000.0 {
		t.Errorf("annual revenue = %#v", got)
	}
	o.Properties["numberofemployees"] = ""
	if rec := normalise(connectors.Accounts, "companies", o); rec.Fields[connectors.FEmployees] != nil {
		t.Errorf("empty employees = %#v", rec.Fields[connectors.FEmployees])
	}
}
