package hubspot

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func seedCompanies(t *testing.T, e *env, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		out = append(out, e.insert(t, "companies", map[string]any{
			"name": fmt.Sprintf("Company %03d", i), "domain": fmt.Sprintf("c%03d.example", i),
			"numberofemployees": float64(10 * (i + 1)), "industry": "MACHINERY",
		}))
	}
	return out
}

func TestListAllCompaniesWithPaging(t *testing.T) {
	e := newEnv(t)
	want := seedCompanies(t, e, 25)
	if err := e.sb.HS.Delete("companies", want[3]); err != nil {
		t.Fatal(err)
	}
	archived := want[3]
	want = slices.Delete(want, 3, 4)

	got := e.c.listAll(t, "companies", "limit=7&properties=name,numberofemployees")
	if !slices.Equal(ids(got), want) {
		t.Fatalf("listed ids %v, want %v", ids(got), want)
	}
	for _, o := range got {
		if o.prop("hs_object_id") != o.ID || o.Archived {
			t.Errorf("%s: hs_object_id %q archived %v", o.ID, o.prop("hs_object_id"), o.Archived)
		}
		if o.UpdatedAt != o.prop("hs_lastmodifieddate") {
			t.Errorf("%s: updatedAt %s != hs_lastmodifieddate %s", o.ID, o.UpdatedAt, o.prop("hs_lastmodifieddate"))
		}
		if _, ok := o.Properties["domain"]; ok {
			t.Errorf("%s: domain returned though not requested", o.ID)
		}
	}
	if got[0].prop("numberofemployees") != "10" {
		t.Errorf("numberofemployees = %q, want the string 10", got[0].prop("numberofemployees"))
	}

	arch := e.c.listAll(t, "companies", "archived=true")
	if len(arch) != 1 || arch[0].ID != archived || !arch[0].Archived || arch[0].ArchivedAt == "" {
		t.Fatalf("archived=true returned %+v, want only %s with archivedAt", arch, archived)
	}

	first := e.c.must(t, 200, "GET", "/crm/v3/objects/companies?limit=2&properties=name,domain", nil)
	e.golden(t, "list_page", first)
}

func TestListLimitIsClampedTo100(t *testing.T) {
	e := newEnv(t)
	seedCompanies(t, e, 105)
	var p page
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies?limit=500", nil).decode(t, &p)
	if len(p.Results) != 100 || p.Paging == nil {
		t.Fatalf("limit=500 returned %d results, paging %v; want 100 and a next page", len(p.Results), p.Paging)
	}
	if r := e.c.do(t, "GET", "/crm/v3/objects/companies?limit=abc", nil); r.status != 400 {
		t.Fatalf("limit=abc: status %d, want 400", r.status)
	}
}

func TestGetObject(t *testing.T) {
	e := newEnv(t)
	id := e.insert(t, "contacts", map[string]any{"email": "ann@acme.example", "firstname": "Ann"})
	var o object
	e.c.must(t, 200, "GET", "/crm/v3/objects/contacts/"+id, nil).decode(t, &o)
	if o.prop("email") != "ann@acme.example" || o.prop("lastmodifieddate") != o.UpdatedAt {
		t.Fatalf("contact = %+v", o.Properties)
	}
	if _, ok := o.Properties["hs_lastmodifieddate"]; ok {
		t.Error("contacts must carry lastmodifieddate, not hs_lastmodifieddate")
	}
	e.c.must(t, 200, "GET", "/crm/v3/objects/contacts/ann@acme.example?idProperty=email", nil).decode(t, &o)
	if o.ID != id {
		t.Fatalf("idProperty=email found %s, want %s", o.ID, id)
	}
	// Date-versioned alias and object type id.
	e.c.must(t, 200, "GET", "/crm/objects/2026-03/0-1/"+id, nil)
	r := e.c.must(t, 404, "GET", "/crm/v3/objects/contacts/999999", nil)
	if got := r.err(t); got.Category != "OBJECT_NOT_FOUND" {
		t.Errorf("unknown id: category %q", got.Category)
	}
	r = e.c.must(t, 400, "GET", "/crm/v3/objects/companys", nil)
	if got := r.err(t); !strings.Contains(got.Message, "Unable to infer object type") {
		t.Errorf("unknown type: %q", got.Message)
	}
}

