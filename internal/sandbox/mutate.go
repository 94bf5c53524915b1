package sandbox

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// StepReport says what a Step did, per "tenant table" key such as
// "salesforce Opportunity" or "hubspot deals".
type StepReport struct {
	Step      int
	From, To  time.Time
	Created   map[string]int
	Updated   map[string]int
	Deleted   map[string]int
	Undeleted map[string]int
	Purged    map[string]int
	// TiedAt is the instant shared by the step's bulk edit (many records
	// with an identical modification stamp); TiedRecords counts them.
	TiedAt      time.Time
	TiedRecords int
	// Churned lists the account keys whose latent drop-out fell in the step.
	Churned []string
}

func (r *StepReport) add(m map[string]int, tenant, table string, n int) {
	if n != 0 {
		m[tenant+" "+table] += n
	}
}

// Step advances the clock by days and mutates both tenants the way their
// users would over that time: new deals and activities on live accounts,
// stage moves and amount edits, a bulk edit whose records all share one
// stamp, soft deletes, undeletes of recycle-bin rows, the occasional purge
// (hard delete) and the churn events of accounts whose latent drop-out
// falls in the window. Given the seed and the number of earlier steps, the
// changes are the same every run; stamps lie in (old clock, new clock].
func (sb *Sandbox) Step(days int) StepReport {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.steps++
	rep := StepReport{Step: sb.steps, Created: map[string]int{}, Updated: map[string]int{}, Deleted: map[string]int{},
		Undeleted: map[string]int{}, Purged: map[string]int{}}
	rep.From = sb.Clock.Now()
	if days <= 0 {
		rep.To = rep.From
		return rep
	}
	sb.Clock.Advance(time.Duration(days) * day)
	rep.To = sb.Clock.Now()
	rng := rand.New(rand.NewPCG(uint64(sb.Opt.Seed), 1<<40+uint64(sb.steps)))
	m := &mutator{sb: sb, rng: rng, rep: &rep, from: rep.From, to: rep.To}
	m.churn()
	m.newDeals(days)
	m.newActivities(days)
	m.moveStages(days)
	m.bulkEdit()
	m.deletes(days)
	sb.Opt.Log.Info("sandbox step", "step", rep.Step, "days", days, "created", rep.Created, "updated", rep.Updated,
		"deleted", rep.Deleted, "purged", rep.Purged)
	return rep
}

type mutator struct {
	sb       *Sandbox
	rng      *rand.Rand
	rep      *StepReport
	from, to time.Time
}

// at returns a random instant in the step window.
func (m *mutator) at() time.Time {
	return between(m.rng, m.from.Add(time.Second), m.to)
}

func (m *mutator) accounts() []*genAccount {
	if m.sb.gen == nil {
		return nil
	}
	return m.sb.gen.accounts
}

// live reports whether an account still buys and talks to its vendor.
func (m *mutator) live(a *genAccount) bool {
	if a.drop.IsZero() || a.drop.After(m.to) {
		return a.sfID != "" || a.hsID != ""
	}
	return false
}

func (m *mutator) churn() {
	for _, a := range m.accounts() {
		if a.drop.IsZero() || !a.drop.After(m.from) || a.drop.After(m.to) {
			continue
		}
		m.rep.Churned = append(m.rep.Churned, a.key)
		product := 0
		for k, ok := range a.owned {
			if ok {
				product = k
				break
			}
		}
		reason := "No Decision"
		if len(a.drivers) > 0 {
			reason = map[string]string{themeBudgetCut: "No Budget", themeCompetitor: "Competitor",
				themeChampionLeft: "Champion Left", themeComplaints: "Product Fit", themeLowUsage: "Price"}[a.drivers[0]]
		}
		m.deal(a, product, OppRenewal, 9, a.drop, reason)
		a.situation = "churned"
	}
}

func (m *mutator) newDeals(stepDays int) {
	acc := m.accounts()
	if len(acc) == 0 {
		return
	}
	n := poisson(m.rng, float64(len(acc))*float64(stepDays)/365*2.5)
	for range n {
		a := acc[m.rng.IntN(len(acc))]
		if !m.live(a) || a.prospect && m.rng.Float64() < 0.5 {
			continue
		}
		product := m.rng.IntN(len(Products))
		typ := OppUpgrade
		if a.owned[product] {
			typ = OppRenewal
		}
		m.deal(a, product, typ, m.rng.IntN(3), m.to.Add(days(m.rng, 20, 120)), "")
	}
}

