package hubspot

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Page size limits.
const (
	listLimitMax   = 100
	batchInputsMax = 100
)

// hsObject is HubSpot's SimplePublicObject.
type hsObject struct {
	ID                    string                     `json:"id"`
	Properties            map[string]*string         `json:"properties"`
	PropertiesWithHistory map[string][]historyValue  `json:"propertiesWithHistory,omitempty"`
	CreatedAt             string                     `json:"createdAt"`
	UpdatedAt             string                     `json:"updatedAt"`
	Archived              bool                       `json:"archived"`
	ArchivedAt            string                     `json:"archivedAt,omitempty"`
	Associations          map[string]*assocV3Results `json:"associations,omitempty"`
}

// historyValue is one version of a property in propertiesWithHistory.
type historyValue struct {
	Value           string `json:"value"`
	Timestamp       string `json:"timestamp"`
	SourceType      string `json:"sourceType"`
	SourceID        string `json:"sourceId,omitempty"`
	UpdatedByUserID *int64 `json:"updatedByUserId"`
}

type assocV3Results struct {
	Results []assocV3 `json:"results"`
}

type assocV3 struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type paging struct {
	Next *pagingNext `json:"next,omitempty"`
}

type pagingNext struct {
	After string `json:"after"`
	Link  string `json:"link,omitempty"`
}

// readSpec selects what a read renders.
type readSpec struct {
	props   []string // nil: the type's defaults
	history []string
	assocs  []*objectType
}

// multiParam returns a comma-separated and/or repeated query parameter.
func multiParam(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (h *Handler) readSpecFromQuery(q url.Values) readSpec {
	spec := readSpec{props: multiParam(q, "properties"), history: multiParam(q, "propertiesWithHistory")}
	for _, a := range multiParam(q, "associations") {
		if ot, ok := lookupObjectType(a); ok {
			spec.assocs = append(spec.assocs, ot)
		}
	}
	return spec
}

// render converts a row to its API shape.
func (h *Handler) render(ot *objectType, row sandbox.Row, spec readSpec) *hsObject {
	o := &hsObject{ID: row.ID, Properties: map[string]*string{},
		CreatedAt: isoMillis(row.CreatedAt), UpdatedAt: isoMillis(row.ModifiedAt), Archived: row.Deleted}
	if row.Deleted {
		o.ArchivedAt = isoMillis(row.DeletedAt)
	}
	props := spec.props
	if props == nil {
		props = ot.defaults
	}
	for _, name := range props {
		p, ok := h.prop(ot, name)
		if !ok {
			continue // unknown properties are silently left out of reads
		}
		o.Properties[p.name] = formatValue(ot.value(row, p.name))
	}
	// Like the live API, reads always carry the id and the two stamps.
	o.Properties["hs_object_id"] = formatValue(row.ID)
	o.Properties[ot.created] = formatValue(ot.value(row, ot.created))
	o.Properties[ot.modified] = formatValue(row.ModifiedAt)
	for _, name := range spec.history {
		p, ok := h.prop(ot, name)
		if !ok {
			continue
		}
		if o.PropertiesWithHistory == nil {
			o.PropertiesWithHistory = map[string][]historyValue{}
		}
		o.PropertiesWithHistory[p.name] = h.history(ot, row, p)
	}
	for _, to := range spec.assocs {
		res := h.assocV3(ot, row.ID, to)
		if len(res) == 0 {
			continue
		}
		if o.Associations == nil {
			o.Associations = map[string]*assocV3Results{}
		}
		o.Associations[to.table] = &assocV3Results{Results: res}
	}
	return o
}

// history renders the current version of a property with its source.
func (h *Handler) history(ot *objectType, row sandbox.Row, p propInfo) []historyValue {
	v := formatValue(ot.value(row, p.name))
	if v == nil {
		return []historyValue{}
	}
	ch, ok := row.History[p.name]
	switch {
	case p.readOnly:
		at := row.ModifiedAt
		if p.name != ot.modified {
			at = row.CreatedAt
		}
		return []historyValue{{Value: *v, Timestamp: isoMillis(at), SourceType: "CALCULATED"}}
	case !ok:
		ch = sandbox.Change{At: row.CreatedAt, Actor: row.ModifiedBy}
	}
	hv := historyValue{Value: *v, Timestamp: isoMillis(ch.At)}
	hv.SourceType, hv.SourceID, hv.UpdatedByUserID = source(ch.Actor)
	return []historyValue{hv}
}

// source maps a store actor to HubSpot's change source.
func source(actor string) (sourceType, sourceID string, userID *int64) {
	kind, id, _ := strings.Cut(actor, ":")
	switch kind {
	case "integration":
		return "INTEGRATION", id, nil
	case "automation":
		return "AUTOMATION_PLATFORM", id, nil
	case "import":
		return "IMPORT", id, nil
	case "migration":
		return "MIGRATION", id, nil
	case "calculated":
		return "CALCULATED", id, nil
	}
	uid := int64(sandboxUserID)
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		uid = n
	}
	return "CRM_UI", "userId:" + strconv.FormatInt(uid, 10), &uid
}

