package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseMarkdownFrontMatter(t *testing.T) {
	src := "---\ntitle: 製造業 2026 年の IT 投資動向\nkind: industry report\ndate: 2026-04-01\nindustries: [manufacturing, logistics]\n---\n# ignored heading\n\n製造業では予算の見直しが進んでいる。\n"
	docs, err := Parse("kb/trends/mfg.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("got %d docs", len(docs))
	}
	d := docs[0]
	if d.Title != "製造業 2026 年の IT 投資動向" || d.Kind != KindIndustryReport {
		t.Fatalf("title/kind: %q %q", d.Title, d.Kind)
	}
	if !d.Date.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("date %v", d.Date)
	}
	if strings.Join(d.Industries, ",") != "manufacturing,logistics" {
		t.Fatalf("industries %v", d.Industries)
	}
	if strings.Contains(d.Text, "title:") || !strings.Contains(d.Text, "予算の見直し") {
		t.Fatalf("text %q", d.Text)
	}
}

func TestParseKindFromPathAndTitleFromHeading(t *testing.T) {
	docs, err := Parse("knowledge/competitors/northwind.md", []byte("# Northwind Analytics\n\nCheaper, weaker support."))
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Kind != KindCompetitor || docs[0].Title != "Northwind Analytics" {
		t.Fatalf("%+v", docs[0])
	}
	docs, err = Parse("x/story.txt", []byte("Acme cut churn by 30%\nwith the Analytics Suite."))
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Kind != KindSuccessStory || docs[0].Title != "Acme cut churn by 30%" {
		t.Fatalf("%+v", docs[0])
	}
}

func TestParseCSVExport(t *testing.T) {
	src := "Date,Subject,Account,Body\n2026-01-05,Renewal,Acme,\"Budget is tight, \"\"maybe\"\" next quarter\"\n2026-01-09,Follow-up,Acme,Sent pricing\n"
	docs, err := Parse("exports/emails.csv", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Part != 1 || docs[1].Part != 2 {
		t.Fatalf("%+v", docs)
	}
	if docs[0].Kind != KindEmail || docs[0].Account != "Acme" || docs[0].Title != "Renewal" {
		t.Fatalf("%+v", docs[0])
	}
	if docs[0].Text != `Budget is tight, "maybe" next quarter` {
		t.Fatalf("text %q", docs[0].Text)
	}
	if docs[0].ID() != "exports/emails.csv#1" {
		t.Fatalf("id %s", docs[0].ID())
	}
}

func TestParseJSONShapes(t *testing.T) {
	for _, src := range []string{
		`[{"title":"A","text":"alpha"},{"title":"B","body":"beta"}]`,
		`{"documents":[{"title":"A","text":"alpha"},{"title":"B","content":"beta"}]}`,
	} {
		docs, err := Parse("notes.json", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 2 || docs[1].Text != "beta" || docs[0].Kind != KindDocument {
			t.Fatalf("%s: %+v", src, docs)
		}
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"bad.csv", "date,body\n2026-01-01,ok\n2026-13-45,bad date\n", "bad.csv:3: date"},
		{"short.csv", "date,body\n2026-01-01\n", "short.csv:2: row has 1 fields"},
		{"notext.csv", "date,subject\n2026-01-01,x\n", "notext.csv:1: no text column"},
		{"bad.json", "[\n{\"text\": \"a\"},\n{\"text\": }\n]", "bad.json:3: invalid JSON"},
		{"latin1.txt", "ok line\nbad \xe9 byte\n", "latin1.txt:2: invalid UTF-8 at byte 12"},
		{"open.md", "---\ntitle: x\nno end", "open.md:1: front matter"},
		{"a.docx", "x", "cannot ingest .docx"},
		{"broken.pdf", "%PDF-1.4 garbage", "broken.pdf: "},
	}
	for _, c := range cases {
		_, err := Parse(c.name, []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error is not *ingest.Error: %T", c.name, err)
		}
	}
	if _, err := Parse("a.docx", []byte("x")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("docx: want ErrUnsupported, got %v", err)
	}
}

// minimalPDF builds a valid one-page PDF whose text layer holds lines.
func minimalPDF(title string, lines []string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
	for _, l := range lines {
		esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
		fmt.Fprintf(&content, "(%s) Tj T*\n", esc)
	}
	content.WriteString("ET")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Title (%s) >>", title),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func TestParsePDFTextLayer(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "success-stories", "acme.pdf")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := []string{"Acme Logistics adopted the Analytics Suite.", "Churn fell by 30 percent within a year."}
	if err := os.WriteFile(p, minimalPDF("Acme success story", lines), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, err := ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("got %d docs", len(docs))
	}
	d := docs[0]
	if d.Title != "Acme success story" || d.Kind != KindSuccessStory {
		t.Fatalf("title/kind %q %q", d.Title, d.Kind)
	}
	for _, l := range lines {
		if !strings.Contains(strings.Join(strings.Fields(d.Text), " "), l) {
			t.Fatalf("PDF text %q lacks %q", d.Text, l)
		}
	}
}

func TestHashChangesWithContentOnly(t *testing.T) {
	a := Document{Source: "a.md", Title: "T", Text: "x", Kind: KindDocument}
	b := a
	b.Source = "moved.md"
	if a.Hash() != b.Hash() {
		t.Fatal("hash depends on the path")
	}
	b.Text = "y"
	if a.Hash() == b.Hash() {
		t.Fatal("hash ignores the text")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a.md", []byte("---\ntitle: x\n---\nbody"))
	f.Add("a.csv", []byte("date,body\n2026-01-01,hi\n"))
	f.Add("a.json", []byte(`[{"text":"x"}]`))
	f.Add("a.pdf", minimalPDF("t", []string{"hello"}))
	f.Add("a.txt", []byte("plain\xff"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		ext := []string{".md", ".csv", ".json", ".pdf", ".txt"}
		n := "f" + ext[len(name)%len(ext)]
		docs, err := Parse(n, data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, d := range docs {
			if strings.TrimSpace(d.Text) == "" {
				t.Fatal("empty document returned")
			}
		}
	})
}
