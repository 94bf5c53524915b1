package salesforce

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/simpleforce/simpleforce"
	"golang.org/x/oauth2"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// headerTransport adds fixed headers (simpleforce cannot send any).
type headerTransport struct {
	base http.RoundTripper
	h    map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header.Set(k, v)
	}
	return t.base.RoundTrip(r)
}

func TestSimpleforcePaging(t *testing.T) {
	log.SetOutput(io.Discard) // simpleforce logs through the standard logger
	t.Cleanup(func() { log.SetOutput(nil) })
	e := newEnv(t, Options{})
	ids := seedAccounts(t, e.sb, 5100, 300)

	// Token via x/oauth2 (password grant), used through its Transport.
	conf := e.oauthConfig("https://app.example/callback")
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	tok, err := conf.PasswordCredentialsToken(ctx, e.sb.Opt.Username, e.sb.Opt.Password)
	if err != nil {
		t.Fatal(err)
	}
	instance := tok.Extra("instance_url").(string)
	httpClient := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(tok),
		Base:   headerTransport{base: http.DefaultTransport, h: map[string]string{"Sforce-Query-Options": "batchSize=200"}},
	}}
	c := simpleforce.NewClient(instance, e.sb.Opt.ClientID, "60.0")
	c.SetHttpClient(httpClient)
	c.SetSidLoc(tok.AccessToken, instance)

	seen := map[string]bool{}
	pages := 0
	res, err := c.Query("SELECT Id, Name, SystemModstamp, Owner.Name FROM Account ORDER BY SystemModstamp, Id")
	for {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if res.TotalSize != len(ids) {
			t.Fatalf("totalSize %d, want %d", res.TotalSize, len(ids))
		}
		if len(res.Records) > 200 {
			t.Fatalf("page of %d records with batchSize=200", len(res.Records))
		}
		for _, rec := range res.Records {
			id := rec.ID()
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
			if rec.Type() != "Account" {
				t.Fatalf("attributes.type = %q", rec.Type())
			}
			owner := rec.SObjectField("User", "Owner")
			if owner == nil || owner.StringField("Name") != "Integration User" {
				t.Fatalf("Owner.Name: %v", rec["Owner"])
			}
		}
		if res.Done {
			if res.NextRecordsURL != "" {
				t.Fatal("done page has nextRecordsUrl")
			}
			break
		}
		res, err = c.Query(res.NextRecordsURL)
	}
	if len(seen) != len(ids) || pages != 26 {
		t.Fatalf("paged %d/%d records in %d pages", len(seen), len(ids), pages)
	}
	if got := e.sb.Counters.Snapshot()["salesforce GET /query/{locator}"]; got != 25 {
		t.Fatalf("counted %d follow-up pages", got)
	}

	// Describe through simpleforce.
	meta, err := c.DescribeGlobal()
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := (*meta)["sobjects"].([]any)
	if len(objs) < 10 {
		t.Fatalf("describeGlobal listed %d objects", len(objs))
	}
	d := c.SObject("Account").Describe()
	if d == nil || (*d)["name"] != "Account" {
		t.Fatalf("describe: %v", d)
	}
	got := c.SObject("Account").Get(ids[0])
	if got == nil || got.StringField("Name") != "Account 00000" {
		t.Fatalf("get: %v", got)
	}
}

