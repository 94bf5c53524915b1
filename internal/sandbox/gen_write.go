package sandbox

import (
	"fmt"
	"time"
)

// The generator's writers: one customer into the org and the portal.

func (g *generator) writeSalesforce(c *customer) error {
	s := g.sb.SF
	ownerID := g.sb.Owners[c.owner].SalesforceID
	audit := func(m map[string]any) map[string]any {
		m["CreatedById"], m["LastModifiedById"] = ownerID, ownerID
		return m
	}
	typ := "Customer - Direct"
	if c.prospect {
		typ = "Prospect"
	}
	acc := audit(map[string]any{
		"Name": c.name, "Type": typ, "NumberOfEmployees": float64(c.employees),
		"AnnualRevenue": c.revenue, "BillingCountry": c.country, "BillingCity": c.city,
		"Phone": c.phone, "Description": c.accountDescription(),
		"AccountSource": leadSources[c.band%len(leadSources)], "OwnerId": ownerID,
	})
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
		m := audit(map[string]any{"AccountId": c.sfID, "FirstName": ct.first, "LastName": ct.last,
			"Name": personName(ct.first, ct.last, ct.ja), "Email": ct.email, "Title": ct.title,
			"MailingCountry": c.country, "OwnerId": ownerID, "Phone": c.phone})
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
		m := audit(map[string]any{"AccountId": c.sfID, "Name": dealName(c, d), "StageName": st.Name,
			"Amount": d.amount, "CloseDate": NewDate(d.close), "Probability": st.Probability,
			"IsClosed": st.Closed, "IsWon": st.Won, "Type": d.typ, "LeadSource": d.source,
			"Product__c": Products[d.product], "OwnerId": ownerID, "ForecastCategoryName": forecast(st)})
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
		m := audit(map[string]any{"WhatId": what, "WhoId": c.sfContacts[a.contact], "AccountId": c.sfID,
			"Description": a.body, "OwnerId": ownerID})
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
			m["Location"] = map[bool]string{true: "Web会議", false: "Video call"}[a.ja]
		case "email":
			m["Subject"] = "Email: " + a.subject
			m["TaskSubtype"], m["Type"] = "Email", "Email"
		case "call":
			m["Subject"] = "Call: " + a.subject
			m["TaskSubtype"], m["Type"] = "Call", "Call"
			m["CallType"] = map[bool]string{true: "Inbound", false: "Outbound"}[a.inbound]
			m["CallDurationInSeconds"] = float64(a.duration)
		case "note":
			m["Subject"] = "Note: " + a.subject
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
	life, typ := "customer", "OTHER"
	if c.prospect {
		life, typ = "opportunity", "PROSPECT"
	}
	co := map[string]any{"name": c.name, "numberofemployees": float64(c.employees), "annualrevenue": c.revenue,
		"country": c.country, "city": c.city, "phone": c.phone, "description": c.accountDescription(), "type": typ,
		"lifecyclestage": life, "hubspot_owner_id": owner}
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
		m := map[string]any{"firstname": ct.first, "lastname": ct.last, "email": ct.email, "jobtitle": ct.title,
			"company": c.name, "country": c.country, "hs_language": lang, "lifecyclestage": life, "hubspot_owner_id": owner,
			"phone": c.phone}
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
		m := map[string]any{"dealname": dealName(c, d), "dealstage": st.Name, "pipeline": HubSpotPipeline,
			"amount": d.amount, "closedate": d.close, "dealtype": dt, "hs_is_closed": st.Closed,
			"hs_is_closed_won": st.Won, "hs_deal_stage_probability": st.Probability / 100, "hubspot_owner_id": owner,
			"product_line": productLineValue(Products[d.product])}
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
		m := map[string]any{"hs_timestamp": a.at, "hubspot_owner_id": owner}
		switch a.kind {
		case "email":
			table = HSEmails
			m["hs_email_subject"], m["hs_email_text"], m["hs_email_status"] = a.subject, a.body, "SENT"
			m["hs_email_direction"] = map[bool]string{true: "INCOMING_EMAIL", false: "EMAIL"}[a.inbound]
		case "call":
			table = HSCalls
			m["hs_call_title"], m["hs_call_body"] = a.subject, a.body
			m["hs_call_direction"] = map[bool]string{true: "INBOUND", false: "OUTBOUND"}[a.inbound]
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
			m["hs_note_body"] = "<p><strong>" + a.subject + "</strong></p><p>" + a.body + "</p>"
		default:
			table = HSTasks
			m["hs_task_subject"], m["hs_task_body"] = a.subject, a.body
			m["hs_task_status"] = map[bool]string{true: "NOT_STARTED", false: "COMPLETED"}[a.open]
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
