// Package ingest turns knowledge documents — industry reports, competitor
// profiles, success stories, meeting notes and email exports — into
// retrieval chunks with metadata.
//
// Supported files: .txt, .md (optional YAML front matter), .pdf (text layer,
// via github.com/ledongthuc/pdf), .csv and .json (one document per row or
// object: email and meeting-note exports). Metadata comes, in order of
// precedence, from the document itself (front matter, CSV/JSON columns),
// then from the path: a folder or file name containing "report"/"trend",
// "competitor", "success"/"case"/"story", "meeting"/"minutes", "email"/"mail"
// sets the kind.
//
// Front matter keys (Markdown) and column/key names (CSV, JSON), all
// case-insensitive: title|subject, kind|type, date, industry|industries
// (comma-separated or a list), account|company, source, text|body|content|notes.
package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"gopkg.in/yaml.v3"
)

// Document kinds.
const (
	KindIndustryReport = "industry_report"
	KindCompetitor     = "competitor"
	KindSuccessStory   = "success_story"
	KindMeetingNotes   = "meeting_notes"
	KindEmail          = "email"
	KindDocument       = "document"
)

// Document is one knowledge document ready for chunking.
type Document struct {
	Source     string // the file path as given
	Part       int    // row/object number for CSV and JSON files (1-based), 0 otherwise
	Kind       string // one of the Kind constants
	Title      string
	Text       string
	Date       time.Time // zero when unknown
	Industries []string
	Account    string // account name or id, when the document is about one account
}

// ID is a stable identifier of the document: source path and part.
func (d Document) ID() string {
	id := filepath.ToSlash(d.Source)
	if d.Part > 0 {
		id += fmt.Sprintf("#%d", d.Part)
	}
	return id
}

// Hash is a content hash over the text and metadata; re-ingesting a document
// with the same hash changes nothing.
func (d Document) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00", d.Kind, d.Title, d.Date.Format(time.RFC3339),
		strings.Join(d.Industries, ","), d.Account, d.Text)
	return hex.EncodeToString(h.Sum(nil))
}

// Error is a parse error naming the file and the place in it.
type Error struct {
	File string
	Line int // 0 when not applicable
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", loc, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnsupported is returned for file types ingest does not read.
var ErrUnsupported = errors.New("unsupported document type (want .txt, .md, .pdf, .csv or .json)")

// MaxFileSize bounds what is read from one file.
const MaxFileSize = 64 << 20

// ParseFile reads and parses one file.
func ParseFile(path string) ([]Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open document: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat document: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is %d bytes, over the %d-byte limit", st.Size(), MaxFileSize)}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	return Parse(path, data)
}

// Parse parses the content of a file named name (its extension picks the parser).
func Parse(name string, data []byte) ([]Document, error) {
	ext := strings.ToLower(filepath.Ext(name))
	var docs []Document
	var err error
	switch ext {
	case ".txt", ".text":
		docs, err = parseText(name, data, false)
	case ".md", ".markdown":
		docs, err = parseText(name, data, true)
	case ".pdf":
		docs, err = parsePDF(name, data)
	case ".csv":
		docs, err = parseCSV(name, data)
	case ".json":
		docs, err = parseJSON(name, data)
	default:
		return nil, &Error{File: name, Msg: "cannot ingest " + ext, Err: ErrUnsupported}
	}
	if err != nil {
		return nil, err
	}
	pathKind := kindFromPath(name)
	out := docs[:0]
	for _, d := range docs {
		d.Source = name
		d.Text = strings.TrimSpace(d.Text)
		if d.Text == "" {
			continue
		}
		if d.Kind == "" {
			d.Kind = pathKind
		}
		d.Kind = normKind(d.Kind)
		if d.Title == "" {
			d.Title = firstLine(d.Text)
		}
		out = append(out, d)
	}
	return out, nil
}

func checkUTF8(name string, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return &Error{File: name, Line: line, Msg: fmt.Sprintf("invalid UTF-8 at byte %d (convert the file to UTF-8)", i)}
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return nil
}

func parseText(name string, data []byte, markdown bool) ([]Document, error) {
	if err := checkUTF8(name, data); err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), "\r\n", "\n")
	var d Document
	if markdown && strings.HasPrefix(text, "---\n") {
		end := strings.Index(text[4:], "\n---")
		if end < 0 {
			return nil, &Error{File: name, Line: 1, Msg: "front matter opened with --- is never closed"}
		}
		front := text[4 : 4+end]
		rest := text[4+end+4:]
		var m map[string]any
		if err := yaml.Unmarshal([]byte(front), &m); err != nil {
			var te *yaml.TypeError
			msg := err.Error()
			if errors.As(err, &te) {
				msg = strings.Join(te.Errors, "; ")
			}
			return nil, &Error{File: name, Line: 1, Msg: "bad front matter: " + msg}
		}
		if err := applyMeta(&d, m); err != nil {
			return nil, &Error{File: name, Line: 2, Msg: err.Error()}
		}
		text = strings.TrimPrefix(rest, "\n")
	}
	if markdown && d.Title == "" {
		for _, ln := range strings.Split(text, "\n") {
			if strings.HasPrefix(ln, "# ") {
				d.Title = strings.TrimSpace(ln[2:])
				break
			}
		}
	}
	if d.Text == "" {
		d.Text = text
	}
	return []Document{d}, nil
}

