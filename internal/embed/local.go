package embed

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// LocalOptions configure the local hashing embedder. Zero values mean the
// defaults shown.
type LocalOptions struct {
	// Dimension is the number of hash buckets (default 384).
	Dimension int
	// WordNgrams is the longest word n-gram, 1 or 2 (default 2).
	WordNgrams int
	// CharNgrams are character n-gram lengths inside Latin words (nil means
	// [3, 4]; an empty non-nil slice disables them).
	CharNgrams []int
	// CJKNgrams are character n-gram lengths over CJK runs (nil means [2, 3]).
	CJKNgrams []int
	// StopWords drops common English function words. The configuration
	// default is true; the zero value here keeps them.
	StopWords bool
}

// localVersion changes whenever tokenisation, hashing or weighting changes,
// so indexes built with an older version are rebuilt.
const localVersion = "v1"

// Feature weights, applied to the sub-linear term frequency.
const (
	weightWord       = 1.0
	weightBigram     = 0.8
	weightSubword    = 0.25 // Latin character n-grams: robustness, not meaning
	weightCJK        = 1.0  // CJK n-grams without hiragana (kanji, katakana compounds)
	weightCJKMixed   = 0.5  // n-grams spanning kanji/katakana and hiragana (okurigana)
	weightCJKHiragna = 0.2  // hiragana-only n-grams: mostly particles and endings
)

// Feature kinds, hashed in front of the feature so kinds never collide.
const (
	kindWord byte = 'w' + iota
	kindBigram
	kindSubword
	kindCJK
)

// Local is the feature-hashing embedder. Safe for concurrent use.
type Local struct {
	dim        int
	wordNgrams int
	charNgrams []int
	cjkNgrams  []int
	stopWords  bool
	name       string
	pool       sync.Pool // *localScratch
}

var _ Embedder = (*Local)(nil)

type feature struct {
	count  float64
	weight float64
}

type localScratch struct {
	runes []rune
	feats map[uint64]feature
}

// NewLocal returns a local hashing embedder.
func NewLocal(opt LocalOptions) (*Local, error) {
	if opt.Dimension == 0 {
		opt.Dimension = 384
	}
	if opt.WordNgrams == 0 {
		opt.WordNgrams = 2
	}
	if opt.CharNgrams == nil {
		opt.CharNgrams = []int{3, 4}
	}
	if opt.CJKNgrams == nil {
		opt.CJKNgrams = []int{2, 3}
	}
	if opt.Dimension < 1 {
		return nil, fmt.Errorf("local embedder: dimension %d must be positive", opt.Dimension)
	}
	if opt.WordNgrams < 1 || opt.WordNgrams > 2 {
		return nil, fmt.Errorf("local embedder: word n-grams %d must be 1 or 2", opt.WordNgrams)
	}
	for _, n := range opt.CharNgrams {
		if n < 2 || n > 8 {
			return nil, fmt.Errorf("local embedder: character n-gram length %d must be between 2 and 8", n)
		}
	}
	if len(opt.CJKNgrams) == 0 {
		return nil, fmt.Errorf("local embedder: at least one CJK n-gram length is needed")
	}
	for _, n := range opt.CJKNgrams {
		if n < 1 || n > 8 {
			return nil, fmt.Errorf("local embedder: CJK n-gram length %d must be between 1 and 8", n)
		}
	}
	l := &Local{
		dim:        opt.Dimension,
		wordNgrams: opt.WordNgrams,
		charNgrams: append([]int(nil), opt.CharNgrams...),
		cjkNgrams:  append([]int(nil), opt.CJKNgrams...),
		stopWords:  opt.StopWords,
	}
	sw := ""
	if l.stopWords {
		sw = "-sw"
	}
	l.name = fmt.Sprintf("local-hash-%s-d%d-w%d-c%s-j%s%s", localVersion, l.dim, l.wordNgrams, ints(l.charNgrams), ints(l.cjkNgrams), sw)
	l.pool.New = func() any { return &localScratch{feats: make(map[uint64]feature, 1024)} }
	return l, nil
}

func ints(xs []int) string {
	if len(xs) == 0 {
		return "0"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, "")
}

// Name is e.g. "local-hash-v1-d384-w2-c34-j23-sw".
func (l *Local) Name() string { return l.name }

// Dimension returns the vector length.
func (l *Local) Dimension() int { return l.dim }

// Embed hashes each text; it only fails when ctx is done.
func (l *Local) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = l.Vector(t)
	}
	return out, nil
}

// Vector embeds one text: a unit vector, or EmptyVector for text without
// features.
func (l *Local) Vector(text string) []float32 {
	s := l.pool.Get().(*localScratch)
	defer l.pool.Put(s)
	clear(s.feats)
	s.runes = foldText(s.runes[:0], text)
	l.features(s.runes, s.feats)

	v := make([]float32, l.dim)
	for h, f := range s.feats {
		w := f.weight * (1 + math.Log(f.count))
		idx := h % uint64(l.dim)
		if h>>63 == 1 {
			w = -w
		}
		v[idx] += float32(w)
	}
	if !normalize(v) {
		return EmptyVector(l.dim)
	}
	return v
}

