package salesforce

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// maxCollection is the sObject Collections record limit.
const maxCollection = 200

const rolledBack = "Record rolled back because not all records were valid and the request was using AllOrNone header"

type collectionBody struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

func failed(id string, serr *saveError) saveResult {
	var p *string
	if id != "" {
		p = &id
	}
	return saveResult{ID: p, Success: false, Errors: []saveError{*serr}}
}

func succeeded(id string) saveResult {
	return saveResult{ID: &id, Success: true, Errors: []saveError{}}
}

// recordType returns attributes.type of a collection record.
func recordType(rec map[string]any) string {
	attrs, _ := rec["attributes"].(map[string]any)
	t, _ := attrs["type"].(string)
	return t
}

func recordID(rec map[string]any) string {
	for k, v := range rec {
		if strings.EqualFold(k, "id") {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

func (h *handler) readCollection(w http.ResponseWriter, r *http.Request) (collectionBody, bool) {
	var body collectionBody
	if !readJSON(w, r, &body) {
		return body, false
	}
	if len(body.Records) > maxCollection {
		writeErr(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollection))
		return body, false
	}
	if len(body.Records) == 0 {
		writeErr(w, http.StatusBadRequest, "INVALID_FIELD", "records: must not be empty")
		return body, false
	}
	return body, true
}

// finish applies allOrNone: when any record failed, every record that did
// not fail itself reports the rollback.
func finish(results []saveResult, allOrNone bool) []saveResult {
	if !allOrNone {
		return results
	}
	anyFailed := false
	for _, r := range results {
		if !r.Success {
			anyFailed = true
		}
	}
	if !anyFailed {
		return results
	}
	for i, r := range results {
		if r.Success {
			id := ""
			if r.ID != nil {
				id = *r.ID
			}
			results[i] = failed(id, newSaveError("ALL_OR_NONE_OPERATION_ROLLED_BACK", rolledBack))
		}
	}
	return results
}

type pendingWrite struct {
	sc   *sandbox.Schema
	id   string
	vals map[string]any
}

// compositeUpdate serves PATCH /composite/sobjects: HTTP 200 with one
// SaveResult per record, in input order, even when all fail.
func (h *handler) compositeUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	body, ok := h.readCollection(w, r)
	if !ok {
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	results := make([]saveResult, len(body.Records))
	pending := make([]*pendingWrite, len(body.Records))
	anyFailed := false
	for i, rec := range body.Records {
		id := recordID(rec)
		sc, serr := h.collectionSchema(rec)
		if serr == nil && id == "" {
			serr = newSaveError("MISSING_ARGUMENT", "Id not specified in an update call", "Id")
		}
		if serr == nil {
			if _, serr = h.checkUpdate(sc, id); serr == nil {
				var vals map[string]any
				if vals, serr = h.prepare(sc, rec, false); serr == nil {
					norm, _ := validID(sc, id)
					pending[i] = &pendingWrite{sc: sc, id: norm, vals: vals}
					results[i] = succeeded(norm)
					continue
				}
			}
		}
		anyFailed = true
		results[i] = failed(id, serr)
	}
	if !(body.AllOrNone && anyFailed) {
		for i, p := range pending {
			if p == nil {
				continue
			}
			if serr := h.updatePrepared(p.sc, p.id, p.vals, c.user); serr != nil {
				results[i] = failed(p.id, serr)
			}
		}
	}
	writeJSON(w, http.StatusOK, finish(results, body.AllOrNone))
}

func (h *handler) collectionSchema(rec map[string]any) (*sandbox.Schema, *saveError) {
	t := recordType(rec)
	if t == "" {
		return nil, newSaveError("INVALID_TYPE", "Must send a concrete entity type.")
	}
	sc, ok := h.sb.SF.Schema(t)
	if !ok {
		return nil, newSaveError("INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", t))
	}
	return sc, nil
}

// compositeCreate serves POST /composite/sobjects.
func (h *handler) compositeCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	body, ok := h.readCollection(w, r)
	if !ok {
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	results := make([]saveResult, len(body.Records))
	pending := make([]*pendingWrite, len(body.Records))
	anyFailed := false
	for i, rec := range body.Records {
		sc, serr := h.collectionSchema(rec)
		if serr == nil && recordID(rec) != "" {
			serr = newSaveError("INVALID_FIELD", "cannot specify Id in an insert call", "Id")
		}
		if serr == nil {
			var vals map[string]any
			if vals, serr = h.prepare(sc, rec, true); serr == nil {
				pending[i] = &pendingWrite{sc: sc, vals: vals}
				results[i] = saveResult{Success: true, Errors: []saveError{}}
				continue
			}
		}
		anyFailed = true
		results[i] = failed("", serr)
	}
	if !(body.AllOrNone && anyFailed) {
		for i, p := range pending {
			if p == nil {
				continue
			}
			id, serr := h.insertPrepared(p.sc, p.vals, c.user)
			if serr != nil {
				results[i] = failed("", serr)
				continue
			}
			results[i] = succeeded(id)
		}
	}
	if body.AllOrNone && anyFailed {
		for i, res := range results {
			if res.Success {
				results[i] = failed("", newSaveError("ALL_OR_NONE_OPERATION_ROLLED_BACK", rolledBack))
			}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

// compositeDelete serves DELETE /composite/sobjects?ids=...&allOrNone=.
func (h *handler) compositeDelete(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	q := r.URL.Query()
	var ids []string
	for _, id := range strings.Split(q.Get("ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		writeErr(w, http.StatusBadRequest, "MISSING_ARGUMENT", "ids parameter is required")
		return
	}
	if len(ids) > maxCollection {
		writeErr(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollection))
		return
	}
	allOrNone, _ := strconv.ParseBool(q.Get("allOrNone"))
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	results := make([]saveResult, len(ids))
	tables := make([]*sandbox.Schema, len(ids))
	anyFailed := false
	for i, id := range ids {
		sc := h.schemaForID(id)
		if sc == nil {
			anyFailed = true
			results[i] = failed(id, newSaveError("MALFORMED_ID", "malformed id "+id))
			continue
		}
		norm, _ := validID(sc, id)
		row, ok := h.sb.SF.Get(sc.Name, norm)
		switch {
		case !ok:
			anyFailed = true
			results[i] = failed(id, newSaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
		case row.Deleted:
			anyFailed = true
			results[i] = failed(id, newSaveError("ENTITY_IS_DELETED", "entity is deleted"))
		default:
			tables[i] = sc
			results[i] = succeeded(norm)
		}
	}
	if !(allOrNone && anyFailed) {
		for i, sc := range tables {
			if sc == nil {
				continue
			}
			if serr := h.remove(sc, *results[i].ID); serr != nil {
				results[i] = failed(ids[i], serr)
			}
		}
	}
	writeJSON(w, http.StatusOK, finish(results, allOrNone))
}

// schemaForID finds a table by an id's key prefix.
func (h *handler) schemaForID(id string) *sandbox.Schema {
	if _, ok := validID(nil, id); !ok {
		return nil
	}
	for _, name := range h.sb.SF.Tables() {
		if sc, ok := h.sb.SF.Schema(name); ok && sc.KeyPrefix != "" && strings.HasPrefix(id, sc.KeyPrefix) {
			return sc
		}
	}
	return nil
}

// compositeRetrieve serves GET /composite/sobjects/{type}?ids=&fields= and
// the POST form with a {"ids", "fields"} body: records in id order, null
// for ids that match nothing.
func (h *handler) compositeRetrieve(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[2])
	if !ok {
		return
	}
	var ids, fields []string
	if r.Method == http.MethodPost {
		var body struct {
			IDs    []string `json:"ids"`
			Fields []string `json:"fields"`
		}
		if !readJSON(w, r, &body) {
			return
		}
		ids, fields = body.IDs, body.Fields
	} else {
		q := r.URL.Query()
		ids = splitList(q.Get("ids"))
		fields = splitList(q.Get("fields"))
	}
	if len(ids) == 0 || len(fields) == 0 {
		writeErr(w, http.StatusBadRequest, "MISSING_ARGUMENT", "ids and fields are required")
		return
	}
	if len(ids) > maxBatch {
		writeErr(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxBatch))
		return
	}
	for _, f := range fields {
		if _, ok := lookupField(sc, f); !ok {
			writeErr(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", f, sc.Name), f)
			return
		}
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		norm, ok := validID(sc, id)
		if !ok {
			continue
		}
		if row, ok := h.sb.SF.Get(sc.Name, norm); ok && !row.Deleted {
			out[i] = h.renderFullRecord(c.version, sc, row, fields)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
