package salesforce

import (
	"testing"

	"github.com/crmpulse/crmpulse/connectors"
)

// A number field holding something else reaches the sync engine as sent
// (which quarantines the record) instead of disappearing.
func TestNormaliseKeepsWrongTypedNumbers(t *testing.T) {
	raw := map[string]any{"Id": "0018d00000000AAAAA", "SystemModstamp": "2025-06-01T10:00:00.000+0000",
		"NumberOfEmployees": "many", "AnnualRevenue": 12.5}
	rec := normalise(connectors.Accounts, "Account", raw)
	if rec.Malformed() {
		t.Fatalf("well-formed record marked malformed: %+v", rec)
	}
	if got := rec.Fields[connectors.FEmployees]; got != "many" {
		t.Errorf("employees = %#v, want the text as sent", got)
	}
	if got := rec.Fields[connectors.FAnnualRevenue]; got != 12.5 {
		t.Errorf("annual revenue = %#v", got)
	}
	delete(raw, "NumberOfEmployees")
	if rec := normalise(connectors.Accounts, "Account", raw); rec.Fields[connectors.FEmployees] != nil {
		t.Errorf("absent employees = %#v", rec.Fields[connectors.FEmployees])
	}
}
