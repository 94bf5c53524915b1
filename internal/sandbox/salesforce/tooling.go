package salesforce

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// customField is a field created through the Tooling API. Such fields start
// hidden (no field-level security) until a FieldPermissions row of a
// permission set assigned to the API user grants read (and edit).
type customField struct {
	id         string
	object     string
	name       string // API name, with __c
	metadata   map[string]any
	precision  int
	scale      int
	restricted bool
	read, edit bool
	created    time.Time
}

type toolingBody struct {
	FullName string         `json:"FullName"`
	Metadata map[string]any `json:"Metadata"`
}

func intOf(v any, def int) int {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
		if f, err := n.Float64(); err == nil {
			return int(f)
		}
	case float64:
		return int(n)
	}
	return def
}

func (h *handler) createCustomField(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	var body toolingBody
	if !readJSON(w, r, &body) {
		return
	}
	object, name, ok := strings.Cut(body.FullName, ".")
	if !ok || !strings.HasSuffix(name, "__c") || len(name) <= 3 {
		writeErr(w, http.StatusBadRequest, "FIELD_INTEGRITY_EXCEPTION", "FullName must be of the form Object.Field__c: "+body.FullName, "FullName")
		return
	}
	sc, ok := h.sb.SF.Schema(object)
	if !ok {
		writeErr(w, http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", object))
		return
	}
	md := body.Metadata
	if md == nil {
		writeErr(w, http.StatusBadRequest, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", "Metadata")
		return
	}
	typ, _ := md["type"].(string)
	label, _ := md["label"].(string)
	if label == "" {
		label = strings.ReplaceAll(strings.TrimSuffix(name, "__c"), "_", " ")
	}
	f := &sandbox.Field{Name: name, Label: label, Custom: true, Createable: true, Updateable: true, Nillable: true, Hidden: true}
	cf := &customField{object: sc.Name, name: name, metadata: md}
	switch typ {
	case "Text":
		f.Type, f.Length = sandbox.FString, intOf(md["length"], 0)
		if f.Length <= 0 || f.Length > 255 {
			writeErr(w, http.StatusBadRequest, "FIELD_INTEGRITY_EXCEPTION", "Length: value must be between 1 and 255", "length")
			return
		}
	case "LongTextArea":
		f.Type, f.Length = sandbox.FTextArea, intOf(md["length"], 32768)
		if f.Length > 131072 {
			writeErr(w, http.StatusBadRequest, "FIELD_INTEGRITY_EXCEPTION", "Length: value must be between 256 and 131072", "length")
			return
		}
	case "Number", "Percent", "Currency":
		f.Type = map[string]string{"Number": sandbox.FDouble, "Percent": sandbox.FPercent, "Currency": sandbox.FCurrency}[typ]
		cf.precision, cf.scale = intOf(md["precision"], 18), intOf(md["scale"], 0)
		if cf.precision < 1 || cf.precision > 18 || cf.scale < 0 || cf.scale > cf.precision {
			writeErr(w, http.StatusBadRequest, "FIELD_INTEGRITY_EXCEPTION", "Precision/scale: precision must be 1-18 and scale at most precision", "precision")
			return
		}
	case "DateTime":
		f.Type = sandbox.FDateTime
	case "Date":
		f.Type = sandbox.FDate
	case "Checkbox":
		f.Type, f.Nillable = sandbox.FBoolean, false
	case "Picklist":
		f.Type, f.Length = sandbox.FPicklist, 255
		vs, _ := md["valueSet"].(map[string]any)
		cf.restricted, _ = vs["restricted"].(bool)
		def, _ := vs["valueSetDefinition"].(map[string]any)
		vals, _ := def["value"].([]any)
		for _, v := range vals {
			m, _ := v.(map[string]any)
			if n, _ := m["fullName"].(string); n != "" {
				f.Options = append(f.Options, n)
			}
		}
		if len(f.Options) == 0 {
			writeErr(w, http.StatusBadRequest, "FIELD_INTEGRITY_EXCEPTION", "Picklist: at least one value is required", "valueSet")
			return
		}
	default:
		writeErr(w, http.StatusBadRequest, "FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("Metadata.type: bad value for field type: %s", typ), "type")
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if _, dup := sc.Field(name); dup {
		writeErr(w, http.StatusBadRequest, "DUPLICATE_DEVELOPER_NAME",
			fmt.Sprintf("There is already a field named %s on %s.", strings.TrimSuffix(name, "__c"), sc.Name))
		return
	}
	if err := h.sb.SF.AddField(sc.Name, f); err != nil {
		writeErr(w, http.StatusBadRequest, "DUPLICATE_DEVELOPER_NAME",
			fmt.Sprintf("There is already a field named %s on %s.", strings.TrimSuffix(name, "__c"), sc.Name))
		return
	}
	cf.id = h.nextID(sandbox.PrefixCustomField)
	cf.created = h.sb.Clock.Now()
	h.mu.Lock()
	h.customFields[strings.ToLower(sc.Name+"."+name)] = cf
	h.metaChanged = h.sb.Clock.Now().Truncate(time.Second)
	h.mu.Unlock()
	h.recomputeFLS()
	writeJSON(w, http.StatusCreated, newObj().set("id", cf.id).set("success", true).set("errors", []any{}).
		set("warnings", []any{}).set("infos", []any{}))
}

// recomputeFLS derives which Tooling-created fields the API user can read
// and edit from FieldPermissions of the permission sets assigned to them.
func (h *handler) recomputeFLS() {
	user := h.integrationUser()
	assigned := map[string]bool{}
	_ = h.sb.SF.Scan(sandbox.SFPermissionSetAssignment, func(r sandbox.Row) bool {
		if !r.Deleted && r.Fields["AssigneeId"] == user {
			if ps, _ := r.Fields["PermissionSetId"].(string); ps != "" {
				assigned[ps] = true
			}
		}
		return true
	})
	read, edit := map[string]bool{}, map[string]bool{}
	_ = h.sb.SF.Scan(sandbox.SFFieldPermissions, func(r sandbox.Row) bool {
		ps, _ := r.Fields["ParentId"].(string)
		if r.Deleted || !assigned[ps] {
			return true
		}
		field, _ := r.Fields["Field"].(string)
		k := strings.ToLower(field)
		if b, _ := r.Fields["PermissionsRead"].(bool); b {
			read[k] = true
		}
		if b, _ := r.Fields["PermissionsEdit"].(bool); b {
			edit[k] = true
		}
		return true
	})
	type change struct {
		object, name string
		hidden       bool
	}
	var changes []change
	h.mu.Lock()
	for k, cf := range h.customFields {
		r, e := read[k], edit[k] && read[k]
		if r != cf.read || e != cf.edit {
			h.metaChanged = h.sb.Clock.Now().Truncate(time.Second)
		}
		if r != cf.read {
			changes = append(changes, change{cf.object, cf.name, !r})
		}
		cf.read, cf.edit = r, e
	}
	h.mu.Unlock()
	for _, ch := range changes {
		_ = h.sb.SF.SetFieldHidden(ch.object, ch.name, ch.hidden)
	}
}

// stableCustomFieldID gives custom fields defined by the org's schema (not
// through the Tooling API) a stable 00N id.
func stableCustomFieldID(object, name string) string {
	sum := sha256.Sum256([]byte(object + "." + name))
	return sandbox.SalesforceID(sandbox.PrefixCustomField, int64(binary.BigEndian.Uint32(sum[:4])))
}

var customFieldSchema = func() *sandbox.Schema {
	f := func(name, typ string) *sandbox.Field {
		return &sandbox.Field{Name: name, Label: name, Type: typ, Nillable: true}
	}
	sc := &sandbox.Schema{Name: "CustomField", KeyPrefix: sandbox.PrefixCustomField, Fields: []*sandbox.Field{
		f("Id", sandbox.FID), f("DeveloperName", sandbox.FString), f("TableEnumOrId", sandbox.FString),
		f("FullName", sandbox.FString), f("NamespacePrefix", sandbox.FString), f("Description", sandbox.FString),
		f("CreatedDate", sandbox.FDateTime), f("LastModifiedDate", sandbox.FDateTime),
	}}
	// Index the fields through a throwaway store (Define builds the lookup).
	sandbox.NewStore(sandbox.NewClock(time.Time{}), sandbox.StoreOptions{}).Define(sc)
	return sc
}()

// memCatalog is a read-only catalog of one in-memory table.
type memCatalog struct {
	sc   *sandbox.Schema
	rows []sandbox.Row
}

func (m *memCatalog) Schema(name string) (*sandbox.Schema, bool) {
	if strings.EqualFold(name, m.sc.Name) {
		return m.sc, true
	}
	return nil, false
}

func (m *memCatalog) Get(_, id string) (sandbox.Row, bool) {
	for _, r := range m.rows {
		if r.ID == id {
			return r, true
		}
	}
	return sandbox.Row{}, false
}

func (m *memCatalog) Scan(_ string, fn func(sandbox.Row) bool) error {
	for _, r := range m.rows {
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// toolingCatalog lists every custom field of the org (with or without FLS).
func (h *handler) toolingCatalog() *memCatalog {
	m := &memCatalog{sc: customFieldSchema}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, table := range h.sb.SF.Tables() {
		sc, _ := h.sb.SF.Schema(table)
		for _, f := range sc.Fields {
			if !f.Custom {
				continue
			}
			id, created := stableCustomFieldID(sc.Name, f.Name), h.metaChanged
			if cf, ok := h.customFields[strings.ToLower(sc.Name+"."+f.Name)]; ok {
				id, created = cf.id, cf.created
			}
			m.rows = append(m.rows, sandbox.Row{ID: id, Fields: map[string]any{
				"Id": id, "DeveloperName": strings.TrimSuffix(f.Name, "__c"), "TableEnumOrId": sc.Name,
				"FullName": sc.Name + "." + f.Name, "Description": nil,
				"CreatedDate": created.UTC().Truncate(time.Second), "LastModifiedDate": created.UTC().Truncate(time.Second),
			}})
		}
	}
	return m
}

func (h *handler) toolingQuery(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		writeErr(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	cat := h.toolingCatalog()
	pl, rows, err := h.execute(cat, q, false)
	if err != nil {
		writeSOQLErr(w, err)
		return
	}
	if pl.count {
		writeJSON(w, http.StatusOK, newObj().set("size", len(rows)).set("totalSize", len(rows)).set("done", true).
			set("queryLocator", nil).set("entityTypeName", "CustomField").set("records", []any{}))
		return
	}
	ctx := newEvalCtx(cat)
	records := make([]any, 0, len(rows))
	for _, row := range rows {
		rec := h.renderRecord(ctx, c.version, pl, row)
		rec.set("attributes", newObj().set("type", "CustomField").set("url", "/services/data/"+c.version+"/tooling/sobjects/CustomField/"+row.ID))
		records = append(records, rec)
	}
	writeJSON(w, http.StatusOK, newObj().set("size", len(rows)).set("totalSize", len(rows)).set("done", true).
		set("queryLocator", nil).set("entityTypeName", "CustomField").set("records", records))
}

func (h *handler) getCustomField(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	id := c.segs[3]
	h.mu.Lock()
	var found *customField
	for _, cf := range h.customFields {
		if cf.id == id || cf.id[:15] == id {
			found = cf
		}
	}
	h.mu.Unlock()
	if found == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, newObj().
		set("attributes", newObj().set("type", "CustomField").set("url", "/services/data/"+c.version+"/tooling/sobjects/CustomField/"+found.id)).
		set("Id", found.id).
		set("DeveloperName", strings.TrimSuffix(found.name, "__c")).
		set("TableEnumOrId", found.object).
		set("FullName", found.object+"."+found.name).
		set("Metadata", found.metadata))
}
