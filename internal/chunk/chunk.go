// Package chunk splits text into retrieval-sized pieces.
//
// Sizes are counted in runes, not bytes, so Japanese and English text get
// chunks of the same visual length. Split prefers the strongest boundary that
// keeps a chunk within the size: a blank line (paragraph), then a line break,
// then a sentence end (". ", "! ", "? ", and the Japanese "。", "！", "？"),
// then a space or comma ("、", ", "), and only then a hard cut. Consecutive
// chunks overlap by about Overlap runes, taken from the end of the previous
// chunk at a boundary, so a sentence cut between two chunks is still found
// whole in one of them.
//
// Pack groups many short texts (activities: a call log line, a short email)
// into chunks of about Size runes without splitting any text that fits, so
// the vector index holds a few dense chunks instead of thousands of tiny ones.
package chunk

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options set chunk size and overlap in runes. Zero values mean Size 1000
// and Overlap 150.
type Options struct {
	Size    int
	Overlap int
}

func (o Options) norm() Options {
	if o.Size <= 0 {
		o.Size = 1000
	}
	if o.Overlap < 0 {
		o.Overlap = 0
	}
	if o.Overlap <= 0 && o.Size == 1000 {
		o.Overlap = 150
	}
	if o.Overlap >= o.Size/2 {
		o.Overlap = o.Size / 4
	}
	return o
}

// Split cuts text into chunks of at most o.Size runes. Whitespace runs are
// kept as they are inside a chunk; chunks are trimmed of surrounding space.
// Empty or all-space text yields no chunks.
func Split(text string, o Options) []string {
	o = o.norm()
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	r := []rune(text)
	if len(r) <= o.Size {
		return []string{text}
	}
	var out []string
	start := 0
	for start < len(r) {
		end := start + o.Size
		if end >= len(r) {
			out = appendTrim(out, r[start:])
			break
		}
		cut := boundary(r, start+o.Size/2, end)
		out = appendTrim(out, r[start:cut])
		next := cut
		if o.Overlap > 0 {
			// Start the next chunk at a boundary about Overlap runes back.
			back := cut - o.Overlap
			if back <= start {
				back = start + 1
			}
			next = boundaryAfter(r, back, cut)
		}
		if next <= start {
			next = cut
		}
		start = next
	}
	return out
}

func appendTrim(out []string, r []rune) []string {
	s := strings.TrimSpace(string(r))
	if s != "" {
		out = append(out, s)
	}
	return out
}

// boundary returns the best cut position in (lo, hi]: the end of the last,
// strongest boundary found, or hi.
func boundary(r []rune, lo, hi int) int {
	for level := 0; level < 4; level++ {
		for i := hi; i > lo; i-- {
			if strength(r, i) >= 4-level {
				return i
			}
		}
	}
	return hi
}

// boundaryAfter returns the first position in [lo, hi) just after a sentence
// or word boundary, so an overlap starts on a clean edge; lo if none.
func boundaryAfter(r []rune, lo, hi int) int {
	for level := 1; level < 4; level++ {
		for i := lo; i < hi; i++ {
			if strength(r, i) >= 4-level {
				return i
			}
		}
	}
	return lo
}

// strength rates position i (a cut between r[i-1] and r[i]):
// 4 paragraph, 3 line, 2 sentence, 1 word/comma, 0 none.
func strength(r []rune, i int) int {
	if i <= 0 || i >= len(r) {
		return 4
	}
	p := r[i-1]
	switch {
	case p == '\n' && i >= 2 && r[i-2] == '\n':
		return 4
	case p == '\n':
		return 3
	case p == '。' || p == '！' || p == '？':
		return 2
	case unicode.IsSpace(p) && i >= 2 && (r[i-2] == '.' || r[i-2] == '!' || r[i-2] == '?'):
		return 2
	case p == '、' || p == '，' || unicode.IsSpace(p):
		return 1
	case p == ',' && i < len(r) && unicode.IsSpace(r[i]):
		return 1
	}
	return 0
}

// Pack joins texts (in order) into chunks of at most o.Size runes, separated
// by blank lines. A text longer than o.Size is split on its own with Split.
// It returns the chunks and, for each chunk, the indexes of the texts in it
// (a split text's index appears in each of its pieces).
func Pack(texts []string, o Options) (chunks []string, members [][]int) {
	o = o.norm()
	var b strings.Builder
	var cur []int
	n := 0
	flush := func() {
		if b.Len() > 0 {
			chunks = append(chunks, b.String())
			members = append(members, cur)
		}
		b.Reset()
		cur, n = nil, 0
	}
	for i, t := range texts {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		tl := utf8.RuneCountInString(t)
		if tl > o.Size {
			flush()
			for _, part := range Split(t, o) {
				chunks = append(chunks, part)
				members = append(members, []int{i})
			}
			continue
		}
		if n > 0 && n+2+tl > o.Size {
			flush()
		}
		if n > 0 {
			b.WriteString("\n\n")
			n += 2
		}
		b.WriteString(t)
		n += tl
		cur = append(cur, i)
	}
	flush()
	return chunks, members
}
