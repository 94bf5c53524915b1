package sandbox

import (
	"fmt"
	"time"
)

// The generator's writers: one customer into the org and the portal.

// fields returns the generator's field map, emptied. The stores copy what
// they are given, so one map serves every row.
func (g *generator) fields() map[string]any {
	if g.m == nil {
		g.m = make(map[string]any, 32)
	}
	clear(g.m)
	return g.m
}

func ifElse[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// prepare names the deals once and lays out each activity's texts so that both tenants store the
// same bytes: the Salesforce subject is "Email: "+subject and HubSpot's the
// subject alone, a slice of it; a note's Salesforce description is a slice
// of its HubSpot HTML body.
func (c *customer) prepare() {
	if c.prepared {
		return
	}
	c.prepared = true
	for k := range c.deals {
		c.deals[k].name = dealName(c, &c.deals[k])
	}
	for k := range c.acts {
		a := &c.acts[k]
		prefix := ""
		switch a.kind {
		case "email":
			prefix = "Email: "
		case "call":
			prefix = "Call: "
		case "note":
			prefix = "Note: "
			a.html = "<p><strong>" + a.subject + "</strong></p><p>" + a.body + "</p>"
			off := len(a.html) - len("</p>") - len(a.body)
			a.body = a.html[off : off+len(a.body)]
		}
		a.sfSubject = a.subject
		if prefix != "" {
			a.sfSubject = prefix + a.subject
			a.subject = a.sfSubject[len(prefix):]
		}
	}
}

func (g *generator) writeSalesforce(c *customer) error {
	s := g.sb.SF
	ownerID := g.sb.Owners[c.owner].SalesforceID
	audit := func(m map[string]any) map[string]any {
		m["CreatedById"], m["LastModifiedById"] = ownerID, ownerID
		return m
	}
	c.prepare()
	typ := "Customer - Direct"
	if c.prospect {
		typ = "Prospect"
	}
	acc := audit(g.fields())
	acc["Name"], acc["Type"], acc["NumberOfEmployees"] = c.name, typ, float64(c.employees)
	acc["AnnualRevenue"], acc["BillingCountry"], acc["BillingCity"] = c.revenue, c.country, c.city
	acc["Phone"], acc["Description"] = c.phone, c.accountDescription()
	acc["AccountSource"], acc["OwnerId"] = leadSources[c.band%len(leadSources)], ownerID
	if c.industryName != "" {
		acc["Industry"] = c.industryName
	}
	if c.domain != "" {
		acc["Website"] = "https://www." + c.domain
	}
	if !c.lastAct.IsZero() {
		acc["LastActivityDate"] = NewDate(c.lastAct)
	}
	var err error
	if c.sfID, err = s.Seed(SFAccount, acc, ActorUser, c.created, c.modified); err != nil {
		return err
	}
	c.sfContacts = make([]string, len(c.contacts))
	for k, ct := range c.contacts {
		m := audit(g.fields())
		m["AccountId"], m["FirstName"], m["LastName"] = c.sfID, ct.first, ct.last
		m["Name"], m["Email"], m["Title"] = personName(ct.first, ct.last, ct.ja), ct.email, ct.title
		m["MailingCountry"], m["OwnerId"], m["Phone"] = c.country, ownerID, c.phone
		if ct.desc != "" {
			m["Description"] = ct.desc
		}
		if c.sfContacts[k], err = s.Seed(SFContact, m, ActorUser, ct.created, ct.modified); err != nil {
			return err
		}
	}
	for k := range c.deals {
		d := &c.deals[k]
		st := SalesforceStages[d.stage]
		m := audit(g.fields())
		m["AccountId"], m["Name"], m["StageName"] = c.sfID, d.name, st.Name
		m["Amount"], m["CloseDate"], m["Probability"] = d.amount, NewDate(d.close), st.Probability
		m["IsClosed"], m["IsWon"], m["Type"], m["LeadSource"] = st.Closed, st.Won, d.typ, d.source
		m["Product__c"], m["OwnerId"], m["ForecastCategoryName"] = Products[d.product], ownerID, forecast(st)
		if d.lossReason != "" {
			m["Loss_Reason__c"] = d.lossReason
		}
		if d.competitor != "" {
			m["Competitor__c"] = d.competitor
		}
		if d.description != "" {
			m["Description"] = d.description
		}
		if d.sfID, err = s.Seed(SFOpportunity, m, ActorUser, d.created, d.modified); err != nil {
			return err
		}
	}
	archive := g.now.Add(-365 * day)
	for _, a := range c.acts {
		what := c.sfID
		if a.deal >= 0 {
			what = c.deals[a.deal].sfID
		}
		m := audit(g.fields())
		m["WhatId"], m["WhoId"], m["AccountId"] = what, c.sfContacts[a.contact], c.sfID
		m["Description"], m["OwnerId"] = a.body, ownerID
		table := SFTask
		closed := !a.open
		switch a.kind {
		case "meeting":
			table = SFEvent
			m["Subject"] = a.subject
			m["ActivityDateTime"], m["StartDateTime"] = a.at, a.at
			m["EndDateTime"] = a.at.Add(time.Duration(a.duration) * time.Minute)
			m["DurationInMinutes"] = float64(a.duration)
			m["ActivityDate"] = NewDate(a.at)
			m["IsAllDayEvent"] = false
			m["EventSubtype"], m["Type"], m["ShowAs"] = "Event", "Meeting", "Busy"
			m["Location"] = ifElse(a.ja, "Web会議", "Video call")
		case "email":
			m["Subject"] = a.sfSubject
			m["TaskSubtype"], m["Type"] = "Email", "Email"
		case "call":
			m["Subject"] = a.sfSubject
			m["TaskSubtype"], m["Type"] = "Call", "Call"
			m["CallType"] = ifElse(a.inbound, "Inbound", "Outbound")
			m["CallDurationInSeconds"] = float64(a.duration)
		case "note":
			m["Subject"] = a.sfSubject
			m["TaskSubtype"], m["Type"] = "Task", "Other"
		default:
			m["Subject"] = a.subject
			m["TaskSubtype"], m["Type"] = "Task", "Other"
		}
		if table == SFTask {
			m["ActivityDate"] = NewDate(a.at)
			m["Priority"] = "Normal"
			m["IsClosed"] = closed
			if closed {
				m["Status"] = "Completed"
				m["CompletedDateTime"] = a.logged
			} else {
				m["Status"] = "Not Started"
			}
		}
		m["IsArchived"] = closed && a.at.Before(archive)
		if _, err := s.Seed(table, m, ActorUser, a.logged, a.logged); err != nil {
			return err
		}
	}
	return nil
}

func (c *customer) accountDescription() string {
	switch {
	case c.description != "":
		return c.description
	case c.ind < 0:
		return ""
	case c.ja:
		return industries[c.ind].descJA
	}
	return industries[c.ind].descEN
}

func forecast(st Stage) string {
	switch {
	case st.Won:
		return "Closed"
	case st.Closed:
		return "Omitted"
	case st.Probability >= 90:
		return "Commit"
	case st.Probability >= 60:
		return "Best Case"
	}
	return "Pipeline"
}

func personName(first, last string, ja bool) string {
	if ja {
		return last + " " + first
	}
	return first + " " + last
}

func dealName(c *customer, d *genDeal) string {
	if d.name != "" {
		return d.name
	}
	return fmt.Sprintf("%s - %s %s %d", c.name, Products[d.product], d.typ, d.close.Year())
}

// hsStage maps a Salesforce stage index to the HubSpot default pipeline.
func hsStage(stage int) Stage {
	switch st := SalesforceStages[stage]; {
	case st.Won:
		return HubSpotDealStages[5]
	case st.Closed:
		return HubSpotDealStages[6]
	default:
		return HubSpotDealStages[min(stage*5/8, 4)]
	}
}

func (g *generator) writeHubSpot(c *customer) error {
	s := g.sb.HS
	owner := g.sb.Owners[c.owner].HubSpotID
	c.prepare()
	life, typ := "customer", "OTHER"
	if c.prospect {
		life, typ = "opportunity", "PROSPECT"
	}
	co := g.fields()
	co["name"], co["numberofemployees"], co["annualrevenue"] = c.name, float64(c.employees), c.revenue
	co["country"], co["city"], co["phone"] = c.country, c.city, c.phone
	co["description"], co["type"] = c.accountDescription(), typ
	co["lifecyclestage"], co["hubspot_owner_id"] = life, owner
	if v, ok := HubSpotIndustries[c.industryName]; ok {
		co["industry"] = v
	}
	if c.domain != "" {
		co["domain"], co["website"] = c.domain, "www."+c.domain
	}
	if !c.lastAct.IsZero() {
		co["notes_last_updated"] = c.lastAct
	}
	var err error
	if c.hsID, err = s.Seed(HSCompanies, co, ActorUser, c.created, c.modified); err != nil {
		return err
	}
	c.hsContacts = make([]string, len(c.contacts))
	for k, ct := range c.contacts {
		lang := "en"
		if ct.ja {
			lang = "ja"
		}
		m := g.fields()
		m["firstname"], m["lastname"], m["email"], m["jobtitle"] = ct.first, ct.last, ct.email, ct.title
		m["company"], m["country"], m["hs_language"] = c.name, c.country, lang
		m["lifecyclestage"], m["hubspot_owner_id"], m["phone"] = life, owner, c.phone
		if ct.desc != "" {
			m["message"] = ct.desc
		}
		if c.hsContacts[k], err = s.Seed(HSContacts, m, ActorUser, ct.created, ct.modified); err != nil {
			return err
		}
		s.Associate(HSCompanies, c.hsID, HSContacts, c.hsContacts[k], AssocCompanyToContact, AssocContactToCompany)
	}
	for k := range c.deals {
		d := &c.deals[k]
		st := hsStage(d.stage)
		dt := DealExistingBusiness
		switch d.typ {
		case OppNewBusiness:
			dt = DealNewBusiness
		case OppRenewal:
			dt = DealRenewal
		}
		m := g.fields()
		m["dealname"], m["dealstage"], m["pipeline"] = d.name, st.Name, HubSpotPipeline
		m["amount"], m["closedate"], m["dealtype"] = d.amount, d.close, dt
		m["hs_is_closed"], m["hs_is_closed_won"], m["hs_deal_stage_probability"] = st.Closed, st.Won, st.Probability/100
		m["hubspot_owner_id"], m["product_line"] = owner, productLineValue(Products[d.product])
		if d.lossReason != "" {
			m["closed_lost_reason"] = d.lossReason
		}
		if d.competitor != "" {
			m["competitor"] = d.competitor
		}
		if d.description != "" {
			m["description"] = d.description
		}
		if d.hsID, err = s.Seed(HSDeals, m, ActorUser, d.created, d.modified); err != nil {
			return err
		}
		s.Associate(HSCompanies, c.hsID, HSDeals, d.hsID, AssocCompanyToDeal, AssocDealToCompany)
		s.Associate(HSDeals, d.hsID, HSContacts, c.hsContacts[c.champion], AssocDealToContact, AssocContactToDeal)
	}
	for _, a := range c.acts {
		var table string
		m := g.fields()
		m["hs_timestamp"], m["hubspot_owner_id"] = a.at, owner
		switch a.kind {
		case "email":
			table = HSEmails
			m["hs_email_subject"], m["hs_email_text"], m["hs_email_status"] = a.subject, a.body, "SENT"
			m["hs_email_direction"] = ifElse(a.inbound, "INCOMING_EMAIL", "EMAIL")
		case "call":
			table = HSCalls
			m["hs_call_title"], m["hs_call_body"] = a.subject, a.body
			m["hs_call_direction"] = ifElse(a.inbound, "INBOUND", "OUTBOUND")
			m["hs_call_duration"] = float64(a.duration * 1000)
			m["hs_call_status"] = "COMPLETED"
		case "meeting":
			table = HSMeetings
			m["hs_meeting_title"], m["hs_meeting_body"] = a.subject, a.body
			m["hs_meeting_start_time"] = a.at
			m["hs_meeting_end_time"] = a.at.Add(time.Duration(a.duration) * time.Minute)
			m["hs_meeting_outcome"] = "COMPLETED"
		case "note":
			table = HSNotes
			m["hs_note_body"] = a.html
		default:
			table = HSTasks
			m["hs_task_subject"], m["hs_task_body"] = a.subject, a.body
			m["hs_task_status"] = ifElse(a.open, "NOT_STARTED", "COMPLETED")
			m["hs_task_priority"], m["hs_task_type"] = "MEDIUM", "TODO"
		}
		id, err := s.Seed(table, m, ActorUser, a.logged, a.logged)
		if err != nil {
			return err
		}
		as := HubSpotEngagementAssoc[table]
		s.Associate(table, id, HSCompanies, c.hsID, as.ToCompany, as.FromCompany)
		s.Associate(table, id, HSContacts, c.hsContacts[a.contact], as.ToContact, as.FromContact)
		if a.deal >= 0 {
			s.Associate(table, id, HSDeals, c.deals[a.deal].hsID, as.ToDeal, as.FromDeal)
		}
	}
	return nil
}
