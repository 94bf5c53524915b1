package salesforce

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		q, code, contains string
	}{
		{"SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: '<EOF>'"},
		{"SELECT Id, FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"},
		{"SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY", "unexpected token: 'OR'"},
		{"SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY", "unexpected token"},
		{"SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY", "Illegal character sequence '\\q'"},
		{"SELECT Id FROM Account WHERE SystemModstamp > 2024-05-01T12:00:00 00:00", "MALFORMED_QUERY", "ERROR at Row:1:Column:"},
		{"SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"},
		{"SELECT Id FROM Account ORDER BY Name NULLS MIDDLE", "MALFORMED_QUERY", "unexpected token: 'MIDDLE'"},
		{"SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", "MALFORMED_QUERY", "unexpected token: '<EOF>'"},
	}
	for _, tt := range tests {
		_, err := parseSOQL(tt.q)
		var se *soqlError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want %s", tt.q, err, tt.code)
			continue
		}
		if se.code != tt.code || !strings.Contains(se.msg, tt.contains) {
			t.Errorf("%q: got %s %q, want %s containing %q", tt.q, se.code, se.msg, tt.code, tt.contains)
		}
	}
}

func TestMalformedMessageLocatesToken(t *testing.T) {
	_, err := parseSOQL("SELECT Id FROM Account WHERE Name = = 'x'")
	want := "\nSELECT Id FROM Account WHERE Name = = 'x'\n                                    ^\nERROR at Row:1:Column:37\nunexpected token: '='"
	if err == nil || err.(*soqlError).msg != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
}

func TestLexLiterals(t *testing.T) {
	toks, err := lex(`'it\'s \\ \n \"q\"' 2024-05-01 2024-05-01T12:00:00Z 2024-05-01T12:00:00.000+09:00 -1.5 LAST_N_DAYS:30`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind tokKind
		val  string
	}{
		{tString, "it's \\ \n \"q\""}, {tDate, "2024-05-01"}, {tDateTime, "2024-05-01T12:00:00Z"},
		{tDateTime, "2024-05-01T12:00:00.000+09:00"}, {tNumber, "-1.5"}, {tIdent, "LAST_N_DAYS"}, {tColon, ":"}, {tNumber, "30"}, {tEOF, ""},
	}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens %+v", len(toks), toks)
	}
	for i, w := range want {
		got := toks[i].text
		if w.kind == tString {
			got = toks[i].val
		}
		if toks[i].kind != w.kind || got != w.val {
			t.Errorf("token %d = %v %q, want %v %q", i, toks[i].kind, got, w.kind, w.val)
		}
	}
}

func TestLikeMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"acme%", "acme corp", true}, {"%corp", "acme corp", true}, {"a_me", "acme", true}, {"a_me", "acmme", false},
		{`100\%`, "100%", true}, {`100\%`, "1000", false}, {`a\_b`, "a_b", true}, {`a\_b`, "axb", false}, {"%", "", true},
	}
	for _, tt := range tests {
		if got := likeMatch(tt.pat, tt.s); got != tt.want {
			t.Errorf("likeMatch(%q, %q) = %v", tt.pat, tt.s, got)
		}
	}
}

// evalFixture is a small org: accounts with controlled stamps and values,
// contacts with parents, one soft-deleted account and old closed tasks.
type evalFixture struct {
	h   *handler
	sb  *sandbox.Sandbox
	ids map[string]string // name -> id
}

