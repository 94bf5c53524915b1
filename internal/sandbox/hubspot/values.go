package hubspot

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// HubSpot property types.
const (
	tString      = "string"
	tNumber      = "number"
	tBool        = "bool"
	tDate        = "date"
	tDateTime    = "datetime"
	tEnumeration = "enumeration"
)

// objectType is one CRM object type the handler serves.
type objectType struct {
	table    string // store table and path segment ("companies")
	singular string // "company"
	upper    string // "COMPANY" (error messages)
	typeID   string // "0-2"
	created  string // created-date property
	modified string // last-modified property (updatedAt)
	scope    string // scope family: crm.objects.<scope>.read
	defaults []string
}

var objectTypes = []*objectType{
	{"contacts", "contact", "CONTACT", "0-1", "createdate", "lastmodifieddate", "contacts",
		[]string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}},
	{"companies", "company", "COMPANY", "0-2", "createdate", "hs_lastmodifieddate", "companies",
		[]string{"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"}},
	{"deals", "deal", "DEAL", "0-3", "createdate", "hs_lastmodifieddate", "deals",
		[]string{"amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline"}},
	{"calls", "call", "CALL", "0-48", "hs_createdate", "hs_lastmodifieddate", "contacts",
		[]string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}},
	{"emails", "email", "EMAIL", "0-49", "hs_createdate", "hs_lastmodifieddate", "contacts",
		[]string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}},
	{"meetings", "meeting", "MEETING", "0-47", "hs_createdate", "hs_lastmodifieddate", "contacts",
		[]string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}},
	{"notes", "note", "NOTE", "0-46", "hs_createdate", "hs_lastmodifieddate", "contacts",
		[]string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}},
	{"tasks", "task", "TASK", "0-27", "hs_createdate", "hs_lastmodifieddate", "contacts",
		[]string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}},
}

// lookupObjectType resolves a path segment: plural or singular name, or
// object type id.
func lookupObjectType(s string) (*objectType, bool) {
	ls := strings.ToLower(s)
	for _, ot := range objectTypes {
		if ls == ot.table || ls == ot.singular || ls == ot.typeID {
			return ot, true
		}
	}
	return nil, false
}

// objectType resolves a path segment to a type whose table exists.
func (h *Handler) objectType(s string) (*objectType, *apiError) {
	ot, ok := lookupObjectType(s)
	if ok {
		if _, defined := h.sb.HS.Schema(ot.table); defined {
			return ot, nil
		}
	}
	return nil, errValidation("Unable to infer object type from: %s", s)
}

func (ot *objectType) readScopes() []string {
	return []string{"crm.objects." + ot.scope + ".read", "crm.objects." + ot.scope + ".write"}
}

func (ot *objectType) writeScopes() []string { return []string{"crm.objects." + ot.scope + ".write"} }

// propInfo describes a readable property of an object type.
type propInfo struct {
	name     string
	typ      string
	field    *sandbox.Field // nil for properties the store does not hold
	readOnly bool
}

// fieldType maps a store field type to a HubSpot property type.
func fieldType(f *sandbox.Field) string {
	switch f.Type {
	case sandbox.FDouble, sandbox.FCurrency, sandbox.FPercent, sandbox.FInt:
		return tNumber
	case sandbox.FBoolean:
		return tBool
	case sandbox.FDate:
		return tDate
	case sandbox.FDateTime:
		return tDateTime
	case sandbox.FPicklist:
		return tEnumeration
	}
	return tString
}

// prop returns the property name of ot. hs_object_id and the created and
// last-modified properties always exist (from the record's metadata) and
// are read-only.
func (h *Handler) prop(ot *objectType, name string) (propInfo, bool) {
	sc, ok := h.sb.HS.Schema(ot.table)
	if !ok {
		return propInfo{}, false
	}
	var p propInfo
	if f, ok := sc.Field(name); ok {
		p = propInfo{name: f.Name, typ: fieldType(f), field: f, readOnly: !f.Updateable}
	}
	switch strings.ToLower(name) {
	case "hs_object_id":
		return propInfo{name: "hs_object_id", typ: tNumber, field: p.field, readOnly: true}, true
	case ot.created, ot.modified:
		return propInfo{name: strings.ToLower(name), typ: tDateTime, field: p.field, readOnly: true}, true
	}
	return p, p.field != nil
}

// value returns the current value of property p on row.
func (ot *objectType) value(row sandbox.Row, name string) any {
	switch name {
	case "hs_object_id":
		return row.ID
	case ot.modified:
		return row.ModifiedAt
	case ot.created:
		if v, ok := row.Fields[name]; ok && v != nil {
			return v
		}
		return row.CreatedAt
	}
	if v, ok := row.Fields[name]; ok {
		return v
	}
	v, _ := row.Get(name)
	return v
}

