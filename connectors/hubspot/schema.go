package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/crmpulse/crmpulse/connectors"
)

type option struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

type property struct {
	Name                 string   `json:"name"`
	Label                string   `json:"label"`
	Type                 string   `json:"type"`
	FieldType            string   `json:"fieldType"`
	GroupName            string   `json:"groupName,omitempty"`
	Description          string   `json:"description,omitempty"`
	Options              []option `json:"options,omitempty"`
	HubspotDefined       bool     `json:"hubspotDefined,omitempty"`
	ModificationMetadata *struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata,omitempty"`
	Calculated bool `json:"calculated,omitempty"`
}

// primary is the type fields are provisioned on and segments select.
func primary(obj connectors.Object) string {
	if obj == connectors.Activities {
		return "tasks"
	}
	return streams(obj)[0]
}

func neutralType(p property) string {
	switch p.Type {
	case "number":
		return connectors.TypeNumber
	case "string":
		if p.FieldType == "textarea" {
			return connectors.TypeTextArea
		}
		return connectors.TypeText
	case "date":
		return connectors.TypeDate
	case "datetime":
		return connectors.TypeDateTime
	case "bool":
		return connectors.TypeBool
	case "enumeration":
		return connectors.TypePicklist
	}
	return p.Type
}

func toInfo(p property) connectors.FieldInfo {
	fi := connectors.FieldInfo{Name: p.Name, Label: p.Label, Type: neutralType(p), CRMType: p.Type + "/" + p.FieldType,
		Custom: !p.HubspotDefined, Updateable: !p.Calculated && (p.ModificationMetadata == nil || !p.ModificationMetadata.ReadOnlyValue)}
	for _, o := range p.Options {
		if !o.Hidden {
			fi.Options = append(fi.Options, connectors.Option{Value: o.Value, Label: o.Label})
		}
	}
	return fi
}

// DescribeFields implements connectors.Driver.
func (d *Driver) DescribeFields(ctx context.Context, obj connectors.Object) ([]connectors.FieldInfo, error) {
	var res struct {
		Results []property `json:"results"`
	}
	if _, _, err := d.do(ctx, http.MethodGet, "/crm/v3/properties/"+primary(obj), nil, &res); err != nil {
		return nil, err
	}
	out := make([]connectors.FieldInfo, len(res.Results))
	for i, p := range res.Results {
		out[i] = toInfo(p)
	}
	return out, nil
}

