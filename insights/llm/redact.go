package llm

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrRedaction: a message about to be sent still contains an email address,
// a phone number or a known person name. Nothing is sent.
var ErrRedaction = errors.New("personal data left in an LLM request")

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	// Phone numbers: international (+81 3-1234-5678, +1 (415) 555-0100),
	// Japanese domestic with separators (03-1234-5678, 090-1234-5678,
	// 0120-123-456) or without (09012345678, 0312345678), North American
	// ((415) 555-0100, 415-555-0100, 415.555.0100). Word boundaries keep CRM
	// ids such as 0060000000001ABAAA from matching.
	phoneREs = []*regexp.Regexp{
		regexp.MustCompile(`\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}\b`),
		regexp.MustCompile(`\b0\d{1,4}[\-\s]\d{1,4}[\-\s]\d{3,4}\b`),
		regexp.MustCompile(`\b0\d{9,10}\b`),
		regexp.MustCompile(`\(\d{2,4}\)\s?\d{2,4}[\-\s]\d{3,4}\b`),
		regexp.MustCompile(`\b\d{3}[\-.]\d{3}[\-.]\d{4}\b`),
	}
)

// foldWidth maps full-width digits and phone punctuation to ASCII, so
// "０３－１２３４－５６７８" is caught like "03-1234-5678".
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '－' || r == '‐' || r == '−' || r == '―':
			return '-'
		case r == '＋':
			return '+'
		case r == '（':
			return '('
		case r == '）':
			return ')'
		case r == '＠':
			return '@'
		case r == '．':
			return '.'
		}
		return r
	}, s)
}

// Redactor replaces personal data by placeholders ([EMAIL_1], [PHONE_1],
// [PERSON_1]) and remembers them, so answers can be restored locally. One
// Redactor serves one request; it is not safe for concurrent use.
type Redactor struct {
	names    []string // variants, longest first
	byValue  map[string]string
	byHolder map[string]string
	counts   map[string]int
}

// NewRedactor returns a redactor for the given person names (contacts of
// the account; nil when person names are not redacted). Each name is
// matched as written, without spaces, and by its parts (at least two
// characters for CJK, three letters otherwise).
func NewRedactor(names []string) *Redactor {
	set := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		set[n] = true
		if j := strings.Join(strings.Fields(n), ""); j != n {
			set[j] = true
		}
		for _, p := range strings.FieldsFunc(n, func(r rune) bool { return unicode.IsSpace(r) || r == '・' || r == '　' }) {
			if isCJK(p) && utf8.RuneCountInString(p) >= 2 || !isCJK(p) && utf8.RuneCountInString(p) >= 3 {
				set[p] = true
			}
		}
	}
	r := &Redactor{byValue: map[string]string{}, byHolder: map[string]string{}, counts: map[string]int{}}
	for n := range set {
		r.names = append(r.names, n)
	}
	sort.Slice(r.names, func(i, j int) bool {
		if len(r.names[i]) != len(r.names[j]) {
			return len(r.names[i]) > len(r.names[j])
		}
		return r.names[i] < r.names[j]
	})
	return r
}

func isCJK(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
			return true
		}
	}
	return false
}

func (r *Redactor) holder(kind, value string) string {
	if h, ok := r.byValue[value]; ok {
		return h
	}
	r.counts[kind]++
	h := fmt.Sprintf("[%s_%d]", kind, r.counts[kind])
	r.byValue[value] = h
	r.byHolder[h] = value
	return h
}

// Redact returns text with emails, phone numbers and the known names
// replaced.
func (r *Redactor) Redact(text string) string {
	text = foldWidth(text)
	text = emailRE.ReplaceAllStringFunc(text, func(m string) string { return r.holder("EMAIL", m) })
	for _, re := range phoneREs {
		text = re.ReplaceAllStringFunc(text, func(m string) string { return r.holder("PHONE", m) })
	}
	for _, n := range r.names {
		text = replaceName(text, n, func() string { return r.holder("PERSON", n) })
	}
	return text
}

// replaceName replaces n where it stands as a word (Latin) or anywhere
// (CJK, which has no spaces).
func replaceName(text, n string, holder func() string) string {
	if !strings.Contains(text, n) {
		return text
	}
	if isCJK(n) {
		return strings.ReplaceAll(text, n, holder())
	}
	var sb strings.Builder
	for {
		i := strings.Index(text, n)
		if i < 0 {
			sb.WriteString(text)
			return sb.String()
		}
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[i+len(n):])
		word := func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }
		sb.WriteString(text[:i])
		if (i == 0 || !word(before)) && (i+len(n) == len(text) || !word(after)) {
			sb.WriteString(holder())
		} else {
			sb.WriteString(n)
		}
		text = text[i+len(n):]
	}
}

// Check returns an error wrapping ErrRedaction when text still contains
// personal data; the error names the kind, never the value.
func (r *Redactor) Check(text string) error {
	f := foldWidth(text)
	if emailRE.MatchString(f) {
		return fmt.Errorf("%w: an email address", ErrRedaction)
	}
	for _, re := range phoneREs {
		if re.MatchString(f) {
			return fmt.Errorf("%w: a phone number", ErrRedaction)
		}
	}
	for _, n := range r.names {
		if replaceName(f, n, func() string { return "\x00" }) != f {
			return fmt.Errorf("%w: a contact name", ErrRedaction)
		}
	}
	return nil
}

// Restore puts the original values back into text written by the LLM.
func (r *Redactor) Restore(text string) string {
	if !strings.Contains(text, "[") {
		return text
	}
	for h, v := range r.byHolder {
		text = strings.ReplaceAll(text, h, v)
	}
	return text
}
