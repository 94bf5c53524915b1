package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/chunk"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/store"
)

// Connection is the pseudo-connection knowledge documents are stored under:
// records "knowledge:document:<id>", chunks with Attrs.Type "document".
const Connection = "knowledge"

// Options configure a Pipeline; zero values mean the defaults shown.
type Options struct {
	ChunkSize, ChunkOverlap int // runes (default 1000 and 150)
	EmbedBatch              int // texts per embedder call (default 64)
	DryRun                  bool
	Logger                  *slog.Logger
	// Now stamps stored documents (default time.Now).
	Now func() time.Time
}

// Pipeline ingests knowledge documents into a store's records and vector
// index.
//
// Each document (a file, or a row or object of a CSV or JSON export) is a
// record with a content hash (Document.Hash): re-ingesting an unchanged
// document writes nothing and embeds nothing; a changed one has its chunks
// replaced; a part that disappeared from its file (a deleted CSV row), or a
// file that disappeared from an ingested directory, is removed with its
// chunks and vectors. The documents of each source file are remembered in
// <ns>:docsrc (field: the file path, value: JSON list of document ids).
type Pipeline struct {
	st  *store.Store
	emb embed.Embedder
	opt Options
}

// New returns a pipeline writing into st (with a vector index attached)
// with embedder emb.
func New(st *store.Store, emb embed.Embedder, opt *Options) (*Pipeline, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1000
	}
	if o.ChunkOverlap <= 0 || o.ChunkOverlap >= o.ChunkSize {
		o.ChunkOverlap = min(150, o.ChunkSize/4)
	}
	if o.EmbedBatch <= 0 {
		o.EmbedBatch = 64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if st == nil || emb == nil {
		return nil, errors.New("ingest: store and embedder are required")
	}
	if st.Index() == nil && !o.DryRun {
		return nil, fmt.Errorf("ingest: %w", store.ErrNoVectorIndex)
	}
	return &Pipeline{st: st, emb: emb, opt: o}, nil
}

