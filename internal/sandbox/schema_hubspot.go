package sandbox

import (
	"strconv"
	"time"
)

// HubSpot portal schema: the CRM objects crmpulse reads and writes with
// their documented internal property names. Field types use the Salesforce
// describe names (the hubspot dialect maps them: string/textarea → string,
// double/int/currency/percent → number, boolean → bool, date/datetime →
// datetime, picklist → enumeration). Group is the property group.
//
// Ids are numeric strings. The store sets hs_object_id to the id, createdate
// (hs_createdate on engagements) on insert and lastmodifieddate (contacts) or
// hs_lastmodifieddate (everything else) on every write, in milliseconds.
// Values in Row.Fields are typed (float64, bool, time.Time); the dialect
// renders them as strings.

// HubSpot object types (URL path segments).
const (
	HSCompanies = "companies"
	HSContacts  = "contacts"
	HSDeals     = "deals"
	HSCalls     = "calls"
	HSEmails    = "emails"
	HSMeetings  = "meetings"
	HSNotes     = "notes"
	HSTasks     = "tasks"
)

// HSEngagements are the engagement object types.
var HSEngagements = []string{HSCalls, HSEmails, HSMeetings, HSNotes, HSTasks}

// HubSpotDealStages are the stages of the "default" deal pipeline (Name is
// the stage id stored in dealstage).
var HubSpotDealStages = []Stage{
	{Name: "appointmentscheduled", Label: "Appointment Scheduled", Probability: 20},
	{Name: "qualifiedtobuy", Label: "Qualified To Buy", Probability: 40},
	{Name: "presentationscheduled", Label: "Presentation Scheduled", Probability: 60},
	{Name: "decisionmakerboughtin", Label: "Decision Maker Bought-In", Probability: 80},
	{Name: "contractsent", Label: "Contract Sent", Probability: 90},
	{Name: "closedwon", Label: "Closed Won", Probability: 100, Closed: true, Won: true},
	{Name: "closedlost", Label: "Closed Lost", Probability: 0, Closed: true},
}

// HubSpotPipeline is the id of the only deal pipeline.
const HubSpotPipeline = "default"

// HubSpotIndustries maps the synthetic industries' Salesforce picklist value
// to the HubSpot industry enumeration value.
var HubSpotIndustries = map[string]string{
	"Manufacturing":  "MACHINERY",
	"Retail":         "RETAIL",
	"Finance":        "FINANCIAL_SERVICES",
	"Healthcare":     "HOSPITAL_HEALTH_CARE",
	"Technology":     "COMPUTER_SOFTWARE",
	"Transportation": "LOGISTICS_AND_SUPPLY_CHAIN",
	"Education":      "EDUCATION_MANAGEMENT",
	"Energy":         "OIL_ENERGY",
	"Construction":   "CONSTRUCTION",
	"Media":          "MEDIA_PRODUCTION",
}

// HubSpot v4 association type ids (HUBSPOT_DEFINED, unlabeled).
const (
	AssocCompanyToContact = 280
	AssocContactToCompany = 279
	AssocCompanyToDeal    = 342
	AssocDealToCompany    = 341
	AssocDealToContact    = 3
	AssocContactToDeal    = 4
)

// EngagementAssoc holds an engagement type's association ids.
type EngagementAssoc struct {
	ToCompany, FromCompany int
	ToDeal, FromDeal       int
	ToContact, FromContact int
}

// HubSpotEngagementAssoc gives, per engagement type, the v4 type ids of its
// links to companies, deals and contacts in both directions.
var HubSpotEngagementAssoc = map[string]EngagementAssoc{
	HSCalls:    {ToCompany: 182, FromCompany: 181, ToDeal: 206, FromDeal: 205, ToContact: 194, FromContact: 193},
	HSEmails:   {ToCompany: 186, FromCompany: 185, ToDeal: 210, FromDeal: 209, ToContact: 198, FromContact: 197},
	HSMeetings: {ToCompany: 188, FromCompany: 187, ToDeal: 212, FromDeal: 211, ToContact: 200, FromContact: 199},
	HSNotes:    {ToCompany: 190, FromCompany: 189, ToDeal: 214, FromDeal: 213, ToContact: 202, FromContact: 201},
	HSTasks:    {ToCompany: 192, FromCompany: 191, ToDeal: 216, FromDeal: 215, ToContact: 204, FromContact: 203},
}

// HubSpot values of deals.dealtype.
const (
	DealNewBusiness      = "newbusiness"
	DealExistingBusiness = "existingbusiness"
	DealRenewal          = "renewal"
)

