package hubspot

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

type deal struct {
	name   string
	amount any // float64 or nil
	stage  string
	close  time.Time
}

func seedDeals(t *testing.T, e *env) []string {
	t.Helper()
	deals := []deal{
		{"Acme renewal", 5000.0, "closedwon", t0.AddDate(0, -2, 0)},
		{"Acme expansion", 12000.0, "qualifiedtobuy", t0.AddDate(0, 1, 0)},
		{"Globex pilot", 800.0, "appointmentscheduled", t0.AddDate(0, 0, 10)},
		{"Initech platform", nil, "closedlost", t0.AddDate(0, -1, 0)},
		{"Umbrella security add-on", 12000.0, "contractsent", t0.AddDate(0, 0, 20)},
	}
	var out []string
	for _, d := range deals {
		f := map[string]any{"dealname": d.name, "dealstage": d.stage, "closedate": d.close, "pipeline": "default"}
		if d.amount != nil {
			f["amount"] = d.amount
		}
		out = append(out, e.insert(t, "deals", f))
	}
	return out
}

func filters(fs ...map[string]any) map[string]any {
	return map[string]any{"filterGroups": []map[string]any{{"filters": fs}}}
}

func TestSearchOperators(t *testing.T) {
	e := newEnv(t)
	d := seedDeals(t, e)
	ms := func(tm time.Time) string { return strconv.FormatInt(tm.UnixMilli(), 10) }
	cases := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"EQ string is case-insensitive", filters(map[string]any{"propertyName": "dealname", "operator": "EQ", "value": "acme RENEWAL"}), []string{d[0]}},
		{"NEQ", filters(map[string]any{"propertyName": "dealstage", "operator": "NEQ", "value": "closedwon"}), []string{d[1], d[2], d[3], d[4]}},
		{"GT number", filters(map[string]any{"propertyName": "amount", "operator": "GT", "value": "4999"}), []string{d[0], d[1], d[4]}},
		{"LTE number as JSON number", filters(map[string]any{"propertyName": "amount", "operator": "LTE", "value": 5000}), []string{d[0], d[2]}},
		{"BETWEEN datetime epoch ms", filters(map[string]any{"propertyName": "closedate", "operator": "BETWEEN",
			"value": ms(t0), "highValue": ms(t0.AddDate(0, 0, 30))}), []string{d[2], d[4]}},
		{"LT datetime ISO", filters(map[string]any{"propertyName": "closedate", "operator": "LT", "value": "2026-05-01T00:00:00Z"}), []string{d[0], d[3]}},
		{"IN", filters(map[string]any{"propertyName": "dealstage", "operator": "IN", "values": []string{"closedwon", "closedlost"}}), []string{d[0], d[3]}},
		{"NOT_IN", filters(map[string]any{"propertyName": "dealstage", "operator": "NOT_IN", "values": []string{"closedwon", "closedlost"}}), []string{d[1], d[2], d[4]}},
		{"HAS_PROPERTY", filters(map[string]any{"propertyName": "amount", "operator": "HAS_PROPERTY"}), []string{d[0], d[1], d[2], d[4]}},
		{"NOT_HAS_PROPERTY", filters(map[string]any{"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"}), []string{d[3]}},
		{"CONTAINS_TOKEN word", filters(map[string]any{"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "acme"}), []string{d[0], d[1]}},
		{"CONTAINS_TOKEN wildcard", filters(map[string]any{"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "secur*"}), []string{d[4]}},
		{"NOT_CONTAINS_TOKEN", filters(map[string]any{"propertyName": "dealname", "operator": "NOT_CONTAINS_TOKEN", "value": "acme"}), []string{d[2], d[3], d[4]}},
		{"hs_object_id GT re-anchor", filters(map[string]any{"propertyName": "hs_object_id", "operator": "GT", "value": d[2]}), []string{d[3], d[4]}},
		{"AND inside a group", filters(
			map[string]any{"propertyName": "amount", "operator": "GTE", "value": "12000"},
			map[string]any{"propertyName": "dealstage", "operator": "EQ", "value": "contractsent"}), []string{d[4]}},
		{"OR across groups", map[string]any{"filterGroups": []map[string]any{
			{"filters": []map[string]any{{"propertyName": "dealstage", "operator": "EQ", "value": "closedlost"}}},
			{"filters": []map[string]any{{"propertyName": "amount", "operator": "LT", "value": "1000"}}},
		}}, []string{d[2], d[3]}},
		{"no filters", map[string]any{}, d},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.body["limit"] = 100
			p, r := e.c.search(t, "deals", c.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if !slices.Equal(ids(p.Results), c.want) || p.Total != len(c.want) {
				t.Fatalf("got %v (total %d), want %v", ids(p.Results), p.Total, c.want)
			}
		})
	}
}

func TestSearchSortsAndPaging(t *testing.T) {
	e := newEnv(t)
	d := seedDeals(t, e)
	body := map[string]any{
		"filterGroups": []map[string]any{{"filters": []map[string]any{{"propertyName": "amount", "operator": "HAS_PROPERTY"}}}},
		"sorts":        []map[string]any{{"propertyName": "amount", "direction": "DESCENDING"}},
		"properties":   []string{"dealname", "amount"},
		"limit":        2,
	}
	p, r := e.c.search(t, "deals", body)
	if r.status != 200 {
		t.Fatalf("search: %s", r.body)
	}
	// Ties (12000) are broken by id ascending.
	if !slices.Equal(ids(p.Results), []string{d[1], d[4]}) || p.Total != 4 || p.Paging == nil || p.Paging.Next.After != "2" {
		t.Fatalf("page 1: %s", r.body)
	}
	if r.header.Get("X-HubSpot-RateLimit-Max") != "" {
		t.Error("search responses must not carry rate-limit headers")
	}
	e.golden(t, "search_page", r)
	body["after"] = p.Paging.Next.After
	p, _ = e.c.search(t, "deals", body)
	if !slices.Equal(ids(p.Results), []string{d[0], d[2]}) || p.Paging != nil {
		t.Fatalf("page 2: %v paging %v", ids(p.Results), p.Paging)
	}

	// Sorts given as plain strings are ignored: default id order.
	p, _ = e.c.search(t, "deals", map[string]any{"sorts": []string{"-amount"}, "limit": 10})
	if !slices.Equal(ids(p.Results), d) {
		t.Fatalf("string sorts: %v", ids(p.Results))
	}
	// Archived records never appear.
	if err := e.sb.HS.Delete("deals", d[0]); err != nil {
		t.Fatal(err)
	}
	p, _ = e.c.search(t, "deals", map[string]any{})
	if slices.Contains(ids(p.Results), d[0]) || p.Total != 4 {
		t.Fatalf("archived deal in search: %v", ids(p.Results))
	}
}

func TestSearchValidation(t *testing.T) {
	e := newEnv(t)
	seedDeals(t, e)
	r := e.c.must(t, 400, "POST", "/crm/v3/objects/deals/search", map[string]any{"limit": 200, "after": "9801"})
	if got := r.err(t); got.Category != "VALIDATION_ERROR" {
		t.Fatalf("past 10k: %s", r.body)
	}
	e.golden(t, "error_search_10k", r)
	e.c.must(t, 200, "POST", "/crm/v3/objects/deals/search", map[string]any{"limit": 200, "after": "9800"})

	groups := make([]map[string]any, 6)
	for i := range groups {
		groups[i] = map[string]any{"filters": []map[string]any{{"propertyName": "amount", "operator": "HAS_PROPERTY"}}}
	}
	seven := make([]map[string]any, 7)
	for i := range seven {
		seven[i] = map[string]any{"propertyName": "amount", "operator": "HAS_PROPERTY"}
	}
	for name, body := range map[string]map[string]any{
		"limit over 200":    {"limit": 201},
		"six groups":        {"filterGroups": groups},
		"seven filters":     filters(seven...),
		"unknown property":  filters(map[string]any{"propertyName": "hs_lastmodified", "operator": "GT", "value": "1"}),
		"unknown operator":  filters(map[string]any{"propertyName": "amount", "operator": "LIKE", "value": "1"}),
		"IN without values": filters(map[string]any{"propertyName": "amount", "operator": "IN"}),
		"non-numeric after": {"after": "NTI1"},
	} {
		if r := e.c.do(t, "POST", "/crm/v3/objects/deals/search", body); r.status != 400 || r.err(t).Category != "VALIDATION_ERROR" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

func TestSearchPagesUpTo10k(t *testing.T) {
	e := newEnv(t)
	for i := range 10050 {
		if _, err := e.sb.HS.Insert("notes", map[string]any{"hs_note_body": fmt.Sprint("note ", i), "hs_timestamp": t0}, "user"); err != nil {
			t.Fatal(err)
		}
	}
	body := map[string]any{"limit": 200, "properties": []string{"hs_note_body"}}
	seen := 0
	for {
		p, r := e.c.search(t, "notes", body)
		if r.status == 400 {
			break
		}
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		if p.Total != 10050 {
			t.Fatalf("total %d", p.Total)
		}
		seen += len(p.Results)
		if p.Paging == nil {
			t.Fatal("paging ended before the 10k cap")
		}
		body["after"] = p.Paging.Next.After
	}
	if seen != 10000 {
		t.Fatalf("read %d records before the cap, want 10000", seen)
	}
}

func TestSearchIndexLag(t *testing.T) {
	e := newEnv(t)
	e.h.SetIndexLag(5 * time.Second)
	id := e.insert(t, "companies", map[string]any{"name": "Fresh"})
	p, _ := e.c.search(t, "companies", map[string]any{})
	if p.Total != 0 {
		t.Fatalf("record visible before the index caught up: %v", ids(p.Results))
	}
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies/"+id, nil) // reads are immediate
	e.sb.Clock.Advance(5 * time.Second)
	p, _ = e.c.search(t, "companies", map[string]any{})
	if !slices.Equal(ids(p.Results), []string{id}) {
		t.Fatalf("after the lag: %v", ids(p.Results))
	}
}

func TestSearchRateLimit(t *testing.T) {
	e := newEnv(t)
	e.h.SetSearchLimit(5)
	for i := range 5 {
		if _, r := e.c.search(t, "companies", map[string]any{}); r.status != 200 {
			t.Fatalf("search %d: %d", i, r.status)
		}
	}
	_, r := e.c.search(t, "companies", map[string]any{})
	if r.status != 429 {
		t.Fatalf("6th search in one second: %d", r.status)
	}
	got := r.err(t)
	if got.ErrorType != "RATE_LIMIT" || got.Message != "You have reached your secondly limit." || r.header.Get("X-HubSpot-RateLimit-Max") != "" {
		t.Fatalf("search 429: %s headers %v", r.body, r.header)
	}
	// Other endpoints are not affected, and the window slides.
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	e.sb.Clock.Advance(time.Second)
	if _, r := e.c.search(t, "companies", map[string]any{}); r.status != 200 {
		t.Fatalf("after a second: %d", r.status)
	}
}
