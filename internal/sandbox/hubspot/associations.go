package hubspot

import (
	"net/http"
	"strconv"
)

// Association limits.
const (
	assocPageMax        = 500
	assocBatchInputsMax = 1000
)

// assocDef is a HubSpot-defined association between two object types:
// the unlabeled default type id and, where HubSpot has one, the Primary
// label's type id.
type assocDef struct {
	from, to     string
	def, primary int
}

var assocDefs = []assocDef{
	{"companies", "deals", 342, 6}, {"deals", "companies", 341, 5},
	{"companies", "contacts", 280, 2}, {"contacts", "companies", 279, 1},
	{"deals", "contacts", 3, 0}, {"contacts", "deals", 4, 0},
	{"calls", "companies", 182, 0}, {"companies", "calls", 181, 0},
	{"emails", "companies", 186, 0}, {"companies", "emails", 185, 0},
	{"meetings", "companies", 188, 0}, {"companies", "meetings", 187, 0},
	{"notes", "companies", 190, 0}, {"companies", "notes", 189, 0},
	{"tasks", "companies", 192, 0}, {"companies", "tasks", 191, 0},
	{"calls", "deals", 206, 0}, {"deals", "calls", 205, 0},
	{"emails", "deals", 210, 0}, {"deals", "emails", 209, 0},
	{"meetings", "deals", 212, 0}, {"deals", "meetings", 211, 0},
	{"notes", "deals", 214, 0}, {"deals", "notes", 213, 0},
	{"tasks", "deals", 216, 0}, {"deals", "tasks", 215, 0},
	{"calls", "contacts", 194, 0}, {"contacts", "calls", 193, 0},
	{"emails", "contacts", 198, 0}, {"contacts", "emails", 197, 0},
	{"meetings", "contacts", 200, 0}, {"contacts", "meetings", 199, 0},
	{"notes", "contacts", 202, 0}, {"contacts", "notes", 201, 0},
	{"tasks", "contacts", 204, 0}, {"contacts", "tasks", 203, 0},
}

func findAssocDef(from, to string) (assocDef, bool) {
	for _, d := range assocDefs {
		if d.from == from && d.to == to {
			return d, true
		}
	}
	return assocDef{}, false
}

// reverseType returns the type id of the opposite direction.
func reverseType(from, to string, typeID int) int {
	d, _ := findAssocDef(from, to)
	r, _ := findAssocDef(to, from)
	if typeID == d.primary && d.primary != 0 {
		return r.primary
	}
	return r.def
}

// assocType is one entry of associationTypes.
type assocType struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

// expandTypes lists the association types a stored type id stands for: a
// Primary association is also an unlabeled one.
func expandTypes(from, to string, typeID int) []assocType {
	d, ok := findAssocDef(from, to)
	switch {
	case ok && d.primary != 0 && typeID == d.primary:
		primary := "Primary"
		return []assocType{{"HUBSPOT_DEFINED", d.def, nil}, {"HUBSPOT_DEFINED", d.primary, &primary}}
	case ok && typeID == d.def:
		return []assocType{{"HUBSPOT_DEFINED", typeID, nil}}
	}
	return []assocType{{"USER_DEFINED", typeID, nil}}
}

// assocV3 renders associations as v3 object reads do (each id once per
// type, with snake_case type names).
func (h *Handler) assocV3(ot *objectType, id string, to *objectType) []assocV3 {
	ids, types := h.sb.HS.Associations(ot.table, id, to.table)
	out := []assocV3{}
	name := ot.singular + "_to_" + to.singular
	for i, toID := range ids {
		out = append(out, assocV3{ID: toID, Type: name})
		if d, ok := findAssocDef(ot.table, to.table); ok && d.primary != 0 && types[i] == d.primary {
			out = append(out, assocV3{ID: toID, Type: name + "_unlabeled"})
		}
	}
	return out
}

// numericID marshals numeric ids as JSON numbers (toObjectId).
type numericID string

func (n numericID) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return []byte(n), nil
	}
	return []byte(strconv.Quote(string(n))), nil
}

type assocV4 struct {
	ToObjectID       numericID   `json:"toObjectId"`
	AssociationTypes []assocType `json:"associationTypes"`
}