// productLineValue is the HubSpot enumeration value of a product label.
func productLineValue(p string) string {
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b = append(b, c)
		case len(b) > 0 && b[len(b)-1] != '_':
			b = append(b, '_')
		}
	}
	return string(b)
}

// ProductLineValue returns the deals.product_line value of a product label
// ("Security Add-on" → "security_add_on").
func ProductLineValue(product string) string { return productLineValue(product) }

func hs(name, label, typ, group string, opts ...func(*Field)) *Field {
	f := &Field{Name: name, Label: label, Type: typ, Group: group, Createable: true, Updateable: true, Nillable: true}
	for _, o := range opts {
		o(f)
	}
	return f
}

func labelled(values, labels []string) func(*Field) {
	return func(f *Field) { f.Options, f.OptionLabels = values, labels }
}

func stageOptions() func(*Field) {
	var v, l []string
	for _, s := range HubSpotDealStages {
		v, l = append(v, s.Name), append(l, s.Label)
	}
	return labelled(v, l)
}

func productOptions() func(*Field) {
	v := make([]string, len(Products))
	for i, p := range Products {
		v[i] = productLineValue(p)
	}
	return labelled(v, Products)
}

func hsIndustryOptions() func(*Field) {
	var v []string
	for _, k := range sortedKeys(HubSpotIndustries) {
		v = append(v, HubSpotIndustries[k])
	}
	return picklist(v...)
}

func hsCommon(created, modified string) []*Field {
	return []*Field{
		hs("hs_object_id", "Record ID", FID, "", readOnly, required),
		hs(created, "Create Date", FDateTime, "", readOnly),
		hs(modified, "Last Modified Date", FDateTime, "", readOnly),
		hs("hubspot_owner_id", "Owner", FString, ""),
	}
}

func hsEngagement(name string, fields ...*Field) *Schema {
	f := append(hsCommon("hs_createdate", "hs_lastmodifieddate"),
		hs("hs_timestamp", "Activity date", FDateTime, "engagement", required))
	return &Schema{Name: name, Fields: append(f, fields...)}
}

