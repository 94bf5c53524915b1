package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
)

// streams maps a neutral object to HubSpot object types.
func streams(obj connectors.Object) []string {
	switch obj {
	case connectors.Accounts:
		return []string{"companies"}
	case connectors.Contacts:
		return []string{"contacts"}
	case connectors.Opportunities:
		return []string{"deals"}
	case connectors.Activities:
		return []string{"calls", "emails", "meetings", "notes", "tasks"}
	}
	return nil
}

// stampProperty is the modification stamp of a type.
func stampProperty(typ string) string {
	if typ == "contacts" {
		return "lastmodifieddate"
	}
	return "hs_lastmodifieddate"
}

var wanted = map[string][]string{
	"companies": {"name", "industry", "numberofemployees", "annualrevenue", "country", "hubspot_owner_id", "description", "type", "createdate"},
	"contacts":  {"firstname", "lastname", "email", "phone", "jobtitle", "hubspot_owner_id", "createdate"},
	"deals":     {"dealname", "dealstage", "amount", "closedate", "hs_is_closed", "hs_is_closed_won", "dealtype", "hubspot_owner_id", "description", "product_line", "competitor", "closed_lost_reason", "createdate"},
	"calls":     {"hs_call_title", "hs_call_body", "hs_call_direction", "hs_call_status", "hs_timestamp", "hubspot_owner_id"},
	"emails":    {"hs_email_subject", "hs_email_text", "hs_email_direction", "hs_email_status", "hs_timestamp", "hubspot_owner_id"},
	"meetings":  {"hs_meeting_title", "hs_meeting_body", "hs_meeting_start_time", "hs_meeting_outcome", "hs_timestamp", "hubspot_owner_id"},
	"notes":     {"hs_note_body", "hs_timestamp", "hubspot_owner_id"},
	"tasks":     {"hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_type", "hs_timestamp", "hubspot_owner_id"},
}