// deal inserts one opportunity and its HubSpot deal for account a.
func (m *mutator) deal(a *genAccount, product int, typ string, stage int, closeAt time.Time, lossReason string) {
	st := SalesforceStages[stage]
	at := m.at()
	amount := m.dealAmount(a, product)
	name := fmt.Sprintf("%s - %s %s %d", a.name, Products[product], typ, closeAt.Year())
	if a.sfID != "" {
		owner := m.sb.Owners[a.owner].SalesforceID
		f := map[string]any{"AccountId": a.sfID, "Name": name, "StageName": st.Name, "Amount": amount,
			"CloseDate": NewDate(closeAt), "Probability": st.Probability, "IsClosed": st.Closed, "IsWon": st.Won,
			"Type": typ, "Product__c": Products[product], "OwnerId": owner, "CreatedById": owner, "LastModifiedById": owner,
			"ForecastCategoryName": forecast(st)}
		if lossReason != "" {
			f["Loss_Reason__c"] = lossReason
		}
		if _, err := m.sb.SF.InsertAt(SFOpportunity, f, ActorUser, at); err == nil {
			m.rep.add(m.rep.Created, "salesforce", SFOpportunity, 1)
		}
	}
	if a.hsID != "" {
		hst := hsStage(stage)
		dt := map[string]string{OppNewBusiness: DealNewBusiness, OppUpgrade: DealExistingBusiness, OppRenewal: DealRenewal}[typ]
		f := map[string]any{"dealname": name, "dealstage": hst.Name, "pipeline": HubSpotPipeline, "amount": amount,
			"closedate": closeAt, "dealtype": dt, "hs_is_closed": hst.Closed, "hs_is_closed_won": hst.Won,
			"hs_deal_stage_probability": hst.Probability / 100, "product_line": productLineValue(Products[product]),
			"hubspot_owner_id": m.sb.Owners[a.owner].HubSpotID}
		if lossReason != "" {
			f["closed_lost_reason"] = lossReason
		}
		if r, err := m.sb.HS.InsertAt(HSDeals, f, ActorUser, at); err == nil {
			m.sb.HS.Associate(HSCompanies, a.hsID, HSDeals, r.ID, AssocCompanyToDeal, AssocDealToCompany)
			m.rep.add(m.rep.Created, "hubspot", HSDeals, 1)
		}
	}
}

func (m *mutator) dealAmount(a *genAccount, product int) float64 {
	c := &customer{genAccount: a}
	return (&generator{}).dealAmount(m.rng, c, product, OppUpgrade)
}

func (m *mutator) newActivities(days int) {
	acc := m.accounts()
	if len(acc) == 0 {
		return
	}
	n := poisson(m.rng, float64(len(acc))*float64(days)*0.03*m.sb.Opt.ActivityScale)
	for range n {
		a := acc[m.rng.IntN(len(acc))]
		if !m.live(a) {
			continue
		}
		theme := themeRoutine
		switch {
		case !a.drop.IsZero() && a.drop.Sub(m.to) < declineWindow && len(a.drivers) > 0 && m.rng.Float64() < 0.7:
			theme = pick(m.rng, a.drivers)
		case a.situation == "expansion" && m.rng.Float64() < 0.35:
			theme = themeExpansion
		case a.situation == "happy" && m.rng.Float64() < 0.3:
			theme = themeHappy
		}
		m.activity(a, theme)
	}
}

