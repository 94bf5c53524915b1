package connectors

import (
	"fmt"
	"strings"
	"time"
)

// Object is a CRM-neutral object kind. The values match the object names of
// the configuration (connections[].objects).
type Object string

// Objects every driver supports.
const (
	Accounts      Object = "accounts"      // Salesforce Account, HubSpot companies
	Contacts      Object = "contacts"      // Salesforce Contact, HubSpot contacts
	Opportunities Object = "opportunities" // Salesforce Opportunity, HubSpot deals
	Activities    Object = "activities"    // Salesforce Task+Event, HubSpot calls/emails/meetings/notes/tasks
)

// AllObjects lists the objects in dependency order (accounts first).
var AllObjects = []Object{Accounts, Contacts, Opportunities, Activities}

// Valid reports whether o is one of the known objects.
func (o Object) Valid() bool {
	switch o {
	case Accounts, Contacts, Opportunities, Activities:
		return true
	}
	return false
}

// Activity kinds (FKind).
const (
	KindEmail   = "email"
	KindCall    = "call"
	KindMeeting = "meeting"
	KindNote    = "note"
	KindTask    = "task"
)

// Normalised field keys of Record.Fields. Values are string, float64, bool,
// time.Time (UTC; dates at midnight UTC), []string or nil when the CRM has no
// value. A driver sets the keys it can map and leaves the rest absent.
const (
	FName          = "name"           // all but activities
	FIndustry      = "industry"       // accounts
	FEmployees     = "employees"      // accounts, float64
	FAnnualRevenue = "annual_revenue" // accounts, float64
	FCountry       = "country"        // accounts
	FOwner         = "owner"          // owner user id
	FDescription   = "description"    // accounts, opportunities
	FCreated       = "created"        // time.Time
	FEmail         = "email"          // contacts
	FPhone         = "phone"          // contacts
	FTitle         = "title"          // contacts
	FStage         = "stage"          // opportunities
	FAmount        = "amount"         // opportunities, float64
	FCloseDate     = "close_date"     // opportunities, time.Time
	FIsClosed      = "is_closed"      // opportunities, bool
	FIsWon         = "is_won"         // opportunities, bool
	FProducts      = "products"       // opportunities, []string
	FCompetitor    = "competitor"     // opportunities
	FLossReason    = "loss_reason"    // opportunities
	FType          = "type"           // accounts, opportunities: the CRM's type picklist
	FKind          = "kind"           // activities: KindEmail ...
	FSubject       = "subject"        // activities
	FBody          = "body"           // activities
	FDate          = "date"           // activities: when it happened / is due, time.Time
	FDirection     = "direction"      // activities: inbound | outbound | ""
	FContactIDs    = "contact_ids"    // activities, []string
	FStatus        = "status"         // activities (tasks)
)

// Record is one CRM row in neutral form.
type Record struct {
	Object    Object
	ID        string    // the CRM's id (Salesforce 18-char, HubSpot numeric string)
	Type      string    // the CRM's own object name: Account, Task, companies, calls ...
	AccountID string    // owning account; empty when unknown or for accounts themselves
	Modified  time.Time // the stamp the change cursor runs on (SystemModstamp, hs_lastmodifieddate)
	Deleted   bool      // soft-deleted (recycle bin) or archived
	Fields    map[string]any
	Raw       map[string]any // the CRM's payload as decoded from JSON
}

// Malformed reports a record the CRM sent without an id or without the stamp
// the change cursor runs on. A change feed passes such a record on, with
// whatever else it carried, without letting it move the cursor, so the sync
// engine can quarantine it alone while the rest of its page is stored.
func (r Record) Malformed() bool { return r.ID == "" || r.Modified.IsZero() }

// Key identifies one version of a record: de-duplication is by (ID, Modified).
func (r Record) Key() string { return r.ID + "@" + r.Modified.UTC().Format(time.RFC3339Nano) }