// assocPage returns up to limit associations of a record after an offset
// and the next offset (0 when done).
func (h *Handler) assocPage(from *objectType, id string, to *objectType, offset, limit int) ([]assocV4, int) {
	ids, types := h.sb.HS.Associations(from.table, id, to.table)
	out := []assocV4{}
	end := min(offset+limit, len(ids))
	for i := offset; i < end; i++ {
		out = append(out, assocV4{ToObjectID: numericID(ids[i]), AssociationTypes: expandTypes(from.table, to.table, types[i])})
	}
	if end < len(ids) {
		return out, end
	}
	return out, 0
}

func decodeOffset(after string) (int, bool) {
	if after == "" {
		return 0, true
	}
	s, ok := decodeCursor(after)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// objectAssociations serves GET /crm/v4/objects/{from}/{id}/associations/{to}.
func (h *Handler) objectAssociations(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	from, e := h.objectType(r.PathValue("from"))
	if e != nil {
		return e
	}
	to, e := h.objectType(r.PathValue("to"))
	if e != nil {
		return e
	}
	q := r.URL.Query()
	limit, e := queryLimit(q, assocPageMax, assocPageMax)
	if e != nil {
		return e
	}
	offset, ok := decodeOffset(q.Get("after"))
	if !ok {
		return errValidation("Invalid after value: %s", q.Get("after"))
	}
	results, next := h.assocPage(from, r.PathValue("id"), to, offset, limit)
	out := struct {
		Results []assocV4 `json:"results"`
		Paging  *paging   `json:"paging,omitempty"`
	}{Results: results}
	if next > 0 {
		after := encodeCursor(strconv.Itoa(next))
		out.Paging = &paging{Next: &pagingNext{After: after, Link: nextLink(r, after)}}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type idRef struct {
	ID string `json:"id"`
}

// batchReadAssociations serves POST /crm/v4/associations/{from}/{to}/batch/read.
func (h *Handler) batchReadAssociations(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	started := h.now()
	from, e := h.objectType(r.PathValue("from"))
	if e != nil {
		return e
	}
	to, e := h.objectType(r.PathValue("to"))
	if e != nil {
		return e
	}
	var body struct {
		Inputs []struct {
			ID    string `json:"id"`
			After string `json:"after"`
		} `json:"inputs"`
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	if len(body.Inputs) > assocBatchInputsMax {
		return errValidation("Too many inputs: %d. The maximum batch size is %d.", len(body.Inputs), assocBatchInputsMax)
	}
	type result struct {
		From   idRef     `json:"from"`
		To     []assocV4 `json:"to"`
		Paging *paging   `json:"paging,omitempty"`
	}
	out := struct {
		Status      string       `json:"status"`
		Results     []result     `json:"results"`
		NumErrors   int          `json:"numErrors,omitempty"`
		Errors      []batchError `json:"errors,omitempty"`
		StartedAt   string       `json:"startedAt"`
		CompletedAt string       `json:"completedAt"`
	}{Status: "COMPLETE", Results: []result{}}
	for _, in := range body.Inputs {
		offset, ok := decodeOffset(in.After)
		if !ok {
			return errValidation("Invalid after value for input %s: %s", in.ID, in.After)
		}
		results, next := h.assocPage(from, in.ID, to, offset, assocPageMax)
		if len(results) == 0 {
			out.Errors = append(out.Errors, batchError{Status: "error", Category: catNotFound,
				SubCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
				Message:     "No " + to.singular + " is associated with " + from.singular + " " + in.ID + ".",
				Context:     map[string][]string{"fromObjectId": {in.ID}, "toObjectType": {to.upper}},
				Errors:      []errorDetail{}, Links: map[string]string{}})
			continue
		}
		res := result{From: idRef{in.ID}, To: results}
		if next > 0 {
			res.Paging = &paging{Next: &pagingNext{After: encodeCursor(strconv.Itoa(next))}}
		}
		out.Results = append(out.Results, res)
	}
	out.NumErrors = len(out.Errors)
	out.StartedAt, out.CompletedAt = isoMillis(started), isoMillis(h.now())
	status := http.StatusOK
	if out.NumErrors > 0 {
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, out)
	return nil
}

// assocSpec is the type of an association write.
type assocSpec struct {
	Category string `json:"associationCategory"`
	TypeID   int    `json:"associationTypeId"`
}

// assocTarget resolves the target type of a typed association from ot and
// checks that the target record exists.
func (h *Handler) assocTarget(ot *objectType, typeID int, toID string) (*objectType, int, *apiError) {
	for _, d := range assocDefs {
		if d.from != ot.table || (d.def != typeID && (d.primary == 0 || d.primary != typeID)) {
			continue
		}
		to, _ := lookupObjectType(d.to)
		if row, ok := h.sb.HS.Get(to.table, toID); !ok || row.Deleted {
			return nil, 0, errNotFound(to.upper + " " + toID + " does not exist")
		}
		return to, reverseType(ot.table, to.table, typeID), nil
	}
	return nil, 0, errValidation("association type id %d is not valid from %s", typeID, ot.table)
}

// associate links two live records, keeping an existing Primary label when
// the default (unlabeled) type is written again.
func (h *Handler) associate(from *objectType, fromID string, to *objectType, toID string, typeID int) *apiError {
	for _, ref := range []struct {
		ot *objectType
		id string
	}{{from, fromID}, {to, toID}} {
		if row, ok := h.sb.HS.Get(ref.ot.table, ref.id); !ok || row.Deleted {
			return errNotFound(ref.ot.upper + " " + ref.id + " does not exist")
		}
	}
	d, _ := findAssocDef(from.table, to.table)
	ids, types := h.sb.HS.Associations(from.table, fromID, to.table)
	for i, id := range ids {
		if id == toID && typeID == d.def && d.primary != 0 && types[i] == d.primary {
			return nil
		}
	}
	h.sb.HS.Associate(from.table, fromID, to.table, toID, typeID, reverseType(from.table, to.table, typeID))
	return nil
}

// associateDefault serves PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}.
func (h *Handler) associateDefault(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	started := h.now()
	from, e := h.objectType(r.PathValue("from"))
	if e != nil {
		return e
	}
	to, e := h.objectType(r.PathValue("to"))
	if e != nil {
		return e
	}
	d, ok := findAssocDef(from.table, to.table)
	if !ok {
		return errValidation("%s cannot be associated with %s", from.table, to.table)
	}
	fromID, toID := r.PathValue("id"), r.PathValue("toId")
	if e := h.associate(from, fromID, to, toID, d.def); e != nil {
		return e
	}
	type spec struct {
		Category string `json:"associationCategory"`
		TypeID   int    `json:"associationTypeId"`
	}
	type result struct {
		From idRef `json:"from"`
		To   idRef `json:"to"`
		Spec spec  `json:"associationSpec"`
	}
	rev, _ := findAssocDef(to.table, from.table)
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "COMPLETE",
		"results": []result{
			{idRef{fromID}, idRef{toID}, spec{"HUBSPOT_DEFINED", d.def}},
			{idRef{toID}, idRef{fromID}, spec{"HUBSPOT_DEFINED", rev.def}},
		},
		"startedAt": isoMillis(started), "completedAt": isoMillis(h.now()),
	})
	return nil
}

// associateLabelled serves PUT /crm/v4/objects/{from}/{id}/associations/{to}/{toId}.
func (h *Handler) associateLabelled(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	from, e := h.objectType(r.PathValue("from"))
	if e != nil {
		return e
	}
	to, e := h.objectType(r.PathValue("to"))
	if e != nil {
		return e
	}
	var specs []assocSpec
	if e := decodeBody(r, &specs); e != nil {
		return e
	}
	if len(specs) == 0 {
		return errValidation("at least one association type is required")
	}
	d, ok := findAssocDef(from.table, to.table)
	if !ok {
		return errValidation("%s cannot be associated with %s", from.table, to.table)
	}
	// The store keeps one type per pair: Primary wins over the default.
	typeID := d.def
	for _, s := range specs {
		if s.TypeID != d.def && (d.primary == 0 || s.TypeID != d.primary) {
			return errValidation("association type id %d is not valid between %s and %s", s.TypeID, from.table, to.table)
		}
		if d.primary != 0 && s.TypeID == d.primary {
			typeID = d.primary
		}
	}
	fromID, toID := r.PathValue("id"), r.PathValue("toId")
	if e := h.associate(from, fromID, to, toID, typeID); e != nil {
		return e
	}
	var labels []string
	for _, t := range expandTypes(from.table, to.table, typeID) {
		if t.Label != nil {
			labels = append(labels, *t.Label)
		}
	}
	if labels == nil {
		labels = []string{}
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"fromObjectTypeId": from.typeID, "fromObjectId": numericID(fromID),
		"toObjectTypeId": to.typeID, "toObjectId": numericID(toID), "labels": labels,
	})
	return nil
}