// HubSpotSchemas returns fresh definitions of the portal's object types.
func HubSpotSchemas() []*Schema {
	lifecycle := labelled(
		[]string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"},
		[]string{"Subscriber", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity", "Customer", "Evangelist", "Other"})
	return []*Schema{
		{Name: HSCompanies, Fields: append(hsCommon("createdate", "hs_lastmodifieddate"),
			hs("name", "Company name", FString, "companyinformation"),
			hs("domain", "Company Domain Name", FString, "companyinformation"),
			hs("industry", "Industry", FPicklist, "companyinformation", hsIndustryOptions()),
			hs("numberofemployees", "Number of Employees", FInt, "companyinformation"),
			hs("annualrevenue", "Annual Revenue", FCurrency, "companyinformation"),
			hs("country", "Country/Region", FString, "companyinformation"),
			hs("city", "City", FString, "companyinformation"),
			hs("phone", "Phone Number", FPhone, "companyinformation"),
			hs("website", "Website URL", FURL, "companyinformation"),
			hs("description", "Description", FTextArea, "companyinformation"),
			hs("type", "Type", FPicklist, "companyinformation", labelled(
				[]string{"PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"},
				[]string{"Prospect", "Partner", "Reseller", "Vendor", "Other"})),
			hs("lifecyclestage", "Lifecycle Stage", FPicklist, "companyinformation", lifecycle),
			hs("notes_last_updated", "Last Activity Date", FDateTime, "sales_properties", readOnly),
		)},
		{Name: HSContacts, Fields: append(hsCommon("createdate", "lastmodifieddate"),
			hs("firstname", "First Name", FString, "contactinformation"),
			hs("lastname", "Last Name", FString, "contactinformation"),
			hs("email", "Email", FEmail, "contactinformation"),
			hs("phone", "Phone Number", FPhone, "contactinformation"),
			hs("jobtitle", "Job Title", FString, "contactinformation"),
			hs("company", "Company Name", FString, "contactinformation"),
			hs("country", "Country/Region", FString, "contactinformation"),
			hs("hs_language", "Preferred language", FPicklist, "contactinformation", labelled(
				[]string{"ja", "en"}, []string{"Japanese", "English"})),
			hs("lifecyclestage", "Lifecycle Stage", FPicklist, "contactinformation", lifecycle),
			hs("message", "Message", FTextArea, "contactinformation"),
		)},
		{Name: HSDeals, Fields: append(hsCommon("createdate", "hs_lastmodifieddate"),
			hs("dealname", "Deal Name", FString, "dealinformation", required),
			hs("dealstage", "Deal Stage", FPicklist, "dealinformation", stageOptions()),
			hs("pipeline", "Pipeline", FPicklist, "dealinformation", labelled([]string{HubSpotPipeline}, []string{"Sales Pipeline"})),
			hs("amount", "Amount", FCurrency, "dealinformation"),
			hs("closedate", "Close Date", FDateTime, "dealinformation"),
			hs("dealtype", "Deal Type", FPicklist, "dealinformation", labelled(
				[]string{DealNewBusiness, DealExistingBusiness, DealRenewal},
				[]string{"New Business", "Existing Business", "Renewal"})),
			hs("hs_is_closed", "Is Deal Closed?", FBoolean, "dealinformation", readOnly),
			hs("hs_is_closed_won", "Is Closed Won", FBoolean, "dealinformation", readOnly),
			hs("hs_deal_stage_probability", "Deal probability", FPercent, "dealinformation", readOnly),
			hs("description", "Deal Description", FTextArea, "dealinformation"),
			hs("closed_lost_reason", "Closed Lost Reason", FTextArea, "dealinformation"),
			hs("closed_won_reason", "Closed Won Reason", FTextArea, "dealinformation"),
			hs("product_line", "Product line", FPicklist, "dealinformation", custom, productOptions()),
			hs("competitor", "Competitor", FPicklist, "dealinformation", custom, picklist(Competitors...)),
		)},
		hsEngagement(HSCalls,
			hs("hs_call_title", "Call Title", FString, "call"),
			hs("hs_call_body", "Call notes", FTextArea, "call"),
			hs("hs_call_direction", "Call direction", FPicklist, "call", picklist("INBOUND", "OUTBOUND")),
			hs("hs_call_duration", "Call duration", FInt, "call"),
			hs("hs_call_status", "Call status", FPicklist, "call", picklist("COMPLETED", "BUSY", "NO_ANSWER", "FAILED", "CANCELED")),
			hs("hs_call_disposition", "Call outcome", FString, "call"),
		),
		hsEngagement(HSEmails,
			hs("hs_email_subject", "Email subject", FString, "email"),
			hs("hs_email_text", "Email body", FTextArea, "email"),
			hs("hs_email_direction", "Email direction", FPicklist, "email", picklist("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL")),
			hs("hs_email_status", "Email send status", FPicklist, "email", picklist("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT")),
		),
		hsEngagement(HSMeetings,
			hs("hs_meeting_title", "Meeting name", FString, "meeting"),
			hs("hs_meeting_body", "Meeting description", FTextArea, "meeting"),
			hs("hs_meeting_start_time", "Start time", FDateTime, "meeting"),
			hs("hs_meeting_end_time", "End time", FDateTime, "meeting"),
			hs("hs_meeting_outcome", "Meeting outcome", FPicklist, "meeting", picklist("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")),
		),
		hsEngagement(HSNotes,
			hs("hs_note_body", "Note body", FTextArea, "note"),
		),
		hsEngagement(HSTasks,
			hs("hs_task_subject", "Task title", FString, "task"),
			hs("hs_task_body", "Task notes", FTextArea, "task"),
			hs("hs_task_status", "Task status", FPicklist, "task", picklist("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")),
			hs("hs_task_priority", "Priority", FPicklist, "task", picklist("LOW", "MEDIUM", "HIGH")),
			hs("hs_task_type", "Task type", FPicklist, "task", picklist("CALL", "EMAIL", "TODO")),
		),
	}
}

// hubSpotStoreOptions are the portal's stamping rules and id format.
func hubSpotStoreOptions() StoreOptions {
	mod := map[string][]string{HSContacts: {"lastmodifieddate"}}
	created := map[string][]string{HSCompanies: {"createdate"}, HSContacts: {"createdate"}, HSDeals: {"createdate"}}
	for _, t := range append([]string{HSCompanies, HSDeals}, HSEngagements...) {
		mod[t] = []string{"hs_lastmodifieddate"}
	}
	for _, t := range HSEngagements {
		created[t] = []string{"hs_createdate"}
	}
	return StoreOptions{
		Stamp:          time.Millisecond,
		ModifiedFields: mod,
		CreatedFields:  created,
		IDField:        "hs_object_id",
		NewID:          func(_ *Schema, seq int64) string { return HubSpotID(seq) },
		SeqOf: func(id string) (int64, bool) {
			n, err := strconv.ParseInt(id, 10, 64)
			return n - hubSpotIDBase, err == nil && n >= hubSpotIDBase
		},
	}
}