// idLess orders record ids numerically (HubSpot ids are numbers).
func idLess(a, b string) bool { return compareIDs(a, b) < 0 }

// compareIDs is the store's id order, the one ScanFrom pages in.
func compareIDs(a, b string) int { return sandbox.CompareIDs(a, b) }

// encodeCursor and decodeCursor make the opaque after tokens of list reads.
func encodeCursor(id string) string { return base64.StdEncoding.EncodeToString([]byte(id)) }

func decodeCursor(s string) (string, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return string(b), true
		}
	}
	return "", false
}

// nextLink is the request URL with after replaced.
func nextLink(r *http.Request, after string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	q := r.URL.Query()
	q.Set("after", after)
	return scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
}

// queryLimit parses a limit parameter: default def, clamped to [1, max].
func queryLimit(q url.Values, def, max int) (int, *apiError) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errValidation("limit must be a positive integer, got %q", s)
	}
	return min(n, max), nil
}

// listObjects serves GET /crm/v3/objects/{type}.
func (h *Handler) listObjects(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	q := r.URL.Query()
	limit, e := queryLimit(q, 10, listLimitMax)
	if e != nil {
		return e
	}
	var after string
	if a := q.Get("after"); a != "" {
		var ok bool
		if after, ok = decodeCursor(a); !ok {
			return errValidation("Invalid after value: %s", a)
		}
	}
	archived := q.Get("archived") == "true"
	// Read the page and one more row (to know whether there is a next
	// page) in id order from the cursor on, copying only those.
	rows := make([]sandbox.Row, 0, limit+1)
	_ = h.sb.HS.ScanFrom(ot.table, after, func(v sandbox.RowView) bool {
		if v.Deleted() == archived {
			rows = append(rows, v.Row())
		}
		return len(rows) <= limit
	})
	spec := h.readSpecFromQuery(q)
	type page struct {
		Results []*hsObject `json:"results"`
		Paging  *paging     `json:"paging,omitempty"`
	}
	out := page{Results: []*hsObject{}}
	for i, row := range rows {
		if i == limit {
			next := encodeCursor(rows[i-1].ID)
			out.Paging = &paging{Next: &pagingNext{After: next, Link: nextLink(r, next)}}
			break
		}
		o := h.render(ot, row, spec)
		if h.sb.Faults.TakeDropID() {
			o.ID = ""
		}
		out.Results = append(out.Results, o)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// findByProperty returns the live-or-archived row whose property equals
// value (idProperty reads).
func (h *Handler) findByProperty(ot *objectType, prop, value string, archived bool) (sandbox.Row, bool) {
	var found sandbox.Row
	ok := false
	_ = h.sb.HS.Scan(ot.table, func(row sandbox.Row) bool {
		if row.Deleted != archived {
			return true
		}
		if v := formatValue(ot.value(row, prop)); v != nil && strings.EqualFold(*v, value) {
			found, ok = row, true
			return false
		}
		return true
	})
	return found, ok
}

// lookup finds a record by id (or idProperty value).
func (h *Handler) lookup(ot *objectType, id, idProperty string, archived bool) (sandbox.Row, bool) {
	if idProperty != "" && idProperty != "hs_object_id" {
		return h.findByProperty(ot, idProperty, id, archived)
	}
	row, ok := h.sb.HS.Get(ot.table, id)
	if !ok || row.Deleted != archived {
		return sandbox.Row{}, false
	}
	return row, true
}

func errObjectNotFound() *apiError { return errNotFound("resource not found") }

// getObject serves GET /crm/v3/objects/{type}/{id}.
func (h *Handler) getObject(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	q := r.URL.Query()
	idProp := q.Get("idProperty")
	if idProp != "" {
		if _, ok := h.prop(ot, idProp); !ok {
			return errValidation("Property %s does not exist or is not a unique property", idProp)
		}
	}
	row, ok := h.lookup(ot, r.PathValue("id"), idProp, q.Get("archived") == "true")
	if !ok {
		return errObjectNotFound()
	}
	writeJSON(w, http.StatusOK, h.render(ot, row, h.readSpecFromQuery(q)))
	return nil
}

// writeSpec renders the defaults plus the written properties.
func writeSpec(ot *objectType, written map[string]any) readSpec {
	props := slices.Clone(ot.defaults)
	for k := range written {
		if !slices.Contains(props, k) {
			props = append(props, k)
		}
	}
	return readSpec{props: props}
}

type writeBody struct {
	Properties   map[string]any `json:"properties"`
	Associations []struct {
		To struct {
			ID string `json:"id"`
		} `json:"to"`
		Types []assocSpec `json:"types"`
	} `json:"associations"`
}

// updateObject serves PATCH /crm/v3/objects/{type}/{id}.
func (h *Handler) updateObject(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	var body writeBody
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	row, ok := h.lookup(ot, r.PathValue("id"), r.URL.Query().Get("idProperty"), false)
	if !ok {
		return errObjectNotFound()
	}
	fields, errs := h.parseWrites(ot, body.Properties)
	if len(errs) > 0 {
		return validationError(errs)
	}
	row, err := h.sb.HS.Update(ot.table, row.ID, fields, h.actor())
	if err != nil {
		return storeError(err)
	}
	writeJSON(w, http.StatusOK, h.render(ot, row, writeSpec(ot, fields)))
	return nil
}

// createObject serves POST /crm/v3/objects/{type}.
func (h *Handler) createObject(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	var body writeBody
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	fields, errs := h.parseWrites(ot, body.Properties)
	if len(errs) > 0 {
		return validationError(errs)
	}
	for _, a := range body.Associations {
		if len(a.Types) == 0 {
			return errValidation("association to %s has no types", a.To.ID)
		}
		if _, _, e := h.assocTarget(ot, a.Types[0].TypeID, a.To.ID); e != nil {
			return e
		}
	}
	row, err := h.sb.HS.Insert(ot.table, fields, h.actor())
	if err != nil {
		return storeError(err)
	}
	for _, a := range body.Associations {
		to, rev, _ := h.assocTarget(ot, a.Types[0].TypeID, a.To.ID)
		h.sb.HS.Associate(ot.table, row.ID, to.table, a.To.ID, a.Types[0].TypeID, rev)
	}
	writeJSON(w, http.StatusCreated, h.render(ot, row, writeSpec(ot, fields)))
	return nil
}

func storeError(err error) *apiError {
	if errors.Is(err, sandbox.ErrNotFound) {
		return errObjectNotFound()
	}
	return errValidation("%v", err)
}

// batchError is an element of a batch response's errors.
type batchError struct {
	Status      string              `json:"status"`
	Category    string              `json:"category"`
	SubCategory string              `json:"subCategory,omitempty"`
	Message     string              `json:"message"`
	Context     map[string][]string `json:"context"`
	Errors      []errorDetail       `json:"errors"`
	Links       map[string]string   `json:"links"`
}

type batchResponse struct {
	Status      string       `json:"status"`
	Results     []*hsObject  `json:"results"`
	NumErrors   int          `json:"numErrors,omitempty"`
	Errors      []batchError `json:"errors,omitempty"`
	StartedAt   string       `json:"startedAt"`
	CompletedAt string       `json:"completedAt"`
}

func (h *Handler) writeBatch(w http.ResponseWriter, started time.Time, results []*hsObject, errs []batchError) {
	slices.SortFunc(results, func(a, b *hsObject) int { return compareIDs(a.ID, b.ID) })
	resp := batchResponse{Status: "COMPLETE", Results: results, NumErrors: len(errs), Errors: errs,
		StartedAt: isoMillis(started), CompletedAt: isoMillis(h.now())}
	if resp.Results == nil {
		resp.Results = []*hsObject{}
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, resp)
}

func notFoundBatchError(ot *objectType, ids []string) batchError {
	return batchError{Status: "error", Category: catNotFound,
		Message: "Could not get some " + ot.upper + " objects, they may be deleted or not exist. Check that ids are valid.",
		Context: map[string][]string{"ids": ids}, Errors: []errorDetail{}, Links: map[string]string{}}
}

type batchInput struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
}

// checkInputs enforces the batch size and unique ids.
func checkInputs(inputs []batchInput) *apiError {
	if len(inputs) > batchInputsMax {
		return errValidation("Too many inputs: %d. The maximum batch size is %d.", len(inputs), batchInputsMax)
	}
	seen := map[string]bool{}
	var dups []string
	for _, in := range inputs {
		if seen[in.ID] && !slices.Contains(dups, in.ID) {
			dups = append(dups, in.ID)
		}
		seen[in.ID] = true
	}
	if len(dups) > 0 {
		return errValidation("Duplicate IDs found in batch input: [%s]. IDs must be unique", strings.Join(dups, ", "))
	}
	return nil
}

// batchRead serves POST /crm/v3/objects/{type}/batch/read.
func (h *Handler) batchRead(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	started := h.now()
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	var body struct {
		Properties            []string     `json:"properties"`
		PropertiesWithHistory []string     `json:"propertiesWithHistory"`
		IDProperty            string       `json:"idProperty"`
		Inputs                []batchInput `json:"inputs"`
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	if e := checkInputs(body.Inputs); e != nil {
		return e
	}
	spec := readSpec{props: body.Properties, history: body.PropertiesWithHistory}
	if len(spec.props) == 0 {
		spec.props = nil
	}
	archived := r.URL.Query().Get("archived") == "true"
	var results []*hsObject
	var missing []string
	for _, in := range body.Inputs {
		row, ok := h.lookup(ot, in.ID, body.IDProperty, archived)
		if !ok {
			missing = append(missing, in.ID)
			continue
		}
		results = append(results, h.render(ot, row, spec))
	}
	var errs []batchError
	if len(missing) > 0 {
		errs = append(errs, notFoundBatchError(ot, missing))
	}
	h.writeBatch(w, started, results, errs)
	return nil
}

// batchUpdate serves POST /crm/v3/objects/{type}/batch/update. Inputs that
// fail (unknown id, invalid values) are reported per input in a 207; the
// others are written.
func (h *Handler) batchUpdate(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	started := h.now()
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	var body struct {
		Inputs []batchInput `json:"inputs"`
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	if e := checkInputs(body.Inputs); e != nil {
		return e
	}
	var results []*hsObject
	var missing []string
	var errs []batchError
	for _, in := range body.Inputs {
		if _, ok := h.lookup(ot, in.ID, "", false); !ok {
			missing = append(missing, in.ID)
			continue
		}
		fields, perrs := h.parseWrites(ot, in.Properties)
		if len(perrs) > 0 {
			ve := validationError(perrs)
			errs = append(errs, batchError{Status: "error", Category: catValidation, Message: ve.Message,
				Context: map[string][]string{"ids": {in.ID}}, Errors: ve.Errors, Links: map[string]string{}})
			continue
		}
		row, err := h.sb.HS.Update(ot.table, in.ID, fields, h.actor())
		if err != nil {
			missing = append(missing, in.ID)
			continue
		}
		results = append(results, h.render(ot, row, writeSpec(ot, fields)))
	}
	if len(missing) > 0 {
		errs = append([]batchError{notFoundBatchError(ot, missing)}, errs...)
	}
	h.writeBatch(w, started, results, errs)
	return nil
}
