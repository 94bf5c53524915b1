package salesforce

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Feed look-back windows.
const (
	updatedWindow = 30 * 24 * time.Hour
	deletedWindow = 15 * 24 * time.Hour
)

func (h *handler) schema(w http.ResponseWriter, name string) (*sandbox.Schema, bool) {
	sc, ok := h.sb.SF.Schema(name)
	if !ok {
		notFound(w)
	}
	return sc, ok
}

func objectURLs(version, name string) *obj {
	base := "/services/data/" + version + "/sobjects/" + name
	return newObj().set("rowTemplate", base+"/{ID}").set("defaultValues", base+"/defaultValues?recordTypeId&fields").
		set("describe", base+"/describe").set("sobject", base)
}

func (h *handler) objectSummary(version string, sc *sandbox.Schema) *obj {
	label := sc.Name
	return newObj().
		set("activateable", false).
		set("createable", true).
		set("custom", strings.HasSuffix(sc.Name, "__c")).
		set("customSetting", false).
		set("deletable", true).
		set("deprecatedAndHidden", false).
		set("feedEnabled", false).
		set("keyPrefix", nilIfEmpty(sc.KeyPrefix)).
		set("label", label).
		set("labelPlural", plural(label)).
		set("layoutable", true).
		set("mergeable", false).
		set("name", sc.Name).
		set("queryable", true).
		set("replicateable", true).
		set("retrieveable", true).
		set("searchable", true).
		set("triggerable", true).
		set("undeletable", true).
		set("updateable", true).
		set("urls", objectURLs(version, sc.Name))
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func plural(s string) string {
	switch {
	case strings.HasSuffix(s, "y"):
		return strings.TrimSuffix(s, "y") + "ies"
	case strings.HasSuffix(s, "s"):
		return s
	}
	return s + "s"
}

func (h *handler) describeGlobal(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	var objs []any
	for _, name := range h.sb.SF.Tables() {
		if sc, ok := h.sb.SF.Schema(name); ok {
			objs = append(objs, h.objectSummary(c.version, sc))
		}
	}
	writeJSON(w, http.StatusOK, newObj().set("encoding", "UTF-8").set("maxBatchSize", 200).set("sobjects", objs))
}

func (h *handler) sobjectBasic(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, newObj().set("objectDescribe", h.objectSummary(c.version, sc)).set("recentItems", []any{}))
}

// describeField renders one describe field entry.
func (h *handler) describeField(sc *sandbox.Schema, f *sandbox.Field) *obj {
	label := f.Label
	if label == "" {
		label = f.Name
	}
	length := 0
	precision, scale, digits := 0, 0, 0
	switch kindOf(f) {
	case kString:
		length = f.Length
		if length == 0 {
			length = 255
		}
	case kID:
		length = 18
	case kNumber:
		if f.Type == sandbox.FInt {
			digits = 9
		} else {
			precision, scale = 18, 2
		}
	}
	h.mu.Lock()
	cf, custom := h.customFields[strings.ToLower(sc.Name+"."+f.Name)]
	h.mu.Unlock()
	if custom && kindOf(f) == kNumber {
		precision, scale = cf.precision, cf.scale
	}
	picks := []any{}
	for _, v := range f.Options {
		picks = append(picks, newObj().set("active", true).set("defaultValue", false).set("label", v).set("validFor", nil).set("value", v))
	}
	refTo := []string{}
	var relName any
	if f.Type == sandbox.FReference && f.ReferenceTo != "" {
		refTo = strings.Split(f.ReferenceTo, ",")
		relName = relNameOf(f)
	}
	updateable := h.editable(sc, f, false)
	createable := h.editable(sc, f, true)
	var def any
	if f.Type == sandbox.FBoolean {
		def = false
	}
	return newObj().
		set("aggregatable", kindOf(f) != kBool).
		set("autoNumber", false).
		set("byteLength", length*3).
		set("calculated", false).
		set("caseSensitive", false).
		set("createable", createable).
		set("custom", f.Custom).
		set("defaultValue", def).
		set("defaultedOnCreate", f.Type == sandbox.FBoolean || f.Type == sandbox.FID || (!f.Createable && !f.Nillable)).
		set("dependentPicklist", false).
		set("digits", digits).
		set("externalId", false).
		set("filterable", true).
		set("groupable", kindOf(f) != kNumber || f.Type == sandbox.FInt).
		set("htmlFormatted", false).
		set("idLookup", f.Type == sandbox.FID).
		set("label", label).
		set("length", length).
		set("name", f.Name).
		set("nameField", f.Name == "Name").
		set("nillable", f.Nillable).
		set("permissionable", f.Custom || (f.Nillable && f.Updateable)).
		set("picklistValues", picks).
		set("precision", precision).
		set("referenceTo", refTo).
		set("relationshipName", relName).
		set("restrictedPicklist", h.restricted(sc, f)).
		set("scale", scale).
		set("soapType", "xsd:"+soapTypeName(f)).
		set("sortable", f.Type != sandbox.FTextArea).
		set("type", f.Type).
		set("unique", false).
		set("updateable", updateable)
}

