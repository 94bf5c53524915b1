package chunk

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitShortTextIsOneChunk(t *testing.T) {
	got := Split("  hello world  ", Options{})
	if len(got) != 1 || got[0] != "hello world" {
		t.Fatalf("got %q", got)
	}
	if Split("   \n ", Options{}) != nil {
		t.Fatal("blank text should give no chunks")
	}
}

func TestSplitRespectsSizeAndCoversText(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 120; i++ {
		b.WriteString("The customer asked about renewal pricing for next year. ")
		if i%7 == 6 {
			b.WriteString("\n\n")
		}
	}
	text := b.String()
	o := Options{Size: 400, Overlap: 60}
	chunks := Split(text, o)
	if len(chunks) < 10 {
		t.Fatalf("expected many chunks, got %d", len(chunks))
	}
	for i, c := range chunks {
		if n := utf8.RuneCountInString(c); n > o.Size {
			t.Fatalf("chunk %d has %d runes > %d", i, n, o.Size)
		}
		if !strings.HasSuffix(c, ".") {
			t.Errorf("chunk %d does not end at a sentence boundary: ...%q", i, c[len(c)-20:])
		}
	}
	// Every sentence appears whole in some chunk.
	for _, s := range strings.Split(text, ". ") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		found := false
		for _, c := range chunks {
			if strings.Contains(c, s) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("sentence %q lost", s)
		}
	}
	// Consecutive chunks overlap.
	for i := 1; i < len(chunks); i++ {
		tail := chunks[i-1][len(chunks[i-1])-20:]
		if !strings.Contains(chunks[i], strings.TrimSpace(tail)) {
			t.Errorf("chunk %d does not overlap the end of chunk %d", i, i-1)
		}
	}
}

func TestSplitJapaneseSentences(t *testing.T) {
	text := strings.Repeat("来期の予算が削減されるため、契約更新の条件を見直したいとの連絡がありました。", 60)
	chunks := Split(text, Options{Size: 300, Overlap: 40})
	if len(chunks) < 5 {
		t.Fatalf("got %d chunks", len(chunks))
	}
	for i, c := range chunks {
		if utf8.RuneCountInString(c) > 300 {
			t.Fatalf("chunk %d too long", i)
		}
		if !strings.HasSuffix(c, "。") {
			t.Errorf("chunk %d does not end at 。: %q", i, c)
		}
	}
}

func TestSplitHardCutsUnbrokenText(t *testing.T) {
	text := strings.Repeat("x", 2500)
	chunks := Split(text, Options{Size: 1000, Overlap: 100})
	total := 0
	for _, c := range chunks {
		if len(c) > 1000 {
			t.Fatalf("chunk of %d", len(c))
		}
		total += len(c)
	}
	if total < 2500 {
		t.Fatalf("lost text: %d < 2500", total)
	}
}

func TestPackGroupsShortTexts(t *testing.T) {
	texts := []string{}
	for i := 0; i < 50; i++ {
		texts = append(texts, strings.Repeat("a", 90))
	}
	texts = append(texts, "", strings.Repeat("long sentence here. ", 120))
	chunks, members := Pack(texts, Options{Size: 1000, Overlap: 100})
	if len(chunks) != len(members) {
		t.Fatal("members length differs")
	}
	seen := map[int]bool{}
	for i, c := range chunks {
		if utf8.RuneCountInString(c) > 1000 {
			t.Fatalf("chunk %d too long", i)
		}
		for _, m := range members[i] {
			seen[m] = true
			if !strings.Contains(c, strings.TrimSpace(texts[m])[:20]) {
				t.Fatalf("chunk %d claims text %d but lacks it", i, m)
			}
		}
	}
	for i, tx := range texts {
		if strings.TrimSpace(tx) != "" && !seen[i] {
			t.Fatalf("text %d not packed", i)
		}
	}
	if seen[50] {
		t.Fatal("empty text packed")
	}
	// 50 texts of 90 runes + separators fit in ~5 chunks of 1000, not 50.
	short := 0
	for _, m := range members {
		if len(m) > 1 {
			short++
		}
	}
	if short < 4 || short > 6 {
		t.Fatalf("expected ~5 packed chunks, got %d", short)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("hello. world.\n\nnext", 50, 10)
	f.Add("来期の予算。削減", 5, 1)
	f.Fuzz(func(t *testing.T, s string, size, overlap int) {
		if size < 1 || size > 5000 || overlap < 0 || overlap > 5000 {
			return
		}
		for _, c := range Split(s, Options{Size: size, Overlap: overlap}) {
			if utf8.RuneCountInString(c) > size {
				t.Fatalf("chunk longer than size %d", size)
			}
		}
	})
}