func TestCreateAndPatch(t *testing.T) {
	e := newEnv(t)
	var o object
	e.c.must(t, 201, "POST", "/crm/v3/objects/deals", map[string]any{
		"properties": map[string]any{"dealname": "Big one", "amount": "1200.50", "dealstage": "qualifiedtobuy", "closedate": "2026-06-30T00:00:00Z"},
	}).decode(t, &o)
	if o.prop("amount") != "1200.5" || o.prop("closedate") != "2026-06-30T00:00:00.000Z" {
		t.Fatalf("created deal = %v", o.Properties)
	}
	e.tick()
	e.c.must(t, 200, "PATCH", "/crm/v3/objects/deals/"+o.ID, map[string]any{"properties": map[string]any{"amount": 99}}).decode(t, &o)
	if o.prop("amount") != "99" || o.UpdatedAt == o.CreatedAt {
		t.Fatalf("patched deal = %v updatedAt %s createdAt %s", o.Properties, o.UpdatedAt, o.CreatedAt)
	}
	r := e.c.must(t, 400, "PATCH", "/crm/v3/objects/deals/"+o.ID, map[string]any{"properties": map[string]any{"dealstage": "nope", "amount": "x"}})
	got := r.err(t)
	codes := []string{}
	for _, d := range got.Errors {
		codes = append(codes, d.Code)
	}
	slices.Sort(codes)
	if got.Category != "VALIDATION_ERROR" || !slices.Equal(codes, []string{"INVALID_FLOAT", "INVALID_OPTION"}) ||
		!strings.HasPrefix(got.Message, "Property values were not valid: ") {
		t.Fatalf("invalid patch: %s", r.body)
	}
	e.golden(t, "error_invalid_option", e.c.must(t, 400, "PATCH", "/crm/v3/objects/deals/"+o.ID,
		map[string]any{"properties": map[string]any{"dealstage": "nope"}}))
	r = e.c.must(t, 400, "PATCH", "/crm/v3/objects/deals/"+o.ID, map[string]any{"properties": map[string]any{"hs_lastmodifieddate": "1"}})
	if got := r.err(t); len(got.Errors) != 1 || got.Errors[0].Code != "READ_ONLY_VALUE" {
		t.Fatalf("read-only write: %s", r.body)
	}
}

