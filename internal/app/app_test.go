package app_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func noWait(int, time.Duration) time.Duration { return 0 }

func TestOpenDefaultConfigStartsSandbox(t *testing.T) {
	ctx := context.Background()
	cfg := app.DefaultConfig()
	cfg.Redis.URL = redistest.URL(t)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	a, err := app.Open(ctx, cfg, &app.Options{
		Sandbox: &sandbox.Options{Accounts: 12, Seed: 7},
		HTTP:    httpx.Options{Wait: noWait},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.ConnNames(); len(got) != 2 || got[0] != app.SandboxSalesforce || got[1] != app.SandboxHubSpot {
		t.Fatalf("conns = %v", got)
	}
	if a.Sandbox == nil || a.SandboxURL == "" {
		t.Fatal("no in-process sandbox")
	}
	if a.Index == nil || a.Embedder == nil || a.Store.Index() == nil {
		t.Fatal("index or embedder missing")
	}
	for _, c := range a.Conns {
		ids, err := c.ListIDs(ctx, connectors.Accounts)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		if len(ids) != 12 {
			t.Errorf("%s: %d account ids, want 12", c.Name(), len(ids))
		}
	}
	n, err := a.Index.Count(ctx)
	if err != nil || n != 0 {
		t.Errorf("fresh index count = %d, %v", n, err)
	}
	meta, err := a.Index.Meta(ctx)
	if err != nil || meta.Embedder != a.Embedder.Name() || meta.Dimension != a.Embedder.Dimension() {
		t.Errorf("index meta = %+v, %v", meta, err)
	}
	if _, err := a.Conn("nope"); !errors.Is(err, app.ErrUnknownConnection) {
		t.Errorf("Conn(nope) = %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestOpenSelectedConnectionAndAuthorizationCodeSandbox(t *testing.T) {
	ctx := context.Background()
	cfg := app.DefaultConfig()
	cfg.Redis.URL = redistest.URL(t)
	cfg.Connections[1].Auth.Mode = "authorization_code" // sandbox logs in by itself
	st, err := store.Open(ctx, cfg.Redis.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := app.Open(ctx, cfg, &app.Options{Store: st, NoIndex: true, Connections: []string{app.SandboxHubSpot},
		Sandbox: &sandbox.Options{Accounts: 3, Seed: 1}, HTTP: httpx.Options{Wait: noWait}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(a.Conns) != 1 || a.Index != nil {
		t.Fatalf("conns %v, index %v", a.ConnNames(), a.Index)
	}
	ids, err := a.Conns[0].ListIDs(ctx, connectors.Opportunities)
	if err != nil || len(ids) == 0 {
		t.Fatalf("deals = %d, %v", len(ids), err)
	}
	if _, err := app.Open(ctx, cfg, &app.Options{Store: st, NoIndex: true, Connections: []string{"missing"}}); !errors.Is(err, app.ErrUnknownConnection) {
		t.Errorf("unknown connection: %v", err)
	}
}

// TestIndexKeepsOneCopyPerVector checks the wiring of the vector index: a
// vector set without per-account copies (also when an earlier version left
// some behind), and account-scoped search through the store exact.
func TestIndexKeepsOneCopyPerVector(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.DefaultConfig()
	open := func() *app.App {
		a, err := app.Open(ctx, cfg, &app.Options{Store: st, NoConnections: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		return a
	}
	a := open()
	key := st.Key(app.IndexName) + ":vs"
	// An account set as an earlier version kept them.
	if err := rdb.HSet(ctx, key+":meta", "acctsets", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.SAdd(ctx, key+":accts", "001A").Err(); err != nil {
		t.Fatal(err)
	}
	a = open()
	if n := rdb.Exists(ctx, key+":accts").Val(); n != 0 {
		t.Fatal("account sets of an earlier version left in place")
	}
	vecs, err := a.Embedder.Embed(ctx, []string{"renewal at risk: budget cuts", "expansion to the EU team"})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.Ref{Connection: "crm", Object: store.TypeDocument, ID: "d1"}
	chunks := []store.Chunk{{Text: "a", Vector: vecs[0], Attrs: store.Attrs{Account: "001A"}}, {Text: "b", Vector: vecs[1], Attrs: store.Attrs{Account: "001A"}}}
	if err := a.Store.ReplaceChunks(ctx, ref, "", chunks); err != nil {
		t.Fatal(err)
	}
	if keys := rdb.Keys(ctx, key+":acct*").Val(); len(keys) != 0 {
		t.Fatalf("per-account copies written: %v", keys)
	}
	hits, err := a.Store.Search(ctx, store.Query{Vector: vecs[1], K: 5, Filter: store.Filter{Equals: map[string][]string{"account": {"001A"}}}})
	if err != nil || len(hits) != 2 || hits[0].ID != store.ChunkID(ref, 1) || hits[0].Score < 0.999 {
		t.Fatalf("account-scoped search = %+v, %v", hits, err)
	}
}