func newEvalFixture(t *testing.T) *evalFixture {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{Empty: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sb.Clock.Freeze(testNow)
	h := NewWithOptions(sb, Options{}).(*handler)
	fx := &evalFixture{h: h, sb: sb, ids: map[string]string{}}
	t0 := time.Date(2024, 4, 30, 10, 0, 0, 0, time.UTC)
	accounts := []struct {
		name, industry string
		employees      any
		stamp          time.Time
	}{
		{"Acme", "Technology", 250.0, t0},
		{"Beta O'Brien", "Banking", 10.0, t0},
		{"Gamma 100%", "Technology", nil, t0},
		{"delta", nil0, 5000.0, t0.Add(time.Second)},
		{"Epsilon", "Retail", 42.0, t0.Add(2 * time.Second)},
	}
	for _, a := range accounts {
		f := map[string]any{"Name": a.name, "NumberOfEmployees": a.employees, "OwnerId": sb.IntegrationUserID}
		if a.industry != nil0 {
			f["Industry"] = a.industry
		}
		id, err := sb.SF.Seed(sandbox.SFAccount, f, "user", a.stamp.Add(-time.Hour), a.stamp)
		if err != nil {
			t.Fatal(err)
		}
		fx.ids[a.name] = id
	}
	gone, err := sb.SF.Seed(sandbox.SFAccount, map[string]any{"Name": "Gone"}, "user", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	fx.ids["Gone"] = gone
	if err := sb.SF.Delete(sandbox.SFAccount, gone); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ last, acc string }{{"Smith", "Acme"}, {"Jones", "Beta O'Brien"}, {"Orphan", ""}} {
		f := map[string]any{"LastName": c.last, "Name": c.last}
		if c.acc != "" {
			f["AccountId"] = fx.ids[c.acc]
		}
		id, err := sb.SF.Seed(sandbox.SFContact, f, "user", t0, t0)
		if err != nil {
			t.Fatal(err)
		}
		fx.ids[c.last] = id
	}
	for _, tk := range []struct {
		subject string
		due     time.Time
		closed  bool
	}{{"old closed", testNow.AddDate(-2, 0, 0), true}, {"old open", testNow.AddDate(-2, 0, 0), false}, {"recent closed", testNow.AddDate(0, 0, -3), true}} {
		id, err := sb.SF.Seed(sandbox.SFTask, map[string]any{"Subject": tk.subject, "ActivityDate": sandbox.NewDate(tk.due),
			"IsClosed": tk.closed, "Status": "Completed", "Priority": "Normal"}, "user", tk.due, tk.due)
		if err != nil {
			t.Fatal(err)
		}
		fx.ids[tk.subject] = id
	}
	return fx
}

const nil0 = "\x00none"

// names runs q and returns the Name (or Subject/LastName) of each row.
func (fx *evalFixture) names(t *testing.T, q string, all bool) []string {
	t.Helper()
	_, rows, err := fx.h.execute(fx.sb.SF, q, all)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for _, r := range rows {
		for _, k := range []string{"Name", "Subject"} {
			if v, ok := r.Fields[k].(string); ok {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

func TestEvaluate(t *testing.T) {
	fx := newEvalFixture(t)
	acme := fx.ids["Acme"]
	tests := []struct {
		q    string
		all  bool
		want string
	}{
		{q: "SELECT Id FROM Account ORDER BY Name", want: "Acme,Beta O'Brien,delta,Epsilon,Gamma 100%"},
		{q: "select id from ACCOUNT where name = 'ACME'", want: "Acme"},
		{q: `SELECT Id FROM Account WHERE Name = 'Beta O\'Brien'`, want: "Beta O'Brien"},
		{q: "SELECT Id FROM Account WHERE Name != 'Acme' AND Name <> 'delta' ORDER BY Name DESC", want: "Gamma 100%,Epsilon,Beta O'Brien"},
		{q: "SELECT Id FROM Account WHERE NumberOfEmployees >= 42 ORDER BY NumberOfEmployees", want: "Epsilon,Acme,delta"},
		{q: "SELECT Id FROM Account WHERE NumberOfEmployees = null", want: "Gamma 100%"},
		{q: "SELECT Id FROM Account WHERE Industry != null AND NumberOfEmployees < 100 ORDER BY Name", want: "Beta O'Brien,Epsilon"},
		{q: "SELECT Id FROM Account WHERE Industry IN ('Technology', 'Retail') ORDER BY Name", want: "Acme,Epsilon,Gamma 100%"},
		{q: "SELECT Id FROM Account WHERE Industry NOT IN ('Technology') ORDER BY Name", want: "Beta O'Brien,Epsilon"},
		{q: `SELECT Id FROM Account WHERE Name LIKE '%100\%'`, want: "Gamma 100%"},
		{q: "SELECT Id FROM Account WHERE Name LIKE 'e%' OR (Name LIKE 'D%' AND NOT Name = 'x') ORDER BY Name", want: "delta,Epsilon"},
		{q: "SELECT Id FROM Account WHERE NOT (Industry = 'Technology' OR Industry = null) ORDER BY Name", want: "Beta O'Brien,Epsilon"},
		{q: "SELECT Id FROM Account ORDER BY NumberOfEmployees NULLS LAST, Name LIMIT 2", want: "Beta O'Brien,Epsilon"},
		{q: "SELECT Id FROM Account ORDER BY NumberOfEmployees DESC NULLS FIRST LIMIT 2", want: "Gamma 100%,delta"},
		{q: "SELECT Id FROM Account ORDER BY Name LIMIT 2 OFFSET 1", want: "Beta O'Brien,delta"},
		{q: "SELECT Id FROM Account WHERE SystemModstamp > 2024-04-30T10:00:00Z ORDER BY Name", want: "delta,Epsilon"},
		{q: "SELECT Id FROM Account WHERE SystemModstamp >= 2024-04-30T19:00:01+09:00 ORDER BY Name", want: "delta,Epsilon"},
		{q: "SELECT Id FROM Account WHERE SystemModstamp = 2024-04-30T10:00:00.000Z ORDER BY Name", want: "Acme,Beta O'Brien,Gamma 100%"},
		{q: "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:2 AND SystemModstamp < TODAY ORDER BY Name", want: "Acme,Beta O'Brien,delta,Epsilon,Gamma 100%"},
		{q: "SELECT Id FROM Account WHERE CreatedDate = TODAY", want: ""},
		{q: "SELECT Id FROM Account WHERE Id = '" + acme + "'", want: "Acme"},
		{q: "SELECT Id FROM Contact WHERE Account.Name = 'acme'", want: "Smith"},
		{q: "SELECT Id FROM Contact WHERE Account.Name = null", want: "Orphan"},
		{q: "SELECT Id FROM Contact ORDER BY Account.Name DESC NULLS LAST", want: "Jones,Smith,Orphan"},
		{q: "SELECT Id FROM Account WHERE IsDeleted = true", want: ""},
		{q: "SELECT Id FROM Account WHERE IsDeleted = true", all: true, want: "Gone"},
		{q: "SELECT Id FROM Task ORDER BY Subject", want: "old open,recent closed"},
		{q: "SELECT Id FROM Task WHERE ActivityDate < 2023-01-01 ORDER BY Subject", all: true, want: "old closed,old open"},
		{q: "SELECT Id FROM Task WHERE ActivityDate = THIS_MONTH OR ActivityDate = LAST_MONTH", want: "recent closed"},
	}
	for _, tt := range tests {
		got := strings.Join(fx.names(t, tt.q, tt.all), ",")
		if got != tt.want {
			t.Errorf("%s (all=%v)\n got  %s\n want %s", tt.q, tt.all, got, tt.want)
		}
	}
}

// TestKeysetPagingOverTies pages a tie-heavy table with the keyset predicate
// connectors use and checks nothing is lost or repeated.
func TestKeysetPagingOverTies(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{Empty: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sb.Clock.Freeze(testNow)
	h := NewWithOptions(sb, Options{}).(*handler)
	ids := seedAccounts(t, sb, 57, 20) // 20 rows share each stamp
	seen := map[string]bool{}
	q := "SELECT Id, SystemModstamp FROM Account ORDER BY SystemModstamp, Id LIMIT 7"
	var pages int
	for {
		_, rows, err := h.execute(sb.SF, q, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		pages++
		for i, r := range rows {
			if seen[r.ID] {
				t.Fatalf("row %s returned twice", r.ID)
			}
			seen[r.ID] = true
			if i > 0 {
				prev := rows[i-1]
				ps, s := asTime(prev.Fields["SystemModstamp"]), asTime(r.Fields["SystemModstamp"])
				if s.Before(ps) || (s.Equal(ps) && r.ID <= prev.ID) {
					t.Fatalf("rows out of (SystemModstamp, Id) order: %s then %s", prev.ID, r.ID)
				}
			}
		}
		last := rows[len(rows)-1]
		stamp := asTime(last.Fields["SystemModstamp"]).Format(time.RFC3339)
		q = fmt.Sprintf("SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > %s OR (SystemModstamp = %s AND Id > '%s') ORDER BY SystemModstamp, Id LIMIT 7", stamp, stamp, last.ID)
	}
	if len(seen) != len(ids) || pages != 9 {
		t.Fatalf("saw %d of %d rows in %d pages", len(seen), len(ids), pages)
	}
}

func TestBindErrors(t *testing.T) {
	fx := newEvalFixture(t)
	tests := []struct{ q, code, contains string }{
		{"SELECT Id, Foo FROM Account", "INVALID_FIELD", "No such column 'Foo' on entity 'Account'"},
		{"SELECT Id FROM Accnt", "INVALID_TYPE", "sObject type 'Accnt' is not supported"},
		{"SELECT Id, Bogus.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Bogus'"},
		{"SELECT Id FROM Account WHERE NumberOfEmployees = '10'", "INVALID_FIELD", "must be of type int"},
		{"SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD", "must be of type dateTime"},
		{"SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'", "INVALID_FIELD", "invalid operator"},
		{"SELECT Id, id FROM Account", "INVALID_FIELD", "duplicate field selected: Id"},
	}
	for _, tt := range tests {
		_, _, err := fx.h.execute(fx.sb.SF, tt.q, false)
		var se *soqlError
		if !errors.As(err, &se) || se.code != tt.code || !strings.Contains(se.msg, tt.contains) {
			t.Errorf("%s: got %v, want %s containing %q", tt.q, err, tt.code, tt.contains)
		}
	}
}

func TestRelativeRanges(t *testing.T) {
	now := time.Date(2024, 5, 15, 13, 0, 0, 0, time.UTC) // a Wednesday
	d := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	tests := []struct {
		name   string
		n      int
		lo, hi string
	}{
		{"TODAY", 0, "2024-05-15", "2024-05-16"},
		{"YESTERDAY", 0, "2024-05-14", "2024-05-15"},
		{"THIS_WEEK", 0, "2024-05-12", "2024-05-19"},
		{"LAST_MONTH", 0, "2024-04-01", "2024-05-01"},
		{"THIS_QUARTER", 0, "2024-04-01", "2024-07-01"},
		{"LAST_N_DAYS", 7, "2024-05-08", "2024-05-16"},
		{"NEXT_N_DAYS", 2, "2024-05-16", "2024-05-18"},
		{"N_DAYS_AGO", 3, "2024-05-12", "2024-05-13"},
		{"LAST_YEAR", 0, "2023-01-01", "2024-01-01"},
	}
	for _, tt := range tests {
		lo, hi := relativeRange(tt.name, tt.n, now)
		if !lo.Equal(d(tt.lo)) || !hi.Equal(d(tt.hi)) {
			t.Errorf("%s:%d = [%s, %s), want [%s, %s)", tt.name, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
}
