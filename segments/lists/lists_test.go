package lists_test

import (
	"context"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/crmhist"
	"github.com/crmpulse/crmpulse/segments/internal/segtest"
	"github.com/crmpulse/crmpulse/segments/lists"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

var sandboxNow = time.Date(2025, 3, 31, 9, 0, 0, 0, time.UTC)

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.LLM.Language = "en"
	sf := config.DefaultConnection("sf", config.KindSalesforce)
	hs := config.DefaultConnection("hs", config.KindHubSpot)
	cfg.Connections = []config.Connection{sf, hs}
	return cfg
}

// creates sums the counters of the endpoints that create lists.
func creates(c map[string]int64) (n int64) {
	for k, v := range c {
		if strings.Contains(k, "POST") && (strings.HasSuffix(k, "/crm/v3/lists") || strings.Contains(k, "list-info") || strings.HasSuffix(k, "analytics/reports")) {
			n += v
		}
	}
	return n
}

func TestApplyListsMatchWrittenLabels(t *testing.T) {
	ctx := context.Background()
	env := segtest.Start(t, sandbox.Options{Accounts: 120, Seed: 3, Now: sandboxNow, ActivityScale: 0.1})
	cfg := testConfig()
	tr := segments.NewTracker(redistest.Client(t), "t")
	for _, conn := range []*connectors.Conn{env.SF, env.HS} {
		t.Run(conn.Kind(), func(t *testing.T) {
			field, err := lists.FieldFor(cfg, conn.Name())
			if err != nil {
				t.Fatal(err)
			}
			now := env.SB.Clock.Now()
			hs, err := crmhist.Load(ctx, conn, now)
			if err != nil {
				t.Fatal(err)
			}
			seg, err := segments.Design(ctx, hs, now, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Record(ctx, conn.Name(), seg); err != nil {
				t.Fatal(err)
			}
			c0 := creates(env.Counters(t))
			res, err := lists.Apply(ctx, conn, tr, seg, field)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(seg.Segments) {
				t.Fatalf("%d results for %d segments", len(res), len(seg.Segments))
			}
			for _, r := range res {
				if !r.Created || r.List.ID == "" {
					t.Errorf("first apply of %s: %+v", r.Segment, r)
				}
			}
			c1 := creates(env.Counters(t))
			if c1-c0 != int64(len(seg.Segments)) {
				t.Errorf("%d create calls for %d segments", c1-c0, len(seg.Segments))
			}
			lsts, err := lists.Lists(ctx, tr, conn.Name())
			if err != nil {
				t.Fatal(err)
			}
			// Before the labels are written every account would join its list.
			pending := seg.Pending()
			deltas, err := segments.MembershipDelta(ctx, conn, lsts, pending)
			if err != nil {
				t.Fatal(err)
			}
			joins := 0
			for _, d := range deltas {
				joins += len(d.Join)
				if len(d.Leave) != 0 || d.Members != 0 {
					t.Errorf("%s: %d members, leave %v before any write", d.Segment, d.Members, d.Leave)
				}
			}
			if joins != len(seg.Accounts) {
				t.Errorf("%d joins, want %d", joins, len(seg.Accounts))
			}
			writeLabels(t, conn, field.Name, pending)
			checkMembers(t, conn, lsts, pending)
			deltas, err = segments.MembershipDelta(ctx, conn, lsts, pending)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range deltas {
				if len(d.Join)+len(d.Leave) != 0 {
					t.Errorf("%s: join %v leave %v after writing", d.Segment, d.Join, d.Leave)
				}
			}
			// Pending moves show as one leave and one join.
			moved := seg.Accounts[0]
			to := segments.Dormant
			if moved.Segment == to {
				to = segments.VIP
			}
			pending[moved.AccountID] = to
			deltas, err = segments.MembershipDelta(ctx, conn, lsts, pending)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range deltas {
				var wj, wl []string
				if d.Segment == to {
					wj = []string{moved.AccountID}
				}
				if d.Segment == moved.Segment {
					wl = []string{moved.AccountID}
				}
				if len(d.Join)+len(wj) > 0 && !reflect.DeepEqual(d.Join, wj) || len(d.Leave)+len(wl) > 0 && !reflect.DeepEqual(d.Leave, wl) {
					t.Errorf("%s: join %v leave %v, want %v %v", d.Segment, d.Join, d.Leave, wj, wl)
				}
			}

			// Applying again creates nothing.
			res, err = lists.Apply(ctx, conn, tr, seg, field)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Created || r.Renamed || r.List.ID != lsts[r.Segment].ID {
					t.Errorf("second apply of %s: %+v (was %+v)", r.Segment, r, lsts[res[i].Segment])
				}
			}
			if c2 := creates(env.Counters(t)); c2 != c1 {
				t.Errorf("second apply made %d create calls", c2-c1)
			}

			// A renamed label updates the same list.
			cfg.Segments.Overrides = map[string]config.SegmentOverride{segments.VIP: {Name: "Top customers"}}
			defer func() { cfg.Segments.Overrides = nil }()
			seg2, err := segments.Design(ctx, hs, now, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err = lists.Apply(ctx, conn, tr, seg2, field)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Created || r.List.ID != lsts[r.Segment].ID {
					t.Errorf("apply after rename, %s: %+v", r.Segment, r)
				}
				if r.Renamed != (r.Segment == segments.VIP) {
					t.Errorf("%s renamed=%v", r.Segment, r.Renamed)
				}
				if r.Segment == segments.VIP && r.List.Name != "AI segment: Top customers (vip)" {
					t.Errorf("renamed list name %q", r.List.Name)
				}
			}
			if c3 := creates(env.Counters(t)); c3 != c1 {
				t.Errorf("rename made %d create calls", c3-c1)
			}
			checkMembers(t, conn, lsts, seg.Pending())
			countLists(t, env, conn, len(seg.Segments))
		})
	}
}