func (m *mutator) activity(a *genAccount, theme string) {
	ja := a.ja && m.rng.Float64() < 0.85
	tx := pick(m.rng, texts[theme][ja])
	v := &textVars{product: Products[m.rng.IntN(len(Products))], competitor: pick(m.rng, Competitors),
		company: a.name, rep: reps[a.owner].first + " " + reps[a.owner].last, reason: "No Decision", contact: "ご担当者"}
	if !ja {
		v.contact = "the team"
	}
	subject, body := fill(tx.subject, v), fill(tx.body, v)
	at := m.at()
	if a.sfID != "" {
		owner := m.sb.Owners[a.owner].SalesforceID
		f := map[string]any{"WhatId": a.sfID, "AccountId": a.sfID, "Subject": "Email: " + subject, "Description": body,
			"ActivityDate": NewDate(at), "Status": "Completed", "Priority": "Normal", "IsClosed": true,
			"TaskSubtype": "Email", "Type": "Email", "OwnerId": owner, "CreatedById": owner, "LastModifiedById": owner,
			"CompletedDateTime": at, "IsArchived": false}
		if len(a.sfContacts) > 0 {
			f["WhoId"] = a.sfContacts[m.rng.IntN(len(a.sfContacts))]
		}
		if _, err := m.sb.SF.InsertAt(SFTask, f, ActorUser, at); err == nil {
			m.rep.add(m.rep.Created, "salesforce", SFTask, 1)
		}
	}
	if a.hsID != "" {
		f := map[string]any{"hs_timestamp": at, "hs_email_subject": subject, "hs_email_text": body,
			"hs_email_direction": "INCOMING_EMAIL", "hs_email_status": "SENT", "hubspot_owner_id": m.sb.Owners[a.owner].HubSpotID}
		if r, err := m.sb.HS.InsertAt(HSEmails, f, ActorUser, at); err == nil {
			as := HubSpotEngagementAssoc[HSEmails]
			m.sb.HS.Associate(HSEmails, r.ID, HSCompanies, a.hsID, as.ToCompany, as.FromCompany)
			if len(a.hsContacts) > 0 {
				m.sb.HS.Associate(HSEmails, r.ID, HSContacts, a.hsContacts[m.rng.IntN(len(a.hsContacts))], as.ToContact, as.FromContact)
			}
			m.rep.add(m.rep.Created, "hubspot", HSEmails, 1)
		}
	}
}

// liveIDs lists the live ids of a table (insertion order) that match keep.
func liveIDs(s *Store, table string, keep func(RowView) bool) []string {
	ids := make([]string, 0, s.Count(table))
	_ = s.ScanView(table, func(v RowView) bool {
		if !v.Deleted() && (keep == nil || keep(v)) {
			ids = append(ids, v.ID())
		}
		return true
	})
	return ids
}

// sample picks up to n distinct elements of ids.
func (m *mutator) sample(ids []string, n int) []string {
	if n >= len(ids) {
		return ids
	}
	out := make([]string, 0, n)
	seen := map[int]bool{}
	for len(out) < n {
		k := m.rng.IntN(len(ids))
		if !seen[k] {
			seen[k] = true
			out = append(out, ids[k])
		}
	}
	return out
}

func (m *mutator) moveStages(days int) {
	open := liveIDs(m.sb.SF, SFOpportunity, func(v RowView) bool { return !v.Bool("IsClosed") })
	for _, id := range m.sample(open, max(1, len(open)*min(days, 30)/60)) {
		r, _ := m.sb.SF.Get(SFOpportunity, id)
		cur := slices.IndexFunc(SalesforceStages, func(s Stage) bool { return s.Name == r.Fields["StageName"] })
		next := cur + 1 + m.rng.IntN(2)
		if m.rng.Float64() < 0.3 {
			next = 8 + m.rng.IntN(2) // closes now
		}
		next = min(next, 9)
		if next == 8 && m.rng.Float64() < 0.5 {
			next = 9
		}
		st := SalesforceStages[next]
		f := map[string]any{"StageName": st.Name, "Probability": st.Probability, "IsClosed": st.Closed, "IsWon": st.Won,
			"ForecastCategoryName": forecast(st)}
		if m.rng.Float64() < 0.3 {
			if amt, ok := r.Fields["Amount"].(float64); ok {
				f["Amount"] = float64(int(amt*(0.8+0.4*m.rng.Float64())/100) * 100)
			}
		}
		if next == 9 {
			f["Loss_Reason__c"] = pick(m.rng, LossReasons[:6])
		}
		if _, err := m.sb.SF.UpdateAt(SFOpportunity, id, f, ActorUser, m.at()); err == nil {
			m.rep.add(m.rep.Updated, "salesforce", SFOpportunity, 1)
		}
	}
	openHS := liveIDs(m.sb.HS, HSDeals, func(v RowView) bool { return !v.Bool("hs_is_closed") })
	for _, id := range m.sample(openHS, max(1, len(openHS)*min(days, 30)/60)) {
		r, _ := m.sb.HS.Get(HSDeals, id)
		cur := slices.IndexFunc(HubSpotDealStages, func(s Stage) bool { return s.Name == r.Fields["dealstage"] })
		next := min(cur+1+m.rng.IntN(2), 6)
		st := HubSpotDealStages[next]
		f := map[string]any{"dealstage": st.Name, "hs_is_closed": st.Closed, "hs_is_closed_won": st.Won,
			"hs_deal_stage_probability": st.Probability / 100}
		if next == 6 {
			f["closed_lost_reason"] = pick(m.rng, LossReasons[:6])
		}
		if _, err := m.sb.HS.UpdateAt(HSDeals, id, f, ActorUser, m.at()); err == nil {
			m.rep.add(m.rep.Updated, "hubspot", HSDeals, 1)
		}
	}
}

