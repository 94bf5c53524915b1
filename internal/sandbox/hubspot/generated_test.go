package hubspot

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// TestGeneratedPortal reads every object type of a generated portal through
// the API: all stored values must render, and paging must visit every live
// record exactly once.
func TestGeneratedPortal(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{Accounts: 40, Seed: 7, Now: t0})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	h := NewHandler(sb, Options{SearchPerSecond: -1})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := &client{base: srv.URL, token: sb.Opt.HubSpotToken}
	for _, ot := range objectTypes {
		props := ""
		for i, p := range h.allProps(ot) {
			if i > 0 {
				props += ","
			}
			props += p.name
		}
		got := c.listAll(t, ot.table, "limit=100&associations=companies&properties="+props)
		seen := map[string]bool{}
		for _, o := range got {
			if seen[o.ID] {
				t.Fatalf("%s: id %s listed twice", ot.table, o.ID)
			}
			seen[o.ID] = true
			if o.UpdatedAt != o.prop(ot.modified) || o.prop("hs_object_id") != o.ID {
				t.Fatalf("%s %s: updatedAt %s, %s %s", ot.table, o.ID, o.UpdatedAt, ot.modified, o.prop(ot.modified))
			}
		}
		if want := sb.HS.Count(ot.table); len(got) != want {
			t.Errorf("%s: listed %d, store has %d live", ot.table, len(got), want)
		}
		p, r := c.search(t, ot.table, map[string]any{"limit": 1, "filterGroups": []map[string]any{{"filters": []map[string]any{
			{"propertyName": ot.modified, "operator": "LTE", "value": fmt.Sprint(sb.Clock.Now().UnixMilli())}}}}})
		if r.status != 200 || p.Total != sb.HS.Count(ot.table) {
			t.Errorf("%s: search total %d (status %d), want %d", ot.table, p.Total, r.status, sb.HS.Count(ot.table))
		}
	}
}

// TestConcurrentWritesAndReads exercises the handler's shared state from
// many goroutines (run with -race).
func TestConcurrentWritesAndReads(t *testing.T) {
	e := newEnv(t)
	e.sb.Clock.Unfreeze()
	e.h.SetSearchLimit(0)
	e.aiSegment(t, "companies")
	cs := seedCompanies(t, e, 20)
	var list struct {
		List listBody `json:"list"`
	}
	e.c.must(t, 200, "POST", "/crm/v3/lists", vipList("VIP")).decode(t, &list)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				id := cs[(g*10+i)%len(cs)]
				seg := []string{"vip", "at_risk"}[i%2]
				if r := e.c.do(t, "PATCH", "/crm/v3/objects/companies/"+id, map[string]any{"properties": map[string]any{"ai_segment": seg}}); r.status != 200 {
					t.Errorf("patch: %d %s", r.status, r.body)
				}
				if r := e.c.do(t, "GET", "/crm/v3/lists/"+list.List.ListID+"/memberships", nil); r.status != 200 {
					t.Errorf("memberships: %d", r.status)
				}
				if _, r := e.c.search(t, "companies", map[string]any{"limit": 5}); r.status != 200 {
					t.Errorf("search: %d", r.status)
				}
			}
		}()
	}
	wg.Wait()
}
