package sandbox

import (
	"strings"
	"time"
)

// Salesforce org schema: the standard objects crmpulse reads and writes, with
// canonical field names and describe types, plus the custom opportunity
// fields the synthetic org uses (Product__c, Competitor__c, Loss_Reason__c).
//
// Every table carries the audit fields Id, IsDeleted, CreatedDate,
// CreatedById, LastModifiedDate, LastModifiedById and SystemModstamp. The
// store sets CreatedDate on insert and LastModifiedDate + SystemModstamp on
// every write (whole seconds); IsDeleted is not kept in Row.Fields: dialects
// render it from Row.Deleted. Id is kept in Row.Fields and equals Row.ID.

// Salesforce table names.
const (
	SFUser                    = "User"
	SFAccount                 = "Account"
	SFContact                 = "Contact"
	SFOpportunity             = "Opportunity"
	SFOpportunityLineItem     = "OpportunityLineItem"
	SFTask                    = "Task"
	SFEvent                   = "Event"
	SFCampaign                = "Campaign"
	SFCampaignMember          = "CampaignMember"
	SFPermissionSet           = "PermissionSet"
	SFFieldPermissions        = "FieldPermissions"
	SFPermissionSetAssignment = "PermissionSetAssignment"
)

// Stage is an opportunity / deal stage with its default probability.
type Stage struct {
	Name        string // Salesforce StageName / HubSpot stage id
	Label       string
	Probability float64 // percent, 0-100
	Closed, Won bool
}

// SalesforceStages are the standard opportunity stages, in pipeline order.
var SalesforceStages = []Stage{
	{Name: "Prospecting", Probability: 10},
	{Name: "Qualification", Probability: 10},
	{Name: "Needs Analysis", Probability: 20},
	{Name: "Value Proposition", Probability: 50},
	{Name: "Id. Decision Makers", Probability: 60},
	{Name: "Perception Analysis", Probability: 70},
	{Name: "Proposal/Price Quote", Probability: 75},
	{Name: "Negotiation/Review", Probability: 90},
	{Name: "Closed Won", Probability: 100, Closed: true, Won: true},
	{Name: "Closed Lost", Probability: 0, Closed: true},
}

// SalesforceIndustries are the standard Account.Industry picklist values.
var SalesforceIndustries = []string{
	"Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
	"Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
	"Entertainment", "Environmental", "Finance", "Food & Beverage", "Government",
	"Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media",
	"Not For Profit", "Other", "Recreation", "Retail", "Shipping", "Technology",
	"Telecommunications", "Transportation", "Utilities",
}

// Opportunity types used by the synthetic org.
const (
	OppNewBusiness = "New Business"
	OppUpgrade     = "Existing Business - Upgrade"
	OppRenewal     = "Renewal"
)

// Products are the product lines sold (Opportunity.Product__c, deals.product_line labels).
var Products = []string{
	"Analytics Suite", "Data Platform", "Security Add-on", "Support Plus",
	"Training", "API Access", "Mobile Pack", "Consulting",
}

// Competitors are the named competitors of the synthetic market.
var Competitors = []string{"DataForge", "Metricon", "Nexalytics", "QuantaBI", "Vistara", "BluePeak CRM Analytics"}

// LossReasons are the Loss_Reason__c picklist values.
var LossReasons = []string{"Price", "Competitor", "No Budget", "No Decision", "Timing", "Product Fit", "Champion Left"}

func stageNames(st []Stage) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Name
	}
	return out
}