func TestBatchUpdatePartialFailure(t *testing.T) {
	e := newEnv(t)
	e.aiSegment(t, "companies")
	cs := seedCompanies(t, e, 3)
	e.tick()
	r := e.c.must(t, 207, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[0], "properties": map[string]any{"ai_segment": "vip"}},
		{"id": "424242", "properties": map[string]any{"ai_segment": "vip"}},
		{"id": cs[1], "properties": map[string]any{"ai_segment": "gold"}},
		{"id": cs[2], "properties": map[string]any{"no_such_prop": "1"}},
	}})
	var resp struct {
		Status    string   `json:"status"`
		Results   []object `json:"results"`
		NumErrors int      `json:"numErrors"`
		Errors    []struct {
			Status   string              `json:"status"`
			Category string              `json:"category"`
			Message  string              `json:"message"`
			Context  map[string][]string `json:"context"`
			Errors   []struct {
				Code string `json:"code"`
			} `json:"errors"`
		} `json:"errors"`
	}
	r.decode(t, &resp)
	if resp.Status != "COMPLETE" || resp.NumErrors != 3 || len(resp.Results) != 1 || resp.Results[0].ID != cs[0] {
		t.Fatalf("207 body: %s", r.body)
	}
	byID := map[string]string{}
	for _, er := range resp.Errors {
		code := er.Category
		if len(er.Errors) > 0 {
			code += "/" + er.Errors[0].Code
		}
		for _, id := range er.Context["ids"] {
			byID[id] = code
		}
	}
	want := map[string]string{"424242": "OBJECT_NOT_FOUND", cs[1]: "VALIDATION_ERROR/INVALID_OPTION", cs[2]: "VALIDATION_ERROR/PROPERTY_DOESNT_EXIST"}
	for id, code := range want {
		if byID[id] != code {
			t.Errorf("error for %s = %q, want %q", id, byID[id], code)
		}
	}
	e.golden(t, "batch_update_207", r)

	// The successful input was written by the integration.
	var o object
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies/"+cs[0]+"?properties=ai_segment&propertiesWithHistory=ai_segment", nil).decode(t, &o)
	h := o.PropertiesWithHistory["ai_segment"]
	if o.prop("ai_segment") != "vip" || len(h) != 1 || h[0].SourceType != "INTEGRATION" || h[0].SourceID != e.h.opt.AppID {
		t.Fatalf("after update: %v history %+v", o.Properties, h)
	}
	if o.UpdatedAt != h[0].Timestamp {
		t.Errorf("updatedAt %s, history timestamp %s", o.UpdatedAt, h[0].Timestamp)
	}
	// The failed inputs were not.
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies/"+cs[1]+"?properties=ai_segment", nil).decode(t, &o)
	if o.prop("ai_segment") != "<null>" {
		t.Errorf("invalid input was written: %v", o.Properties)
	}

	// All inputs good: 200.
	e.c.must(t, 200, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[1], "properties": map[string]any{"ai_segment": "at_risk"}},
	}})
}

func TestBatchLimits(t *testing.T) {
	e := newEnv(t)
	cs := seedCompanies(t, e, 2)
	inputs := make([]map[string]any, 101)
	for i := range inputs {
		inputs[i] = map[string]any{"id": fmt.Sprint(i + 1), "properties": map[string]any{"name": "x"}}
	}
	r := e.c.must(t, 400, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": inputs})
	e.golden(t, "error_batch_too_large", r)
	e.c.must(t, 400, "POST", "/crm/v3/objects/companies/batch/read", map[string]any{"inputs": inputs})
	r = e.c.must(t, 400, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[0], "properties": map[string]any{"name": "a"}}, {"id": cs[0], "properties": map[string]any{"name": "b"}},
	}})
	if got := r.err(t); !strings.Contains(got.Message, "Duplicate IDs") {
		t.Errorf("duplicate ids: %s", r.body)
	}
}

func TestBatchRead(t *testing.T) {
	e := newEnv(t)
	cs := seedCompanies(t, e, 2)
	r := e.c.must(t, 207, "POST", "/crm/v3/objects/companies/batch/read", map[string]any{
		"properties": []string{"name"}, "propertiesWithHistory": []string{"name"},
		"inputs": []map[string]any{{"id": cs[1]}, {"id": "31337"}, {"id": cs[0]}},
	})
	var resp struct {
		Results []object `json:"results"`
		Errors  []struct {
			Category string              `json:"category"`
			Context  map[string][]string `json:"context"`
		} `json:"errors"`
	}
	r.decode(t, &resp)
	if len(resp.Results) != 2 || len(resp.Errors) != 1 || resp.Errors[0].Category != "OBJECT_NOT_FOUND" ||
		!slices.Equal(resp.Errors[0].Context["ids"], []string{"31337"}) {
		t.Fatalf("batch read: %s", r.body)
	}
	for _, o := range resp.Results {
		if h := o.PropertiesWithHistory["name"]; len(h) != 1 || h[0].SourceType != "CRM_UI" {
			t.Errorf("%s: history %+v", o.ID, h)
		}
	}
	e.c.must(t, 200, "POST", "/crm/v3/objects/companies/batch/read", map[string]any{
		"inputs": []map[string]any{{"id": "c000.example"}}, "idProperty": "domain",
	})
}