func writeLabels(t *testing.T, conn *connectors.Conn, field string, pending map[string]string) {
	t.Helper()
	var ups []connectors.Update
	for acc, s := range pending {
		ups = append(ups, connectors.Update{ID: acc, Fields: map[string]any{field: s}})
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].ID < ups[j].ID })
	res, err := conn.UpdateFields(context.Background(), connectors.Accounts, ups)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK {
			t.Fatalf("write %s: %v", r.ID, r.Err)
		}
	}
}

// checkMembers: every list holds exactly the accounts labelled with its segment.
func checkMembers(t *testing.T, conn *connectors.Conn, lsts map[string]connectors.Segment, labels map[string]string) {
	t.Helper()
	want := map[string][]string{}
	for acc, s := range labels {
		want[s] = append(want[s], acc)
	}
	for id, l := range lsts {
		got, err := conn.SegmentMembers(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		sort.Strings(want[id])
		if len(got)+len(want[id]) > 0 && !reflect.DeepEqual(got, want[id]) {
			t.Errorf("%s list %s: %d members, want %d", id, l.ID, len(got), len(want[id]))
		}
	}
}

// countLists checks, by listing the CRM's own lists, that there is exactly
// one list per segment and no other crmpulse list.
func countLists(t *testing.T, env *segtest.Env, conn *connectors.Conn, want int) {
	t.Helper()
	var names []string
	switch conn.Kind() {
	case "hubspot":
		var res struct {
			Lists []struct {
				Name string `json:"name"`
			} `json:"lists"`
		}
		env.Call(t, "hubspot", "POST", "/crm/v3/lists/search", map[string]any{"query": "AI segment", "count": 100}, &res)
		for _, l := range res.Lists {
			names = append(names, l.Name)
		}
	case "salesforce":
		var res struct {
			ListViews []struct {
				Label string `json:"label"`
			} `json:"listviews"`
		}
		env.Call(t, "salesforce", "GET", "/services/data/v61.0/sobjects/Account/listviews", nil, &res)
		for _, l := range res.ListViews {
			if strings.HasPrefix(l.Label, "AI segment") {
				names = append(names, l.Label)
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("duplicate list %q", n)
		}
		seen[n] = true
	}
	if len(names) != want {
		t.Errorf("%d crmpulse lists in %s, want %d: %q", len(names), conn.Kind(), want, names)
	}
}
