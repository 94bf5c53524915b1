package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/vectorset"
	"github.com/crmpulse/crmpulse/sync/ingest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

type counting struct {
	embed.Embedder
	texts atomic.Int64
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

func setup(t *testing.T) (*store.Store, *counting, *ingest.Pipeline) {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Client(t)
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	local, err := embed.NewLocal(embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	emb := &counting{Embedder: local}
	idx := vectorset.New(rdb, st.Key("idx", "docs"), nil)
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: emb.Name(), Dimension: emb.Dimension()}); err != nil {
		t.Fatal(err)
	}
	st = st.WithIndex(idx)
	p, err := ingest.New(st, emb, &ingest.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return st, emb, p
}

func docChunks(t *testing.T, st *store.Store) map[string]store.Item {
	t.Helper()
	out := map[string]store.Item{}
	if err := st.ScanChunks(context.Background(), func(it store.Item) error {
		out[it.ID] = it
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIngestSandboxDocumentsIdempotent(t *testing.T) {
	ctx := context.Background()
	st, emb, p := setup(t)
	dir := t.TempDir()
	files, err := sandbox.WriteDocuments(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A bad file next to the good ones.
	bad := filepath.Join(dir, "broken-export.json")
	if err := os.WriteFile(bad, []byte("[{\"title\": \"a\", \"text\": \"b\"},\n {\"title\": }]"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Ingest(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 {
		t.Fatalf("failed = %d, want 1 (%+v)", rep.Failed, rep.Files)
	}
	var newDocs, chunks int
	for _, f := range rep.Files {
		if f.File == bad {
			if !strings.Contains(f.Error, "broken-export.json:2") {
				t.Errorf("bad file error %q lacks file:line", f.Error)
			}
			continue
		}
		if f.Error != "" {
			t.Errorf("%s: %s", f.File, f.Error)
		}
		newDocs += f.New
		chunks += f.Chunks
	}
	if newDocs != len(files) || chunks < len(files) {
		t.Fatalf("%d new documents, %d chunks for %d files", newDocs, chunks, len(files))
	}
	stored := docChunks(t, st)
	if len(stored) != chunks {
		t.Fatalf("%d chunks stored, %d reported", len(stored), chunks)
	}
	n, _ := st.Index().Count(ctx)
	if n != int64(chunks) {
		t.Fatalf("%d vectors for %d chunks", n, chunks)
	}
	for _, it := range stored {
		if it.Attrs.Type != store.TypeDocument || it.Attrs.Kind == "" || it.Attrs.Connection != ingest.Connection {
			t.Fatalf("chunk %s attrs %+v", it.ID, it.Attrs)
		}
	}
	// Again: nothing changes, nothing is embedded.
	before := emb.texts.Load()
	rep, err = p.Ingest(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.New+f.Updated+f.Removed+f.Chunks != 0 {
			t.Errorf("re-ingest changed %+v", f)
		}
	}
	if emb.texts.Load() != before {
		t.Errorf("re-ingest embedded %d texts", emb.texts.Load()-before)
	}
	// A changed file replaces its chunks; a removed file loses them.
	if err := os.WriteFile(files[0], []byte("# Replaced\n\nEntirely new content about churn in logistics."), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(files[1]); err != nil {
		t.Fatal(err)
	}
	rep, err = p.Ingest(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var updated, removed int
	for _, f := range rep.Files {
		updated += f.Updated
		removed += f.Removed
	}
	if updated != 1 || removed != 1 {
		t.Fatalf("updated %d, removed %d: %+v", updated, removed, rep.Files)
	}
	after := docChunks(t, st)
	n, _ = st.Index().Count(ctx)
	if n != int64(len(after)) {
		t.Fatalf("%d vectors for %d chunks", n, len(after))
	}
	ids := make([]string, 0, len(after))
	for id := range after {
		ids = append(ids, id)
	}
	got, _ := st.GetChunks(ctx, ids)
	found := false
	for _, c := range got {
		if strings.Contains(c.Text, "Entirely new content") {
			found = true
		}
	}
	if !found {
		t.Error("changed file's new text not stored")
	}
}

func TestIngestCSVRowRemoved(t *testing.T) {
	ctx := context.Background()
	st, _, p := setup(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "meeting-notes.csv")
	rows := "title,date,account,text\nKickoff,2025-01-10,001A,Discussed onboarding plan and success criteria.\nQBR,2025-04-02,001A,Usage down 20 percent; champion left.\nRenewal,2025-06-01,001B,Renewal signed for two years.\n"
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Ingest(ctx, []string{path})
	if err != nil || rep.Files[0].New != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
	// Drop the QBR row, edit the renewal row.
	rows = "title,date,account,text\nKickoff,2025-01-10,001A,Discussed onboarding plan and success criteria.\nRenewal,2025-06-01,001B,Renewal signed for three years.\n"
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = p.Ingest(ctx, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Files[0]
	// Row numbers shift: the renewal row is now part 2 (was part 2 = QBR).
	if f.Removed != 1 || f.Unchanged != 1 || f.Updated != 1 {
		t.Fatalf("%+v", f)
	}
	chunks := docChunks(t, st)
	ids := make([]string, 0, len(chunks))
	for id, it := range chunks {
		ids = append(ids, id)
		if it.Attrs.Account != "001A" && it.Attrs.Account != "001B" {
			t.Errorf("chunk %s account %q", id, it.Attrs.Account)
		}
	}
	got, _ := st.GetChunks(ctx, ids)
	for _, c := range got {
		if strings.Contains(c.Text, "champion left") || strings.Contains(c.Text, "two years") {
			t.Errorf("removed or replaced text still stored: %q", c.Text)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d chunks, want 2", len(got))
	}
}
