package hubspot

import (
	"slices"
	"testing"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

func TestPropertiesAPI(t *testing.T) {
	e := newEnv(t)
	var list struct {
		Results []property `json:"results"`
	}
	e.c.must(t, 200, "GET", "/crm/v3/properties/deals", nil).decode(t, &list)
	var stage *property
	for i, p := range list.Results {
		if p.Name == "dealstage" {
			stage = &list.Results[i]
		}
	}
	if stage == nil || stage.Type != "enumeration" || stage.FieldType != "select" || len(stage.Options) != len(sandbox.HubSpotDealStages) ||
		stage.Options[0].Label != "Appointment Scheduled" {
		t.Fatalf("dealstage property: %+v", stage)
	}

	// A property's group must exist first.
	create := map[string]any{"name": "ai_churn_score", "label": "AI churn score", "groupName": "ai_insights", "type": "number", "fieldType": "number"}
	e.c.must(t, 400, "POST", "/crm/v3/properties/companies", create)
	e.c.must(t, 201, "POST", "/crm/v3/properties/companies/groups", map[string]any{"name": "ai_insights", "label": "AI insights"})
	e.c.must(t, 409, "POST", "/crm/v3/properties/companies/groups", map[string]any{"name": "ai_insights", "label": "AI insights"})
	e.c.must(t, 201, "POST", "/crm/properties/2026-03/companies", create)
	r := e.c.must(t, 409, "POST", "/crm/v3/properties/companies", create)
	e.golden(t, "error_property_exists", r)

	for name, body := range map[string]map[string]any{
		"upper-case name":  {"name": "AI_Score", "label": "x", "groupName": "ai_insights", "type": "number", "fieldType": "number"},
		"leading digit":    {"name": "1score", "label": "x", "groupName": "ai_insights", "type": "number", "fieldType": "number"},
		"bad pair":         {"name": "ai_x", "label": "x", "groupName": "ai_insights", "type": "number", "fieldType": "select"},
		"bad type":         {"name": "ai_x", "label": "x", "groupName": "ai_insights", "type": "money", "fieldType": "number"},
		"missing label":    {"name": "ai_x", "groupName": "ai_insights", "type": "string", "fieldType": "text"},
		"duplicate option": {"name": "ai_x", "label": "x", "groupName": "ai_insights", "type": "enumeration", "fieldType": "radio", "options": []map[string]any{{"label": "A", "value": "a"}, {"label": "B", "value": "a"}}},
	} {
		if r := e.c.do(t, "POST", "/crm/v3/properties/companies", body); r.status != 400 {
			t.Errorf("%s: status %d %s", name, r.status, r.body)
		}
	}

	// Created properties are readable and writable on objects.
	id := e.insert(t, "companies", map[string]any{"name": "Acme"})
	e.c.must(t, 200, "PATCH", "/crm/v3/objects/companies/"+id, map[string]any{"properties": map[string]any{"ai_churn_score": "82.5"}})
	var o object
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies/"+id+"?properties=ai_churn_score", nil).decode(t, &o)
	if o.prop("ai_churn_score") != "82.5" {
		t.Fatalf("ai_churn_score = %q", o.prop("ai_churn_score"))
	}

	// Enumeration writes must use an option value; adding the option fixes it.
	e.c.must(t, 201, "POST", "/crm/v3/properties/companies", map[string]any{
		"name": "ai_segment", "label": "AI segment", "groupName": "ai_insights", "type": "enumeration", "fieldType": "select",
		"options": []map[string]any{{"label": "VIP", "value": "vip", "displayOrder": 0, "hidden": false}}})
	e.c.must(t, 400, "PATCH", "/crm/v3/objects/companies/"+id, map[string]any{"properties": map[string]any{"ai_segment": "VIP"}})
	e.c.must(t, 400, "PATCH", "/crm/v3/objects/companies/"+id, map[string]any{"properties": map[string]any{"ai_segment": "at_risk"}})
	var patched property
	e.c.must(t, 200, "PATCH", "/crm/v3/properties/companies/ai_segment", map[string]any{"options": []map[string]any{
		{"label": "VIP", "value": "vip", "displayOrder": 0}, {"label": "At risk", "value": "at_risk", "displayOrder": 1}}}).decode(t, &patched)
	if len(patched.Options) != 2 || patched.Name != "ai_segment" {
		t.Fatalf("patched: %+v", patched)
	}
	e.c.must(t, 200, "PATCH", "/crm/v3/objects/companies/"+id, map[string]any{"properties": map[string]any{"ai_segment": "at_risk"}})
	var got property
	e.c.must(t, 200, "GET", "/crm/v3/properties/companies/ai_segment", nil).decode(t, &got)
	if got.HubspotDefined || len(got.Options) != 2 || got.GroupName != "ai_insights" {
		t.Fatalf("get ai_segment: %+v", got)
	}
	e.c.must(t, 404, "GET", "/crm/v3/properties/companies/nope", nil)
	e.c.must(t, 400, "PATCH", "/crm/v3/properties/companies/ai_segment", map[string]any{"type": "string"})
	// HubSpot-defined properties are read-only definitions.
	e.c.must(t, 400, "PATCH", "/crm/v3/properties/companies/name", map[string]any{"label": "Name!"})

	var groups struct {
		Results []propertyGroup `json:"results"`
	}
	e.c.must(t, 200, "GET", "/crm/v3/properties/companies/groups", nil).decode(t, &groups)
	if !slices.ContainsFunc(groups.Results, func(g propertyGroup) bool { return g.Name == "ai_insights" }) ||
		!slices.ContainsFunc(groups.Results, func(g propertyGroup) bool { return g.Name == "companyinformation" }) {
		t.Fatalf("groups: %+v", groups.Results)
	}
}

func TestAssociations(t *testing.T) {
	e := newEnv(t)
	co := e.insert(t, "companies", map[string]any{"name": "Acme"})
	d1 := e.insert(t, "deals", map[string]any{"dealname": "One"})
	d2 := e.insert(t, "deals", map[string]any{"dealname": "Two"})
	lonely := e.insert(t, "deals", map[string]any{"dealname": "Alone"})
	e.sb.HS.Associate("deals", d1, "companies", co, 5, 6) // Primary

	var v4 struct {
		Results []struct {
			ToObjectID       any `json:"toObjectId"`
			AssociationTypes []struct {
				Category string  `json:"category"`
				TypeID   int     `json:"typeId"`
				Label    *string `json:"label"`
			} `json:"associationTypes"`
		} `json:"results"`
	}
	e.c.must(t, 200, "GET", "/crm/v4/objects/companies/"+co+"/associations/deals", nil).decode(t, &v4)
	if len(v4.Results) != 1 {
		t.Fatalf("v4 associations: %+v", v4)
	}
	if _, isNum := v4.Results[0].ToObjectID.(float64); !isNum {
		t.Errorf("toObjectId %v is not a JSON number", v4.Results[0].ToObjectID)
	}
	types := v4.Results[0].AssociationTypes
	if len(types) != 2 || types[0].TypeID != 342 || types[0].Label != nil || types[1].TypeID != 6 || *types[1].Label != "Primary" {
		t.Fatalf("association types: %+v", types)
	}

	// Default association, both directions.
	e.c.must(t, 200, "PUT", "/crm/v4/objects/deals/"+d2+"/associations/default/companies/"+co, nil)
	if ids, tys := e.sb.HS.Associations("companies", co, "deals"); !slices.Equal(ids, []string{d1, d2}) || tys[1] != 342 {
		t.Fatalf("company->deal after PUT default: %v %v", ids, tys)
	}
	// Writing the default again keeps the Primary label.
	e.c.must(t, 200, "PUT", "/crm/v4/objects/deals/"+d1+"/associations/default/companies/"+co, nil)
	if _, tys := e.sb.HS.Associations("deals", d1, "companies"); tys[0] != 5 {
		t.Fatalf("primary label lost: %v", tys)
	}
	e.c.must(t, 404, "PUT", "/crm/v4/objects/deals/"+d2+"/associations/default/companies/999", nil)

	r := e.c.must(t, 207, "POST", "/crm/v4/associations/deals/companies/batch/read", map[string]any{
		"inputs": []map[string]any{{"id": d1}, {"id": d2}, {"id": lonely}}})
	var batch struct {
		Status  string `json:"status"`
		Results []struct {
			From struct {
				ID string `json:"id"`
			} `json:"from"`
			To []struct {
				ToObjectID int64 `json:"toObjectId"`
			} `json:"to"`
		} `json:"results"`
		NumErrors int `json:"numErrors"`
	}
	r.decode(t, &batch)
	if len(batch.Results) != 2 || batch.NumErrors != 1 || batch.Results[0].From.ID != d1 {
		t.Fatalf("batch read: %s", r.body)
	}
	e.golden(t, "associations_batch_read", r)
	e.c.must(t, 200, "POST", "/crm/associations/2026-03/deals/companies/batch/read", map[string]any{"inputs": []map[string]any{{"id": d1}}})

	// v3 object reads list associations by type name.
	var o object
	e.c.must(t, 200, "GET", "/crm/v3/objects/deals/"+d1+"?associations=companies", nil).decode(t, &o)
	res := o.Associations["companies"].Results
	if len(res) != 2 || res[0].ID != co || res[0].Type != "deal_to_company" || res[1].Type != "deal_to_company_unlabeled" {
		t.Fatalf("v3 associations: %+v", o.Associations)
	}

	// Create with an association.
	e.c.must(t, 201, "POST", "/crm/v3/objects/notes", map[string]any{
		"properties":   map[string]any{"hs_note_body": "call went well", "hs_timestamp": "2026-05-01T10:00:00Z"},
		"associations": []map[string]any{{"to": map[string]any{"id": co}, "types": []map[string]any{{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}}}},
	}).decode(t, &o)
	if ids, tys := e.sb.HS.Associations("companies", co, "notes"); !slices.Equal(ids, []string{o.ID}) || tys[0] != 189 {
		t.Fatalf("company->note: %v %v", ids, tys)
	}
}
