package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmpulse/crmpulse/connectors"
)

type describeField struct {
	Name           string `json:"name"`
	Label          string `json:"label"`
	Type           string `json:"type"`
	Custom         bool   `json:"custom"`
	Updateable     bool   `json:"updateable"`
	Length         int    `json:"length"`
	PicklistValues []struct {
		Value  string `json:"value"`
		Label  string `json:"label"`
		Active bool   `json:"active"`
	} `json:"picklistValues"`
}

type describeResult struct {
	Name   string          `json:"name"`
	Fields []describeField `json:"fields"`
}

func (r *describeResult) has(name string) bool {
	_, ok := r.field(name)
	return ok
}

func (r *describeResult) field(name string) (describeField, bool) {
	for _, f := range r.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return describeField{}, false
}

// describeObject returns the (cached unless fresh) describe of an sObject.
func (d *Driver) describeObject(ctx context.Context, sobject string, fresh bool) (*describeResult, error) {
	d.mu.Lock()
	cached := d.describe[sobject]
	d.mu.Unlock()
	if cached != nil && !fresh {
		return cached, nil
	}
	var res describeResult
	if _, err := d.rest(ctx, http.MethodGet, d.dataPath("sobjects/"+sobject+"/describe"), nil, &res); err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.describe[sobject] = &res
	d.mu.Unlock()
	return &res, nil
}

func neutralType(sfType string) string {
	switch sfType {
	case "double", "currency", "percent", "int", "long":
		return connectors.TypeNumber
	case "string", "email", "phone", "url", "id", "reference":
		return connectors.TypeText
	case "textarea":
		return connectors.TypeTextArea
	case "date":
		return connectors.TypeDate
	case "datetime":
		return connectors.TypeDateTime
	case "boolean":
		return connectors.TypeBool
	case "picklist", "multipicklist":
		return connectors.TypePicklist
	}
	return sfType
}

func toInfo(f describeField) connectors.FieldInfo {
	fi := connectors.FieldInfo{Name: f.Name, Label: f.Label, Type: neutralType(f.Type), CRMType: f.Type, Custom: f.Custom, Updateable: f.Updateable}
	if fi.Type == connectors.TypeText || fi.Type == connectors.TypeTextArea || fi.Type == connectors.TypePicklist {
		fi.Length = f.Length
	}
	for _, p := range f.PicklistValues {
		if p.Active {
			fi.Options = append(fi.Options, connectors.Option{Value: p.Value, Label: p.Label})
		}
	}
	return fi
}

// primary is the sObject fields are provisioned on and segments select.
func primary(obj connectors.Object) string {
	if obj == connectors.Activities {
		return "Task"
	}
	return streams(obj)[0]
}

// DescribeFields implements connectors.Driver.
func (d *Driver) DescribeFields(ctx context.Context, obj connectors.Object) ([]connectors.FieldInfo, error) {
	res, err := d.describeObject(ctx, primary(obj), true)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.FieldInfo, 0, len(res.Fields))
	for _, f := range res.Fields {
		out = append(out, toInfo(f))
	}
	return out, nil
}

func toolingMetadata(spec connectors.FieldSpec) map[string]any {
	label := spec.Label
	if label == "" {
		label = strings.ReplaceAll(strings.TrimSuffix(spec.Name, "__c"), "_", " ")
	}
	md := map[string]any{"label": label, "description": spec.Description, "required": false, "externalId": false}
	switch spec.Type {
	case connectors.TypeNumber:
		p, s := spec.Precision, spec.Scale
		if p == 0 {
			p = 18
		}
		if s == 0 {
			s = 2
		}
		md["type"], md["precision"], md["scale"] = "Number", p, s
	case connectors.TypeText:
		n := spec.Length
		if n == 0 || n > 255 {
			n = 255
		}
		md["type"], md["length"] = "Text", n
	case connectors.TypeTextArea:
		n := spec.Length
		if n == 0 {
			n = 32768
		}
		md["type"], md["length"], md["visibleLines"] = "LongTextArea", n, 5
	case connectors.TypeDate:
		md["type"] = "Date"
	case connectors.TypeDateTime:
		md["type"] = "DateTime"
	case connectors.TypeBool:
		md["type"], md["defaultValue"] = "Checkbox", "false"
	case connectors.TypePicklist:
		vals := make([]map[string]any, 0, len(spec.Options))
		for _, o := range spec.Options {
			l := o.Label
			if l == "" {
				l = o.Value
			}
			vals = append(vals, map[string]any{"fullName": o.Value, "label": l, "default": false})
		}
		md["type"] = "Picklist"
		md["valueSet"] = map[string]any{"restricted": false, "valueSetDefinition": map[string]any{"sorted": false, "value": vals}}
	}
	return md
}