// viewValue is value for a record read in place.
func (ot *objectType) viewValue(v sandbox.RowView, name string) any {
	switch name {
	case "hs_object_id":
		return v.ID()
	case ot.modified:
		return v.ModifiedAt()
	case ot.created:
		if x, ok := v.Get(name); ok && x != nil {
			return x
		}
		return v.CreatedAt()
	}
	x, _ := v.Get(name)
	return x
}

// isoMillis renders a datetime as HubSpot does: UTC with milliseconds.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// formatValue renders a stored value as a HubSpot property string; nil
// stays nil (JSON null).
func formatValue(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		s = strconv.FormatBool(x)
	case time.Time:
		s = isoMillis(x)
	case sandbox.Date:
		s = x.String()
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

// propError is one invalid property value of a write.
type propError struct {
	name, code, message string
}

// validationError is the 400 body of writes with invalid property values.
func validationError(errs []propError) *apiError {
	type item struct {
		IsValid bool   `json:"isValid"`
		Message string `json:"message"`
		Error   string `json:"error"`
		Name    string `json:"name"`
	}
	items := make([]item, len(errs))
	e := errValidation("")
	for i, pe := range errs {
		items[i] = item{Message: pe.message, Error: pe.code, Name: pe.name}
		e.Errors = append(e.Errors, errorDetail{Message: pe.message, Code: pe.code, In: pe.name,
			Context: map[string][]string{"propertyName": {pe.name}}})
	}
	b, _ := json.Marshal(items)
	e.Message = "Property values were not valid: " + string(b)
	return e
}

// parseWrites converts the properties of a write to store values. Unknown
// properties, read-only properties and invalid values are reported.
func (h *Handler) parseWrites(ot *objectType, in map[string]any) (map[string]any, []propError) {
	out := make(map[string]any, len(in))
	var errs []propError
	for _, name := range sortedKeys(in) {
		p, ok := h.prop(ot, name)
		if !ok {
			errs = append(errs, propError{name, "PROPERTY_DOESNT_EXIST", fmt.Sprintf("Property \"%s\" does not exist", name)})
			continue
		}
		if p.readOnly {
			errs = append(errs, propError{name, "READ_ONLY_VALUE", fmt.Sprintf("\"%s\" is a read only property; its value cannot be set.", name)})
			continue
		}
		v, pe := h.parseValue(ot, p, in[name])
		if pe != nil {
			errs = append(errs, *pe)
			continue
		}
		out[p.name] = v
	}
	return out, errs
}

// inputString converts a JSON value of a write to its string form.
func inputString(raw any) (string, bool) {
	switch x := raw.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// parseValue converts one written value; "" and null clear the property.
func (h *Handler) parseValue(ot *objectType, p propInfo, raw any) (any, *propError) {
	s, ok := inputString(raw)
	if !ok {
		return nil, &propError{p.name, "INVALID_VALUE", fmt.Sprintf("%v is not a valid value for %s.", raw, p.name)}
	}
	if s == "" {
		return nil, nil
	}
	switch p.typ {
	case tNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &propError{p.name, "INVALID_FLOAT", fmt.Sprintf("%s was not a valid number.", s)}
		}
		return f, nil
	case tBool:
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, &propError{p.name, "INVALID_BOOLEAN", fmt.Sprintf("%s was not a valid boolean (true/false).", s)}
	case tDateTime:
		t, ok := parseTime(s)
		if !ok {
			return nil, &propError{p.name, "INVALID_DATETIME", fmt.Sprintf("%s was not a valid datetime (ISO 8601 or epoch milliseconds).", s)}
		}
		return t, nil
	case tDate:
		t, ok := parseTime(s)
		if !ok {
			return nil, &propError{p.name, "INVALID_DATE", fmt.Sprintf("%s was not a valid date (YYYY-MM-DD or epoch milliseconds at midnight UTC).", s)}
		}
		if d := sandbox.NewDate(t); !d.Equal(t) {
			return nil, &propError{p.name, "INVALID_DATE", fmt.Sprintf("%s is at %s UTC, not midnight!", s, t.Format("15:04:05.000"))}
		}
		return sandbox.NewDate(t), nil
	case tEnumeration:
		allowed := h.optionValues(ot, p)
		vals := []string{s}
		if h.isMultiEnum(ot, p) {
			vals = strings.Split(s, ";")
		}
		for _, v := range vals {
			if !containsString(allowed, v) {
				return nil, &propError{p.name, "INVALID_OPTION",
					fmt.Sprintf("%s was not one of the allowed options: [%s]", v, strings.Join(allowed, ", "))}
			}
		}
		return s, nil
	}
	return s, nil
}

// parseTime accepts epoch milliseconds and ISO 8601 (with or without
// fraction/offset, or a bare date).
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeBody decodes a JSON request body into v, keeping numbers exact.
func decodeBody(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errValidation("Invalid input JSON on line 1: %v", err)
	}
	return nil
}

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