// sf builds Salesforce fields tersely.
func sf(name, typ string, opts ...func(*Field)) *Field {
	f := &Field{Name: name, Label: name, Type: typ, Createable: true, Updateable: true, Nillable: true}
	switch typ {
	case FString, FPicklist, FEmail, FPhone, FURL:
		f.Length = 255
	case FTextArea:
		f.Length = 32000
	case FBoolean:
		f.Nillable = false
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

func readOnly(f *Field) { f.Createable, f.Updateable = false, false }
func required(f *Field) { f.Nillable = false }
func custom(f *Field)   { f.Custom = true }
func length(n int) func(*Field) {
	return func(f *Field) { f.Length = n }
}
func label(l string) func(*Field) { return func(f *Field) { f.Label = l } }
func picklist(values ...string) func(*Field) {
	return func(f *Field) { f.Options = values }
}
func ref(to, rel string) func(*Field) {
	return func(f *Field) { f.ReferenceTo, f.RelationshipName = to, rel }
}

func sfAudit() []*Field {
	return []*Field{
		sf("Id", FID, readOnly, required, length(18)),
		sf("IsDeleted", FBoolean, readOnly),
		sf("CreatedDate", FDateTime, readOnly, required),
		sf("CreatedById", FReference, readOnly, required, ref(SFUser, "CreatedBy"), length(18)),
		sf("LastModifiedDate", FDateTime, readOnly, required),
		sf("LastModifiedById", FReference, readOnly, required, ref(SFUser, "LastModifiedBy"), length(18)),
		sf("SystemModstamp", FDateTime, readOnly, required),
	}
}

func sfTable(name, prefix string, fields ...*Field) *Schema {
	return &Schema{Name: name, KeyPrefix: prefix, Fields: append(sfAudit(), fields...)}
}

func owner() *Field { return sf("OwnerId", FReference, ref(SFUser, "Owner"), length(18)) }

// SalesforceSchemas returns fresh definitions of the org's tables.
func SalesforceSchemas() []*Schema {
	return []*Schema{
		sfTable(SFUser, PrefixUser,
			sf("Username", FString, required, length(80)),
			sf("FirstName", FString, length(40)),
			sf("LastName", FString, required, length(80)),
			sf("Name", FString, readOnly, length(121)),
			sf("Email", FEmail, required, length(128)),
			sf("Alias", FString, length(8)),
			sf("Title", FString, length(80)),
			sf("Department", FString, length(80)),
			sf("IsActive", FBoolean),
			sf("UserType", FPicklist, readOnly, picklist("Standard", "AutomatedProcess")),
			sf("TimeZoneSidKey", FPicklist, picklist("Asia/Tokyo", "America/Los_Angeles", "Europe/London")),
			sf("LanguageLocaleKey", FPicklist, picklist("ja", "en_US")),
		),
		sfTable(SFAccount, PrefixAccount,
			sf("Name", FString, required, label("Account Name")),
			sf("Type", FPicklist, label("Account Type"), picklist("Prospect", "Customer - Direct", "Customer - Channel",
				"Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other")),
			sf("Industry", FPicklist, picklist(SalesforceIndustries...)),
			sf("NumberOfEmployees", FInt, label("Employees")),
			sf("AnnualRevenue", FCurrency),
			sf("BillingCountry", FString, length(80)),
			sf("BillingCity", FString, length(40)),
			sf("Website", FURL),
			sf("Phone", FPhone, length(40)),
			sf("Description", FTextArea),
			sf("AccountSource", FPicklist, picklist("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")),
			sf("Rating", FPicklist, picklist("Hot", "Warm", "Cold")),
			sf("ParentId", FReference, ref(SFAccount, "Parent"), length(18)),
			owner(),
			sf("LastActivityDate", FDate, readOnly),
		),
		sfTable(SFContact, PrefixContact,
			sf("AccountId", FReference, ref(SFAccount, "Account"), length(18)),
			sf("FirstName", FString, length(40)),
			sf("LastName", FString, required, length(80)),
			sf("Name", FString, readOnly, length(121), label("Full Name")),
			sf("Email", FEmail, length(80)),
			sf("Phone", FPhone, length(40)),
			sf("Title", FString, length(128)),
			sf("Department", FString, length(80)),
			sf("MailingCountry", FString, length(80)),
			sf("LeadSource", FPicklist, picklist("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")),
			sf("Description", FTextArea),
			owner(),
			sf("LastActivityDate", FDate, readOnly),
		),
		sfTable(SFOpportunity, PrefixOpportunity,
			sf("AccountId", FReference, ref(SFAccount, "Account"), length(18)),
			sf("Name", FString, required, length(120)),
			sf("StageName", FPicklist, required, label("Stage"), picklist(stageNames(SalesforceStages)...)),
			sf("Amount", FCurrency),
			sf("CloseDate", FDate, required),
			sf("Probability", FPercent),
			sf("IsClosed", FBoolean, readOnly),
			sf("IsWon", FBoolean, readOnly),
			sf("Type", FPicklist, label("Opportunity Type"), picklist(OppNewBusiness, OppUpgrade, OppRenewal)),
			sf("LeadSource", FPicklist, picklist("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")),
			sf("NextStep", FString),
			sf("ForecastCategoryName", FPicklist, readOnly, picklist("Omitted", "Pipeline", "Best Case", "Commit", "Closed")),
			sf("Description", FTextArea),
			owner(),
			sf("Product__c", FPicklist, custom, label("Product"), picklist(Products...)),
			sf("Competitor__c", FPicklist, custom, label("Competitor"), picklist(Competitors...)),
			sf("Loss_Reason__c", FPicklist, custom, label("Loss Reason"), picklist(LossReasons...)),
			sf("LastActivityDate", FDate, readOnly),
		),
		sfTable(SFOpportunityLineItem, PrefixOpportunityLineItem,
			sf("OpportunityId", FReference, required, ref(SFOpportunity, "Opportunity"), length(18)),
			sf("Name", FString, readOnly),
			sf("ProductCode", FString),
			sf("Quantity", FDouble, required),
			sf("UnitPrice", FCurrency),
			sf("TotalPrice", FCurrency),
			sf("ServiceDate", FDate),
			sf("Description", FString),
		),
		sfTable(SFTask, PrefixTask,
			sf("WhatId", FReference, ref(SFAccount+","+SFOpportunity, "What"), length(18)),
			sf("WhoId", FReference, ref(SFContact, "Who"), length(18)),
			sf("AccountId", FReference, readOnly, ref(SFAccount, "Account"), length(18)),
			sf("Subject", FString),
			sf("Description", FTextArea, label("Comments")),
			sf("ActivityDate", FDate, label("Due Date Only")),
			sf("Status", FPicklist, required, picklist("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")),
			sf("Priority", FPicklist, required, picklist("High", "Normal", "Low")),
			sf("IsClosed", FBoolean, readOnly),
			sf("TaskSubtype", FPicklist, picklist("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")),
			sf("Type", FPicklist, picklist("Call", "Email", "Meeting", "Other")),
			sf("CallType", FPicklist, picklist("Internal", "Inbound", "Outbound")),
			sf("CallDurationInSeconds", FInt),
			sf("CallDisposition", FString),
			sf("CompletedDateTime", FDateTime, readOnly),
			sf("IsArchived", FBoolean, readOnly),
			owner(),
		),
		sfTable(SFEvent, PrefixEvent,
			sf("WhatId", FReference, ref(SFAccount+","+SFOpportunity, "What"), length(18)),
			sf("WhoId", FReference, ref(SFContact, "Who"), length(18)),
			sf("AccountId", FReference, readOnly, ref(SFAccount, "Account"), length(18)),
			sf("Subject", FString),
			sf("Description", FTextArea),
			sf("Location", FString),
			sf("ActivityDate", FDate),
			sf("ActivityDateTime", FDateTime),
			sf("StartDateTime", FDateTime),
			sf("EndDateTime", FDateTime),
			sf("DurationInMinutes", FInt),
			sf("IsAllDayEvent", FBoolean),
			sf("EventSubtype", FPicklist, picklist("Event")),
			sf("Type", FPicklist, picklist("Call", "Email", "Meeting", "Other")),
			sf("ShowAs", FPicklist, picklist("Busy", "OutOfOffice", "Free")),
			sf("IsArchived", FBoolean, readOnly),
			owner(),
		),
		sfTable(SFCampaign, PrefixCampaign,
			sf("Name", FString, required, length(80)),
			sf("Type", FPicklist, picklist("Conference", "Webinar", "Trade Show", "Public Relations", "Partners", "Referral Program", "Advertisement", "Banner Ads", "Direct Mail", "Email", "Telemarketing", "Other")),
			sf("Status", FPicklist, picklist("Planned", "In Progress", "Completed", "Aborted")),
			sf("IsActive", FBoolean),
			sf("StartDate", FDate),
			sf("EndDate", FDate),
			sf("Description", FTextArea),
			sf("ParentId", FReference, ref(SFCampaign, "Parent"), length(18)),
			sf("NumberOfContacts", FInt, readOnly),
			owner(),
		),
		sfTable(SFCampaignMember, PrefixCampaignMember,
			sf("CampaignId", FReference, required, ref(SFCampaign, "Campaign"), length(18)),
			sf("ContactId", FReference, ref(SFContact, "Contact"), length(18)),
			sf("AccountId", FReference, ref(SFAccount, "Account"), length(18)),
			sf("LeadOrContactId", FReference, readOnly, ref(SFContact, "LeadOrContact"), length(18)),
			sf("Status", FPicklist, picklist("Sent", "Responded")),
			sf("HasResponded", FBoolean, readOnly),
		),
		sfTable(SFPermissionSet, PrefixPermissionSet,
			sf("Name", FString, required, length(80)),
			sf("Label", FString, required, length(80)),
			sf("Description", FTextArea, length(255)),
			sf("IsOwnedByProfile", FBoolean, readOnly),
		),
		sfTable(SFFieldPermissions, PrefixFieldPermissions,
			sf("ParentId", FReference, required, ref(SFPermissionSet, "Parent"), length(18)),
			sf("SobjectType", FPicklist, required),
			sf("Field", FPicklist, required),
			sf("PermissionsRead", FBoolean),
			sf("PermissionsEdit", FBoolean),
		),
		sfTable(SFPermissionSetAssignment, PrefixPermissionSetAssignment,
			sf("AssigneeId", FReference, required, ref(SFUser, "Assignee"), length(18)),
			sf("PermissionSetId", FReference, required, ref(SFPermissionSet, "PermissionSet"), length(18)),
		),
	}
}

// salesforceStoreOptions are the org's stamping rules and id format.
func salesforceStoreOptions() StoreOptions {
	return StoreOptions{
		Stamp:          time.Second,
		ModifiedFields: map[string][]string{"*": {"LastModifiedDate", "SystemModstamp"}},
		CreatedFields:  map[string][]string{"*": {"CreatedDate"}},
		IDField:        "Id",
		NewID: func(s *Schema, seq int64) string {
			return SalesforceID(s.KeyPrefix, seq)
		},
		SeqOf: salesforceSeq,
	}
}

// salesforceSeq is the sequence number of an id made by SalesforceID.
func salesforceSeq(id string) (int64, bool) {
	if len(id) != 18 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(id[5:15]) {
		d := strings.IndexByte(base62, c)
		if d < 0 {
			return 0, false
		}
		n = n*62 + int64(d)
	}
	return n, true
}