func TestQueryPageGolden(t *testing.T) {
	e := newEnv(t, Options{})
	seedAccounts(t, e.sb, 3, 1)
	if _, err := e.sb.SF.Seed(sandbox.SFContact, map[string]any{"LastName": "Lee", "FirstName": "Dana", "Name": "Dana Lee", "AccountId": nil},
		"user", testNow, testNow); err != nil {
		t.Fatal(err)
	}
	r := e.query("select id, NAME, annualrevenue, NumberOfEmployees, SystemModstamp, owner.name, Parent.Name, IsDeleted from account order by name limit 2")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Sforce-Limit-Info"), "api-usage=") {
		t.Fatalf("Sforce-Limit-Info = %q", r.header.Get("Sforce-Limit-Info"))
	}
	e.golden("query_page", r.body)
	r = e.query("SELECT COUNT() FROM Contact WHERE Account.Name = null")
	e.golden("query_count", r.body)
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, Options{})
	seedAccounts(t, e.sb, 450, 450)
	cases := []struct {
		name, path, code string
		status           int
	}{
		{"error_malformed_query", "query?q=" + url.QueryEscape("SELECT Id FROM Account WHERE"), "MALFORMED_QUERY", 400},
		{"error_invalid_field", "query?q=" + url.QueryEscape("SELECT Id, Foo FROM Account"), "INVALID_FIELD", 400},
		{"error_invalid_type", "query?q=" + url.QueryEscape("SELECT Id FROM Acount"), "INVALID_TYPE", 400},
		{"error_invalid_locator", "query/01g8d0000000000AAA-200", "INVALID_QUERY_LOCATOR", 400},
		{"error_not_found", "sobjects/Nope/describe", "NOT_FOUND", 404},
		// An unencoded "+" in a dateTime literal arrives as a space.
		{"error_unencoded_plus", "query?q=SELECT+Id+FROM+Account+WHERE+SystemModstamp+>+2024-05-01T00:00:00+09:00", "MALFORMED_QUERY", 400},
	}
	for _, tc := range cases {
		r := e.do("GET", tc.path, nil)
		if r.status != tc.status || errorCode(t, r) != tc.code {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			continue
		}
		e.golden(tc.name, r.body)
	}

	// A locator from one query, paged past its end, is invalid.
	r := e.query("SELECT Id FROM Account", "Sforce-Query-Options", "batchSize=50") // clamped to 200
	var page struct {
		Records []any  `json:"records"`
		Next    string `json:"nextRecordsUrl"`
	}
	r.json(t, &page)
	if len(page.Records) != 200 || !strings.HasSuffix(page.Next, "-200") {
		t.Fatalf("first page: %d records, next %q", len(page.Records), page.Next)
	}
	bad := strings.TrimSuffix(page.Next, "-200") + "-9999"
	if r := e.do("GET", bad, nil); r.status != 400 || errorCode(t, r) != "INVALID_QUERY_LOCATOR" {
		t.Fatalf("offset past end: %d %s", r.status, r.body)
	}
	// queryAll locators are not served by /query.
	all := e.do("GET", "queryAll?q="+url.QueryEscape("SELECT Id FROM Account"), nil, "Sforce-Query-Options", "batchSize=200")
	all.json(t, &page)
	if !strings.Contains(page.Next, "/queryAll/") {
		t.Fatalf("queryAll next %q", page.Next)
	}
}