var propName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func propertyFor(spec connectors.FieldSpec, group string) property {
	p := property{Name: spec.Name, Label: spec.Label, GroupName: group, Description: spec.Description}
	if p.Label == "" {
		p.Label = strings.ReplaceAll(spec.Name, "_", " ")
	}
	switch spec.Type {
	case connectors.TypeNumber:
		p.Type, p.FieldType = "number", "number"
	case connectors.TypeText:
		p.Type, p.FieldType = "string", "text"
	case connectors.TypeTextArea:
		p.Type, p.FieldType = "string", "textarea"
	case connectors.TypeDate:
		p.Type, p.FieldType = "date", "date"
	case connectors.TypeDateTime:
		p.Type, p.FieldType = "datetime", "date"
	case connectors.TypeBool:
		p.Type, p.FieldType = "bool", "booleancheckbox"
		p.Options = []option{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false", DisplayOrder: 1}}
	case connectors.TypePicklist:
		p.Type, p.FieldType = "enumeration", "select"
		for i, o := range spec.Options {
			l := o.Label
			if l == "" {
				l = o.Value
			}
			p.Options = append(p.Options, option{Label: l, Value: o.Value, DisplayOrder: i})
		}
	}
	return p
}

// EnsureField implements connectors.Driver: the crmpulse property group,
// then the property unless it exists; for enumerations, options missing
// from an existing property are appended (never removed).
func (d *Driver) EnsureField(ctx context.Context, obj connectors.Object, spec connectors.FieldSpec) (connectors.FieldInfo, error) {
	typ := primary(obj)
	if !propName.MatchString(spec.Name) {
		return connectors.FieldInfo{}, &connectors.Error{Code: "INVALID_SPEC", Class: connectors.ErrPermanent,
			Message: fmt.Sprintf("property name %q must be lowercase letters, digits and underscores, starting with a letter", spec.Name)}
	}
	p, found, err := d.getProperty(ctx, typ, spec.Name)
	if err != nil {
		return connectors.FieldInfo{}, err
	}
	if !found {
		if err := d.ensureGroup(ctx, typ); err != nil {
			return connectors.FieldInfo{}, err
		}
		want := propertyFor(spec, d.opt.PropertyGroup)
		_, _, err := d.do(ctx, http.MethodPost, "/crm/v3/properties/"+typ, want, &p)
		if err != nil && !isStatus(err, http.StatusConflict) {
			return connectors.FieldInfo{}, err
		}
		if err != nil { // created concurrently
			if p, _, err = d.getProperty(ctx, typ, spec.Name); err != nil {
				return connectors.FieldInfo{}, err
			}
		}
		d.forgetProperties(typ)
		return toInfo(p), nil
	}
	if spec.Type == connectors.TypePicklist {
		return d.addOptions(ctx, typ, p, spec.Options)
	}
	return toInfo(p), nil
}

func (d *Driver) forgetProperties(typ string) {
	d.mu.Lock()
	delete(d.props, typ)
	d.mu.Unlock()
}

func (d *Driver) getProperty(ctx context.Context, typ, name string) (property, bool, error) {
	var p property
	_, _, err := d.do(ctx, http.MethodGet, "/crm/v3/properties/"+typ+"/"+url.PathEscape(name), nil, &p)
	if isStatus(err, http.StatusNotFound) {
		return property{}, false, nil
	}
	return p, err == nil, err
}

func (d *Driver) addOptions(ctx context.Context, typ string, p property, want []connectors.Option) (connectors.FieldInfo, error) {
	have := map[string]bool{}
	for _, o := range p.Options {
		have[o.Value] = true
	}
	opts := append([]option(nil), p.Options...)
	for _, o := range want {
		if !have[o.Value] {
			l := o.Label
			if l == "" {
				l = o.Value
			}
			opts = append(opts, option{Label: l, Value: o.Value, DisplayOrder: len(opts)})
			have[o.Value] = true
		}
	}
	if len(opts) == len(p.Options) {
		return toInfo(p), nil
	}
	var out property
	if _, _, err := d.do(ctx, http.MethodPatch, "/crm/v3/properties/"+typ+"/"+url.PathEscape(p.Name), map[string]any{"options": opts}, &out); err != nil {
		return connectors.FieldInfo{}, err
	}
	return toInfo(out), nil
}

func (d *Driver) ensureGroup(ctx context.Context, typ string) error {
	var res struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	if _, _, err := d.do(ctx, http.MethodGet, "/crm/v3/properties/"+typ+"/groups", nil, &res); err != nil {
		return err
	}
	for _, g := range res.Results {
		if g.Name == d.opt.PropertyGroup {
			return nil
		}
	}
	_, _, err := d.do(ctx, http.MethodPost, "/crm/v3/properties/"+typ+"/groups",
		map[string]any{"name": d.opt.PropertyGroup, "label": "crmpulse insights", "displayOrder": -1}, nil)
	if isStatus(err, http.StatusConflict) {
		return nil
	}
	return err
}

func isStatus(err error, status int) bool {
	ce, ok := err.(*connectors.Error)
	return ok && ce.Status == status
}

type batchResult struct {
	Results []struct {
		ID string `json:"id"`
	} `json:"results"`
	NumErrors int `json:"numErrors"`
	Errors    []struct {
		Status   string `json:"status"`
		Category string `json:"category"`
		Message  string `json:"message"`
		Context  struct {
			IDs []string `json:"ids"`
		} `json:"context"`
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	} `json:"errors"`
}

// UpdateFields implements connectors.Driver with batch update (≤ 100).
// 200 and 207 are both read per id (results are unordered); a whole-batch
// 400 is bisected down to the offending records.
func (d *Driver) UpdateFields(ctx context.Context, obj connectors.Object, updates []connectors.Update) ([]connectors.WriteResult, error) {
	out := make([]connectors.WriteResult, len(updates))
	err := d.update(ctx, primary(obj), updates, out)
	return out, err
}

func (d *Driver) update(ctx context.Context, typ string, updates []connectors.Update, out []connectors.WriteResult) error {
	inputs := make([]map[string]any, len(updates))
	for i, u := range updates {
		props := make(map[string]string, len(u.Fields))
		for k, v := range u.Fields {
			props[k] = toString(v)
		}
		inputs[i] = map[string]any{"id": u.ID, "properties": props}
	}
	var res batchResult
	_, _, err := d.do(ctx, http.MethodPost, "/crm/v3/objects/"+typ+"/batch/update", map[string]any{"inputs": inputs}, &res)
	if err != nil {
		ce, ok := err.(*connectors.Error)
		if !ok || ce.Status != http.StatusBadRequest {
			return err
		}
		if len(updates) == 1 {
			out[0] = connectors.WriteResult{ID: updates[0].ID, Err: &connectors.Error{Op: "update", Status: ce.Status, Code: ce.Code, Message: ce.Message, Class: connectors.ErrPermanent}}
			return nil
		}
		h := len(updates) / 2
		if err := d.update(ctx, typ, updates[:h], out[:h]); err != nil {
			return err
		}
		return d.update(ctx, typ, updates[h:], out[h:])
	}
	ok := map[string]bool{}
	for _, r := range res.Results {
		ok[r.ID] = true
	}
	failed := map[string]*connectors.Error{}
	for _, e := range res.Errors {
		code := e.Category
		if len(e.Errors) > 0 && e.Errors[0].Code != "" {
			code += "/" + e.Errors[0].Code
		}
		ce := &connectors.Error{Op: "update", Code: code, Message: e.Message, Class: connectors.ErrPermanent}
		for _, id := range e.Context.IDs {
			failed[id] = ce
		}
	}
	for i, u := range updates {
		switch {
		case failed[u.ID] != nil:
			out[i] = connectors.WriteResult{ID: u.ID, Err: failed[u.ID]}
		case ok[u.ID]:
			out[i] = connectors.WriteResult{ID: u.ID, OK: true}
		default:
			out[i] = connectors.WriteResult{ID: u.ID, Err: &connectors.Error{Op: "update", Code: "NOT_IN_RESULTS", Message: "record missing from the batch response", Class: connectors.ErrTransient}, Retryable: true}
		}
	}
	return nil
}

// objectTypeID is the Lists API object type.
func objectTypeID(obj connectors.Object) (string, error) {
	switch obj {
	case connectors.Accounts:
		return "0-2", nil
	case connectors.Contacts:
		return "0-1", nil
	case connectors.Opportunities:
		return "0-3", nil
	}
	return "", &connectors.Error{Code: "UNSUPPORTED", Message: "HubSpot lists do not hold " + string(obj), Class: connectors.ErrPermanent}
}

type hsList struct {
	ListID string `json:"listId"`
	Name   string `json:"name"`
}

// EnsureSegment implements connectors.Driver: the segment value is added to
// the enumeration's options if missing, then the DYNAMIC list is looked up
// by name and its filters updated, or created.
func (d *Driver) EnsureSegment(ctx context.Context, spec connectors.SegmentSpec) (connectors.Segment, error) {
	otid, err := objectTypeID(spec.Object)
	if err != nil {
		return connectors.Segment{}, err
	}
	typ := primary(spec.Object)
	p, found, err := d.getProperty(ctx, typ, spec.Field)
	if err != nil {
		return connectors.Segment{}, err
	}
	if !found {
		return connectors.Segment{}, &connectors.Error{Code: "PROPERTY_DOESNT_EXIST", Class: connectors.ErrPermanent,
			Message: fmt.Sprintf("segment property %s does not exist on %s; provision it first", spec.Field, typ)}
	}
	if p.Type == "enumeration" {
		label := spec.Label
		if label == "" {
			label = spec.Value
		}
		if _, err := d.addOptions(ctx, typ, p, []connectors.Option{{Value: spec.Value, Label: label}}); err != nil {
			return connectors.Segment{}, err
		}
	}
	op := map[string]any{"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": []string{spec.Value}, "includeObjectsWithNoValueSet": false}
	if p.Type != "enumeration" {
		op = map[string]any{"operationType": "STRING", "operator": "IS_EQUAL_TO", "value": spec.Value, "includeObjectsWithNoValueSet": false}
	}
	branch := map[string]any{
		"filterBranchType": "OR", "filters": []any{},
		"filterBranches": []any{map[string]any{
			"filterBranchType": "AND", "filterBranches": []any{},
			"filters": []any{map[string]any{"filterType": "PROPERTY", "property": spec.Field, "operation": op}},
		}},
	}
	if spec.ID != "" {
		seg, ok, err := d.updateListByID(ctx, spec, otid, branch)
		if err != nil || ok {
			return seg, err
		}
	}
	var got struct {
		List hsList `json:"list"`
	}
	_, _, err = d.do(ctx, http.MethodGet, "/crm/v3/lists/object-type-id/"+otid+"/name/"+url.PathEscape(spec.Name), nil, &got)
	switch {
	case err == nil:
		if _, _, err := d.do(ctx, http.MethodPut, "/crm/v3/lists/"+got.List.ListID+"/update-list-filters?enrollObjectsInWorkflows=false",
			map[string]any{"filterBranch": branch}, nil); err != nil {
			return connectors.Segment{}, err
		}
		return connectors.Segment{Object: spec.Object, Kind: "list", ID: got.List.ListID, Name: spec.Name}, nil
	case !isStatus(err, http.StatusNotFound):
		return connectors.Segment{}, err
	}
	var created struct {
		List hsList `json:"list"`
	}
	body := map[string]any{"name": spec.Name, "objectTypeId": otid, "processingType": "DYNAMIC", "filterBranch": branch}
	if _, _, err := d.do(ctx, http.MethodPost, "/crm/v3/lists", body, &created); err != nil {
		return connectors.Segment{}, err
	}
	return connectors.Segment{Object: spec.Object, Kind: "list", ID: created.List.ListID, Name: spec.Name, Created: true}, nil
}

// SegmentMembers implements connectors.Driver (memberships, 250 a page).
func (d *Driver) SegmentMembers(ctx context.Context, seg connectors.Segment) ([]string, error) {
	var ids []string
	after := ""
	for {
		q := url.Values{"limit": {"250"}}
		if after != "" {
			q.Set("after", after)
		}
		var res struct {
			Results []struct {
				RecordID string `json:"recordId"`
			} `json:"results"`
			Paging *struct {
				Next *struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		if _, _, err := d.do(ctx, http.MethodGet, "/crm/v3/lists/"+url.PathEscape(seg.ID)+"/memberships?"+q.Encode(), nil, &res); err != nil {
			return nil, err
		}
		for _, r := range res.Results {
			ids = append(ids, r.RecordID)
		}
		if res.Paging == nil || res.Paging.Next == nil || res.Paging.Next.After == "" {
			sort.Strings(ids)
			return ids, nil
		}
		after = res.Paging.Next.After
	}
}