// String returns the field as a string ("" when absent or not a string).
func (r Record) String(key string) string {
	switch v := r.Fields[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Float returns a numeric field and whether it was set.
func (r Record) Float(key string) (float64, bool) {
	v, ok := r.Fields[key].(float64)
	return v, ok
}

// Bool returns a boolean field (false when absent).
func (r Record) Bool(key string) bool {
	v, _ := r.Fields[key].(bool)
	return v
}

// Time returns a time field (zero when absent).
func (r Record) Time(key string) time.Time {
	v, _ := r.Fields[key].(time.Time)
	return v
}

// Strings returns a list field.
func (r Record) Strings(key string) []string {
	v, _ := r.Fields[key].([]string)
	return v
}

// Account is the typed view of an accounts record.
type Account struct {
	ID, Name, Industry          string
	Employees, AnnualRevenue    float64
	Country, Owner, Description string
	Type                        string
	Created, Modified           time.Time
	Raw                         map[string]any
}

// Contact is the typed view of a contacts record.
type Contact struct {
	ID, AccountID, Name, Email, Phone, Title, Owner string
	Created, Modified                               time.Time
	Raw                                             map[string]any
}

// Opportunity is the typed view of an opportunities record.
type Opportunity struct {
	ID, AccountID, Name, Stage   string
	Amount                       float64
	CloseDate                    time.Time
	IsClosed, IsWon              bool
	Products                     []string
	Competitor, LossReason, Type string
	Owner                        string
	Created, Modified            time.Time
	Raw                          map[string]any
}

// Activity is the typed view of an activities record.
type Activity struct {
	ID, AccountID, Kind, Subject, Body string
	Date                               time.Time
	Direction, Status, Owner           string
	ContactIDs                         []string
	Modified                           time.Time
	Raw                                map[string]any
}

func (r Record) want(o Object) error {
	if r.Object != o {
		return fmt.Errorf("record %s is %s, not %s", r.ID, r.Object, o)
	}
	return nil
}

// Account converts an accounts record.
func (r Record) Account() (Account, error) {
	if err := r.want(Accounts); err != nil {
		return Account{}, err
	}
	emp, _ := r.Float(FEmployees)
	rev, _ := r.Float(FAnnualRevenue)
	return Account{
		ID: r.ID, Name: r.String(FName), Industry: r.String(FIndustry),
		Employees: emp, AnnualRevenue: rev, Country: r.String(FCountry),
		Owner: r.String(FOwner), Description: r.String(FDescription), Type: r.String(FType),
		Created: r.Time(FCreated), Modified: r.Modified, Raw: r.Raw,
	}, nil
}

// Contact converts a contacts record.
func (r Record) Contact() (Contact, error) {
	if err := r.want(Contacts); err != nil {
		return Contact{}, err
	}
	return Contact{
		ID: r.ID, AccountID: r.AccountID, Name: r.String(FName), Email: r.String(FEmail),
		Phone: r.String(FPhone), Title: r.String(FTitle), Owner: r.String(FOwner),
		Created: r.Time(FCreated), Modified: r.Modified, Raw: r.Raw,
	}, nil
}

// Opportunity converts an opportunities record.
func (r Record) Opportunity() (Opportunity, error) {
	if err := r.want(Opportunities); err != nil {
		return Opportunity{}, err
	}
	amt, _ := r.Float(FAmount)
	return Opportunity{
		ID: r.ID, AccountID: r.AccountID, Name: r.String(FName), Stage: r.String(FStage),
		Amount: amt, CloseDate: r.Time(FCloseDate), IsClosed: r.Bool(FIsClosed), IsWon: r.Bool(FIsWon),
		Products: r.Strings(FProducts), Competitor: r.String(FCompetitor), LossReason: r.String(FLossReason),
		Type: r.String(FType), Owner: r.String(FOwner), Created: r.Time(FCreated), Modified: r.Modified, Raw: r.Raw,
	}, nil
}

// Activity converts an activities record.
func (r Record) Activity() (Activity, error) {
	if err := r.want(Activities); err != nil {
		return Activity{}, err
	}
	return Activity{
		ID: r.ID, AccountID: r.AccountID, Kind: r.String(FKind), Subject: r.String(FSubject),
		Body: r.String(FBody), Date: r.Time(FDate), Direction: r.String(FDirection),
		Status: r.String(FStatus), Owner: r.String(FOwner), ContactIDs: r.Strings(FContactIDs),
		Modified: r.Modified, Raw: r.Raw,
	}, nil
}

// SplitList splits a CRM multi-value string ("A;B", "a, b") into trimmed,
// non-empty parts.
func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' })
	out := f[:0]
	for _, p := range f {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
