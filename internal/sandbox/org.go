package sandbox

import (
	"fmt"
	"time"
)

// Owner is a sales rep: a Salesforce User and a HubSpot owner.
type Owner struct {
	SalesforceID string
	HubSpotID    string // hubspot_owner_id
	FirstName    string
	LastName     string
	Email        string
	Japanese     bool
}

// ActorIntegration prefixes the actor of writes made through an API
// client ("integration:<client id>"); generated history uses ActorUser and
// background jobs ActorAutomation.
const (
	ActorUser        = "user"
	ActorAutomation  = "automation"
	ActorIntegration = "integration:"
)

var reps = []struct {
	first, last, email string
	ja                 bool
}{
	{"Haruto", "Sato", "h.sato", true},
	{"Yui", "Suzuki", "y.suzuki", true},
	{"Ren", "Takahashi", "r.takahashi", true},
	{"Aoi", "Tanaka", "a.tanaka", true},
	{"Emily", "Carter", "e.carter", false},
	{"James", "Walker", "j.walker", false},
	{"Olivia", "Bennett", "o.bennett", false},
	{"Daniel", "Brooks", "d.brooks", false},
}

// seedOrg creates the users and the profile permission set of the org: the
// integration user (Opt.Username), an automation user and eight sales reps.
func (sb *Sandbox) seedOrg() error {
	at := sb.Opt.Now.Add(-sb.Opt.History - 90*24*time.Hour)
	admin := SalesforceID(PrefixUser, 1) // the first row of the org: the integration user
	user := func(first, last, username, email, title, utype, lang string) (string, error) {
		return sb.SF.Seed(SFUser, map[string]any{"CreatedById": admin, "LastModifiedById": admin,
			"Username": username, "FirstName": first, "LastName": last, "Name": first + " " + last,
			"Email": email, "Alias": alias(first, last), "Title": title, "IsActive": true, "UserType": utype,
			"TimeZoneSidKey":    map[string]string{"ja": "Asia/Tokyo", "en_US": "America/Los_Angeles"}[lang],
			"LanguageLocaleKey": lang,
		}, ActorUser, at, at)
	}
	var err error
	if sb.IntegrationUserID, err = user("Integration", "User", sb.Opt.Username, sb.Opt.Username, "API integration", "Standard", "en_US"); err != nil {
		return err
	}
	if _, err := user("Automated", "Process", "autoproc@sandbox.example", "autoproc@sandbox.example", "", "AutomatedProcess", "en_US"); err != nil {
		return err
	}
	for i, r := range reps {
		lang := "en_US"
		if r.ja {
			lang = "ja"
		}
		id, err := user(r.first, r.last, r.email+"@sandbox.example", r.email+"@sandbox.example", "Account Executive", "Standard", lang)
		if err != nil {
			return err
		}
		sb.Owners = append(sb.Owners, Owner{SalesforceID: id, HubSpotID: fmt.Sprint(91000001 + i), FirstName: r.first,
			LastName: r.last, Email: r.email + "@sandbox.example", Japanese: r.ja})
	}
	ps, err := sb.SF.Seed(SFPermissionSet, map[string]any{
		"Name": "X00e8d000001IntegrationProfile", "Label": "Integration Profile", "IsOwnedByProfile": true,
		"CreatedById": sb.IntegrationUserID, "LastModifiedById": sb.IntegrationUserID,
	}, ActorUser, at, at)
	if err != nil {
		return err
	}
	_, err = sb.SF.Seed(SFPermissionSetAssignment, map[string]any{"AssigneeId": sb.IntegrationUserID, "PermissionSetId": ps,
		"CreatedById": sb.IntegrationUserID, "LastModifiedById": sb.IntegrationUserID}, ActorUser, at, at)
	return err
}

func alias(first, last string) string {
	a := first[:1] + last
	if len(a) > 8 {
		a = a[:8]
	}
	return a
}
