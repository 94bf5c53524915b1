package hubspot

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

type propertyOption struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	Description  string `json:"description,omitempty"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

type modificationMetadata struct {
	Archivable         bool `json:"archivable"`
	ReadOnlyDefinition bool `json:"readOnlyDefinition"`
	ReadOnlyValue      bool `json:"readOnlyValue"`
}

// property is HubSpot's Property model.
type property struct {
	Name                 string               `json:"name"`
	Label                string               `json:"label"`
	Type                 string               `json:"type"`
	FieldType            string               `json:"fieldType"`
	Description          string               `json:"description"`
	GroupName            string               `json:"groupName"`
	Options              []propertyOption     `json:"options"`
	DisplayOrder         int                  `json:"displayOrder"`
	Calculated           bool                 `json:"calculated"`
	ExternalOptions      bool                 `json:"externalOptions"`
	HasUniqueValue       bool                 `json:"hasUniqueValue"`
	Hidden               bool                 `json:"hidden"`
	HubspotDefined       bool                 `json:"hubspotDefined"`
	FormField            bool                 `json:"formField"`
	ModificationMetadata modificationMetadata `json:"modificationMetadata"`
	CreatedAt            string               `json:"createdAt,omitempty"`
	UpdatedAt            string               `json:"updatedAt,omitempty"`
	Archived             bool                 `json:"archived"`
}

type propertyGroup struct {
	Name         string `json:"name"`
	Label        string `json:"label"`
	DisplayOrder int    `json:"displayOrder"`
	Archived     bool   `json:"archived"`
}

// fieldTypes lists the valid fieldTypes of each property type; the first
// is the default.
var fieldTypes = map[string][]string{
	tString:      {"text", "textarea", "phonenumber", "html", "file"},
	tNumber:      {"number", "calculation_equation"},
	tEnumeration: {"select", "radio", "checkbox"},
	tBool:        {"booleancheckbox"},
	tDate:        {"date"},
	tDateTime:    {"date"},
}

var propertyName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (ot *objectType) defaultGroup() string { return ot.singular + "information" }

// storeType maps a HubSpot property type to a store field type.
func storeType(typ, fieldType string) string {
	switch typ {
	case tNumber:
		return sandbox.FDouble
	case tBool:
		return sandbox.FBoolean
	case tDate:
		return sandbox.FDate
	case tDateTime:
		return sandbox.FDateTime
	case tEnumeration:
		return sandbox.FPicklist
	}
	if fieldType == "textarea" {
		return sandbox.FTextArea
	}
	return sandbox.FString
}

// describe returns the Property of p: the API-managed definition if the
// property was created or changed through the API, else one derived from
// the store field.
func (h *Handler) describe(ot *objectType, p propInfo) *property {
	h.mu.Lock()
	meta := h.props[ot.table][p.name]
	h.mu.Unlock()
	if meta != nil {
		c := *meta
		c.Options = slices.Clone(meta.Options)
		return &c
	}
	pr := &property{Name: p.name, Label: p.name, Type: p.typ, FieldType: fieldTypes[p.typ][0], GroupName: ot.defaultGroup(),
		Options: []propertyOption{}, HubspotDefined: true, FormField: true,
		ModificationMetadata: modificationMetadata{ReadOnlyValue: p.readOnly, ReadOnlyDefinition: true}}
	if p.readOnly {
		pr.Calculated, pr.FormField = p.name != "hs_object_id", false
	}
	if f := p.field; f != nil {
		if f.Label != "" {
			pr.Label = f.Label
		}
		if f.Group != "" {
			pr.GroupName = f.Group
		}
		if f.Type == sandbox.FTextArea {
			pr.FieldType = "textarea"
		}
		for i, v := range f.Options {
			pr.Options = append(pr.Options, propertyOption{Label: f.OptionLabel(v), Value: v, DisplayOrder: i})
		}
		if f.Custom {
			pr.HubspotDefined = false
			pr.ModificationMetadata = modificationMetadata{Archivable: true}
		}
	}
	if p.typ == tBool && len(pr.Options) == 0 {
		pr.Options = []propertyOption{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false", DisplayOrder: 1}}
	}
	return pr
}

// optionValues returns the allowed values of an enumeration property.
func (h *Handler) optionValues(ot *objectType, p propInfo) []string {
	pr := h.describe(ot, p)
	out := make([]string, 0, len(pr.Options))
	for _, o := range pr.Options {
		out = append(out, o.Value)
	}
	return out
}

// isMultiEnum reports a multiple-checkbox property ("a;b" values).
func (h *Handler) isMultiEnum(ot *objectType, p propInfo) bool {
	return h.describe(ot, p).FieldType == "checkbox"
}

// allProps lists the readable properties of ot, sorted by name.
func (h *Handler) allProps(ot *objectType) []propInfo {
	sc, ok := h.sb.HS.Schema(ot.table)
	if !ok {
		return nil
	}
	names := []string{"hs_object_id", ot.created, ot.modified}
	for _, f := range sc.Fields {
		if !f.Hidden && !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
	}
	slices.Sort(names)
	out := make([]propInfo, 0, len(names))
	for _, n := range names {
		if p, ok := h.prop(ot, n); ok {
			out = append(out, p)
		}
	}
	return out
}

// propertyScopes returns the read or write scopes of the properties API.
func propertyScopes(write bool) scopeFunc {
	return func(r *http.Request) []string {
		ot, ok := lookupObjectType(r.PathValue("object"))
		if !ok {
			return nil
		}
		fam := ot.scope
		if write {
			return []string{"crm.schemas." + fam + ".write"}
		}
		return []string{"crm.schemas." + fam + ".read", "crm.schemas." + fam + ".write", "crm.objects." + fam + ".read"}
	}
}

// listProperties serves GET /crm/v3/properties/{object}.
func (h *Handler) listProperties(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("object"))
	if e != nil {
		return e
	}
	results := []*property{}
	if r.URL.Query().Get("archived") != "true" {
		for _, p := range h.allProps(ot) {
			results = append(results, h.describe(ot, p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

func errPropertyNotFound(ot *objectType, name string) *apiError {
	return errNotFound("Unable to find property named '" + name + "' for object type " + ot.typeID)
}

// getProperty serves GET /crm/v3/properties/{object}/{name}.
func (h *Handler) getProperty(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("object"))
	if e != nil {
		return e
	}
	p, ok := h.prop(ot, r.PathValue("name"))
	if !ok || (p.field != nil && p.field.Hidden) {
		return errPropertyNotFound(ot, r.PathValue("name"))
	}
	writeJSON(w, http.StatusOK, h.describe(ot, p))
	return nil
}

type propertyWrite struct {
	Name           *string          `json:"name"`
	Label          *string          `json:"label"`
	Type           *string          `json:"type"`
	FieldType      *string          `json:"fieldType"`
	GroupName      *string          `json:"groupName"`
	Description    *string          `json:"description"`
	Options        []propertyOption `json:"options"`
	DisplayOrder   *int             `json:"displayOrder"`
	Hidden         *bool            `json:"hidden"`
	FormField      *bool            `json:"formField"`
	HasUniqueValue *bool            `json:"hasUniqueValue"`
}

func validateOptions(opts []propertyOption) *apiError {
	seen := map[string]bool{}
	for _, o := range opts {
		if o.Value == "" || o.Label == "" {
			return errValidation("Enumeration options need a label and a value")
		}
		if seen[o.Value] {
			return errValidation("Duplicate option value: %s", o.Value)
		}
		seen[o.Value] = true
	}
	return nil
}

func validFieldType(typ, fieldType string) bool {
	return slices.Contains(fieldTypes[typ], fieldType)
}

// groupExists reports whether an object type has a property group.
func (h *Handler) groupExists(ot *objectType, name string) bool {
	return slices.ContainsFunc(h.propertyGroups(ot), func(g *propertyGroup) bool { return g.Name == name })
}

// createProperty serves POST /crm/v3/properties/{object}.
func (h *Handler) createProperty(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("object"))
	if e != nil {
		return e
	}
	var in propertyWrite
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	var missing []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", in.Name}, {"label", in.Label}, {"type", in.Type}, {"fieldType", in.FieldType}, {"groupName", in.GroupName}} {
		if f.v == nil || *f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return errValidation("Invalid input JSON: Cannot build PropertyCreate, some of required attributes are not set [%s]", strings.Join(missing, ", "))
	}
	name := *in.Name
	if !propertyName.MatchString(name) || len(name) > 100 {
		return errValidation("Property name '%s' is invalid: names must start with a lowercase letter and contain only lowercase letters, digits and underscores", name)
	}
	if _, ok := fieldTypes[*in.Type]; !ok {
		return errValidation("Property type '%s' is invalid; use one of string, number, date, datetime, enumeration, bool", *in.Type)
	}
	if !validFieldType(*in.Type, *in.FieldType) {
		return errValidation("Property type '%s' cannot have fieldType '%s'", *in.Type, *in.FieldType)
	}
	if e := validateOptions(in.Options); e != nil {
		return e
	}
	if !h.groupExists(ot, *in.GroupName) {
		return errValidation("Property group '%s' does not exist for object type %s", *in.GroupName, ot.typeID)
	}
	if _, ok := h.prop(ot, name); ok {
		e := newError(http.StatusConflict, catAlreadyExists, "Property named '"+name+"' already exists.")
		e.SubCategory = "PROPERTY_EXISTS"
		e.Context = map[string][]string{"name": {name}}
		return e
	}
	now := isoMillis(h.now())
	pr := &property{Name: name, Label: *in.Label, Type: *in.Type, FieldType: *in.FieldType, GroupName: *in.GroupName,
		Options: slices.Clone(in.Options), FormField: false, CreatedAt: now, UpdatedAt: now,
		ModificationMetadata: modificationMetadata{Archivable: true}}
	if pr.Options == nil {
		pr.Options = []propertyOption{}
	}
	if in.Description != nil {
		pr.Description = *in.Description
	}
	if in.DisplayOrder != nil {
		pr.DisplayOrder = *in.DisplayOrder
	}
	if in.Hidden != nil {
		pr.Hidden = *in.Hidden
	}
	if in.FormField != nil {
		pr.FormField = *in.FormField
	}
	if in.HasUniqueValue != nil {
		pr.HasUniqueValue = *in.HasUniqueValue
	}
	f := &sandbox.Field{Name: name, Label: pr.Label, Type: storeType(pr.Type, pr.FieldType), Custom: true,
		Updateable: true, Createable: true, Nillable: true, Group: pr.GroupName}
	for _, o := range pr.Options {
		f.Options = append(f.Options, o.Value)
		f.OptionLabels = append(f.OptionLabels, o.Label)
	}
	if err := h.sb.HS.AddField(ot.table, f); err != nil {
		e := newError(http.StatusConflict, catAlreadyExists, "Property named '"+name+"' already exists.")
		e.SubCategory = "PROPERTY_EXISTS"
		return e
	}
	h.mu.Lock()
	if h.props[ot.table] == nil {
		h.props[ot.table] = map[string]*property{}
	}
	h.props[ot.table][name] = pr
	h.mu.Unlock()
	writeJSON(w, http.StatusCreated, pr)
	return nil
}

// updateProperty serves PATCH /crm/v3/properties/{object}/{name}.
func (h *Handler) updateProperty(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("object"))
	if e != nil {
		return e
	}
	p, ok := h.prop(ot, r.PathValue("name"))
	if !ok {
		return errPropertyNotFound(ot, r.PathValue("name"))
	}
	var in propertyWrite
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	pr := h.describe(ot, p)
	if pr.ModificationMetadata.ReadOnlyDefinition {
		return errValidation("Property '%s' is read-only and cannot be modified", p.name)
	}
	if in.Name != nil && *in.Name != p.name {
		return errValidation("Property names cannot be changed")
	}
	if in.Type != nil && *in.Type != pr.Type {
		return errValidation("Property types cannot be changed")
	}
	if in.FieldType != nil {
		if !validFieldType(pr.Type, *in.FieldType) {
			return errValidation("Property type '%s' cannot have fieldType '%s'", pr.Type, *in.FieldType)
		}
		pr.FieldType = *in.FieldType
	}
	if in.GroupName != nil {
		if !h.groupExists(ot, *in.GroupName) {
			return errValidation("Property group '%s' does not exist for object type %s", *in.GroupName, ot.typeID)
		}
		pr.GroupName = *in.GroupName
	}
	if in.Options != nil {
		if e := validateOptions(in.Options); e != nil {
			return e
		}
		pr.Options = slices.Clone(in.Options)
	}
	if in.Label != nil {
		pr.Label = *in.Label
	}
	if in.Description != nil {
		pr.Description = *in.Description
	}
	if in.DisplayOrder != nil {
		pr.DisplayOrder = *in.DisplayOrder
	}
	if in.Hidden != nil {
		pr.Hidden = *in.Hidden
	}
	if in.FormField != nil {
		pr.FormField = *in.FormField
	}
	pr.UpdatedAt = isoMillis(h.now())
	h.mu.Lock()
	if h.props[ot.table] == nil {
		h.props[ot.table] = map[string]*property{}
	}
	h.props[ot.table][p.name] = pr
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, pr)
	return nil
}

// propertyGroups lists the groups of ot: those named by store fields, the
// default group, and those created through the API.
func (h *Handler) propertyGroups(ot *objectType) []*propertyGroup {
	seen := map[string]bool{}
	var out []*propertyGroup
	add := func(g *propertyGroup) {
		if !seen[g.Name] {
			seen[g.Name] = true
			out = append(out, g)
		}
	}
	add(&propertyGroup{Name: ot.defaultGroup(), Label: strings.ToUpper(ot.singular[:1]) + ot.singular[1:] + " information"})
	if sc, ok := h.sb.HS.Schema(ot.table); ok {
		for _, f := range sc.Fields {
			if f.Group != "" {
				add(&propertyGroup{Name: f.Group, Label: f.Group, DisplayOrder: -1})
			}
		}
	}
	h.mu.Lock()
	for _, name := range sortedKeys(h.groups[ot.table]) {
		g := *h.groups[ot.table][name]
		add(&g)
	}
	h.mu.Unlock()
	return out
}

// listGroups serves GET /crm/v3/properties/{object}/groups.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("object"))
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": h.propertyGroups(ot)})
	return nil
}

// createGroup serves POST /crm/v3/properties/{object}/groups.
func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("object"))
	if e != nil {
		return e
	}
	var in propertyGroup
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	if in.Name == "" || in.Label == "" {
		return errValidation("Invalid input JSON: Cannot build PropertyGroupCreate, some of required attributes are not set [name, label]")
	}
	if !propertyName.MatchString(in.Name) {
		return errValidation("Property group name '%s' is invalid", in.Name)
	}
	if h.groupExists(ot, in.Name) {
		return newError(http.StatusConflict, catAlreadyExists, "Property group named '"+in.Name+"' already exists.")
	}
	in.Archived = false
	h.mu.Lock()
	if h.groups[ot.table] == nil {
		h.groups[ot.table] = map[string]*propertyGroup{}
	}
	h.groups[ot.table][in.Name] = &in
	h.mu.Unlock()
	writeJSON(w, http.StatusCreated, in)
	return nil
}
