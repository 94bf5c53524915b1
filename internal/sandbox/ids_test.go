package sandbox

import "testing"

func TestCaseSafeID(t *testing.T) {
	// Known pairs from Salesforce documentation and real orgs.
	cases := map[string]string{
		"001000000000000": "001000000000000AAA",
		"00D000000000062": "00D000000000062EAA",
		"0015000000Gv7qJ": "0015000000Gv7qJAAR",
	}
	for in, want := range cases {
		if got := CaseSafeID(in); got != want {
			t.Errorf("CaseSafeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSalesforceID(t *testing.T) {
	seen := map[string]bool{}
	for n := int64(0); n < 5000; n += 7 {
		id := SalesforceID(PrefixAccount, n)
		if len(id) != 18 || id[:3] != "001" || !ValidSalesforceID(id) {
			t.Fatalf("SalesforceID(001, %d) = %q: bad id", n, id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	if ValidSalesforceID("0015000000Gv7qJAAA") {
		t.Error("wrong checksum accepted")
	}
}
