package llm

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	r := NewRedactor([]string{"Taro Yamada", "佐藤 花子", "Li"})
	in := "Call Taro Yamada at 03-1234-5678 or 090-1234-5678 or 09012345678, ０３－１２３４－５６７８, " +
		"+81 3 1234 5678, +1 (415) 555-0100, (415) 555-0100, 415.555.0100; mail taro.yamada@example.co.jp. " +
		"佐藤花子さんと佐藤様に連絡。Yamada agreed. Deal 0060000000001ABAAA closed 2024-03-15 for 1,200,000 yen, id 1000000123."
	out := r.Redact(in)
	for _, s := range []string{"Taro", "Yamada", "佐藤", "花子", "1234", "555", "@", "５"} {
		if strings.Contains(out, s) {
			t.Errorf("%q left in %q", s, out)
		}
	}
	for _, s := range []string{"0060000000001ABAAA", "2024-03-15", "1,200,000", "1000000123", "[EMAIL_1]", "[PHONE_1]", "[PERSON_1]"} {
		if !strings.Contains(out, s) {
			t.Errorf("%q missing from %q", s, out)
		}
	}
	if err := r.Check(out); err != nil {
		t.Errorf("check after redaction: %v", err)
	}
	if err := r.Check(in); !errors.Is(err, ErrRedaction) {
		t.Errorf("check of raw text: %v", err)
	}
	if got := r.Restore("ask [PERSON_1]"); strings.Contains(got, "[PERSON_1]") {
		t.Errorf("restore: %q", got)
	}
	// Short Latin name parts are not redacted inside words.
	if got := NewRedactor([]string{"Ann Lee"}).Redact("Annual planning with Ann Lee and Lee"); !strings.Contains(got, "Annual") || strings.Contains(got, "Lee") {
		t.Errorf("word boundaries: %q", got)
	}
}

func TestSchemaValidate(t *testing.T) {
	ok := map[string]any{"risk": "low", "assessment": map[string]any{"text": "x", "citations": []any{"a"}}, "steps": []any{map[string]any{"text": "y", "citations": []any{"b"}}}, "precedents": []any{}}
	if errs := WinbackSchema.Validate(ok); len(errs) != 0 {
		t.Fatalf("valid document rejected: %v", errs)
	}
	bad := map[string]any{"risk": "extreme", "assessment": map[string]any{"text": "", "citations": []any{}}, "steps": []any{}, "extra": 1.0}
	errs := WinbackSchema.Validate(bad)
	want := []string{"$.risk", "$.assessment.text", "$.assessment.citations", "$.steps", "missing required property \"precedents\"", "unexpected property \"extra\""}
	msg := joinErrors(errs)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("errors %q lack %q", msg, w)
		}
	}
	if errs := AccountSchema.Validate([]any{}); len(errs) != 1 || !strings.Contains(errs[0].Msg, "want object") {
		t.Errorf("type error: %v", errs)
	}
}
