package sandbox

import (
	"testing"
	"time"
)

var testNow = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func TestNewEmpty(t *testing.T) {
	sb, err := New(Options{Empty: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{SFAccount, SFContact, SFOpportunity, SFTask, SFEvent, SFUser, SFCampaign, SFCampaignMember,
		SFPermissionSet, SFFieldPermissions, SFPermissionSetAssignment} {
		sc, ok := sb.SF.Schema(tb)
		if !ok {
			t.Fatalf("org lacks %s", tb)
		}
		for _, f := range []string{"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"} {
			if _, ok := sc.Field(f); !ok {
				t.Errorf("%s lacks audit field %s", tb, f)
			}
		}
	}
	for _, tb := range append([]string{HSCompanies, HSContacts, HSDeals}, HSEngagements...) {
		if _, ok := sb.HS.Schema(tb); !ok {
			t.Fatalf("portal lacks %s", tb)
		}
	}
	if n := sb.SF.Count(SFAccount); n != 0 {
		t.Errorf("empty sandbox has %d accounts", n)
	}
	u, ok := sb.SF.Get(SFUser, sb.IntegrationUserID)
	if !ok || u.Fields["Username"] != sb.Opt.Username {
		t.Errorf("integration user %s: %v", sb.IntegrationUserID, u.Fields)
	}
	if !ValidSalesforceID(sb.IntegrationUserID) || sb.IntegrationUserID[:3] != PrefixUser {
		t.Errorf("integration user id %q", sb.IntegrationUserID)
	}
}

func TestStamping(t *testing.T) {
	sb, err := New(Options{Empty: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sb.Clock.Freeze(testNow.Add(1500 * time.Millisecond))
	r, err := sb.SF.Insert(SFAccount, map[string]any{"Name": "Acme"}, ActorUser)
	if err != nil {
		t.Fatal(err)
	}
	want := testNow.Add(time.Second)
	if r.Fields["SystemModstamp"] != want || r.Fields["CreatedDate"] != want || r.Fields["Id"] != r.ID {
		t.Errorf("salesforce insert stamps: %v", r.Fields)
	}
	c, err := sb.HS.Insert(HSContacts, map[string]any{"email": "a@b.example"}, ActorUser)
	if err != nil {
		t.Fatal(err)
	}
	ms := testNow.Add(1500 * time.Millisecond)
	if c.Fields["lastmodifieddate"] != ms || c.Fields["createdate"] != ms || c.Fields["hs_object_id"] != c.ID {
		t.Errorf("hubspot contact stamps: %v", c.Fields)
	}
	if _, ok := c.Fields["hs_lastmodifieddate"]; ok {
		t.Error("contacts must not carry hs_lastmodifieddate")
	}
	sb.Clock.Advance(time.Minute)
	u, err := sb.SF.Update(SFAccount, r.ID, map[string]any{"Industry": "Retail"}, ActorUser)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fields["SystemModstamp"] != want.Add(time.Minute) || u.Fields["LastModifiedDate"] != want.Add(time.Minute) || u.Fields["CreatedDate"] != want {
		t.Errorf("update stamps: %v", u.Fields)
	}
}
