package sandbox

import (
	"slices"
	"strings"
	"testing"
)

func TestImportExample(t *testing.T) {
	sb, err := New(Options{ImportDir: "testdata/import-example", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(sb.Import.Problems) != 0 {
		t.Fatalf("problems in the valid example: %v", sb.Import.Problems)
	}
	want := map[string]int{"accounts.csv": 3, "contacts.csv": 4, "opportunities.csv": 5, "activities.csv": 5}
	for f, n := range want {
		if got := sb.Import.Loaded[f]; got != n {
			t.Errorf("%s: loaded %d rows, want %d", f, got, n)
		}
	}
	for tb, n := range map[string]int{SFAccount: 3, SFContact: 4, SFOpportunity: 5} {
		if got := sb.SF.Count(tb); got != n {
			t.Errorf("org %s: %d rows, want %d", tb, got, n)
		}
	}
	if got := sb.SF.Count(SFTask) + sb.SF.Count(SFEvent); got != 5 {
		t.Errorf("org activities: %d, want 5", got)
	}
	if got := sb.HS.Count(HSDeals); got != 5 {
		t.Errorf("portal deals: %d, want 5", got)
	}
	a, ok := sb.Truth.Accounts["K002"]
	if !ok {
		t.Fatal("no truth for K002")
	}
	acc, ok := sb.SF.Get(SFAccount, a.SalesforceID)
	if !ok || acc.Fields["Name"] != "Acme Logistics" || acc.Fields["Industry"] != "Transportation" {
		t.Fatalf("K002 in the org: %v", acc.Fields)
	}
	co, ok := sb.HS.Get(HSCompanies, a.HubSpotID)
	if !ok || co.Fields["domain"] != "acmelogistics.example.com" {
		t.Fatalf("K002 in the portal: %v", co.Fields)
	}
	deals, types := sb.HS.Associations(HSCompanies, a.HubSpotID, HSDeals)
	if len(deals) != 2 || types[0] != AssocCompanyToDeal {
		t.Errorf("K002 deals %v types %v", deals, types)
	}
	var amounts []float64
	_ = sb.SF.Scan(SFOpportunity, func(r Row) bool {
		if r.Fields["AccountId"] == a.SalesforceID {
			amounts = append(amounts, r.Fields["Amount"].(float64))
		}
		return true
	})
	if !slices.Contains(amounts, 250000) {
		t.Errorf("thousands separator not parsed: %v", amounts)
	}
}

func TestImportBadRows(t *testing.T) {
	sb, err := New(Options{ImportDir: "testdata/import-bad", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range sb.Import.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"accounts.csv:3: missing name",
		"accounts.csv:4: industry \"Widgets\"",
		"accounts.csv:5: duplicate key \"G1\"",
		"accounts.csv:6: employees: bad number \"many\"",
		"contacts.csv:3: unknown account_key \"NOPE\"",
		"contacts.csv:4: missing last_name",
		"opportunities.json:3: product \"Teleporter\"",
		"opportunities.json:4: close_date: bad date",
		"activities.csv:3: kind \"fax\"",
		"activities.csv:4: ",
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	if n := sb.SF.Count(SFAccount); n != 1 {
		t.Errorf("accounts loaded: %d, want 1", n)
	}
	if n := sb.Import.Loaded["opportunities.json"]; n != 1 {
		t.Errorf("opportunities loaded: %d, want 1", n)
	}
	if n := sb.SF.Count(SFTask); n != 1 {
		t.Errorf("activities loaded: %d, want 1", n)
	}
}

func TestImportMissingAccounts(t *testing.T) {
	if _, err := New(Options{ImportDir: t.TempDir(), Now: testNow}); err == nil {
		t.Fatal("import of an empty directory succeeded")
	}
}