func parsePDF(name string, data []byte) (docs []Document, err error) {
	defer func() {
		// The PDF reader panics on some malformed files; report, never crash.
		if r := recover(); r != nil {
			docs, err = nil, &Error{File: name, Msg: fmt.Sprintf("malformed PDF: %v", r)}
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, &Error{File: name, Msg: "not a readable PDF", Err: err}
	}
	pages, err := pdfPages(r.Trailer().Key("Root").Key("Pages"))
	if err != nil {
		return nil, &Error{File: name, Msg: "malformed PDF page tree", Err: err}
	}
	var b strings.Builder
	for i, p := range pages {
		rows, err := p.GetTextByRow()
		if err != nil {
			return nil, &Error{File: name, Msg: fmt.Sprintf("page %d: text extraction failed", i+1), Err: err}
		}
		for _, row := range rows {
			var line strings.Builder
			for _, w := range row.Content {
				line.WriteString(w.S)
			}
			b.WriteString(strings.TrimRight(line.String(), " "))
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	text := b.String()
	if strings.TrimSpace(text) == "" {
		return nil, &Error{File: name, Msg: "PDF has no text layer (scanned images need OCR first)"}
	}
	d := Document{Text: text}
	if info := r.Trailer().Key("Info"); !info.IsNull() {
		d.Title = strings.TrimSpace(info.Key("Title").Text())
	}
	return []Document{d}, nil
}

// Page-tree bounds: the PDF reader's own page lookup follows /Kids without
// cycle detection, so a malformed (cyclic) tree would never end. The tree is
// walked here with a depth and node budget instead.
const (
	maxPageTreeDepth = 64
	maxPageTreeNodes = 100000
)

func pdfPages(root pdf.Value) ([]pdf.Page, error) {
	var pages []pdf.Page
	nodes := 0
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		if depth > maxPageTreeDepth {
			return fmt.Errorf("page tree deeper than %d levels (cyclic?)", maxPageTreeDepth)
		}
		nodes++
		if nodes > maxPageTreeNodes {
			return fmt.Errorf("page tree has more than %d nodes", maxPageTreeNodes)
		}
		switch v.Key("Type").Name() {
		case "Page":
			pages = append(pages, pdf.Page{V: v})
			return nil
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

func parseCSV(name string, data []byte) ([]Document, error) {
	if err := checkUTF8(name, data); err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, &Error{File: name, Line: 1, Msg: "cannot read the header row", Err: err}
	}
	cols := make([]string, len(header))
	hasText := false
	for i, h := range header {
		cols[i] = strings.ToLower(strings.TrimSpace(h))
		if textKey(cols[i]) {
			hasText = true
		}
	}
	if !hasText {
		return nil, &Error{File: name, Line: 1, Msg: "no text column (want one of text, body, content, notes)"}
	}
	var docs []Document
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, &Error{File: name, Line: line, Msg: "malformed CSV row", Err: err}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			return nil, &Error{File: name, Line: line, Msg: fmt.Sprintf("row has %d fields, header has %d", len(rec), len(cols))}
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = rec[i]
		}
		d := Document{Part: n}
		if err := applyMeta(&d, m); err != nil {
			return nil, &Error{File: name, Line: line, Msg: err.Error()}
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func parseJSON(name string, data []byte) ([]Document, error) {
	if err := checkUTF8(name, data); err != nil {
		return nil, err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		line := 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		}
		return nil, &Error{File: name, Line: line, Msg: "invalid JSON", Err: err}
	}
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	case map[string]any:
		if list, ok := t["documents"].([]any); ok {
			items = list
		} else {
			items = []any{t}
		}
	default:
		return nil, &Error{File: name, Msg: "want an object, an array of objects, or {\"documents\": [...]}"}
	}
	var docs []Document
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, &Error{File: name, Msg: fmt.Sprintf("item %d is not an object", i+1)}
		}
		lm := make(map[string]any, len(m))
		for k, val := range m {
			lm[strings.ToLower(k)] = val
		}
		d := Document{Part: i + 1}
		if err := applyMeta(&d, lm); err != nil {
			return nil, &Error{File: name, Msg: fmt.Sprintf("item %d: %v", i+1, err)}
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func textKey(k string) bool {
	switch k {
	case "text", "body", "content", "notes":
		return true
	}
	return false
}

// applyMeta copies recognised keys from m into d.
func applyMeta(d *Document, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var texts []string
	for _, k := range keys {
		v := m[k]
		lk := strings.ToLower(k)
		switch lk {
		case "title", "subject":
			if d.Title == "" {
				d.Title = str(v)
			}
		case "kind", "type":
			d.Kind = str(v)
		case "account", "company":
			d.Account = str(v)
		case "industry", "industries":
			d.Industries = append(d.Industries, list(v)...)
		case "date":
			t, err := parseDate(v)
			if err != nil {
				return fmt.Errorf("date %q: %v", str(v), err)
			}
			d.Date = t
		default:
			if textKey(lk) {
				if s := str(v); s != "" {
					texts = append(texts, s)
				}
			}
		}
	}
	if len(texts) > 0 {
		d.Text = strings.Join(texts, "\n\n")
	}
	return nil
}

func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(t)
	case time.Time:
		return t.Format(time.RFC3339)
	default:
		return strings.TrimSpace(fmt.Sprint(t))
	}
}

func list(v any) []string {
	var out []string
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			if s := str(x); s != "" {
				out = append(out, s)
			}
		}
	default:
		for _, s := range strings.Split(str(v), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006/01/02", "2006/1/2"}

func parseDate(v any) (time.Time, error) {
	if t, ok := v.(time.Time); ok {
		return t.UTC(), nil
	}
	s := str(v)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("want YYYY-MM-DD or RFC 3339")
}

func kindFromPath(p string) string {
	lp := strings.ToLower(filepath.ToSlash(p))
	switch {
	case strings.Contains(lp, "competitor"):
		return KindCompetitor
	case strings.Contains(lp, "success") || strings.Contains(lp, "story") || strings.Contains(lp, "case"):
		return KindSuccessStory
	case strings.Contains(lp, "report") || strings.Contains(lp, "trend"):
		return KindIndustryReport
	case strings.Contains(lp, "meeting") || strings.Contains(lp, "minutes"):
		return KindMeetingNotes
	case strings.Contains(lp, "email") || strings.Contains(lp, "mail"):
		return KindEmail
	}
	return KindDocument
}

func normKind(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	k = strings.NewReplacer(" ", "_", "-", "_").Replace(k)
	switch k {
	case "industry_report", "report", "trend", "industry_trend", "industry":
		return KindIndustryReport
	case "competitor", "competitor_profile", "competitors":
		return KindCompetitor
	case "success_story", "case_study", "story", "success":
		return KindSuccessStory
	case "meeting_notes", "meeting", "minutes", "notes":
		return KindMeetingNotes
	case "email", "mail":
		return KindEmail
	case "", "document", "doc":
		return KindDocument
	}
	return k
}

func firstLine(s string) string {
	ln := strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
	ln = strings.TrimLeft(ln, "# ")
	if r := []rune(ln); len(r) > 120 {
		ln = string(r[:120])
	}
	return ln
}