func relNameOf(f *sandbox.Field) any {
	n := relName(f)
	if n == "" || n == f.Name {
		return nil
	}
	return n
}

func (h *handler) describe(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil {
			h.mu.Lock()
			changed := h.metaChanged
			h.mu.Unlock()
			if !changed.After(t) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	out := h.objectSummary(c.version, sc)
	var children []any
	for _, name := range h.sb.SF.Tables() {
		child, _ := h.sb.SF.Schema(name)
		for _, f := range child.Fields {
			if f.Hidden || f.Type != sandbox.FReference || !contains(strings.Split(f.ReferenceTo, ","), sc.Name) {
				continue
			}
			var rn any
			if f.Name != "CreatedById" && f.Name != "LastModifiedById" {
				rn = plural(child.Name)
			}
			children = append(children, newObj().set("cascadeDelete", false).set("childSObject", child.Name).
				set("field", f.Name).set("relationshipName", rn))
		}
	}
	var fields []any
	for _, f := range visibleFields(sc) {
		fields = append(fields, h.describeField(sc, f))
	}
	out.set("childRelationships", children).
		set("fields", fields).
		set("recordTypeInfos", []any{newObj().set("active", true).set("available", true).set("defaultRecordTypeMapping", true).
			set("developerName", "Master").set("master", true).set("name", "Master").set("recordTypeId", "012000000000000AAA")})
	h.mu.Lock()
	w.Header().Set("Last-Modified", h.metaChanged.UTC().Format(http.TimeFormat))
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) getRecord(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	id, ok := validID(sc, c.segs[2])
	if !ok {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+c.segs[2])
		return
	}
	row, ok := h.sb.SF.Get(sc.Name, id)
	switch {
	case !ok:
		notFound(w)
		return
	case row.Deleted:
		writeErr(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
		return
	}
	var only []string
	if fs := r.URL.Query().Get("fields"); fs != "" {
		for _, n := range strings.Split(fs, ",") {
			n = strings.TrimSpace(n)
			if _, ok := lookupField(sc, n); !ok {
				writeErr(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", n, sc.Name), n)
				return
			}
			only = append(only, n)
		}
	}
	writeJSON(w, http.StatusOK, h.renderFullRecord(c.version, sc, row, only))
}

// writeSaveErr answers a single-record write error with the REST error array.
func writeSaveErr(w http.ResponseWriter, serr *saveError) {
	status := http.StatusBadRequest
	switch serr.StatusCode {
	case "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID":
		if len(serr.Fields) == 0 {
			status = http.StatusNotFound
			if serr.StatusCode == "INVALID_CROSS_REFERENCE_KEY" {
				writeErr(w, status, "NOT_FOUND", "The requested resource does not exist")
				return
			}
		}
	}
	writeErr(w, status, serr.StatusCode, serr.Message, serr.Fields...)
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	var body map[string]any
	if !readJSON(w, r, &body) {
		return
	}
	id, serr := h.insertLocked(sc, body, c.user)
	if serr != nil {
		writeSaveErr(w, serr)
		return
	}
	writeJSON(w, http.StatusCreated, saveResult{ID: &id, Success: true, Errors: []saveError{}})
}

func (h *handler) updateRecord(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	var body map[string]any
	if !readJSON(w, r, &body) {
		return
	}
	h.writeMu.Lock()
	serr := h.update(sc, c.segs[2], body, c.user)
	h.writeMu.Unlock()
	if serr != nil {
		writeSaveErr(w, serr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteRecord(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	h.writeMu.Lock()
	serr := h.remove(sc, c.segs[2])
	h.writeMu.Unlock()
	if serr != nil {
		writeSaveErr(w, serr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) insertLocked(sc *sandbox.Schema, body map[string]any, user string) (string, *saveError) {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	return h.insert(sc, body, user)
}

// externalMatches finds live records whose field equals value.
func (h *handler) externalMatches(w http.ResponseWriter, c *reqCtx) (*sandbox.Schema, *sandbox.Field, []string, bool) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return nil, nil, nil, false
	}
	f, ok := lookupField(sc, c.segs[2])
	if !ok || (f.Type != sandbox.FID && !(f.Custom && kindOf(f) == kString)) {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+c.segs[2])
		return nil, nil, nil, false
	}
	value, _ := url.PathUnescape(c.segs[3])
	var ids []string
	_ = h.sb.SF.Scan(sc.Name, func(r sandbox.Row) bool {
		if !r.Deleted && fmt.Sprint(fieldValue(r, f)) == value {
			ids = append(ids, r.ID)
		}
		return true
	})
	return sc, f, ids, true
}

func (h *handler) multipleChoices(w http.ResponseWriter, c *reqCtx, sc *sandbox.Schema, ids []string) {
	var urls []string
	for _, id := range ids {
		urls = append(urls, "/services/data/"+c.version+"/sobjects/"+sc.Name+"/"+id)
	}
	writeJSON(w, http.StatusMultipleChoices, urls)
}

func (h *handler) getByExternalID(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	sc, _, ids, ok := h.externalMatches(w, c)
	if !ok {
		return
	}
	switch len(ids) {
	case 0:
		notFound(w)
	case 1:
		row, _ := h.sb.SF.Get(sc.Name, ids[0])
		writeJSON(w, http.StatusOK, h.renderFullRecord(c.version, sc, row, nil))
	default:
		h.multipleChoices(w, c, sc, ids)
	}
}

func (h *handler) upsertRecord(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	var body map[string]any
	if !readJSON(w, r, &body) {
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	sc, f, ids, ok := h.externalMatches(w, c)
	if !ok {
		return
	}
	switch len(ids) {
	case 0:
		if f.Type != sandbox.FID {
			value, _ := url.PathUnescape(c.segs[3])
			body[f.Name] = value
		}
		id, serr := h.insert(sc, body, c.user)
		if serr != nil {
			writeSaveErr(w, serr)
			return
		}
		writeJSON(w, http.StatusCreated, newObj().set("id", id).set("success", true).set("errors", []any{}).set("created", true))
	case 1:
		if serr := h.update(sc, ids[0], body, c.user); serr != nil {
			writeSaveErr(w, serr)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		h.multipleChoices(w, c, sc, ids)
	}
}

// feedWindow parses and checks start/end of the updated/deleted feeds.
// Seconds are truncated to the minute. ok is false after an error answer.
func (h *handler) feedWindow(w http.ResponseWriter, r *http.Request, lookBack time.Duration) (start, end time.Time, ok bool) {
	q := r.URL.Query()
	for i, k := range []string{"start", "end"} {
		v := q.Get(k)
		if v == "" {
			writeErr(w, http.StatusBadRequest, "MISSING_ARGUMENT", k+" not specified")
			return start, end, false
		}
		t, err := parseDateTime(v)
		if err != nil {
			// An unencoded "+" arrives as a space: the classic client bug.
			writeErr(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Cannot deserialize instance of dateTime from VALUE_STRING value %s or request may be missing a required field", v))
			return start, end, false
		}
		t = t.Truncate(time.Minute)
		if i == 0 {
			start = t
		} else {
			end = t
		}
	}
	now := h.sb.Clock.Now()
	if !start.Before(end) {
		writeErr(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate by more than one minute")
		return start, end, false
	}
	if start.Before(now.Add(-lookBack)) {
		writeErr(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", fmt.Sprintf("startDate cannot be more than %d days ago", int(lookBack.Hours()/24)))
		return start, end, false
	}
	return start, end, true
}

func (h *handler) updated(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	start, end, ok := h.feedWindow(w, r, updatedWindow)
	if !ok {
		return
	}
	latest := minTime(end, h.sb.Clock.Now().Truncate(time.Minute))
	var ids []string
	_ = h.sb.SF.Scan(sc.Name, func(row sandbox.Row) bool {
		stamp := asTime(row.Fields["SystemModstamp"])
		if stamp.IsZero() {
			stamp = row.ModifiedAt
		}
		if !row.Deleted && !stamp.Before(start) && stamp.Before(latest) {
			ids = append(ids, row.ID)
		}
		return true
	})
	if len(ids) > h.opt.UpdatedIDLimit {
		writeErr(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", h.opt.UpdatedIDLimit))
		return
	}
	sort.Strings(ids)
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, newObj().set("ids", ids).set("latestDateCovered", formatDateTime(latest)))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (h *handler) deleted(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	start, end, ok := h.feedWindow(w, r, deletedWindow)
	if !ok {
		return
	}
	now := h.sb.Clock.Now()
	latest := minTime(end, now.Truncate(time.Minute))
	recs := []any{}
	for _, d := range h.sb.SF.Deletions(sc.Name, start, latest) {
		if d.Purged {
			continue
		}
		if row, ok := h.sb.SF.Get(sc.Name, d.ID); !ok || !row.Deleted {
			continue // undeleted since
		}
		recs = append(recs, newObj().set("deletedDate", formatDateTime(d.DeletedAt)).set("id", d.ID))
	}
	writeJSON(w, http.StatusOK, newObj().set("deletedRecords", recs).
		set("earliestDateAvailable", formatDateTime(now.Add(-deletedWindow).Truncate(time.Minute))).
		set("latestDateCovered", formatDateTime(latest)))
}
