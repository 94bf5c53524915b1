package hubspot_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	sbhubspot "github.com/crmpulse/crmpulse/internal/sandbox/hubspot"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
)

// listFixture serves a small sandbox with the search limiter off.
func listFixture(t *testing.T) (*sandbox.Sandbox, string) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{Accounts: 30, Seed: 5, Now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sandboxsrv.NewWithOptions(sb, sandboxsrv.Options{HubSpot: sbhubspot.Options{SearchPerSecond: -1}}))
	t.Cleanup(srv.Close)
	sb.Clock.Advance(time.Minute) // past the driver's lag
	return sb, srv.URL
}

func liveEngagements(sb *sandbox.Sandbox) map[string]bool {
	out := map[string]bool{}
	for _, table := range sandbox.HSEngagements {
		_ = sb.HS.Scan(table, func(r sandbox.Row) bool {
			if !r.Deleted {
				out[r.ID] = true
			}
			return true
		})
	}
	return out
}

func searchCalls(d *hubspot.Driver) int64 {
	var n int64
	for k, v := range d.Usage().Calls {
		if strings.Contains(k, "/search") {
			n += v
		}
	}
	return n
}

// readPages reads obj from cur one page at a time with a fresh driver per
// page (a restart from the checkpoint after every page), and returns the
// delivered ids, the final cursor and the search calls made.
func readPages(t *testing.T, sb *sandbox.Sandbox, base string, mode func(page int) hubspot.ReadMode, cur connectors.Cursor) (map[string]int, connectors.Cursor, int64) {
	t.Helper()
	ctx := context.Background()
	got := map[string]int{}
	var searches int64
	for page := 0; ; page++ {
		b, err := connectors.MarshalCursor(cur)
		if err != nil {
			t.Fatal(err)
		}
		if cur, err = connectors.UnmarshalCursor(b); err != nil {
			t.Fatal(err)
		}
		d, err := hubspot.New(hubspot.Options{Name: "hs-list", Session: httpx.StaticSession(sb.Opt.HubSpotToken), BaseURL: base,
			HTTP: httpx.Options{Wait: noWait, RequestsPerSecond: 1000, Burst: 100}, SearchPerSecond: 1000, InitialRead: mode(page), Lag: 15 * time.Second, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		p, err := connectors.New("hs-list", d).Changes(ctx, connectors.Activities, cur)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		searches += searchCalls(d)
		for _, r := range p.Records {
			got[r.ID]++
		}
		cur = p.Next
		if p.Done {
			return got, cur, searches
		}
		if page > 1000 {
			t.Fatal("no end")
		}
	}
}

func TestListInitialRead(t *testing.T) {
	sb, base := listFixture(t)
	live := liveEngagements(sb)
	list := func(int) hubspot.ReadMode { return hubspot.ReadList }

	// First window: every live activity exactly once, across restarts, with
	// no search call.
	got, cur, searches := readPages(t, sb, base, list, connectors.Cursor{})
	if searches != 0 {
		t.Errorf("first window made %d search calls", searches)
	}
	if !maps.Equal(keys(got), live) {
		t.Fatalf("first window delivered %d activities, %d live", len(got), len(live))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
	if cur.InWindow() || cur.Covered().IsZero() {
		t.Fatalf("window not complete: %+v", cur)
	}

	// The next window reads changes with search.
	var call string
	_ = sb.HS.Scan(sandbox.HSCalls, func(r sandbox.Row) bool { call = r.ID; return false })
	sb.Clock.Advance(time.Minute)
	if _, err := sb.HS.Update(sandbox.HSCalls, call, map[string]any{"hs_call_body": "Edited after the first read."}, sandbox.ActorUser); err != nil {
		t.Fatal(err)
	}
	sb.Clock.Advance(time.Minute)
	got, _, searches = readPages(t, sb, base, list, cur)
	if searches == 0 {
		t.Error("incremental window made no search call")
	}
	if got[call] != 1 {
		t.Errorf("edited call %s delivered %d times; got %v", call, got[call], slices.Sorted(maps.Keys(got)))
	}
}

// A stream whose first window was begun with search keeps using search
// after the driver is switched to list reads, so its keyset position is
// never taken for a list token; streams not begun yet use the list.
func TestListReadResumesSearchWindow(t *testing.T) {
	sb, base := listFixture(t)
	live := liveEngagements(sb)
	calls := sb.HS.Count(sandbox.HSCalls)
	if calls <= 100 {
		t.Fatalf("%d calls: too few for several pages", calls)
	}
	mode := func(page int) hubspot.ReadMode {
		if page == 0 {
			return hubspot.ReadSearch
		}
		return hubspot.ReadList
	}
	got, _, searches := readPages(t, sb, base, mode, connectors.Cursor{})
	if !maps.Equal(keys(got), live) {
		t.Fatalf("delivered %d activities, %d live", len(got), len(live))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
	// Calls (the first stream) are read by search to the end, 50 a page;
	// the other streams by list.
	if want := int64((calls + 49) / 50); searches < want || searches > want+1 {
		t.Errorf("%d search calls, want the %d pages of %d calls", searches, want, calls)
	}
}

func keys(m map[string]int) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
