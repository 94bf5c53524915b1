package salesforce

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestQuoteHostile(t *testing.T) {
	for in, want := range map[string]string{
		`O'Brien`:                `'O\'Brien'`,
		`a\b`:                    `'a\\b'`,
		`x' OR Name != '`:        `'x\' OR Name != \''`,
		`\' OR 1=1 --`:           `'\\\' OR 1=1 --'`,
		"line1\nline2\r\t":       `'line1\nline2\r\t'`,
		`say "hi"`:               `'say \"hi\"'`,
		"日本語 'テスト'":              `'日本語 \'テスト\''`,
		`trailing backslash \`:   `'trailing backslash \\'`,
		`%_ wildcards stay in =`: `'%_ wildcards stay in ='`,
	} {
		got, err := Quote(in)
		if err != nil {
			t.Fatalf("Quote(%q): %v", in, err)
		}
		if got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
		if unquoted := unquoteSOQL(t, got); unquoted != in {
			t.Errorf("round trip of %q gave %q", in, unquoted)
		}
	}
	for _, bad := range []string{"nul\x00byte", "bell\x07", "esc\x1b[31m", "del\x7f", "bad utf8 \xff"} {
		if _, err := Quote(bad); !errors.Is(err, ErrUnsafeSOQL) {
			t.Errorf("Quote(%q) accepted", bad)
		}
	}
}

// unquoteSOQL is an independent reader of a SOQL string literal: it fails
// the test if an unescaped quote ends the literal early.
func unquoteSOQL(t *testing.T, s string) string {
	t.Helper()
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		t.Fatalf("not a literal: %s", s)
	}
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\'' {
			t.Fatalf("unescaped quote inside %s", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			t.Fatalf("dangling backslash in %s", s)
		}
		switch body[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(body[i])
		}
	}
	return b.String()
}

func TestLikePattern(t *testing.T) {
	got, err := LikePattern("%", "50%_off's", "%")
	if err != nil {
		t.Fatal(err)
	}
	if got != `'%50\%\_off\'s%'` {
		t.Fatalf("LikePattern = %s", got)
	}
	if _, err := LikePattern("' OR ", "x", ""); err == nil {
		t.Fatal("non-wildcard prefix accepted")
	}
}

func TestIdent(t *testing.T) {
	for _, ok := range []string{"Id", "AI_Segment__c", "Account.Name", "Owner.Name", "ns__Field__c"} {
		if _, err := Ident(ok); err != nil {
			t.Errorf("Ident(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Name FROM User --", "Id,Name", "1abc", "a'b", "Name)", "x..y", "A.", "Foo___c"} {
		if _, err := Ident(bad); err == nil {
			t.Errorf("Ident(%q) accepted", bad)
		}
	}
}

func TestQueryKeyset(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("JST", 9*3600))
	upper := time.Date(2024, 5, 1, 13, 55, 0, 0, time.UTC)
	q := Query{
		Fields: []string{"Id", "Name", "SystemModstamp"},
		From:   "Account",
		Where: And(
			Or(Gt("SystemModstamp", ts), And(Eq("SystemModstamp", ts), Gt("Id", "001xx000003DGb2AAG"))),
			Le("SystemModstamp", upper),
			Eq("IsDeleted", false),
			Eq("Name", nil),
		),
		OrderBy: []Order{{Field: "SystemModstamp"}, {Field: "Id"}},
		Limit:   2000,
	}
	got, err := q.String()
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT Id, Name, SystemModstamp FROM Account WHERE ((SystemModstamp > 2024-05-01T03:00:00.000Z OR (SystemModstamp = 2024-05-01T03:00:00.000Z AND Id > '001xx000003DGb2AAG')) AND SystemModstamp <= 2024-05-01T13:55:00.000Z AND IsDeleted = FALSE AND Name = null) ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	inq, err := Query{Fields: []string{"Id"}, From: "Contact", Where: In("AccountId", "001A", "O'Hara", 3, 2.5, true, Date{ts})}.String()
	if err != nil || inq != `SELECT Id FROM Contact WHERE AccountId IN ('001A', 'O\'Hara', 3, 2.5, TRUE, 2024-05-01)` {
		t.Fatalf("IN query = %s, %v", inq, err)
	}
	for _, bad := range []Query{
		{Fields: []string{"Id"}, From: "Account WHERE Id != null"},
		{Fields: []string{"Id) FROM User --"}, From: "Account"},
		{Fields: []string{"Id"}, From: "Account", Where: Eq("Name", "a\x00b")},
		{Fields: []string{"Id"}, From: "Account", Where: In("Id")},
		{Fields: []string{"Id"}, From: "Account", Where: Eq("Name", struct{}{})},
		{Fields: []string{"Id"}, From: "Account", OrderBy: []Order{{Field: "Name; DROP"}}},
	} {
		if s, err := bad.String(); !errors.Is(err, ErrUnsafeSOQL) {
			t.Errorf("accepted unsafe query: %s", s)
		}
	}
}
