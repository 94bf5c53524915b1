// Package crmtest is the conformance suite every connectors.Driver passes
// against the offline sandbox over HTTP. A driver's test supplies a Harness
// constructor; Run builds a fresh sandbox per test and checks, object by
// object, that the connector's view of the CRM equals the sandbox's store:
// after a full read, after randomized mutation cycles (timestamp ties, late
// commits inside the look-back, edits while paging, soft deletes, undeletes
// and purges), across injected 429s, 5xx and expired or revoked tokens; that
// batch writes report partial failures per record; that fields and segments
// are provisioned idempotently; and that nothing secret reaches the logs.
package crmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Harness is one driver wired to one sandbox.
type Harness struct {
	SB    *sandbox.Sandbox
	Store *sandbox.Store // the tenant's table store (SB.SF or SB.HS)
	Conn  *connectors.Conn
	// Dialect is the sandbox dialect name ("salesforce", "hubspot").
	Dialect string
	// Tables maps each object to the tenant's tables behind it.
	Tables map[connectors.Object][]string
	// TextField is a free-text field per table the suite may edit.
	TextField map[string]string
	// Lag is the driver's window lag: the suite advances the sandbox clock
	// past it before reading, so everything written is due.
	Lag, Lookback time.Duration
	// FeedHasDeletes: soft deletes arrive in the change feed (Salesforce
	// queryAll); otherwise Deletions and ListIDs are the only delete paths.
	FeedHasDeletes bool
	// Secrets returns the credentials in use now (access and refresh
	// tokens), which must never be logged.
	Secrets func() []string
	// WriteField names a writable custom field to provision for object
	// accounts, with its neutral type; BadValue is rejected by the CRM.
	WriteField          connectors.FieldSpec
	GoodValue, BadValue any
	// SegmentField is a picklist field for segments on accounts.
	SegmentField connectors.FieldSpec
	// Reconnect rebuilds Conn with fresh credentials (after revocation).
	Reconnect func(t *testing.T)
}

// NewHarness builds a harness on a sandbox created with opts.
type NewHarness func(t *testing.T, opts sandbox.Options) *Harness

// Run runs the suite.
func Run(t *testing.T, newHarness NewHarness) {
	base := sandbox.Options{Accounts: 40, Seed: 7, Now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), ActivityScale: 0.5}
	t.Run("FullRead", func(t *testing.T) { testFullRead(t, newHarness(t, base)) })
	t.Run("IncrementalCycles", func(t *testing.T) { testIncremental(t, newHarness(t, base)) })
	t.Run("Faults", func(t *testing.T) { testFaults(t, newHarness(t, base)) })
	t.Run("Revocation", func(t *testing.T) { testRevocation(t, newHarness(t, base)) })
	t.Run("Writes", func(t *testing.T) { testWrites(t, newHarness(t, base)) })
	t.Run("Segments", func(t *testing.T) { testSegments(t, newHarness(t, base)) })
	t.Run("NoSecretsInLogs", func(t *testing.T) { testLogs(t, newHarness, base) })
}

// view is the connector-side replica a sync engine would keep.
type view struct {
	recs map[connectors.Object]map[string]connectors.Record
	cur  map[connectors.Object]connectors.Cursor
	runs map[connectors.Object]time.Time // when the last run started (sandbox clock)
}

func newView() *view {
	return &view{recs: map[connectors.Object]map[string]connectors.Record{}, cur: map[connectors.Object]connectors.Cursor{}, runs: map[connectors.Object]time.Time{}}
}