type runeClass uint8

const (
	classSep runeClass = iota
	classWord
	classCJK
)

func classify(r rune) runeClass {
	switch {
	case r < 0x80:
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return classWord
		}
		return classSep
	case isCJK(r):
		return classCJK
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
		return classWord
	}
	return classSep
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		r == 'ー' || r == '々' || r == '〆'
}

func isHiragana(r rune) bool { return r >= 0x3041 && r <= 0x309F }

// breaksBigrams reports separators that end a phrase.
func breaksBigrams(r rune) bool {
	switch r {
	case '.', '!', '?', ';', ':', '\n', '(', ')', '"', '。', '！', '？', '、', '，', '「', '」':
		return true
	}
	return false
}

// features adds every feature of the folded text rs to feats.
func (l *Local) features(rs []rune, feats map[uint64]feature) {
	add := func(h uint64, w float64) {
		h = mix(h)
		f := feats[h]
		f.count++
		f.weight = w
		feats[h] = f
	}
	var prev uint64 // hash of the previous kept word; 0 = none
	havePrev := false
	for i := 0; i < len(rs); {
		c := classify(rs[i])
		j := i + 1
		for j < len(rs) && classify(rs[j]) == c {
			j++
		}
		switch c {
		case classSep:
			for _, r := range rs[i:j] {
				if breaksBigrams(r) {
					havePrev = false
					break
				}
			}
		case classCJK:
			havePrev = false
			l.cjkFeatures(rs[i:j], add)
		case classWord:
			word := rs[i:j]
			wh := hashRunes(fnvOffset, word)
			if len(word) == 1 && !unicode.IsDigit(word[0]) {
				break // single letters carry no meaning
			}
			if l.stopWords && stopWordHashes[wh] {
				havePrev = false
				break
			}
			add(hashByte(wh, kindWord), weightWord)
			if l.wordNgrams >= 2 && havePrev {
				add(hashByte(hashRunes(hashByte(prev, ' '), word), kindBigram), weightBigram)
			}
			prev, havePrev = wh, true
			l.subwordFeatures(word, add)
		}
		i = j
	}
}

// subwordFeatures adds character n-grams of "<word>".
func (l *Local) subwordFeatures(word []rune, add func(uint64, float64)) {
	if len(l.charNgrams) == 0 || len(word) < 3 {
		return
	}
	n := len(word) + 2
	at := func(k int) rune {
		switch k {
		case 0:
			return '<'
		case n - 1:
			return '>'
		}
		return word[k-1]
	}
	for _, g := range l.charNgrams {
		if g >= n {
			continue
		}
		for s := 0; s+g <= n; s++ {
			h := uint64(fnvOffset)
			for k := s; k < s+g; k++ {
				h = hashRune(h, at(k))
			}
			add(hashByte(h, kindSubword), weightSubword)
		}
	}
}

// cjkFeatures adds character n-grams of a CJK run; a run shorter than every
// n-gram length is taken whole.
func (l *Local) cjkFeatures(run []rune, add func(uint64, float64)) {
	emitted := false
	for _, g := range l.cjkNgrams {
		for s := 0; s+g <= len(run); s++ {
			gram := run[s : s+g]
			add(hashByte(hashRunes(fnvOffset, gram), kindCJK), cjkWeight(gram))
			emitted = true
		}
	}
	if !emitted {
		add(hashByte(hashRunes(fnvOffset, run), kindCJK), cjkWeight(run))
	}
}

func cjkWeight(gram []rune) float64 {
	hira := 0
	for _, r := range gram {
		if isHiragana(r) {
			hira++
		}
	}
	switch hira {
	case 0:
		return weightCJK
	case len(gram):
		return weightCJKHiragna
	}
	return weightCJKMixed
}

// FNV-1a, fed runes as 4 little-endian bytes, then finalised with a
// 64-bit mixer so that both the bucket (low bits) and the sign (top bit) are
// well distributed.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func hashRune(h uint64, r rune) uint64 {
	u := uint32(r)
	h = (h ^ uint64(u&0xff)) * fnvPrime
	h = (h ^ uint64(u>>8&0xff)) * fnvPrime
	h = (h ^ uint64(u>>16&0xff)) * fnvPrime
	return (h ^ uint64(u>>24)) * fnvPrime
}

func hashRunes(h uint64, rs []rune) uint64 {
	for _, r := range rs {
		h = hashRune(h, r)
	}
	return h
}

func hashString(s string) uint64 { return hashRunes(fnvOffset, []rune(s)) }

// mix is the MurmurHash3 64-bit finaliser.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// englishStopWords are dropped from word features when stop words are on.
var englishStopWords = strings.Fields(`
a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same
she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself
yourselves s t don ll re ve d m`)

var stopWordHashes = func() map[uint64]bool {
	m := make(map[uint64]bool, len(englishStopWords))
	for _, w := range englishStopWords {
		m[hashString(w)] = true
	}
	return m
}()
