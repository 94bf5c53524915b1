package salesforce

import (
	"errors"
	"testing"

	crmsf "github.com/crmpulse/crmpulse/connectors/salesforce"
)

// FuzzQuoteRoundTrip quotes arbitrary strings with the connector's SOQL
// builder and parses the query with the sandbox's SOQL parser: the literal
// decodes to the original string, and a WHERE clause built from it stays one
// comparison (a hostile value never broadens a query). Strings the builder
// refuses are refused with ErrUnsafeSOQL.
func FuzzQuoteRoundTrip(f *testing.F) {
	for _, s := range []string{
		"", "O'Brien", `a\b`, `x' OR Id != '`, `\' OR 1=1 --`, "line1\nline2\r\t\b\f", `say "hi"`,
		"日本語 'テスト'", `trailing \`, "%_*", "\x00", "\x7f", "\xff", "' OR Name LIKE '%", "'')--",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, err := crmsf.Quote(s)
		if err != nil {
			if !errors.Is(err, crmsf.ErrUnsafeSOQL) {
				t.Fatalf("Quote(%q): error %v does not wrap ErrUnsafeSOQL", s, err)
			}
			return
		}
		q := crmsf.Query{Fields: []string{"Id"}, From: "Account", Where: crmsf.Eq("Name", s)}
		soql, err := q.String()
		if err != nil {
			t.Fatalf("Query with %q: %v", s, err)
		}
		pq, err := parseSOQL(soql)
		if err != nil {
			t.Fatalf("sandbox cannot parse %s (literal %s): %v", soql, lit, err)
		}
		c, ok := pq.where.(cmpExpr)
		if !ok {
			t.Fatalf("%q broadened the WHERE clause: %s parsed as %T", s, soql, pq.where)
		}
		if c.op != "=" || c.val.kind != lString || c.val.str != s {
			t.Fatalf("%q round-tripped as %q (op %s, kind %d) via %s", s, c.val.str, c.op, c.val.kind, soql)
		}
		if len(pq.fields) != 1 || pq.object != "Account" || pq.limit != -1 {
			t.Fatalf("%q changed the query shape: %s", s, soql)
		}
	})
}
