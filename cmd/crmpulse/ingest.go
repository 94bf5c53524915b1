package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/sync/ingest"
)

const ingestUsage = `ingest [--dry-run] [--json] PATH...

Ingests knowledge documents (txt, md, pdf, csv, json; directories
recursively) into the vector index as type "document". Unchanged documents
are skipped, changed ones replaced, removed CSV rows and files removed. Files
that cannot be parsed are reported with file:line; the others are ingested.`

func init() {
	register(&command{name: "ingest", summary: "ingest knowledge documents", run: runIngest})
}

func runIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "ingest", ingestUsage)
	dry := fs.Bool("dry-run", false, "parse and compare, write nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("want at least one PATH")
	}
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, NoConnections: true})
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := ingest.New(a.Store, a.Embedder, &ingest.Options{
		ChunkSize: cfg.Retrieval.ChunkSize, ChunkOverlap: cfg.Retrieval.ChunkOverlap,
		EmbedBatch: cfg.Sync.EmbedBatch, DryRun: *dry, Logger: e.log,
	})
	if err != nil {
		return err
	}
	rep, err := p.Ingest(ctx, fs.Args())
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(rep); werr != nil {
				return werr
			}
		} else {
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "file\tdocuments\tnew\tupdated\tunchanged\tremoved\tchunks\terror")
			for _, f := range rep.Files {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", f.File, f.Documents, f.New, f.Updated, f.Unchanged, f.Removed, f.Chunks, f.Error)
			}
			if werr := tw.Flush(); werr != nil {
				return werr
			}
		}
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d files could not be ingested", rep.Failed, len(rep.Files))
	}
	return nil
}