// bulkEdit is a mass update (a data-enrichment job) whose records all get
// the same stamp, in both tenants.
func (m *mutator) bulkEdit() {
	tie := m.at().Truncate(time.Second)
	if tie.Before(m.from) || tie.Equal(m.from) {
		tie = m.to.Truncate(time.Second)
	}
	m.rep.TiedAt = tie
	rating := []string{"Hot", "Warm", "Cold"}
	sfAcc := liveIDs(m.sb.SF, SFAccount, nil)
	n := max(1, min(len(sfAcc), 250+len(sfAcc)/20))
	for _, id := range m.sample(sfAcc, n) {
		if _, err := m.sb.SF.UpdateAt(SFAccount, id, map[string]any{"Rating": pick(m.rng, rating)}, ActorAutomation, tie); err == nil {
			m.rep.add(m.rep.Updated, "salesforce", SFAccount, 1)
			m.rep.TiedRecords++
		}
	}
	hsCo := liveIDs(m.sb.HS, HSCompanies, nil)
	for _, id := range m.sample(hsCo, max(1, min(len(hsCo), 250+len(hsCo)/20))) {
		if _, err := m.sb.HS.UpdateAt(HSCompanies, id, map[string]any{"lifecyclestage": "customer"}, ActorAutomation, tie); err == nil {
			m.rep.add(m.rep.Updated, "hubspot", HSCompanies, 1)
			m.rep.TiedRecords++
		}
	}
}

// deletes soft-deletes some activities and opportunities, restores part of
// what is in the recycle bin and purges a few records for good.
func (m *mutator) deletes(days int) {
	type target struct {
		s             *Store
		tenant, table string
	}
	for _, t := range []target{
		{m.sb.SF, "salesforce", SFTask}, {m.sb.SF, "salesforce", SFOpportunity}, {m.sb.SF, "salesforce", SFContact},
		{m.sb.HS, "hubspot", HSNotes}, {m.sb.HS, "hubspot", HSDeals}, {m.sb.HS, "hubspot", HSContacts},
	} {
		ids := liveIDs(t.s, t.table, nil)
		n := min(len(ids), 1+len(ids)*min(days, 30)/3000)
		for _, id := range m.sample(ids, n) {
			if t.s.Delete(t.table, id) == nil {
				m.rep.add(m.rep.Deleted, t.tenant, t.table, 1)
			}
		}
		// Undelete a quarter of the recycle bin rows; purge one of them.
		var binned []string
		_ = t.s.ScanView(t.table, func(v RowView) bool {
			if v.Deleted() {
				binned = append(binned, v.ID())
			}
			return true
		})
		for _, id := range m.sample(binned, len(binned)/4) {
			if t.s.Undelete(t.table, id) == nil {
				m.rep.add(m.rep.Undeleted, t.tenant, t.table, 1)
			}
		}
		if len(ids) > n && m.rng.Float64() < 0.5 {
			// Hard delete straight away (bulk API hardDelete / GDPR delete).
			id := ids[m.rng.IntN(len(ids))]
			if r, ok := t.s.Get(t.table, id); ok && !r.Deleted && t.s.Purge(t.table, id) == nil {
				m.rep.add(m.rep.Purged, t.tenant, t.table, 1)
			}
		}
	}
}

// OnPage is called by a dialect each time it serves a follow-up page of
// table; with Faults.MutateOnPage set it changes records under the client:
// MutateOnPage live records are touched (their modification stamp moves to
// now) and one is soft-deleted. It returns the number of records changed.
func (sb *Sandbox) OnPage(dialect, table string) int {
	sb.Faults.mu.Lock()
	n := sb.Faults.MutateOnPage
	sb.Faults.mu.Unlock()
	if n <= 0 {
		return 0
	}
	s := sb.SF
	if dialect == "hubspot" {
		s = sb.HS
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.pages++
	rng := rand.New(rand.NewPCG(uint64(sb.Opt.Seed), 1<<50+uint64(sb.pages)))
	ids := liveIDs(s, table, nil)
	if len(ids) == 0 {
		return 0
	}
	changed := 0
	m := &mutator{rng: rng}
	picked := m.sample(ids, n+1)
	for _, id := range picked[:len(picked)-1] {
		if _, err := s.Touch(table, id, ActorAutomation); err == nil {
			changed++
		}
	}
	if s.Delete(table, picked[len(picked)-1]) == nil {
		changed++
	}
	return changed
}