// FileReport is what happened to one file.
type FileReport struct {
	File      string `json:"file"`
	Documents int    `json:"documents"`
	New       int    `json:"new"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Removed   int    `json:"removed"`
	Chunks    int    `json:"chunks"` // chunks written
	Error     string `json:"error,omitempty"`
}

// Report is the outcome of an Ingest call.
type Report struct {
	Files    []FileReport `json:"files"`
	Embedded int          `json:"embedded"` // texts sent to the embedder (cache hits included)
	Failed   int          `json:"failed"`   // files that could not be ingested
}

// Ingest ingests files and directories (recursively; files of unsupported
// types inside directories are skipped, named ones are errors). A file that
// cannot be read or parsed is reported with its file:line error and the
// others are ingested; the returned error is non-nil only for failures of
// Redis or the embedder, or a cancelled ctx.
func (p *Pipeline) Ingest(ctx context.Context, paths []string) (*Report, error) {
	rep := &Report{}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			rep.Files = append(rep.Files, FileReport{File: root, Error: err.Error()})
			rep.Failed++
			continue
		}
		if !info.IsDir() {
			if err := p.file(ctx, root, rep); err != nil {
				return rep, err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				rep.Files = append(rep.Files, FileReport{File: path, Error: err.Error()})
				rep.Failed++
				return nil
			}
			if d.IsDir() {
				if path != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if supported(path) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		for _, f := range files {
			if err := p.file(ctx, f, rep); err != nil {
				return rep, err
			}
		}
		if err := p.removeVanished(ctx, root, files, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func supported(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt", ".text", ".md", ".markdown", ".pdf", ".csv", ".json":
		return !strings.HasPrefix(filepath.Base(path), ".")
	}
	return false
}

func sourceKey(path string) string { return filepath.ToSlash(filepath.Clean(path)) }

// docRef is the record of a document; its id is a hash of Document.ID so
// any file name is safe in keys and filters.
func docRef(d Document) store.Ref {
	sum := sha256.Sum256([]byte(d.ID()))
	return store.Ref{Connection: Connection, Object: store.TypeDocument, ID: "doc-" + hex.EncodeToString(sum[:12])}
}

func (p *Pipeline) srcKey() string { return p.st.Key("docsrc") }

func (p *Pipeline) file(ctx context.Context, path string, rep *Report) error {
	fr := FileReport{File: path}
	defer func() { rep.Files = append(rep.Files, fr) }()
	docs, err := ParseFile(path)
	if err != nil {
		fr.Error = err.Error()
		rep.Failed++
		p.opt.Logger.Warn("document not ingested", "file", path, "err", err)
		return nil
	}
	fr.Documents = len(docs)
	rdb := p.st.Client()
	// What is stored now.
	pipe := rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(docs))
	for i, d := range docs {
		cmds[i] = pipe.HMGet(ctx, p.st.Key("rec", docRef(d).String()), "hash", "chunked")
	}
	prevCmd := pipe.HGet(ctx, p.srcKey(), sourceKey(path))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("ingest %s: %w", path, err)
	}
	var changed []Document
	ids := make([]string, 0, len(docs))
	for i, d := range docs {
		ids = append(ids, docRef(d).ID)
		v := cmds[i].Val()
		hash, _ := v[0].(string)
		chunked, _ := v[1].(string)
		switch {
		case hash == "":
			fr.New++
		case hash != d.Hash() || chunked != d.Hash():
			fr.Updated++
		default:
			fr.Unchanged++
			continue
		}
		changed = append(changed, d)
	}
	var stale []store.Ref
	var prev []string
	if s := prevCmd.Val(); s != "" {
		_ = json.Unmarshal([]byte(s), &prev)
	}
	for _, id := range prev {
		if !slices.Contains(ids, id) {
			stale = append(stale, store.Ref{Connection: Connection, Object: store.TypeDocument, ID: id})
		}
	}
	fr.Removed = len(stale)
	if p.opt.DryRun {
		return nil
	}
	// Remember the file's documents first, so an interrupted run still
	// knows what to remove next time.
	all := slices.Clone(ids)
	for _, r := range stale {
		all = append(all, r.ID)
	}
	if len(changed) > 0 || len(stale) > 0 || len(prev) == 0 {
		b, _ := json.Marshal(all)
		if err := rdb.HSet(ctx, p.srcKey(), sourceKey(path), string(b)).Err(); err != nil {
			return fmt.Errorf("ingest %s: %w", path, err)
		}
	}
	if err := p.write(ctx, changed, &fr, rep); err != nil {
		return fmt.Errorf("ingest %s: %w", path, err)
	}
	if len(stale) > 0 {
		if err := p.st.DeleteRecordEverywhere(ctx, stale...); err != nil {
			return fmt.Errorf("ingest %s: %w", path, err)
		}
		b, _ := json.Marshal(ids)
		if err := rdb.HSet(ctx, p.srcKey(), sourceKey(path), string(b)).Err(); err != nil {
			return fmt.Errorf("ingest %s: %w", path, err)
		}
	}
	return nil
}

// write stores changed documents and their chunks, embedding in batches.
func (p *Pipeline) write(ctx context.Context, docs []Document, fr *FileReport, rep *Report) error {
	split := chunk.Options{Size: p.opt.ChunkSize, Overlap: p.opt.ChunkOverlap}
	for start := 0; start < len(docs); {
		// A batch of documents with about EmbedBatch chunks.
		var batch []Document
		var chunks [][]store.Chunk
		var texts []string
		for start < len(docs) && (len(texts) == 0 || len(texts) < p.opt.EmbedBatch) {
			d := docs[start]
			start++
			cs := p.chunks(d, split)
			batch, chunks = append(batch, d), append(chunks, cs)
			for _, c := range cs {
				texts = append(texts, c.Text)
			}
		}
		vecs, err := p.emb.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		rep.Embedded += len(texts)
		recs := make([]store.Record, len(batch))
		for i, d := range batch {
			recs[i] = store.Record{Ref: docRef(d), Modified: p.opt.Now().UTC(), Hash: d.Hash(), Fields: docFields(d)}
		}
		if _, err := p.st.PutRecords(ctx, recs); err != nil {
			return err
		}
		k := 0
		for i, d := range batch {
			for j := range chunks[i] {
				chunks[i][j].Vector = vecs[k]
				k++
			}
			if err := p.st.ReplaceChunks(ctx, docRef(d), d.Hash(), chunks[i]); err != nil {
				return err
			}
			fr.Chunks += len(chunks[i])
		}
	}
	return nil
}

func docFields(d Document) map[string]any {
	f := map[string]any{"source": d.Source, "kind": d.Kind, "title": d.Title}
	if d.Part > 0 {
		f["part"] = d.Part
	}
	if !d.Date.IsZero() {
		f["date"] = d.Date.UTC()
	}
	if len(d.Industries) > 0 {
		f["industries"] = d.Industries
	}
	if d.Account != "" {
		f["account"] = d.Account
	}
	return f
}

// chunks splits a document; every chunk starts with the title for context
// and carries the document's kind, first industry, date and account.
func (p *Pipeline) chunks(d Document, o chunk.Options) []store.Chunk {
	a := store.Attrs{Type: store.TypeDocument, Kind: store.Slug(d.Kind)}
	if len(d.Industries) > 0 {
		a.Industry = store.Slug(d.Industries[0])
	}
	if !d.Date.IsZero() {
		a.Date = d.Date.Unix()
	}
	if d.Account != "" && (store.Attrs{Account: d.Account}).Validate() == nil && !strings.ContainsAny(d.Account, " \t") {
		a.Account = d.Account
	}
	var out []store.Chunk
	for _, part := range chunk.Split(d.Text, o) {
		text := part
		if d.Title != "" {
			text = d.Title + "\n\n" + part
		}
		out = append(out, store.Chunk{Text: text, Attrs: a})
	}
	return out
}

// removeVanished removes the documents of files under root that were
// ingested before but no longer exist.
func (p *Pipeline) removeVanished(ctx context.Context, root string, present []string, rep *Report) error {
	all, err := p.st.Client().HGetAll(ctx, p.srcKey()).Result()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	have := map[string]bool{}
	for _, f := range present {
		have[sourceKey(f)] = true
	}
	prefix := sourceKey(root) + "/"
	var gone []string
	for src := range all {
		if strings.HasPrefix(src, prefix) && !have[src] {
			if _, err := os.Stat(filepath.FromSlash(src)); errors.Is(err, fs.ErrNotExist) {
				gone = append(gone, src)
			}
		}
	}
	slices.Sort(gone)
	for _, src := range gone {
		var ids []string
		_ = json.Unmarshal([]byte(all[src]), &ids)
		fr := FileReport{File: src, Removed: len(ids)}
		if !p.opt.DryRun {
			refs := make([]store.Ref, len(ids))
			for i, id := range ids {
				refs[i] = store.Ref{Connection: Connection, Object: store.TypeDocument, ID: id}
			}
			if err := p.st.DeleteRecordEverywhere(ctx, refs...); err != nil {
				return err
			}
			if err := p.st.Client().HDel(ctx, p.srcKey(), src).Err(); err != nil {
				return err
			}
		}
		rep.Files = append(rep.Files, fr)
	}
	return nil
}
