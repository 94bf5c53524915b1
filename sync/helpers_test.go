package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"github.com/crmpulse/crmpulse/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func noWait(int, time.Duration) time.Duration { return 0 }

// countingEmbedder counts the texts that reach the inner embedder (the
// misses of the Redis cache).
type countingEmbedder struct {
	embed.Embedder
	texts atomic.Int64
	calls atomic.Int64
	// before, when set, runs before each call (cancellation tests).
	before func(ctx context.Context)
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c.before != nil {
		c.before(ctx)
	}
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// harness is a sandbox served over HTTP, an App wired to it with both
// connections, and a Redis database of its own.
type harness struct {
	t     testing.TB
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	app   *app.App
	st    *store.Store
	rdb   *redis.Client
	inner *countingEmbedder // below the cache
	emb   embed.Embedder    // cached
}

func newHarness(t testing.TB, opts sandbox.Options, conns ...string) *harness {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	}
	sb, srv := sandboxsrv.StartTest(t, opts)
	rdb := redistest.Client(t)
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.DefaultConfig()
	for i := range cfg.Connections {
		cfg.Connections[i].BaseURL = srv.URL
	}
	cfg.Writeback.Connections = nil
	a, err := app.Open(context.Background(), cfg, &app.Options{Store: st, HTTP: httpx.Options{Wait: noWait},
		Logger: quietLogger(), Connections: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h := &harness{t: t, sb: sb, srv: srv, app: a, st: a.Store, rdb: rdb}
	h.advance() // records generated up to the start are past the lag
	// Count what reaches the embedder below the cache.
	inner, err := embed.New(cfg.Embedder)
	if err != nil {
		t.Fatal(err)
	}
	h.inner = &countingEmbedder{Embedder: inner}
	h.emb = embed.Cached(h.inner, rdb, st.Namespace())
	return h
}

func (h *harness) engine(opt *Options) *Engine {
	h.t.Helper()
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	var sources []Source
	for _, c := range h.app.Conns {
		cc, _ := h.app.ConnConfig(c.Name())
		sources = append(sources, Source{Conn: c, WritebackFields: WritebackFields(h.app.Config, cc)})
	}
	e, err := New(h.st, h.emb, sources, &o)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

func (h *harness) run(opt *Options) *Summary {
	h.t.Helper()
	sum, err := h.engine(opt).Run(context.Background())
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return sum
}

// advance moves the sandbox clock past the connectors' lag so the next run
// sees every change made so far.
func (h *harness) advance() { h.sb.Clock.Advance(time.Minute) }

// tables maps each object to the sandbox tables behind it, per dialect.
var tables = map[string]map[connectors.Object][]string{
	app.SandboxSalesforce: {
		connectors.Accounts: {sandbox.SFAccount}, connectors.Contacts: {sandbox.SFContact},
		connectors.Opportunities: {sandbox.SFOpportunity}, connectors.Activities: {sandbox.SFTask, sandbox.SFEvent},
	},
	app.SandboxHubSpot: {
		connectors.Accounts: {sandbox.HSCompanies}, connectors.Contacts: {sandbox.HSContacts},
		connectors.Opportunities: {sandbox.HSDeals}, connectors.Activities: sandbox.HSEngagements,
	},
}

// truthFields are the CRM fields compared with stored normalised fields.
var truthFields = map[string]map[string]string{
	sandbox.SFAccount:     {"Name": connectors.FName, "Industry": connectors.FIndustry},
	sandbox.SFContact:     {"Email": connectors.FEmail},
	sandbox.SFOpportunity: {"StageName": connectors.FStage, "Amount": connectors.FAmount},
	sandbox.SFTask:        {"Subject": connectors.FSubject, "Description": connectors.FBody},
	sandbox.SFEvent:       {"Subject": connectors.FSubject, "Description": connectors.FBody},
	sandbox.HSCompanies:   {"name": connectors.FName, "industry": connectors.FIndustry},
	sandbox.HSContacts:    {"email": connectors.FEmail},
	sandbox.HSDeals:       {"dealstage": connectors.FStage, "amount": connectors.FAmount},
	sandbox.HSCalls:       {"hs_call_body": connectors.FBody},
	sandbox.HSEmails:      {"hs_email_text": connectors.FBody},
	sandbox.HSMeetings:    {"hs_meeting_body": connectors.FBody},
	sandbox.HSNotes:       {"hs_note_body": connectors.FBody},
	sandbox.HSTasks:       {"hs_task_body": connectors.FBody},
}

type truthRow struct {
	table    string
	modified time.Time
	fields   map[string]any
	account  string
}

func (h *harness) tenant(conn string) *sandbox.Store {
	if conn == app.SandboxHubSpot {
		return h.sb.HS
	}
	return h.sb.SF
}

// truth returns the live rows of obj in the sandbox.
func (h *harness) truth(conn string, obj connectors.Object) map[string]truthRow {
	out := map[string]truthRow{}
	ten := h.tenant(conn)
	for _, table := range tables[conn][obj] {
		_ = ten.Scan(table, func(r sandbox.Row) bool {
			if r.Deleted {
				return true
			}
			tr := truthRow{table: table, modified: r.ModifiedAt.UTC(), fields: r.Fields}
			if conn == app.SandboxSalesforce {
				tr.account, _ = r.Fields["AccountId"].(string)
				if tr.account == "" {
					if w, _ := r.Fields["WhatId"].(string); strings.HasPrefix(w, "001") {
						tr.account = w
					}
				}
			} else if obj != connectors.Accounts {
				if ids, _ := ten.Associations(table, r.ID, sandbox.HSCompanies); len(ids) > 0 {
					tr.account = ids[0]
				}
			}
			if obj == connectors.Accounts {
				tr.account = r.ID
			}
			out[r.ID] = tr
			return true
		})
	}
	return out
}

// check compares the store and the index with the sandbox: records (ids,
// stamps, fields, accounts), chunks (exactly what the stored records
// derive), vectors (one per chunk, none extra), no account left dirty.
func (h *harness) check(ctx context.Context) {
	h.t.Helper()
	t := h.t
	var problems []string
	add := func(format string, a ...any) {
		if len(problems) < 40 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	for _, conn := range h.app.ConnNames() {
		for _, obj := range connectors.AllObjects {
			typ := storeType(obj)
			want := h.truth(conn, obj)
			ids, err := h.st.RecordIDs(ctx, conn, typ)
			if err != nil {
				t.Fatal(err)
			}
			refs := make([]store.Ref, len(ids))
			for i, id := range ids {
				refs[i] = store.Ref{Connection: conn, Object: typ, ID: id}
			}
			got, err := loadRecords(ctx, h.st, refs)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]stored{}
			for _, r := range got {
				have[r.Ref.ID] = r
			}
			for id, tr := range want {
				r, ok := have[id]
				if !ok {
					add("%s %s %s missing", conn, typ, id)
					continue
				}
				if !r.Modified.Equal(tr.modified) {
					add("%s %s %s stale: stored %s, crm %s", conn, typ, id, r.Modified, tr.modified)
				}
				if r.Account != tr.account {
					add("%s %s %s account %q, crm %q", conn, typ, id, r.Account, tr.account)
				}
				for crmField, key := range truthFields[tr.table] {
					if !sameValue(tr.fields[crmField], r.Fields[key]) {
						add("%s %s %s field %s = %v, crm %s = %v", conn, typ, id, key, r.Fields[key], crmField, tr.fields[crmField])
					}
				}
			}
			for id := range have {
				if _, ok := want[id]; !ok {
					add("%s %s %s extra (not live in the CRM)", conn, typ, id)
				}
			}
		}
		n, err := h.rdb.SCard(ctx, dirtyKey(h.st, conn)).Result()
		if err != nil || n != 0 {
			add("%s: %d accounts still dirty (%v)", conn, n, err)
		}
		problems = append(problems, h.checkChunks(ctx, conn)...)
	}
	problems = append(problems, h.checkVectors(ctx)...)
	if len(problems) > 0 {
		t.Fatalf("store differs from the sandbox:\n  %s", strings.Join(problems, "\n  "))
	}
}

func sameValue(crm, stored any) bool {
	switch c := crm.(type) {
	case nil:
		return stored == nil
	case string:
		if c == "" {
			return stored == nil
		}
		if f, ok := stored.(float64); ok { // HubSpot numbers are strings
			return fmt.Sprint(f) == c || strings.TrimRight(strings.TrimRight(c, "0"), ".") == fmt.Sprint(f)
		}
		s, _ := stored.(string)
		return s == c
	case float64:
		f, ok := stored.(float64)
		return ok && math.Abs(f-c) < 1e-9
	}
	return fmt.Sprint(crm) == fmt.Sprint(stored)
}

// checkChunks verifies that the chunks stored for every account are exactly
// what its stored records derive, and that no chunk is left without owner.
func (h *harness) checkChunks(ctx context.Context, conn string) []string {
	var problems []string
	e := h.engine(nil)
	c := &connRun{e: e, src: Source{Conn: h.app.Conns[0]}}
	c.src.Conn = mustConn(h, conn)
	wantChunks := map[string]string{} // chunk id -> text
	accounts := map[string]bool{}
	// Every account any record points to.
	for _, typ := range []string{store.TypeAccount, store.TypeOpportunity, store.TypeActivity} {
		ids, _ := h.st.RecordIDs(ctx, conn, typ)
		refs := make([]store.Ref, len(ids))
		for i, id := range ids {
			refs[i] = store.Ref{Connection: conn, Object: typ, ID: id}
		}
		recs, _ := loadRecords(ctx, h.st, refs)
		for _, r := range recs {
			if r.Account != "" {
				accounts[r.Account] = true
			}
		}
	}
	for a := range accounts {
		recs, err := loadAccount(ctx, h.st, conn, a)
		if err != nil {
			return []string{err.Error()}
		}
		for _, o := range c.owners(a, recs) {
			for i, ch := range o.Chunks {
				wantChunks[store.ChunkID(o.Ref, i)] = ch.Text
			}
		}
	}
	got := map[string]bool{}
	var mu gosync.Mutex
	err := h.st.ScanChunks(ctx, func(it store.Item) error {
		ref, _, err := store.ParseChunkID(it.ID)
		if err != nil || ref.Connection != conn {
			return nil
		}
		mu.Lock()
		got[it.ID] = true
		mu.Unlock()
		if _, ok := wantChunks[it.ID]; !ok && len(problems) < 20 {
			problems = append(problems, fmt.Sprintf("%s: extra chunk %s", conn, it.ID))
		}
		return nil
	})
	if err != nil {
		return []string{err.Error()}
	}
	var ids []string
	for id := range wantChunks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	stored, err := h.st.GetChunks(ctx, ids)
	if err != nil {
		return []string{err.Error()}
	}
	byID := map[string]string{}
	for _, ch := range stored {
		byID[ch.ID] = ch.Text
	}
	for _, id := range ids {
		text, ok := byID[id]
		switch {
		case !ok && len(problems) < 20:
			problems = append(problems, fmt.Sprintf("%s: missing chunk %s", conn, id))
		case ok && text != wantChunks[id] && len(problems) < 20:
			problems = append(problems, fmt.Sprintf("%s: stale chunk %s", conn, id))
		}
	}
	return problems
}

func mustConn(h *harness, name string) *connectors.Conn {
	c, err := h.app.Conn(name)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// checkVectors verifies one vector per stored chunk and no other.
func (h *harness) checkVectors(ctx context.Context) []string {
	var ids []string
	if err := h.st.ScanChunks(ctx, func(it store.Item) error {
		ids = append(ids, it.ID)
		return nil
	}); err != nil {
		return []string{err.Error()}
	}
	n, err := h.app.Index.Count(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	if n != int64(len(ids)) {
		problems = append(problems, fmt.Sprintf("index holds %d vectors for %d chunks", n, len(ids)))
	}
	key := h.st.Key(app.IndexName) + ":vs"
	pipe := h.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Do(ctx, "VGETATTR", key, id)
	}
	_, _ = pipe.Exec(ctx)
	for i, c := range cmds {
		if v, err := c.Result(); (err != nil || v == nil) && len(problems) < 20 {
			problems = append(problems, fmt.Sprintf("chunk %s has no vector (%v)", ids[i], err))
		}
	}
	return problems
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