// TestCursorSnapshot: ids are frozen at the first call; later pages render
// current values and still include rows deleted meanwhile.
func TestCursorSnapshot(t *testing.T) {
	e := newEnv(t, Options{})
	ids := seedAccounts(t, e.sb, 300, 300)
	r := e.query("SELECT Id, Name FROM Account ORDER BY Name", "Sforce-Query-Options", "batchSize=200")
	var page struct {
		Next    string           `json:"nextRecordsUrl"`
		Records []map[string]any `json:"records"`
	}
	r.json(t, &page)
	if _, err := e.sb.SF.Update(sandbox.SFAccount, ids[250], map[string]any{"Name": "Renamed"}, "user"); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SF.Delete(sandbox.SFAccount, ids[260]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sb.SF.Seed(sandbox.SFAccount, map[string]any{"Name": "Account 00000a"}, "user", testNow, testNow); err != nil {
		t.Fatal(err)
	}
	e.do("GET", page.Next, nil).json(t, &page)
	if len(page.Records) != 100 {
		t.Fatalf("second page: %d records", len(page.Records))
	}
	if page.Records[50]["Name"] != "Renamed" || page.Records[60]["Id"] != ids[260] {
		t.Fatalf("second page rows: %v %v", page.Records[50], page.Records[60])
	}
}

func TestFaultInjection(t *testing.T) {
	e := newEnv(t, Options{})
	e.sb.Faults.Set(func(f *sandbox.Faults) { f.Fail429 = 1 })
	r := e.do("GET", "limits", nil)
	if r.status != 403 || errorCode(t, r) != "REQUEST_LIMIT_EXCEEDED" || r.header.Get("Retry-After") == "" {
		t.Fatalf("injected limit: %d %v %s", r.status, r.header, r.body)
	}
	e.golden("error_request_limit", r.body)
	e.sb.Faults.Set(func(f *sandbox.Faults) { f.Fail5xx = 1 })
	if r := e.do("GET", "limits", nil); r.status != 503 || errorCode(t, r) != "SERVER_UNAVAILABLE" {
		t.Fatalf("injected 503: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "limits", nil); r.status != 200 {
		t.Fatalf("after faults: %d", r.status)
	}
	e.sb.Faults.Set(func(f *sandbox.Faults) { f.DailyLimit = 3 })
	r = e.do("GET", "limits", nil)
	if r.status != 403 || r.header.Get("Sforce-Limit-Info") != "api-usage=4/3" {
		t.Fatalf("daily limit: %d %q", r.status, r.header.Get("Sforce-Limit-Info"))
	}
}

func TestDescribeGolden(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", "sobjects/Campaign/describe", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.golden("describe_campaign", r.body)
	lm := r.header.Get("Last-Modified")
	if r := e.do("GET", "sobjects/Campaign/describe", nil, "If-Modified-Since", lm); r.status != 304 {
		t.Fatalf("If-Modified-Since: %d", r.status)
	}
}

func TestCompositeUpdate(t *testing.T) {
	e := newEnv(t, Options{})
	acc := seedAccounts(t, e.sb, 3, 1)
	opp, err := e.sb.SF.Seed(sandbox.SFOpportunity, map[string]any{"Name": "Deal", "StageName": "Prospecting",
		"CloseDate": sandbox.NewDate(testNow), "AccountId": acc[0]}, "user", testNow, testNow)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(typ, id string, kv ...any) map[string]any {
		m := map[string]any{"attributes": map[string]any{"type": typ}, "id": id}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	body := map[string]any{"allOrNone": false, "records": []any{
		rec("Account", acc[0], "Rating", "Hot", "NumberOfEmployees", 99),
		rec("Account", acc[1], "NumberOfEmployees", "lots"),
		rec("Opportunity", opp, "Product__c", "Not A Product"),
		rec("Account", acc[2], "LastActivityDate", "2024-01-01"),
		rec("Account", acc[2], "Bogus__c", "x"),
		rec("Account", "001000000000000AAA", "Name", "x"),
	}}
	e.sb.Clock.Advance(10e9)
	r := e.do("PATCH", "composite/sobjects", body)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.golden("composite_partial", r.body)
	row, _ := e.sb.SF.Get(sandbox.SFAccount, acc[0])
	if row.Fields["Rating"] != "Hot" || row.Fields["NumberOfEmployees"] != 99.0 || row.Fields["LastModifiedById"] != e.sb.IntegrationUserID ||
		row.ModifiedBy != "integration:"+e.sb.IntegrationUserID || !row.ModifiedAt.Equal(testNow.Add(10e9)) {
		t.Fatalf("written row: %+v", row)
	}

	// allOrNone: one failure rolls back the rest.
	body = map[string]any{"allOrNone": true, "records": []any{
		rec("Account", acc[1], "Rating", "Cold"),
		rec("Account", acc[2], "NumberOfEmployees", 1.5),
	}}
	r = e.do("PATCH", "composite/sobjects", body)
	e.golden("composite_all_or_none", r.body)
	if row, _ := e.sb.SF.Get(sandbox.SFAccount, acc[1]); row.Fields["Rating"] != nil {
		t.Fatalf("rolled-back record was written: %v", row.Fields["Rating"])
	}

	var many []any
	for i := 0; i < 201; i++ {
		many = append(many, rec("Account", acc[0], "Rating", "Warm"))
	}
	r = e.do("PATCH", "composite/sobjects", map[string]any{"records": many})
	if r.status != 400 || errorCode(t, r) != "EXCEEDED_ID_LIMIT" {
		t.Fatalf("201 records: %d %s", r.status, r.body)
	}
	e.golden("error_composite_limit", r.body)
}

func TestRecordCRUDAndCampaignMembers(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("POST", "sobjects/Account", map[string]any{"Name": "Created", "Industry": "Banking"})
	var res saveResult
	r.json(t, &res)
	if r.status != 201 || !res.Success || res.ID == nil || !sandbox.ValidSalesforceID(*res.ID) {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := *res.ID
	if r := e.do("POST", "sobjects/Account", map[string]any{"Industry": "Banking"}); r.status != 400 || errorCode(t, r) != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("missing Name: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "sobjects/Account/"+id, map[string]any{"Website": "https://x.example"}); r.status != 204 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "sobjects/Account/"+id, map[string]any{"CreatedDate": "2020-01-01T00:00:00Z"}); r.status != 400 || errorCode(t, r) != "INVALID_FIELD_FOR_INSERT_UPDATE" {
		t.Fatalf("read-only field: %d %s", r.status, r.body)
	}
	var got map[string]any
	e.do("GET", "sobjects/Account/"+id, nil).json(t, &got)
	if got["Website"] != "https://x.example" || got["IsDeleted"] != false || got["CreatedDate"] != "2024-05-01T12:00:00.000+0000" {
		t.Fatalf("get: %v", got)
	}
	if r := e.do("DELETE", "sobjects/Account/"+id, nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := e.do("GET", "sobjects/Account/"+id, nil); r.status != 404 {
		t.Fatalf("get deleted: %d", r.status)
	}

	camp := e.create("Campaign", map[string]any{"Name": "Spring"})
	acc := e.create("Account", map[string]any{"Name": "A"})
	con := e.create("Contact", map[string]any{"LastName": "Lee", "AccountId": acc})
	e.create("CampaignMember", map[string]any{"CampaignId": camp, "ContactId": con})
	r = e.do("POST", "sobjects/CampaignMember", map[string]any{"CampaignId": camp, "ContactId": con})
	if r.status != 400 || errorCode(t, r) != "DUPLICATE_VALUE" {
		t.Fatalf("duplicate member: %d %s", r.status, r.body)
	}
}

func (e *env) create(typ string, fields map[string]any) string {
	e.t.Helper()
	r := e.do("POST", "sobjects/"+typ, fields)
	var res saveResult
	r.json(e.t, &res)
	if r.status != 201 || res.ID == nil {
		e.t.Fatalf("create %s: %d %s", typ, r.status, r.body)
	}
	return *res.ID
}

func TestUpdatedDeletedFeeds(t *testing.T) {
	e := newEnv(t, Options{})
	ids := seedAccounts(t, e.sb, 3, 1) // stamped two days ago
	if err := e.sb.SF.Delete(sandbox.SFAccount, ids[2]); err != nil {
		t.Fatal(err)
	}
	e.sb.Clock.Advance(2 * 60e9)
	start := url.QueryEscape(testNow.Add(-72 * 3600e9).Format("2006-01-02T15:04:05+00:00"))
	end := url.QueryEscape(testNow.Add(90e9).Format("2006-01-02T15:04:05+00:00"))
	var upd struct {
		IDs    []string `json:"ids"`
		Latest string   `json:"latestDateCovered"`
	}
	e.do("GET", "sobjects/Account/updated/?start="+start+"&end="+end, nil).json(t, &upd)
	sort.Strings(ids[:2])
	if fmt.Sprint(upd.IDs) != fmt.Sprint(ids[:2]) || upd.Latest != "2024-05-01T12:01:00.000+0000" {
		t.Fatalf("updated: %+v", upd)
	}
	r := e.do("GET", "sobjects/Account/deleted/?start="+start+"&end="+url.QueryEscape("2024-05-01T12:02:00Z"), nil)
	e.golden("deleted_feed", r.body)
	// The classic bug: an unencoded "+" becomes a space.
	r = e.do("GET", "sobjects/Account/updated/?start=2024-04-29T00:00:00+00:00&end=2024-05-01T00:00:00+00:00", nil)
	if r.status != 400 {
		t.Fatalf("unencoded +: %d %s", r.status, r.body)
	}
	old := url.QueryEscape(testNow.AddDate(0, 0, -16).Format(timeRFC3339))
	if r := e.do("GET", "sobjects/Account/deleted/?start="+old+"&end="+end, nil); r.status != 400 || errorCode(t, r) != "INVALID_REPLICATION_DATE" {
		t.Fatalf("deleted > 15 days: %d %s", r.status, r.body)
	}
}

const timeRFC3339 = "2006-01-02T15:04:05Z07:00"
