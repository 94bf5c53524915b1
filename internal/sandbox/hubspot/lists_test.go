package hubspot

import (
	"net/url"
	"slices"
	"testing"
)

func vipList(name string) map[string]any {
	return map[string]any{
		"name": name, "objectTypeId": "0-2", "processingType": "DYNAMIC",
		"filterBranch": map[string]any{
			"filterBranchType": "OR", "filters": []any{},
			"filterBranches": []any{map[string]any{
				"filterBranchType": "AND", "filterBranches": []any{},
				"filters": []any{map[string]any{
					"filterType": "PROPERTY", "property": "ai_segment",
					"operation": map[string]any{"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": []string{"vip"},
						"includeObjectsWithNoValueSet": false},
				}},
			}},
		},
	}
}

type listBody struct {
	ListID           string         `json:"listId"`
	Name             string         `json:"name"`
	ProcessingType   string         `json:"processingType"`
	ProcessingStatus string         `json:"processingStatus"`
	Size             int            `json:"size"`
	FilterBranch     map[string]any `json:"filterBranch"`
}

func memberIDs(t *testing.T, c *client, listID string) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		path := "/crm/v3/lists/" + listID + "/memberships?limit=1"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		var p struct {
			Results []struct {
				RecordID            string `json:"recordId"`
				MembershipTimestamp string `json:"membershipTimestamp"`
			} `json:"results"`
			Paging *struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		c.must(t, 200, "GET", path, nil).decode(t, &p)
		for _, m := range p.Results {
			out = append(out, m.RecordID)
		}
		if p.Paging == nil {
			return out
		}
		after = p.Paging.Next.After
	}
}

func TestDynamicListFollowsBatchUpdates(t *testing.T) {
	e := newEnv(t)
	e.aiSegment(t, "companies")
	cs := seedCompanies(t, e, 4)
	r := e.c.must(t, 200, "POST", "/crm/v3/lists", vipList("AI segment: VIP"))
	e.golden(t, "list_create", r)
	var created struct {
		List listBody `json:"list"`
	}
	r.decode(t, &created)
	id := created.List.ListID
	if id == "" || created.List.ProcessingType != "DYNAMIC" || created.List.FilterBranch["filterBranchOperator"] != "OR" {
		t.Fatalf("create response not wrapped in list: %s", r.body)
	}
	if got := memberIDs(t, e.c, id); len(got) != 0 {
		t.Fatalf("members before any vip: %v", got)
	}

	e.tick()
	e.c.must(t, 200, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[0], "properties": map[string]any{"ai_segment": "vip"}},
		{"id": cs[2], "properties": map[string]any{"ai_segment": "vip"}},
		{"id": cs[3], "properties": map[string]any{"ai_segment": "at_risk"}},
	}})
	if got := memberIDs(t, e.c, id); !slices.Equal(got, []string{cs[0], cs[2]}) {
		t.Fatalf("members after update: %v, want %v", got, []string{cs[0], cs[2]})
	}
	e.c.must(t, 200, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[0], "properties": map[string]any{"ai_segment": ""}},
		{"id": cs[3], "properties": map[string]any{"ai_segment": "vip"}},
	}})
	if got := memberIDs(t, e.c, id); !slices.Equal(got, []string{cs[2], cs[3]}) {
		t.Fatalf("members after second update: %v", got)
	}

	var got struct {
		List listBody `json:"list"`
	}
	e.c.must(t, 200, "GET", "/crm/v3/lists/"+id, nil).decode(t, &got)
	if got.List.Size != 2 || got.List.ProcessingStatus != "COMPLETE" || got.List.FilterBranch != nil {
		t.Fatalf("get without includeFilters: %+v", got.List)
	}
	e.c.must(t, 200, "GET", "/crm/v3/lists/"+id+"?includeFilters=true", nil).decode(t, &got)
	if got.List.FilterBranch == nil {
		t.Fatal("includeFilters=true returned no filterBranch")
	}
	e.c.must(t, 200, "GET", "/crm/lists/2026-03/object-type-id/0-2/name/ai%20segment:%20vip", nil).decode(t, &got)
	if got.List.ListID != id {
		t.Fatalf("by name: %+v", got.List)
	}

	// Names are unique.
	r = e.c.must(t, 400, "POST", "/crm/v3/lists", vipList("AI segment: VIP"))
	if got := r.err(t); got.Category != "VALIDATION_ERROR" {
		t.Fatalf("duplicate name: %s", r.body)
	}
	e.golden(t, "error_list_duplicate_name", r)

	// Changing the filters changes the members.
	branch := vipList("")["filterBranch"].(map[string]any)
	branch["filterBranches"].([]any)[0].(map[string]any)["filters"].([]any)[0].(map[string]any)["operation"].(map[string]any)["values"] = []string{"at_risk"}
	e.c.must(t, 200, "PUT", "/crm/v3/lists/"+id+"/update-list-filters", map[string]any{"filterBranch": branch})
	if got := memberIDs(t, e.c, id); len(got) != 0 {
		t.Fatalf("members after filter change: %v", got)
	}
	// Dynamic memberships cannot be edited by hand.
	e.c.must(t, 400, "PUT", "/crm/v3/lists/"+id+"/memberships/add", []string{cs[1]})

	var search struct {
		Lists []listBody `json:"lists"`
		Total int        `json:"total"`
	}
	e.c.must(t, 200, "POST", "/crm/v3/lists/search", map[string]any{"query": "vip", "processingTypes": []string{"DYNAMIC"}}).decode(t, &search)
	if search.Total != 1 || search.Lists[0].ListID != id {
		t.Fatalf("list search: %+v", search)
	}
	e.c.must(t, 204, "DELETE", "/crm/v3/lists/"+id, nil)
	e.c.must(t, 404, "GET", "/crm/v3/lists/"+id, nil)
	e.c.must(t, 204, "PUT", "/crm/v3/lists/"+id+"/restore", nil)
	e.c.must(t, 200, "GET", "/crm/v3/lists/"+id, nil)
}

