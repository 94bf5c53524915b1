package salesforce

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// profilePermissionSet returns the permission set assigned to the API user.
func (e *env) profilePermissionSet() string {
	e.t.Helper()
	var ps string
	_ = e.sb.SF.Scan(sandbox.SFPermissionSetAssignment, func(r sandbox.Row) bool {
		if r.Fields["AssigneeId"] == e.sb.IntegrationUserID {
			ps, _ = r.Fields["PermissionSetId"].(string)
			return false
		}
		return true
	})
	if ps == "" {
		e.t.Fatal("API user has no permission set")
	}
	return ps
}

func describeHas(t *testing.T, e *env, object, field string) bool {
	t.Helper()
	var d struct {
		Fields []struct {
			Name       string `json:"name"`
			Updateable bool   `json:"updateable"`
		} `json:"fields"`
	}
	e.do("GET", "sobjects/"+object+"/describe", nil).json(t, &d)
	for _, f := range d.Fields {
		if f.Name == field {
			return true
		}
	}
	return false
}

func TestCustomFieldFLS(t *testing.T) {
	e := newEnv(t, Options{})
	acc := seedAccounts(t, e.sb, 2, 1)
	r := e.do("POST", "tooling/sobjects/CustomField", map[string]any{
		"FullName": "Account.AI_Segment__c",
		"Metadata": map[string]any{"label": "AI Segment", "type": "Picklist", "valueSet": map[string]any{
			"restricted": true, "valueSetDefinition": map[string]any{"sorted": false, "value": []any{
				map[string]any{"fullName": "VIP", "label": "VIP", "default": false},
				map[string]any{"fullName": "At Risk", "label": "At Risk", "default": false},
			}}}},
	})
	if r.status != 201 {
		t.Fatalf("create field: %d %s", r.status, r.body)
	}
	e.golden("tooling_create", r.body)
	if r := e.do("POST", "tooling/sobjects/CustomField", map[string]any{"FullName": "Account.AI_Segment__c",
		"Metadata": map[string]any{"label": "x", "type": "Text", "length": 10}}); r.status != 400 || errorCode(t, r) != "DUPLICATE_DEVELOPER_NAME" {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}

	// No FLS yet: invisible to query, describe and writes; visible to Tooling.
	if r := e.query("SELECT Id, AI_Segment__c FROM Account"); r.status != 400 || errorCode(t, r) != "INVALID_FIELD" {
		t.Fatalf("query before FLS: %d %s", r.status, r.body)
	}
	if describeHas(t, e, "Account", "AI_Segment__c") {
		t.Fatal("describe shows the field before FLS")
	}
	if r := e.do("PATCH", "sobjects/Account/"+acc[0], map[string]any{"AI_Segment__c": "VIP"}); r.status != 400 || errorCode(t, r) != "INVALID_FIELD" {
		t.Fatalf("write before FLS: %d %s", r.status, r.body)
	}
	var tq struct {
		TotalSize int `json:"totalSize"`
		Records   []struct {
			DeveloperName string `json:"DeveloperName"`
		} `json:"records"`
	}
	e.do("GET", "tooling/query?q="+url.QueryEscape("SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = 'Account'"), nil).json(t, &tq)
	if tq.TotalSize != 1 || tq.Records[0].DeveloperName != "AI_Segment" {
		t.Fatalf("tooling query: %+v", tq)
	}

	// Read-only grant: queryable and described, not writable.
	fp := e.create("FieldPermissions", map[string]any{"ParentId": e.profilePermissionSet(), "SobjectType": "Account",
		"Field": "Account.AI_Segment__c", "PermissionsRead": true, "PermissionsEdit": false})
	if !describeHas(t, e, "Account", "AI_Segment__c") {
		t.Fatal("describe hides the field after FLS")
	}
	if r := e.query("SELECT Id, AI_Segment__c FROM Account"); r.status != 200 {
		t.Fatalf("query after FLS: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "sobjects/Account/"+acc[0], map[string]any{"AI_Segment__c": "VIP"}); r.status != 400 || errorCode(t, r) != "INVALID_FIELD_FOR_INSERT_UPDATE" {
		t.Fatalf("write with read-only FLS: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "sobjects/FieldPermissions/"+fp, map[string]any{"PermissionsEdit": true}); r.status != 204 {
		t.Fatalf("grant edit: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "sobjects/Account/"+acc[0], map[string]any{"AI_Segment__c": "VIP"}); r.status != 204 {
		t.Fatalf("write with FLS: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "sobjects/Account/"+acc[1], map[string]any{"AI_Segment__c": "Gold"}); r.status != 400 || errorCode(t, r) != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
		t.Fatalf("restricted picklist: %d %s", r.status, r.body)
	}
	// Revoking the permission hides the field again.
	if r := e.do("DELETE", "sobjects/FieldPermissions/"+fp, nil); r.status != 204 {
		t.Fatalf("revoke: %d", r.status)
	}
	if r := e.query("SELECT AI_Segment__c FROM Account"); r.status != 400 {
		t.Fatalf("query after revoke: %d", r.status)
	}
}

func TestListViewMatchesSOQL(t *testing.T) {
	e := newEnv(t, Options{})
	ids := seedAccounts(t, e.sb, 60, 1)
	for i, id := range ids {
		if i%3 == 0 {
			if _, err := e.sb.SF.Update(sandbox.SFAccount, id, map[string]any{"Rating": "Hot"}, "user"); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := e.do("POST", "ui-api/list-info/Account", map[string]any{
		"listViewApiName": "Hot_Tech", "label": "Hot tech",
		"filteredByInfo": []any{
			map[string]any{"fieldApiName": "Rating", "operator": "Equals", "operandLabels": []string{"Hot"}},
			map[string]any{"fieldApiName": "Industry", "operator": "equals", "operands": []string{"Agriculture", "Apparel"}},
		},
		"filterLogicString": "1 AND 2",
		"displayColumns":    []string{"Name", "Industry"},
		"visibility":        "Public",
	})
	if r.status != 201 {
		t.Fatalf("create list view: %d %s", r.status, r.body)
	}
	e.golden("list_info", r.body)
	var info struct {
		ListReference struct {
			ID string `json:"id"`
		} `json:"listReference"`
	}
	r.json(t, &info)
	if r := e.do("POST", "ui-api/list-info/Account", map[string]any{"listViewApiName": "Hot_Tech", "label": "again"}); r.status != 400 {
		t.Fatalf("duplicate list view: %d", r.status)
	}

	fromView := func() []string {
		var res struct {
			Size    int `json:"size"`
			Records []struct {
				Columns []struct {
					Field string  `json:"fieldNameOrPath"`
					Value *string `json:"value"`
				} `json:"columns"`
			} `json:"records"`
		}
		e.do("GET", "sobjects/Account/listviews/"+info.ListReference.ID+"/results?limit=2000", nil).json(t, &res)
		var out []string
		for _, rec := range res.Records {
			for _, c := range rec.Columns {
				if c.Field == "Id" {
					out = append(out, *c.Value)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	fromSOQL := func() []string {
		var res struct {
			Records []struct {
				ID string `json:"Id"`
			} `json:"records"`
		}
		e.query("SELECT Id FROM Account WHERE Rating = 'Hot' AND Industry IN ('Agriculture', 'Apparel')").json(t, &res)
		var out []string
		for _, rec := range res.Records {
			out = append(out, rec.ID)
		}
		sort.Strings(out)
		return out
	}
	got, want := fromView(), fromSOQL()
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("list view %v\nSOQL %v", got, want)
	}
	// Live: data changes show up on the next read.
	if _, err := e.sb.SF.Update(sandbox.SFAccount, want[0], map[string]any{"Rating": "Cold"}, "user"); err != nil {
		t.Fatal(err)
	}
	if got := fromView(); len(got) != len(want)-1 || fmt.Sprint(got) != fmt.Sprint(fromSOQL()) {
		t.Fatalf("after update: %v", got)
	}

	// PATCH changes the filter; DELETE removes the view.
	r = e.do("PATCH", "ui-api/list-info/Account/Hot_Tech", map[string]any{"filteredByInfo": []any{
		map[string]any{"fieldApiName": "Rating", "operator": "Equals", "operandLabels": []string{"Hot"}}}, "filterLogicString": ""})
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var lv struct {
		Listviews []struct {
			DeveloperName string `json:"developerName"`
		} `json:"listviews"`
	}
	e.do("GET", "sobjects/Account/listviews", nil).json(t, &lv)
	if len(lv.Listviews) != 1 || lv.Listviews[0].DeveloperName != "Hot_Tech" {
		t.Fatalf("listviews: %+v", lv)
	}
	if r := e.do("DELETE", "ui-api/list-info/Account/Hot_Tech", nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := e.do("GET", "ui-api/list-info/Account/Hot_Tech", nil); r.status != 404 {
		t.Fatalf("get deleted: %d", r.status)
	}
}

func TestReport(t *testing.T) {
	e := newEnv(t, Options{})
	ids := seedAccounts(t, e.sb, 10, 1)
	for _, id := range ids[:3] {
		if _, err := e.sb.SF.Update(sandbox.SFAccount, id, map[string]any{"Rating": "Warm"}, "user"); err != nil {
			t.Fatal(err)
		}
	}
	r := e.do("POST", "analytics/reports", map[string]any{"reportMetadata": map[string]any{
		"name": "Warm accounts", "reportType": map[string]any{"type": "AccountList"}, "reportFormat": "TABULAR",
		"detailColumns": []string{"ACCOUNT.NAME", "Account.Rating"},
		"reportFilters": []any{map[string]any{"column": "Account.Rating", "operator": "equals", "value": "Warm"}},
	}})
	if r.status != 200 {
		t.Fatalf("create report: %d %s", r.status, r.body)
	}
	var created struct {
		ReportMetadata struct {
			ID string `json:"id"`
		} `json:"reportMetadata"`
	}
	r.json(t, &created)
	r = e.do("GET", "analytics/reports/"+created.ReportMetadata.ID, nil)
	if r.status != 200 {
		t.Fatalf("run: %d %s", r.status, r.body)
	}
	var run struct {
		FactMap map[string]struct {
			Rows []struct {
				DataCells []struct {
					Label string `json:"label"`
					Value any    `json:"value"`
				} `json:"dataCells"`
			} `json:"rows"`
		} `json:"factMap"`
	}
	r.json(t, &run)
	var got []string
	for _, row := range run.FactMap["T!T"].Rows {
		got = append(got, fmt.Sprint(row.DataCells[0].Value))
	}
	want := append([]string(nil), ids[:3]...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("report rows %v, want %v", got, want)
	}
}
