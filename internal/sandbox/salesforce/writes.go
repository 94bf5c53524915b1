package salesforce

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// saveError is one error of a SaveResult (note statusCode, not errorCode).
type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// saveResult is one record's outcome in sObject Collections and POST create.
type saveResult struct {
	ID      *string     `json:"id"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

func newSaveError(code, msg string, fields ...string) *saveError {
	if fields == nil {
		fields = []string{}
	}
	return &saveError{StatusCode: code, Message: msg, Fields: fields}
}

// validID normalises a 15- or 18-character id of table sc to 18 characters.
func validID(sc *sandbox.Schema, id string) (string, bool) {
	if len(id) == 15 {
		id = sandbox.CaseSafeID(id)
	}
	if len(id) != 18 || (sc != nil && sc.KeyPrefix != "" && !strings.HasPrefix(id, sc.KeyPrefix)) {
		return "", false
	}
	return id, true
}

// restricted reports whether a picklist only accepts its defined values:
// custom picklists are restricted (the Salesforce default for new fields),
// standard ones are not, Tooling-created ones follow their valueSet.
func (h *handler) restricted(sc *sandbox.Schema, f *sandbox.Field) bool {
	if f.Type != sandbox.FPicklist || len(f.Options) == 0 {
		return false
	}
	h.mu.Lock()
	cf, ok := h.customFields[strings.ToLower(sc.Name+"."+f.Name)]
	h.mu.Unlock()
	if ok {
		return cf.restricted
	}
	return f.Custom
}

// editable reports whether the API user may write a field: its schema flag
// and, for Tooling-created fields, the edit permission granted through FLS.
func (h *handler) editable(sc *sandbox.Schema, f *sandbox.Field, create bool) bool {
	ok := f.Updateable
	if create {
		ok = f.Createable
	}
	if !ok {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if cf, isCustom := h.customFields[strings.ToLower(sc.Name+"."+f.Name)]; isCustom {
		return cf.edit
	}
	return true
}

func parserError(f *sandbox.Field, v any) *saveError {
	kind := "VALUE_STRING"
	switch v.(type) {
	case json.Number:
		kind = "VALUE_NUMBER_FLOAT"
	case bool:
		kind = "VALUE_TRUE"
		if v == false {
			kind = "VALUE_FALSE"
		}
	case map[string]any:
		kind = "START_OBJECT"
	case []any:
		kind = "START_ARRAY"
	}
	return newSaveError("JSON_PARSER_ERROR", fmt.Sprintf(
		"Cannot deserialize instance of %s from %s value %v or request may be missing a required field", soapTypeName(f), kind, v), f.Name)
}

// convert turns a decoded JSON value into a store value for a field.
func (h *handler) convert(sc *sandbox.Schema, f *sandbox.Field, v any) (any, *saveError) {
	if v == nil {
		if !f.Nillable {
			if f.Type == sandbox.FBoolean {
				return false, nil
			}
			return nil, newSaveError("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", f.Name), f.Name)
		}
		return nil, nil
	}
	switch kindOf(f) {
	case kNumber:
		var n float64
		switch x := v.(type) {
		case json.Number:
			p, err := x.Float64()
			if err != nil {
				return nil, parserError(f, v)
			}
			n = p
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, parserError(f, v)
			}
			n = p
		default:
			return nil, parserError(f, v)
		}
		if f.Type == sandbox.FInt && n != math.Trunc(n) {
			return nil, parserError(f, v)
		}
		return n, nil
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, parserError(f, v)
	case kDate:
		s, ok := v.(string)
		if !ok {
			return nil, parserError(f, v)
		}
		if len(s) > 10 && s[10] == 'T' {
			s = s[:10]
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, parserError(f, v)
		}
		return sandbox.NewDate(t), nil
	case kDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, parserError(f, v)
		}
		t, err := parseDateTime(s)
		if err != nil {
			return nil, parserError(f, v)
		}
		return t, nil
	case kID:
		s, ok := v.(string)
		if !ok {
			return nil, parserError(f, v)
		}
		if s == "" {
			if !f.Nillable {
				return nil, newSaveError("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", f.Name), f.Name)
			}
			return nil, nil
		}
		id, ok := validID(nil, s)
		if !ok {
			return nil, newSaveError("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, s), f.Name)
		}
		if f.Type == sandbox.FReference && f.ReferenceTo != "" {
			table := tableForID(h.sb.SF, f, id)
			ref, ok := h.sb.SF.Schema(table)
			if !ok || (ref.KeyPrefix != "" && !strings.HasPrefix(id, ref.KeyPrefix)) {
				return nil, newSaveError("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, s), f.Name)
			}
			if row, ok := h.sb.SF.Get(table, id); !ok || row.Deleted {
				return nil, newSaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", f.Name)
			}
		}
		return id, nil
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		return nil, parserError(f, v)
	}
	if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
		return nil, newSaveError("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, s, f.Length), f.Name)
	}
	if s != "" && h.restricted(sc, f) && !contains(f.Options, s) {
		return nil, newSaveError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, s), f.Name)
	}
	if s == "" {
		return nil, nil
	}
	return s, nil
}

// prepare validates a record body for an insert (create) or update and
// returns store values keyed by canonical field name.
func (h *handler) prepare(sc *sandbox.Schema, body map[string]any, create bool) (map[string]any, *saveError) {
	out := map[string]any{}
	for k, v := range body {
		if k == "attributes" || strings.EqualFold(k, "id") {
			continue
		}
		f, ok := lookupField(sc, k)
		if !ok {
			return nil, newSaveError("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, sc.Name), k)
		}
		if !h.editable(sc, f, create) {
			verb := "update"
			if create {
				verb = "create"
			}
			return nil, newSaveError("INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf(
				"Unable to %s fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", verb, f.Name), f.Name)
		}
		cv, serr := h.convert(sc, f, v)
		if serr != nil {
			return nil, serr
		}
		out[f.Name] = cv
	}
	if create {
		var missing []string
		for _, f := range sc.Fields {
			if f.Hidden || f.Nillable || !f.Createable || f.Type == sandbox.FBoolean {
				continue
			}
			if out[f.Name] == nil {
				missing = append(missing, f.Name)
			}
		}
		if len(missing) > 0 {
			return nil, newSaveError("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)
		}
	}
	return out, nil
}

// derive fills read-only fields Salesforce computes from others.
func derive(sc *sandbox.Schema, current, vals map[string]any) {
	get := func(k string) any {
		if v, ok := vals[k]; ok {
			return v
		}
		return current[k]
	}
	has := func(k string) bool { _, ok := sc.Field(k); return ok }
	if has("Name") && has("LastName") && (vals["FirstName"] != nil || vals["LastName"] != nil) {
		first, _ := get("FirstName").(string)
		last, _ := get("LastName").(string)
		vals["Name"] = strings.TrimSpace(first + " " + last)
	}
	if sc.Name == sandbox.SFOpportunity {
		if stage, ok := vals["StageName"].(string); ok {
			for _, st := range sandbox.SalesforceStages {
				if st.Name == stage {
					vals["IsClosed"], vals["IsWon"] = st.Closed, st.Won
					if _, set := vals["Probability"]; !set {
						vals["Probability"] = st.Probability
					}
				}
			}
		}
	}
	if sc.Name == sandbox.SFTask {
		if status, ok := vals["Status"].(string); ok {
			vals["IsClosed"] = status == "Completed"
		}
	}
	if sc.Name == sandbox.SFCampaignMember {
		if c, ok := vals["ContactId"].(string); ok {
			vals["LeadOrContactId"] = c
		}
	}
}

// checkInsert applies cross-record rules of an insert.
func (h *handler) checkInsert(sc *sandbox.Schema, vals map[string]any) *saveError {
	switch sc.Name {
	case sandbox.SFCampaignMember:
		camp, _ := vals["CampaignId"].(string)
		who, _ := vals["ContactId"].(string)
		if who == "" {
			who, _ = vals["LeadId"].(string)
		}
		if who == "" {
			return newSaveError("REQUIRED_FIELD_MISSING", "Required fields are missing: [ContactId]", "ContactId")
		}
		dup := false
		_ = h.sb.SF.Scan(sandbox.SFCampaignMember, func(r sandbox.Row) bool {
			if !r.Deleted && r.Fields["CampaignId"] == camp && r.Fields["ContactId"] == who {
				dup = true
				return false
			}
			return true
		})
		if dup {
			return newSaveError("DUPLICATE_VALUE", "Already a campaign member.")
		}
	case sandbox.SFFieldPermissions:
		return checkFieldPermission(vals)
	}
	return nil
}

func checkFieldPermission(vals map[string]any) *saveError {
	field, _ := vals["Field"].(string)
	obj, _ := vals["SobjectType"].(string)
	o, _, ok := strings.Cut(field, ".")
	if !ok || !strings.EqualFold(o, obj) {
		return newSaveError("INVALID_FIELD", fmt.Sprintf("Field must be of the form SobjectType.FieldName: %s", field), "Field")
	}
	if edit, _ := vals["PermissionsEdit"].(bool); edit {
		if read, _ := vals["PermissionsRead"].(bool); !read {
			return newSaveError("FIELD_INTEGRITY_EXCEPTION", "Permission Edit depends on permission(s): Read", "PermissionsRead")
		}
	}
	return nil
}

func (h *handler) actor(user string) string { return "integration:" + user }

// insert validates and inserts one record; it returns the new id.
func (h *handler) insert(sc *sandbox.Schema, body map[string]any, user string) (string, *saveError) {
	vals, serr := h.prepare(sc, body, true)
	if serr != nil {
		return "", serr
	}
	return h.insertPrepared(sc, vals, user)
}

func (h *handler) insertPrepared(sc *sandbox.Schema, vals map[string]any, user string) (string, *saveError) {
	derive(sc, nil, vals)
	if serr := h.checkInsert(sc, vals); serr != nil {
		return "", serr
	}
	for _, k := range []string{"OwnerId", "CreatedById", "LastModifiedById"} {
		if _, ok := sc.Field(k); ok && vals[k] == nil {
			vals[k] = user
		}
	}
	row, err := h.sb.SF.Insert(sc.Name, vals, h.actor(user))
	if err != nil {
		return "", newSaveError("UNKNOWN_EXCEPTION", err.Error())
	}
	if _, ok := sc.Field("Id"); ok {
		// Keep Fields["Id"] equal to Row.ID.
		if row.Fields["Id"] != row.ID {
			_, _ = h.sb.SF.UpdateAt(sc.Name, row.ID, map[string]any{"Id": row.ID}, h.actor(user), row.ModifiedAt)
		}
	}
	h.afterWrite(sc.Name)
	return row.ID, nil
}

// update validates and applies one record update.
func (h *handler) update(sc *sandbox.Schema, id string, body map[string]any, user string) *saveError {
	vals, serr := h.prepare(sc, body, false)
	if serr != nil {
		return serr
	}
	return h.updatePrepared(sc, id, vals, user)
}

func (h *handler) checkUpdate(sc *sandbox.Schema, id string) (sandbox.Row, *saveError) {
	norm, ok := validID(sc, id)
	if !ok {
		return sandbox.Row{}, newSaveError("MALFORMED_ID", fmt.Sprintf("malformed id %s", id))
	}
	row, ok := h.sb.SF.Get(sc.Name, norm)
	if !ok {
		return row, newSaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
	}
	if row.Deleted {
		return row, newSaveError("ENTITY_IS_DELETED", "entity is deleted")
	}
	return row, nil
}

func (h *handler) updatePrepared(sc *sandbox.Schema, id string, vals map[string]any, user string) *saveError {
	row, serr := h.checkUpdate(sc, id)
	if serr != nil {
		return serr
	}
	derive(sc, row.Fields, vals)
	if sc.Name == sandbox.SFFieldPermissions {
		merged := map[string]any{}
		for k, v := range row.Fields {
			merged[k] = v
		}
		for k, v := range vals {
			merged[k] = v
		}
		if serr := checkFieldPermission(merged); serr != nil {
			return serr
		}
	}
	if _, ok := sc.Field("LastModifiedById"); ok {
		vals["LastModifiedById"] = user
	}
	if _, err := h.sb.SF.Update(sc.Name, row.ID, vals, h.actor(user)); err != nil {
		return newSaveError("ENTITY_IS_DELETED", "entity is deleted")
	}
	h.afterWrite(sc.Name)
	return nil
}

// remove soft-deletes one record.
func (h *handler) remove(sc *sandbox.Schema, id string) *saveError {
	norm, ok := validID(sc, id)
	if !ok {
		return newSaveError("MALFORMED_ID", fmt.Sprintf("malformed id %s", id))
	}
	row, ok := h.sb.SF.Get(sc.Name, norm)
	if !ok {
		return newSaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
	}
	if row.Deleted {
		return newSaveError("ENTITY_IS_DELETED", "entity is deleted")
	}
	if err := h.sb.SF.Delete(sc.Name, norm); err != nil {
		return newSaveError("ENTITY_IS_DELETED", "entity is deleted")
	}
	h.afterWrite(sc.Name)
	return nil
}

// afterWrite reacts to writes on the permission tables by recomputing FLS.
func (h *handler) afterWrite(table string) {
	switch table {
	case sandbox.SFPermissionSet, sandbox.SFFieldPermissions, sandbox.SFPermissionSetAssignment:
		h.recomputeFLS()
	}
}