func TestManualAndSnapshotLists(t *testing.T) {
	e := newEnv(t)
	e.aiSegment(t, "companies")
	cs := seedCompanies(t, e, 3)
	var created struct {
		List listBody `json:"list"`
	}
	e.c.must(t, 200, "POST", "/crm/v3/lists", map[string]any{"name": "Hand picked", "objectTypeId": "0-2", "processingType": "MANUAL"}).decode(t, &created)
	id := created.List.ListID
	var added map[string][]string
	e.c.must(t, 200, "PUT", "/crm/v3/lists/"+id+"/memberships/add", []string{cs[1], "777"}).decode(t, &added)
	if !slices.Equal(added["recordsIdsAdded"], []string{cs[1]}) || !slices.Equal(added["recordIdsMissing"], []string{"777"}) {
		t.Fatalf("add: %v", added)
	}
	if got := memberIDs(t, e.c, id); !slices.Equal(got, []string{cs[1]}) {
		t.Fatalf("manual members %v", got)
	}
	e.c.must(t, 200, "PUT", "/crm/v3/lists/"+id+"/memberships/remove", []string{cs[1]})
	if got := memberIDs(t, e.c, id); len(got) != 0 {
		t.Fatalf("after remove %v", got)
	}
	var renamed struct {
		UpdatedList listBody `json:"updatedList"`
	}
	e.c.must(t, 200, "PUT", "/crm/v3/lists/"+id+"/update-list-name?listName=Renamed", nil).decode(t, &renamed)
	if renamed.UpdatedList.Name != "Renamed" {
		t.Fatalf("rename: %+v", renamed)
	}

	// A snapshot is evaluated once, at creation.
	e.c.must(t, 200, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[0], "properties": map[string]any{"ai_segment": "vip"}},
	}})
	snap := vipList("Snapshot VIP")
	snap["processingType"] = "SNAPSHOT"
	e.c.must(t, 200, "POST", "/crm/v3/lists", snap).decode(t, &created)
	e.c.must(t, 200, "POST", "/crm/v3/objects/companies/batch/update", map[string]any{"inputs": []map[string]any{
		{"id": cs[2], "properties": map[string]any{"ai_segment": "vip"}},
	}})
	if got := memberIDs(t, e.c, created.List.ListID); !slices.Equal(got, []string{cs[0]}) {
		t.Fatalf("snapshot members %v, want only %s", got, cs[0])
	}

	// Invalid filter trees are refused.
	bad := vipList("Bad root")
	bad["filterBranch"].(map[string]any)["filterBranchType"] = "AND"
	e.c.must(t, 400, "POST", "/crm/v3/lists", bad)
	bad = vipList("Bad property")
	bad["filterBranch"].(map[string]any)["filterBranches"].([]any)[0].(map[string]any)["filters"].([]any)[0].(map[string]any)["property"] = "nope"
	e.c.must(t, 400, "POST", "/crm/v3/lists", bad)
}