// EnsureField implements connectors.Driver: Tooling API CustomField (unless
// it exists), a FieldPermissions grant in the crmpulse permission set, its
// assignment to the integration user, then a fresh describe.
func (d *Driver) EnsureField(ctx context.Context, obj connectors.Object, spec connectors.FieldSpec) (connectors.FieldInfo, error) {
	sobject := primary(obj)
	name := spec.Name
	if !strings.HasSuffix(name, "__c") {
		name += "__c"
	}
	if _, err := Ident(name); err != nil {
		return connectors.FieldInfo{}, &connectors.Error{Code: "INVALID_SPEC", Message: err.Error(), Class: connectors.ErrPermanent}
	}
	res, err := d.describeObject(ctx, sobject, true)
	if err != nil {
		return connectors.FieldInfo{}, err
	}
	if f, ok := res.field(name); ok && f.Updateable {
		return toInfo(f), nil
	}
	devName := strings.TrimSuffix(name, "__c")
	exists, err := d.toolingFieldExists(ctx, sobject, devName)
	if err != nil {
		return connectors.FieldInfo{}, err
	}
	if !exists {
		body := map[string]any{"FullName": sobject + "." + name, "Metadata": toolingMetadata(spec)}
		if _, err := d.rest(ctx, http.MethodPost, d.dataPath("tooling/sobjects/CustomField"), body, nil); err != nil {
			if ce, ok := err.(*connectors.Error); !ok || ce.Code != "DUPLICATE_DEVELOPER_NAME" {
				return connectors.FieldInfo{}, err
			}
		}
	}
	if err := d.grantFLS(ctx, sobject, name); err != nil {
		return connectors.FieldInfo{}, err
	}
	res, err = d.describeObject(ctx, sobject, true)
	if err != nil {
		return connectors.FieldInfo{}, err
	}
	f, ok := res.field(name)
	if !ok {
		return connectors.FieldInfo{}, &connectors.Error{Code: "FIELD_NOT_VISIBLE", Class: connectors.ErrPermanent,
			Message: fmt.Sprintf("%s.%s exists but is not visible to the integration user after the permission grant", sobject, name)}
	}
	return toInfo(f), nil
}

func (d *Driver) toolingFieldExists(ctx context.Context, sobject, devName string) (bool, error) {
	soql, err := Query{Fields: []string{"Id", "DeveloperName"}, From: "CustomField",
		Where: And(Eq("TableEnumOrId", sobject), Eq("DeveloperName", devName))}.String()
	if err != nil {
		return false, err
	}
	var res queryResult
	if _, err := d.rest(ctx, http.MethodGet, d.dataPath("tooling/query?q="+url.QueryEscape(soql)), nil, &res); err != nil {
		return false, err
	}
	return len(res.Records) > 0, nil
}

// firstID runs a SOQL query and returns the first record's Id ("" if none).
func (d *Driver) firstID(ctx context.Context, q Query) (string, error) {
	soql, err := q.String()
	if err != nil {
		return "", err
	}
	var id string
	err = d.query(ctx, soql, false, func(res *queryResult) error {
		if len(res.Records) > 0 && id == "" {
			id, _ = res.Records[0]["Id"].(string)
		}
		return nil
	})
	return id, err
}

func (d *Driver) create(ctx context.Context, sobject string, body map[string]any) (string, error) {
	var res struct {
		ID string `json:"id"`
	}
	_, err := d.rest(ctx, http.MethodPost, d.dataPath("sobjects/"+sobject), body, &res)
	return res.ID, err
}

func (d *Driver) userID(ctx context.Context) (string, error) {
	if d.opt.UserID != "" {
		return d.opt.UserID, nil
	}
	tok, err := d.opt.Session.Token(ctx)
	if err != nil {
		return "", convertErr(err)
	}
	if id, _ := tok.Extra("id").(string); id != "" {
		return id[strings.LastIndex(id, "/")+1:], nil
	}
	var info struct {
		UserID string `json:"user_id"`
	}
	if _, err := d.rest(ctx, http.MethodGet, "/services/oauth2/userinfo", nil, &info); err != nil {
		return "", err
	}
	return info.UserID, nil
}

