package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slug normalises a categorical value (industry, size band, stage, segment,
// kind) for storage in filterable attributes: the result contains only
// [a-z0-9_], so neither index flavour ever needs quoting or escaping.
//
// ASCII letters are lower-cased and digits kept; accented Latin letters are
// folded to their base letter (é → e, ß → ss); every run of other ASCII
// characters becomes one '_', trimmed at both ends. Letters and digits that
// have no ASCII form (Japanese, Cyrillic, ...) cannot be folded without
// collisions, so when any remain the slug ends with "h" and 10 hex digits of
// the SHA-256 of the lower-cased input: "製造業" → "h…", "Bau 建設" →
// "bau_h…". Equal inputs always give equal slugs; inputs that differ only in
// case, accents or punctuation give the same slug on purpose.
func Slug(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	lossy := false
	pendingSep := false
	emit := func(part string) {
		if pendingSep && b.Len() > 0 {
			b.WriteByte('_')
		}
		pendingSep = false
		b.WriteString(part)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			emit(string(r))
		case r >= 'A' && r <= 'Z':
			emit(string(r + ('a' - 'A')))
		case r < utf8.RuneSelf:
			pendingSep = true
		default:
			if f, ok := latinFold[unicode.ToLower(r)]; ok {
				emit(f)
			} else if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
				lossy = true
				pendingSep = true
			} else {
				pendingSep = true
			}
		}
	}
	if lossy {
		sum := sha256.Sum256([]byte(strings.ToLower(s)))
		pendingSep = true
		emit("h" + hex.EncodeToString(sum[:5]))
	}
	return b.String()
}

// latinFold maps lower-case accented Latin letters to ASCII.
var latinFold = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ð': "d", 'þ': "th", 'ł': "l", 'ı': "i"}
	groups := map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ď", "e": "èéêëēĕėęě", "g": "ĝğġģ",
		"h": "ĥħ", "i": "ìíîïĩīĭįİ", "j": "ĵ", "k": "ķ", "l": "ĺļľŀ", "n": "ñńņňŉ",
		"o": "òóôõöōŏő", "r": "ŕŗř", "s": "śŝşšș", "t": "ţťŧț", "u": "ùúûüũūŭůűų",
		"w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	}
	for base, rs := range groups {
		for _, r := range rs {
			m[unicode.ToLower(r)] = base
		}
	}
	return m
}()