// properties lists the properties read for typ, restricted to those the
// portal defines.
func (d *Driver) properties(ctx context.Context, typ string) ([]string, error) {
	known, err := d.propertyNames(ctx, typ, false)
	if err != nil {
		return nil, err
	}
	out := []string{"hs_object_id", stampProperty(typ)}
	for _, p := range wanted[typ] {
		if known[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func (d *Driver) propertyNames(ctx context.Context, typ string, fresh bool) (map[string]bool, error) {
	d.mu.Lock()
	m := d.props[typ]
	d.mu.Unlock()
	if m != nil && !fresh {
		return m, nil
	}
	var res struct {
		Results []property `json:"results"`
	}
	if _, _, err := d.do(ctx, http.MethodGet, "/crm/v3/properties/"+typ, nil, &res); err != nil {
		return nil, err
	}
	m = make(map[string]bool, len(res.Results))
	for _, p := range res.Results {
		m[p.Name] = true
	}
	d.mu.Lock()
	d.props[typ] = m
	d.mu.Unlock()
	return m, nil
}

type hsObject struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	CreatedAt  string         `json:"createdAt"`
	UpdatedAt  string         `json:"updatedAt"`
	Archived   bool           `json:"archived"`
	ArchivedAt string         `json:"archivedAt"`
}

type filter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value,omitempty"`
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Changes implements connectors.Driver.
func (d *Driver) Changes(ctx context.Context, obj connectors.Object, cur connectors.Cursor) (connectors.Page, error) {
	names := streams(obj)
	if !cur.InWindow() {
		now, err := d.now(ctx)
		if err != nil {
			return connectors.Page{}, err
		}
		cur.Begin(now.Add(-d.opt.Lag).Truncate(time.Millisecond), d.opt.Lookback, names)
	}
	pending := cur.Pending()
	if len(pending) == 0 {
		cur.Finish(names[0])
		return connectors.Page{Next: cur, Done: true}, nil
	}
	typ := pending[0]
	st := cur.Stream(typ)
	props, err := d.properties(ctx, typ)
	if err != nil {
		return connectors.Page{}, err
	}
	if d.listing(st) {
		return d.listChanges(ctx, obj, typ, props, cur, st)
	}
	stamp := stampProperty(typ)
	filters := []filter{{PropertyName: stamp, Operator: "LTE", Value: ms(cur.Upper)}}
	if !st.Lower.IsZero() {
		filters = append(filters, filter{PropertyName: stamp, Operator: "GTE", Value: ms(st.Lower)})
	}
	if st.ID != "" {
		filters = append(filters, filter{PropertyName: "hs_object_id", Operator: "GT", Value: st.ID})
	}
	body := map[string]any{
		"filterGroups": []map[string]any{{"filters": filters}},
		"sorts":        []map[string]string{{"propertyName": "hs_object_id", "direction": "ASCENDING"}},
		"properties":   props,
		"limit":        d.opt.PageSize,
	}
	if err := d.searchLim.Wait(ctx); err != nil {
		return connectors.Page{}, err
	}
	var res struct {
		Results []hsObject `json:"results"`
		Paging  *struct {
			Next *struct {
				After string `json:"after"`
			} `json:"next"`
		} `json:"paging"`
	}
	if _, _, err := d.do(ctx, http.MethodPost, "/crm/v3/objects/"+typ+"/search", body, &res); err != nil {
		return connectors.Page{}, err
	}
	var page connectors.Page
	var malformed []connectors.Record
	moved := false
	for _, o := range res.Results {
		rec := normalise(obj, typ, o)
		if o.ID != "" {
			st.ID, moved = o.ID, true
		}
		if rec.Malformed() {
			// Passed on for quarantine, after the page's associations.
			malformed = append(malformed, rec)
			continue
		}
		if cur.Deliver(typ, rec.ID, rec.Modified) {
			page.Records = append(page.Records, rec)
		}
	}
	if len(res.Results) >= d.opt.PageSize && !moved {
		return connectors.Page{}, &connectors.Error{Code: "BAD_RECORD", Class: connectors.ErrPermanent,
			Message: fmt.Sprintf("a full page of %d %s records without id: the read cannot move past them", len(res.Results), typ)}
	}
	if err := d.link(ctx, typ, page.Records); err != nil {
		return connectors.Page{}, err
	}
	page.Records = append(page.Records, malformed...)
	if res.Paging == nil || res.Paging.Next == nil || len(res.Results) < d.opt.PageSize {
		page.Done = cur.Finish(typ)
	}
	page.Next = cur
	return page, nil
}

// normalise turns a HubSpot object into a neutral Record. An object without
// id or modification stamp comes back Malformed, with its other fields.
func normalise(obj connectors.Object, typ string, o hsObject) connectors.Record {
	p := o.Properties
	str := func(k string) string { s, _ := p[k].(string); return s }
	mod, ok := parseTime(p[stampProperty(typ)])
	if !ok {
		mod, _ = parseTime(o.UpdatedAt)
	}
	raw := map[string]any{"id": o.ID, "properties": p, "createdAt": o.CreatedAt, "updatedAt": o.UpdatedAt, "archived": o.Archived}
	rec := connectors.Record{Object: obj, ID: o.ID, Type: typ, Modified: mod, Deleted: o.Archived, Fields: map[string]any{}, Raw: raw}
	set := func(k, v string) {
		if v != "" {
			rec.Fields[k] = v
		}
	}
	num := func(k, prop string) {
		s := str(prop)
		if s == "" {
			return
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			rec.Fields[k] = f
		} else {
			// Not a number: passed on as sent, so the sync engine
			// quarantines the record instead of storing a gap.
			rec.Fields[k] = s
		}
	}
	tm := func(k, prop string) {
		if t, ok := parseTime(p[prop]); ok {
			rec.Fields[k] = t
		}
	}
	tm(connectors.FCreated, "createdate")
	if _, ok := rec.Fields[connectors.FCreated]; !ok {
		if t, ok := parseTime(o.CreatedAt); ok {
			rec.Fields[connectors.FCreated] = t
		}
	}
	set(connectors.FOwner, str("hubspot_owner_id"))
	switch typ {
	case "companies":
		set(connectors.FName, str("name"))
		set(connectors.FIndustry, str("industry"))
		num(connectors.FEmployees, "numberofemployees")
		num(connectors.FAnnualRevenue, "annualrevenue")
		set(connectors.FCountry, str("country"))
		set(connectors.FDescription, str("description"))
		set(connectors.FType, str("type"))
	case "contacts":
		name := str("firstname")
		if l := str("lastname"); l != "" {
			if name != "" {
				name += " "
			}
			name += l
		}
		set(connectors.FName, name)
		set(connectors.FEmail, str("email"))
		set(connectors.FPhone, str("phone"))
		set(connectors.FTitle, str("jobtitle"))
	case "deals":
		set(connectors.FName, str("dealname"))
		set(connectors.FStage, str("dealstage"))
		num(connectors.FAmount, "amount")
		tm(connectors.FCloseDate, "closedate")
		rec.Fields[connectors.FIsClosed] = str("hs_is_closed") == "true"
		rec.Fields[connectors.FIsWon] = str("hs_is_closed_won") == "true"
		set(connectors.FType, str("dealtype"))
		set(connectors.FDescription, str("description"))
		if prods := connectors.SplitList(str("product_line")); prods != nil {
			rec.Fields[connectors.FProducts] = prods
		}
		set(connectors.FCompetitor, str("competitor"))
		set(connectors.FLossReason, str("closed_lost_reason"))
	default:
		kind := map[string]string{"calls": connectors.KindCall, "emails": connectors.KindEmail, "meetings": connectors.KindMeeting,
			"notes": connectors.KindNote, "tasks": connectors.KindTask}[typ]
		rec.Fields[connectors.FKind] = kind
		subj := map[string]string{"calls": "hs_call_title", "emails": "hs_email_subject", "meetings": "hs_meeting_title", "tasks": "hs_task_subject"}[typ]
		body := map[string]string{"calls": "hs_call_body", "emails": "hs_email_text", "meetings": "hs_meeting_body", "notes": "hs_note_body", "tasks": "hs_task_body"}[typ]
		set(connectors.FSubject, str(subj))
		set(connectors.FBody, str(body))
		tm(connectors.FDate, "hs_timestamp")
		if typ == "meetings" {
			if _, ok := rec.Fields[connectors.FDate]; !ok {
				tm(connectors.FDate, "hs_meeting_start_time")
			}
		}
		switch str("hs_call_direction") + str("hs_email_direction") {
		case "INBOUND", "INCOMING_EMAIL":
			rec.Fields[connectors.FDirection] = "inbound"
		case "OUTBOUND", "EMAIL", "FORWARDED_EMAIL":
			rec.Fields[connectors.FDirection] = "outbound"
		}
		set(connectors.FStatus, str("hs_task_status"))
	}
	return rec
}

// link fills AccountID (and activities' contact ids) from v4 associations.
func (d *Driver) link(ctx context.Context, typ string, recs []connectors.Record) error {
	if typ == "companies" || len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	companies, err := d.associations(ctx, typ, "companies", ids)
	if err != nil {
		return err
	}
	var contacts map[string][]string
	if typ != "contacts" && typ != "deals" {
		if contacts, err = d.associations(ctx, typ, "contacts", ids); err != nil {
			return err
		}
	}
	for i := range recs {
		if c := companies[recs[i].ID]; len(c) > 0 {
			recs[i].AccountID = c[0]
		}
		if c := contacts[recs[i].ID]; len(c) > 0 {
			recs[i].Fields[connectors.FContactIDs] = c
		}
	}
	return nil
}

// associations batch-reads from → to links (≤ 1000 inputs per call,
// following per-input paging); the primary association comes first.
func (d *Driver) associations(ctx context.Context, from, to string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	type input struct {
		ID    string `json:"id"`
		After string `json:"after,omitempty"`
	}
	var queue []input
	for _, id := range ids {
		queue = append(queue, input{ID: id})
	}
	for len(queue) > 0 {
		n := min(len(queue), 1000)
		batch := queue[:n]
		queue = queue[n:]
		var res struct {
			Results []struct {
				From struct {
					ID string `json:"id"`
				} `json:"from"`
				To []struct {
					ToObjectID       json.Number `json:"toObjectId"`
					AssociationTypes []struct {
						Label *string `json:"label"`
					} `json:"associationTypes"`
				} `json:"to"`
				Paging *struct {
					Next *struct {
						After string `json:"after"`
					} `json:"next"`
				} `json:"paging"`
			} `json:"results"`
		}
		if _, _, err := d.do(ctx, http.MethodPost, "/crm/v4/associations/"+from+"/"+to+"/batch/read", map[string]any{"inputs": batch}, &res); err != nil {
			return nil, err
		}
		for _, r := range res.Results {
			for _, t := range r.To {
				id := t.ToObjectID.String()
				primary := false
				for _, at := range t.AssociationTypes {
					if at.Label != nil && *at.Label == "Primary" {
						primary = true
					}
				}
				if primary {
					out[r.From.ID] = append([]string{id}, out[r.From.ID]...)
				} else {
					out[r.From.ID] = append(out[r.From.ID], id)
				}
			}
			if r.Paging != nil && r.Paging.Next != nil && r.Paging.Next.After != "" {
				queue = append(queue, input{ID: r.From.ID, After: r.Paging.Next.After})
			}
		}
	}
	for k, v := range out {
		out[k] = dedupe(v)
	}
	return out, nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

type listPage struct {
	Results []hsObject `json:"results"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

// listLimit is the page size of the object list endpoint.
const listLimit = 100

// listOnce reads one page of GET /crm/v3/objects/{typ} after the given
// token; next is "" on the last page.
func (d *Driver) listOnce(ctx context.Context, typ string, archived bool, props []string, after string) (objs []hsObject, next string, err error) {
	q := url.Values{"limit": {strconv.Itoa(listLimit)}}
	if archived {
		q.Set("archived", "true")
	}
	if len(props) > 0 {
		q["properties"] = props
	}
	if after != "" {
		q.Set("after", after)
	}
	var res listPage
	if _, _, err := d.do(ctx, http.MethodGet, "/crm/v3/objects/"+typ+"?"+q.Encode(), nil, &res); err != nil {
		return nil, "", err
	}
	if res.Paging != nil && res.Paging.Next != nil {
		next = res.Paging.Next.After
	}
	return res.Results, next, nil
}

// list pages through GET /crm/v3/objects/{typ}.
func (d *Driver) list(ctx context.Context, typ string, archived bool, props []string, fn func([]hsObject) error) error {
	after := ""
	for {
		objs, next, err := d.listOnce(ctx, typ, archived, props, after)
		if err != nil {
			return err
		}
		if err := fn(objs); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// listPrefix marks a stream position that is a list-endpoint paging token
// rather than a search keyset id.
const listPrefix = "list:"

// listing reports whether a stream's window is read with the list endpoint:
// with InitialRead set to ReadList, on the stream's first window (nothing
// covered yet), unless that window was begun by search (a position that is
// not a list token).
func (d *Driver) listing(st *connectors.StreamCursor) bool {
	return d.opt.InitialRead == ReadList && st.Covered.IsZero() && (st.ID == "" || strings.HasPrefix(st.ID, listPrefix))
}

// listChanges reads one page of a stream's first window from the list
// endpoint. The list shows every live record in its current version, so
// the window's lower bound is moot (there is none on a first window) and
// its upper bound is not applied: a record changed after Upper is
// delivered now and re-read, by (id, stamp), in the next window, which
// starts Lookback before this one's Upper, so no change made during the
// read is missed.
func (d *Driver) listChanges(ctx context.Context, obj connectors.Object, typ string, props []string, cur connectors.Cursor, st *connectors.StreamCursor) (connectors.Page, error) {
	objs, next, err := d.listOnce(ctx, typ, false, props, strings.TrimPrefix(st.ID, listPrefix))
	if err != nil {
		return connectors.Page{}, err
	}
	var page connectors.Page
	var malformed []connectors.Record
	for _, o := range objs {
		rec := normalise(obj, typ, o)
		if rec.Malformed() {
			malformed = append(malformed, rec)
			continue
		}
		if cur.Deliver(typ, rec.ID, rec.Modified) {
			page.Records = append(page.Records, rec)
		}
	}
	if err := d.link(ctx, typ, page.Records); err != nil {
		return connectors.Page{}, err
	}
	page.Records = append(page.Records, malformed...)
	if next == "" {
		page.Done = cur.Finish(typ)
	} else {
		st.ID = listPrefix + next
	}
	page.Next = cur
	return page, nil
}

// Deletions implements connectors.Driver: archived records archived at or
// after since.
func (d *Driver) Deletions(ctx context.Context, obj connectors.Object, since time.Time) ([]connectors.Deletion, error) {
	var out []connectors.Deletion
	for _, typ := range streams(obj) {
		err := d.list(ctx, typ, true, []string{"hs_object_id"}, func(objs []hsObject) error {
			for _, o := range objs {
				at, ok := parseTime(o.ArchivedAt)
				if !ok {
					at, _ = parseTime(o.UpdatedAt)
				}
				if at.Before(since) {
					continue
				}
				out = append(out, connectors.Deletion{Object: obj, Type: typ, ID: o.ID, At: at})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// ListIDs implements connectors.Driver.
func (d *Driver) ListIDs(ctx context.Context, obj connectors.Object, fn func([]string) error) error {
	for _, typ := range streams(obj) {
		err := d.list(ctx, typ, false, []string{"hs_object_id"}, func(objs []hsObject) error {
			ids := make([]string, len(objs))
			for i, o := range objs {
				ids[i] = o.ID
			}
			return fn(ids)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