// sync reads obj's changes, applies deletions since the previous run and,
// when reconcile is set, drops ids the CRM no longer lists. between is
// called after each page (to mutate the CRM while paging).
func (v *view) sync(t *testing.T, h *Harness, obj connectors.Object, reconcile bool, between func(page int)) {
	t.Helper()
	ctx := context.Background()
	m := v.recs[obj]
	if m == nil {
		m = map[string]connectors.Record{}
		v.recs[obj] = m
	}
	start := h.SB.Clock.Now()
	pages := 0
	cur, err := h.Conn.ReadChanges(ctx, obj, v.cur[obj], func(p connectors.Page) error {
		for _, r := range p.Records {
			if r.Object != obj || r.ID == "" || r.Modified.IsZero() {
				return fmt.Errorf("malformed record %+v", r)
			}
			if r.Deleted {
				delete(m, r.ID)
			} else {
				m[r.ID] = r
			}
		}
		// Checkpoint round trip on every page, as the engine does.
		b, err := connectors.MarshalCursor(p.Next)
		if err != nil {
			return err
		}
		if _, err := connectors.UnmarshalCursor(b); err != nil {
			return err
		}
		pages++
		if between != nil {
			between(pages)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s changes: %v", obj, err)
	}
	if cur.InWindow() {
		t.Fatalf("%s: run ended inside a window", obj)
	}
	v.cur[obj] = cur
	if last, ok := v.runs[obj]; ok {
		dels, err := h.Conn.Deletions(ctx, obj, last.Add(-h.Lookback-time.Minute))
		if err != nil {
			t.Fatalf("%s deletions: %v", obj, err)
		}
		for _, d := range dels {
			if r, ok := m[d.ID]; ok && !r.Modified.After(d.At) {
				delete(m, d.ID)
			}
		}
	}
	v.runs[obj] = start
	if reconcile {
		ids, err := h.Conn.ListIDs(ctx, obj)
		if err != nil {
			t.Fatalf("%s ids: %v", obj, err)
		}
		live := make(map[string]bool, len(ids))
		for _, id := range ids {
			if live[id] {
				t.Fatalf("%s: ListIDs repeats %s", obj, id)
			}
			live[id] = true
		}
		for id := range m {
			if !live[id] {
				delete(m, id)
			}
		}
	}
}

// truth is the sandbox's live rows of obj: id → modification stamp.
func truth(h *Harness, obj connectors.Object) (live map[string]time.Time, exists map[string]bool) {
	live, exists = map[string]time.Time{}, map[string]bool{}
	for _, table := range h.Tables[obj] {
		_ = h.Store.Scan(table, func(r sandbox.Row) bool {
			exists[r.ID] = true
			if !r.Deleted {
				live[r.ID] = r.ModifiedAt
			}
			return true
		})
	}
	return live, exists
}

// check compares the view with the store. Before reconciliation, ids the
// view still holds may only be records purged from the CRM (or, when the
// feed carries no deletes, soft-deleted ones); after it, equality is exact.
func (v *view) check(t *testing.T, h *Harness, obj connectors.Object, reconciled bool) {
	t.Helper()
	live, exists := truth(h, obj)
	m := v.recs[obj]
	var missing, stale, extra []string
	for id, mod := range live {
		r, ok := m[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case !r.Modified.Equal(mod.UTC()):
			stale = append(stale, fmt.Sprintf("%s(view %s, crm %s)", id, r.Modified.Format(time.RFC3339), mod.UTC().Format(time.RFC3339)))
		}
	}
	for id := range m {
		if _, ok := live[id]; ok {
			continue
		}
		if reconciled || exists[id] && h.FeedHasDeletes {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(stale)+len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		t.Fatalf("%s: view differs from the CRM (%d live): missing %d %v; stale %d %v; extra %d %v",
			obj, len(live), len(missing), head(missing), len(stale), head(stale), len(extra), head(extra))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// due advances the sandbox clock past the driver's lag so everything
// written so far falls inside the next window.
func due(h *Harness) { h.SB.Clock.Advance(h.Lag + 2*time.Second) }

func testFullRead(t *testing.T, h *Harness) {
	v := newView()
	due(h)
	for _, obj := range connectors.AllObjects {
		live, _ := truth(h, obj)
		if len(live) == 0 {
			t.Fatalf("sandbox has no %s", obj)
		}
		v.sync(t, h, obj, false, nil)
		v.check(t, h, obj, false)
		v.sync(t, h, obj, true, nil) // an idle run changes nothing
		v.check(t, h, obj, true)
	}
	// Typed views carry the CRM's values.
	n := 0
	for id, r := range v.recs[connectors.Accounts] {
		a, err := r.Account()
		if err != nil {
			t.Fatal(err)
		}
		row, _ := h.Store.Get(h.Tables[connectors.Accounts][0], id)
		if name, _ := row.Get("Name"); name != nil && a.Name != fmt.Sprint(name) {
			t.Fatalf("account %s name %q, crm %q", id, a.Name, name)
		}
		if a.Name == "" {
			t.Fatalf("account %s without a name", id)
		}
		n++
	}
	withAccount := 0
	for _, r := range v.recs[connectors.Opportunities] {
		if r.AccountID != "" {
			withAccount++
		}
	}
	if withAccount == 0 {
		t.Fatal("no opportunity linked to an account")
	}
}

func testIncremental(t *testing.T, h *Harness) {
	v := newView()
	due(h)
	for _, obj := range connectors.AllObjects {
		v.sync(t, h, obj, true, nil)
		v.check(t, h, obj, true)
	}
	for cycle := 1; cycle <= 4; cycle++ {
		h.SB.Step(cycle * 3) // ties, new rows, stage moves, deletes, undeletes, purges
		due(h)
		for _, obj := range connectors.AllObjects {
			table := h.Tables[obj][0]
			// A late commit: stamped before the previous window's end but
			// inside the look-back, written after that read.
			if ids := liveIDs(h, table, 1); len(ids) == 1 {
				if _, err := h.Store.UpdateAt(table, ids[0], map[string]any{h.TextField[table]: fmt.Sprintf("late %d", cycle)}, sandbox.ActorUser,
					v.lastUpper(obj).Add(-h.Lookback/2)); err != nil {
					t.Fatal(err)
				}
			}
			// Edits while paging: touch records after the first page.
			edited := false
			v.sync(t, h, obj, false, func(page int) {
				if page == 1 && !edited {
					edited = true
					for _, id := range liveIDs(h, table, 3) {
						if _, err := h.Store.Update(table, id, map[string]any{h.TextField[table]: fmt.Sprintf("paging %d", cycle)}, sandbox.ActorUser); err != nil {
							t.Error(err)
						}
					}
				}
			})
			due(h)
			v.sync(t, h, obj, false, nil) // picks up what changed during the run
			v.check(t, h, obj, false)
			v.sync(t, h, obj, true, nil)
			v.check(t, h, obj, true)
		}
	}
}

func (v *view) lastUpper(obj connectors.Object) time.Time {
	return v.cur[obj].Covered()
}

func liveIDs(h *Harness, table string, n int) []string {
	var ids []string
	_ = h.Store.Scan(table, func(r sandbox.Row) bool {
		if !r.Deleted {
			ids = append(ids, r.ID)
		}
		return len(ids) < n*7
	})
	if len(ids) > n {
		ids = ids[len(ids)-n:]
	}
	return ids
}

func testFaults(t *testing.T, h *Harness) {
	v := newView()
	due(h)
	h.SB.Faults.Set(func(f *sandbox.Faults) { f.Fail429, f.Fail5xx = 2, 2 })
	v.sync(t, h, connectors.Accounts, true, nil)
	v.check(t, h, connectors.Accounts, true)
	// Expired access tokens are refreshed transparently.
	h.SB.Tokens.ExpireAll(h.Dialect)
	h.SB.Step(1)
	due(h)
	v.sync(t, h, connectors.Accounts, true, nil)
	v.check(t, h, connectors.Accounts, true)
	calls := h.Conn.Usage().Calls
	if len(calls) == 0 {
		t.Fatal("no API calls counted")
	}
}

func testRevocation(t *testing.T, h *Harness) {
	ctx := context.Background()
	due(h)
	if _, err := h.Conn.ListIDs(ctx, connectors.Accounts); err != nil {
		t.Fatal(err)
	}
	h.SB.Tokens.RevokeAll(h.Dialect)
	_, err := h.Conn.Changes(ctx, connectors.Accounts, connectors.Cursor{})
	if !errors.Is(err, connectors.ErrReauthorize) {
		t.Fatalf("after revocation: %v, want ErrReauthorize", err)
	}
	if !strings.Contains(err.Error(), "crmpulse auth login") {
		t.Fatalf("message lacks the remedy: %v", err)
	}
	if h.Reconnect != nil {
		h.Reconnect(t)
		if _, err := h.Conn.ListIDs(ctx, connectors.Accounts); err != nil {
			t.Fatalf("after re-login: %v", err)
		}
	}
}

func testWrites(t *testing.T, h *Harness) {
	ctx := context.Background()
	due(h)
	f1, err := h.Conn.EnsureField(ctx, connectors.Accounts, h.WriteField)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := h.Conn.EnsureField(ctx, connectors.Accounts, h.WriteField)
	if err != nil {
		t.Fatal(err)
	}
	if f1.Name != f2.Name || !f2.Updateable {
		t.Fatalf("ensure twice: %+v then %+v", f1, f2)
	}
	fields, err := h.Conn.DescribeFields(ctx, connectors.Accounts)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, f := range fields {
		if strings.EqualFold(f.Name, f1.Name) {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("field %s described %d times", f1.Name, count)
	}
	ids, err := h.Conn.ListIDs(ctx, connectors.Accounts)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	ids = ids[:5]
	table := h.Tables[connectors.Accounts][0]
	purged := ids[4]
	if err := h.Store.Purge(table, purged); err != nil {
		t.Fatal(err)
	}
	ups := []connectors.Update{
		{ID: ids[0], Fields: map[string]any{f1.Name: h.GoodValue}},
		{ID: ids[1], Fields: map[string]any{f1.Name: h.BadValue}},
		{ID: ids[2], Fields: map[string]any{f1.Name: h.GoodValue}},
		{ID: ids[3], Fields: map[string]any{"No_Such_Field__c": "x", f1.Name: h.GoodValue}},
		{ID: purged, Fields: map[string]any{f1.Name: h.GoodValue}},
	}
	res, err := h.Conn.UpdateFields(ctx, connectors.Accounts, ups)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false, false}
	for i, r := range res {
		if r.ID != ups[i].ID || r.OK != want[i] {
			t.Fatalf("result %d = %+v (err %v), want ok=%v", i, r, r.Err, want[i])
		}
		if !r.OK && (r.Err == nil || r.Err.Code == "" || r.Retryable) {
			t.Fatalf("result %d: failure without the CRM's code or marked retryable: %+v", i, r.Err)
		}
	}
	for _, i := range []int{0, 2} {
		row, _ := h.Store.Get(table, ids[i])
		if got, _ := row.Get(f1.Name); fmt.Sprint(got) != fmt.Sprint(h.GoodValue) {
			t.Fatalf("record %s has %s=%v, want %v", ids[i], f1.Name, got, h.GoodValue)
		}
	}
}

func testSegments(t *testing.T, h *Harness) {
	ctx := context.Background()
	due(h)
	f, err := h.Conn.EnsureField(ctx, connectors.Accounts, h.SegmentField)
	if err != nil {
		t.Fatal(err)
	}
	value := h.SegmentField.Options[0].Value
	ids, err := h.Conn.ListIDs(ctx, connectors.Accounts)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	members := ids[:3]
	var ups []connectors.Update
	for _, id := range members {
		ups = append(ups, connectors.Update{ID: id, Fields: map[string]any{f.Name: value}})
	}
	res, err := h.Conn.UpdateFields(ctx, connectors.Accounts, ups)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK {
			t.Fatalf("segment write: %v", r.Err)
		}
	}
	spec := connectors.SegmentSpec{Object: connectors.Accounts, Name: "AI segment: " + h.SegmentField.Options[0].Label, Field: f.Name, Value: value}
	s1, err := h.Conn.EnsureSegment(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := h.Conn.EnsureSegment(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !s1.Created || s2.Created || s1.ID != s2.ID || s1.Kind != s2.Kind {
		t.Fatalf("ensure twice: %+v then %+v", s1, s2)
	}
	due(h)
	got, err := h.Conn.SegmentMembers(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(members) {
		t.Fatalf("members = %v, want %v", got, members)
	}
}

func testLogs(t *testing.T, newHarness NewHarness, opts sandbox.Options) {
	var buf bytes.Buffer
	prevSlog := slog.Default()
	prevOut, prevFlags := log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	log.SetOutput(&buf)
	defer func() {
		slog.SetDefault(prevSlog)
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	}()
	h := newHarness(t, opts)
	ctx := context.Background()
	due(h)
	h.SB.Faults.Set(func(f *sandbox.Faults) { f.Fail5xx = 1 })
	v := newView()
	v.sync(t, h, connectors.Accounts, true, nil)
	h.SB.Tokens.ExpireAll(h.Dialect)
	v.sync(t, h, connectors.Activities, false, nil)
	_, _ = h.Conn.UpdateFields(ctx, connectors.Accounts, []connectors.Update{{ID: "0000000000", Fields: map[string]any{"No_Such__c": "secret-value-42"}}})
	_, _ = h.Conn.Changes(ctx, connectors.Accounts, connectors.Cursor{V: 1, Upper: h.SB.Clock.Now(), Streams: map[string]*connectors.StreamCursor{"x": {}}})
	out := buf.String()
	if !strings.Contains(out, "retrying") {
		t.Fatalf("the injected 5xx left no log line; capture is not working: %q", out)
	}
	var leaks []string
	for _, s := range h.Secrets() {
		if s != "" && strings.Contains(out, s) {
			leaks = append(leaks, "credential")
		}
	}
	for _, r := range v.recs[connectors.Accounts] {
		if name := r.String(connectors.FName); len(name) > 3 && strings.Contains(out, name) {
			leaks = append(leaks, "account name "+name)
		}
	}
	for _, r := range v.recs[connectors.Activities] {
		if s := r.String(connectors.FSubject); len(s) > 6 && strings.Contains(out, s) {
			leaks = append(leaks, "activity subject")
		}
	}
	if strings.Contains(out, "secret-value-42") {
		leaks = append(leaks, "written value")
	}
	if len(leaks) > 0 {
		t.Fatalf("logs leak %v:\n%s", head(leaks), out)
	}
}