func (d *Driver) grantFLS(ctx context.Context, sobject, field string) error {
	ps, err := d.firstID(ctx, Query{Fields: []string{"Id"}, From: "PermissionSet", Where: Eq("Name", d.opt.PermissionSet)})
	if err != nil {
		return err
	}
	if ps == "" {
		if ps, err = d.create(ctx, "PermissionSet", map[string]any{"Name": d.opt.PermissionSet, "Label": "crmpulse fields",
			"Description": "Field access for crmpulse write-back fields"}); err != nil {
			return err
		}
	}
	full := sobject + "." + field
	fp, err := d.firstID(ctx, Query{Fields: []string{"Id"}, From: "FieldPermissions", Where: And(Eq("ParentId", ps), Eq("Field", full))})
	if err != nil {
		return err
	}
	if fp == "" {
		if _, err := d.create(ctx, "FieldPermissions", map[string]any{"ParentId": ps, "SobjectType": sobject, "Field": full,
			"PermissionsRead": true, "PermissionsEdit": true}); err != nil {
			return err
		}
	}
	user, err := d.userID(ctx)
	if err != nil {
		return err
	}
	psa, err := d.firstID(ctx, Query{Fields: []string{"Id"}, From: "PermissionSetAssignment", Where: And(Eq("AssigneeId", user), Eq("PermissionSetId", ps))})
	if err != nil {
		return err
	}
	if psa == "" {
		if _, err := d.create(ctx, "PermissionSetAssignment", map[string]any{"AssigneeId": user, "PermissionSetId": ps}); err != nil {
			if ce, ok := err.(*connectors.Error); !ok || ce.Code != "DUPLICATE_VALUE" {
				return err
			}
		}
	}
	return nil
}

// UpdateFields implements connectors.Driver with sObject Collections
// (allOrNone=false). HTTP 200 does not mean success: each record's result
// is read.
func (d *Driver) UpdateFields(ctx context.Context, obj connectors.Object, updates []connectors.Update) ([]connectors.WriteResult, error) {
	recs := make([]map[string]any, len(updates))
	for i, u := range updates {
		typ := primary(obj)
		if obj == connectors.Activities && strings.HasPrefix(u.ID, "00U") {
			typ = "Event"
		}
		m := make(map[string]any, len(u.Fields)+2)
		for k, v := range u.Fields {
			m[k] = v
		}
		m["attributes"] = map[string]any{"type": typ}
		m["id"] = u.ID
		recs[i] = m
	}
	var res []struct {
		ID      string     `json:"id"`
		Success bool       `json:"success"`
		Errors  []apiError `json:"errors"`
	}
	body := map[string]any{"allOrNone": false, "records": recs}
	if _, err := d.rest(ctx, http.MethodPatch, d.dataPath("composite/sobjects"), body, &res); err != nil {
		return nil, err
	}
	if len(res) != len(updates) {
		return nil, &connectors.Error{Code: "BAD_RESPONSE", Class: connectors.ErrPermanent,
			Message: fmt.Sprintf("collections returned %d results for %d records", len(res), len(updates))}
	}
	out := make([]connectors.WriteResult, len(updates))
	for i, r := range res {
		wr := connectors.WriteResult{ID: updates[i].ID, OK: r.Success}
		if !r.Success {
			e := &connectors.Error{Op: "update", Code: "UNKNOWN", Message: "record not saved", Class: connectors.ErrPermanent}
			if len(r.Errors) > 0 {
				e.Code = r.Errors[0].StatusCode
				if e.Code == "" {
					e.Code = r.Errors[0].ErrorCode
				}
				e.Message = r.Errors[0].Message
				if len(r.Errors[0].Fields) > 0 {
					e.Message += " [" + strings.Join(r.Errors[0].Fields, ", ") + "]"
				}
			}
			switch e.Code {
			case "UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION":
				e.Class, wr.Retryable = connectors.ErrTransient, true
			}
			wr.Err = e
		}
		out[i] = wr
	}
	return out, nil
}
