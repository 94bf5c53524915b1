package embed

import "unicode"

// halfKana maps half-width katakana U+FF66..U+FF9D to full width.
var halfKana = []rune("ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン")

// foldText appends the folded runes of s to dst: full-width ASCII becomes
// ASCII, the ideographic space a space, half-width katakana full width
// (joining voiced and semi-voiced marks, also the combining U+3099/U+309A
// forms), and letters lower case. This is the part of NFKC folding that
// matters for CRM text typed on Japanese keyboards.
func foldText(dst []rune, s string) []rune {
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		case r >= 0xFF66 && r <= 0xFF9D:
			r = halfKana[r-0xFF66]
		case r == 0xFF61:
			r = '。'
		case r == 0xFF62:
			r = '「'
		case r == 0xFF63:
			r = '」'
		case r == 0xFF64:
			r = '、'
		case r == 0xFF65:
			r = '・'
		case r == 0xFF9E || r == 0x3099 || r == 0x309B:
			if n := len(dst); n > 0 {
				if v, ok := voiced(dst[n-1]); ok {
					dst[n-1] = v
					continue
				}
			}
		case r == 0xFF9F || r == 0x309A || r == 0x309C:
			if n := len(dst); n > 0 {
				if v, ok := semiVoiced(dst[n-1]); ok {
					dst[n-1] = v
					continue
				}
			}
		}
		if r < 0x80 {
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = unicode.ToLower(r)
		}
		dst = append(dst, r)
	}
	return dst
}

// voiced returns the kana with a dakuten (カ→ガ, か→が, ウ→ヴ).
func voiced(r rune) (rune, bool) {
	k := r
	if k >= 0x3041 && k <= 0x3096 {
		k += 0x60 // hiragana → katakana for the table test
	}
	ok := false
	switch {
	case k >= 0x30AB && k <= 0x30C1: // カ..チ: odd offsets are the plain kana
		ok = (k-0x30AB)%2 == 0
	case k == 0x30C4 || k == 0x30C6 || k == 0x30C8: // ツ テ ト
		ok = true
	case k >= 0x30CF && k <= 0x30DB: // ハ ヒ フ ヘ ホ
		ok = (k-0x30CF)%3 == 0
	case k == 0x30A6 && r == k: // ウ → ヴ (katakana only)
		return 0x30F4, true
	}
	if !ok {
		return r, false
	}
	return r + 1, true
}

// semiVoiced returns the kana with a handakuten (ハ→パ).
func semiVoiced(r rune) (rune, bool) {
	k := r
	if k >= 0x3041 && k <= 0x3096 {
		k += 0x60
	}
	if k >= 0x30CF && k <= 0x30DB && (k-0x30CF)%3 == 0 {
		return r + 2, true
	}
	return r, false
}
