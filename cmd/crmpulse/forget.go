package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmpulse/crmpulse/internal/app"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

const forgetUsage = `forget [--json] CONNECTION RECORD-ID

Erases a record and everything derived from it (data-subject erasure): the
record, its chunks and vectors, cached embeddings, quarantine entries, and
every value under the namespace naming it (insight results, outbox and queue
entries). For an account, all of its records and its aggregate go too; for
another record, its account is rebuilt without it. Later syncs skip the
record even though the CRM still has it.`

func init() {
	register(&command{name: "forget", summary: "erase a record and everything derived from it", run: runForget})
}

func runForget(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "forget", forgetUsage)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want CONNECTION RECORD-ID, got %d arguments", fs.NArg())
	}
	connName, id := fs.Arg(0), fs.Arg(1)
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	if cfg.Connection(connName) == nil {
		return usagef("unknown connection %q", connName)
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, NoConnections: true})
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := crmsync.Forget(ctx, a.Store, a.Embedder, connName, id)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if len(rep.Records) == 0 {
		fmt.Fprintf(e.stdout, "no stored record %s on %s; suppressed for later syncs, %d other values removed\n", id, connName, rep.Scrubbed)
		return nil
	}
	fmt.Fprintf(e.stdout, "erased %d records of %s on %s", len(rep.Records), id, connName)
	if rep.Rebuilt != "" {
		fmt.Fprintf(e.stdout, "; account %s rebuilt without it", rep.Rebuilt)
	}
	fmt.Fprintf(e.stdout, "; %d other values removed\n", rep.Scrubbed)
	return nil
}
