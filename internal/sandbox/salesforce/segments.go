package salesforce

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// A filter of a list view or report, already in SOQL terms.
type segFilter struct {
	field    string   // canonical API name
	operator string   // list view operator (Equals, NotEqual, ...)
	values   []string // operands
}

// listOperators maps UI API list view operators (and Analytics report
// operators, lower-cased) to SOQL.
var listOperators = map[string]string{
	"equals": "=", "notequal": "!=", "lessthan": "<", "greaterthan": ">",
	"lessorequal": "<=", "greaterorequal": ">=", "contains": "LIKE%%", "notcontain": "NOT LIKE%%",
	"startswith": "LIKE_%",
}

// soqlLiteral renders an operand as a SOQL literal for a field.
func soqlLiteral(f *sandbox.Field, v string) string {
	switch kindOf(f) {
	case kNumber, kBool, kDate, kDateTime:
		if v == "" {
			return "null"
		}
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

func likeEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, `%`, `\%`, `_`, `\_`).Replace(v)
}

// filterSOQL renders one filter as a SOQL condition.
func filterSOQL(sc *sandbox.Schema, fl segFilter) (string, error) {
	f, ok := lookupField(sc, fl.field)
	if !ok {
		return "", fmt.Errorf("no such column '%s' on entity '%s'", fl.field, sc.Name)
	}
	op, ok := listOperators[strings.ToLower(fl.operator)]
	if !ok {
		return "", fmt.Errorf("unsupported operator %q", fl.operator)
	}
	vals := fl.values
	if len(vals) == 0 {
		vals = []string{""}
	}
	var parts []string
	for _, v := range vals {
		switch op {
		case "LIKE%%":
			parts = append(parts, fmt.Sprintf("%s LIKE '%%%s%%'", f.Name, likeEscape(v)))
		case "NOT LIKE%%":
			parts = append(parts, fmt.Sprintf("(NOT %s LIKE '%%%s%%')", f.Name, likeEscape(v)))
		case "LIKE_%":
			parts = append(parts, fmt.Sprintf("%s LIKE '%s%%'", f.Name, likeEscape(v)))
		default:
			parts = append(parts, fmt.Sprintf("%s %s %s", f.Name, op, soqlLiteral(f, v)))
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	join := " OR "
	if op == "!=" || op == "NOT LIKE%%" {
		join = " AND "
	}
	return "(" + strings.Join(parts, join) + ")", nil
}

// whereSOQL combines filters with a filter logic string ("1 AND (2 OR 3)");
// empty logic ANDs them all.
func whereSOQL(sc *sandbox.Schema, filters []segFilter, logic string) (string, error) {
	conds := make([]string, len(filters))
	for i, fl := range filters {
		c, err := filterSOQL(sc, fl)
		if err != nil {
			return "", err
		}
		conds[i] = c
	}
	if len(conds) == 0 {
		return "", nil
	}
	if strings.TrimSpace(logic) == "" {
		return strings.Join(conds, " AND "), nil
	}
	var b strings.Builder
	for i := 0; i < len(logic); {
		ch := logic[i]
		if isDigit(ch) {
			j := i
			for j < len(logic) && isDigit(logic[j]) {
				j++
			}
			n, _ := strconv.Atoi(logic[i:j])
			if n < 1 || n > len(conds) {
				return "", fmt.Errorf("filter logic references filter %d", n)
			}
			b.WriteString("(" + conds[n-1] + ")")
			i = j
			continue
		}
		b.WriteByte(ch)
		i++
	}
	return b.String(), nil
}

// listView is a stored list view.
type listView struct {
	id, apiName, label, object, visibility, logic string
	filters                                       []segFilter
	columns                                       []string
	raw                                           map[string]any
	created                                       time.Time
}

func (lv *listView) soql(sc *sandbox.Schema) (string, error) {
	cols := []string{"Id"}
	for _, c := range lv.columns {
		if !strings.EqualFold(c, "Id") {
			cols = append(cols, c)
		}
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + sc.Name
	w, err := whereSOQL(sc, lv.filters, lv.logic)
	if err != nil {
		return "", err
	}
	if w != "" {
		q += " WHERE " + w
	}
	return q + " ORDER BY Name ASC NULLS FIRST, Id ASC", nil
}

type listInfoInput struct {
	ListViewAPIName   string   `json:"listViewApiName"`
	Label             string   `json:"label"`
	FilterLogicString *string  `json:"filterLogicString"`
	DisplayColumns    []string `json:"displayColumns"`
	Visibility        string   `json:"visibility"`
	FilteredByInfo    []struct {
		FieldAPIName  string   `json:"fieldApiName"`
		Operator      string   `json:"operator"`
		OperandLabels []string `json:"operandLabels"`
		Operands      []string `json:"operands"`
	} `json:"filteredByInfo"`
}

func (h *handler) findListView(object, key string) *listView {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, lv := range h.listViews {
		if strings.EqualFold(lv.object, object) && (lv.id == key || strings.EqualFold(lv.apiName, key) || (len(key) == 15 && lv.id[:15] == key)) {
			return lv
		}
	}
	return nil
}

// applyListInfo validates an input into lv; it answers the error itself.
func (h *handler) applyListInfo(w http.ResponseWriter, sc *sandbox.Schema, in listInfoInput, lv *listView) bool {
	if in.Label != "" {
		lv.label = in.Label
	}
	if in.Visibility != "" {
		switch in.Visibility {
		case "Private", "Public", "Shared":
			lv.visibility = in.Visibility
		default:
			writeErr(w, http.StatusBadRequest, "INVALID_INPUT", "visibility: invalid value "+in.Visibility)
			return false
		}
	}
	if in.FilterLogicString != nil {
		lv.logic = *in.FilterLogicString
	}
	if in.DisplayColumns != nil {
		var cols []string
		for _, c := range in.DisplayColumns {
			f, ok := lookupField(sc, c)
			if !ok {
				writeErr(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'", c, sc.Name), c)
				return false
			}
			cols = append(cols, f.Name)
		}
		lv.columns = cols
	}
	if in.FilteredByInfo != nil {
		var fls []segFilter
		for _, fi := range in.FilteredByInfo {
			f, ok := lookupField(sc, fi.FieldAPIName)
			if !ok {
				writeErr(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'", fi.FieldAPIName, sc.Name), fi.FieldAPIName)
				return false
			}
			ops := fi.OperandLabels
			if len(ops) == 0 {
				ops = fi.Operands
			}
			fls = append(fls, segFilter{field: f.Name, operator: fi.Operator, values: ops})
		}
		lv.filters = fls
	}
	if _, err := lv.soql(sc); err != nil {
		writeErr(w, http.StatusBadRequest, "INVALID_INPUT", err.Error())
		return false
	}
	return true
}

func (h *handler) listInfo(version string, sc *sandbox.Schema, lv *listView) *obj {
	cols := []any{}
	for _, c := range lv.columns {
		f, _ := lookupField(sc, c)
		label := c
		if f != nil && f.Label != "" {
			label = f.Label
		}
		cols = append(cols, newObj().set("fieldApiName", c).set("label", label).set("lookupId", nil).set("sortable", true))
	}
	filters := []any{}
	for _, fl := range lv.filters {
		f, _ := lookupField(sc, fl.field)
		label := fl.field
		if f != nil && f.Label != "" {
			label = f.Label
		}
		filters = append(filters, newObj().set("fieldApiName", fl.field).set("label", label).
			set("operandLabels", fl.values).set("operator", canonicalOperator(fl.operator)))
	}
	var logic any
	if lv.logic != "" {
		logic = lv.logic
	}
	return newObj().
		set("cloneable", true).
		set("createable", true).
		set("deletable", true).
		set("displayColumns", cols).
		set("eTag", fmt.Sprintf("%x", lv.created.UnixNano())).
		set("filterLogicString", logic).
		set("filteredByInfo", filters).
		set("label", lv.label).
		set("listReference", newObj().set("id", lv.id).set("listViewApiName", lv.apiName).
			set("objectApiName", sc.Name).set("type", "listView")).
		set("orderedByInfo", []any{newObj().set("fieldApiName", "Name").set("isAscending", true).set("label", "Name")}).
		set("updateable", true).
		set("userPreferences", newObj().set("columnWidths", newObj()).set("columnWrap", newObj())).
		set("visibility", lv.visibility).
		set("visibilityEditable", true)
}

func canonicalOperator(op string) string {
	for _, c := range []string{"Equals", "NotEqual", "LessThan", "GreaterThan", "LessOrEqual", "GreaterOrEqual", "Contains", "NotContain", "StartsWith"} {
		if strings.EqualFold(c, op) {
			return c
		}
	}
	return op
}

func (h *handler) createListInfo(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[2])
	if !ok {
		return
	}
	var in listInfoInput
	if !readJSON(w, r, &in) {
		return
	}
	if in.ListViewAPIName == "" || in.Label == "" {
		writeErr(w, http.StatusBadRequest, "INVALID_INPUT", "listViewApiName and label are required")
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if h.findListView(sc.Name, in.ListViewAPIName) != nil {
		writeErr(w, http.StatusBadRequest, "DUPLICATE_DEVELOPER_NAME", fmt.Sprintf("The list view API name %s is already in use.", in.ListViewAPIName))
		return
	}
	lv := &listView{apiName: in.ListViewAPIName, object: sc.Name, visibility: "Private", columns: []string{"Name"}, created: h.sb.Clock.Now()}
	if !h.applyListInfo(w, sc, in, lv) {
		return
	}
	lv.id = h.nextID(sandbox.PrefixListView)
	h.mu.Lock()
	h.listViews[lv.id] = lv
	h.mu.Unlock()
	writeJSON(w, http.StatusCreated, h.listInfo(c.version, sc, lv))
}

func (h *handler) listViewFor(w http.ResponseWriter, object, key string) (*sandbox.Schema, *listView, bool) {
	sc, ok := h.schema(w, object)
	if !ok {
		return nil, nil, false
	}
	lv := h.findListView(sc.Name, key)
	if lv == nil {
		notFound(w)
		return nil, nil, false
	}
	return sc, lv, true
}

func (h *handler) getListInfo(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	sc, lv, ok := h.listViewFor(w, c.segs[2], c.segs[3])
	if !ok {
		return
	}
	h.mu.Lock()
	out := h.listInfo(c.version, sc, lv)
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) patchListInfo(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	var in listInfoInput
	if !readJSON(w, r, &in) {
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	sc, lv, ok := h.listViewFor(w, c.segs[2], c.segs[3])
	if !ok {
		return
	}
	h.mu.Lock()
	next := *lv
	h.mu.Unlock()
	if !h.applyListInfo(w, sc, in, &next) {
		return
	}
	h.mu.Lock()
	*lv = next
	out := h.listInfo(c.version, sc, lv)
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) deleteListInfo(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	_, lv, ok := h.listViewFor(w, c.segs[2], c.segs[3])
	if !ok {
		return
	}
	h.mu.Lock()
	delete(h.listViews, lv.id)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) listViewEntry(version string, lv *listView) *obj {
	base := "/services/data/" + version + "/sobjects/" + lv.object + "/listviews/" + lv.id
	return newObj().set("describeUrl", base+"/describe").set("developerName", lv.apiName).set("id", lv.id).
		set("label", lv.label).set("resultsUrl", base+"/results").set("soqlCompatible", true).set("url", base)
}

func (h *handler) listViewsIndex(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	sc, ok := h.schema(w, c.segs[1])
	if !ok {
		return
	}
	views := []any{}
	h.mu.Lock()
	for _, lv := range h.sortedListViews(sc.Name) {
		views = append(views, h.listViewEntry(c.version, lv))
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, newObj().set("done", true).set("listviews", views).set("nextRecordsUrl", nil).
		set("size", len(views)).set("sobjectType", sc.Name))
}

// sortedListViews returns an object's list views by id; h.mu must be held.
func (h *handler) sortedListViews(object string) []*listView {
	var out []*listView
	for _, lv := range h.listViews {
		if lv.object == object {
			out = append(out, lv)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (h *handler) listViewInfo(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	_, lv, ok := h.listViewFor(w, c.segs[1], c.segs[3])
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.listViewEntry(c.version, lv))
}

func (h *handler) listViewDescribe(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	sc, lv, ok := h.listViewFor(w, c.segs[1], c.segs[3])
	if !ok {
		return
	}
	q, err := lv.soql(sc)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "INVALID_FIELD", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, newObj().set("columns", h.listColumns(sc, lv)).set("id", lv.id).
		set("orderBy", []any{newObj().set("fieldNameOrPath", "Name").set("nullsPosition", "first").set("sortDirection", "ascending")}).
		set("query", q).set("scope", "everything").set("sobjectType", sc.Name))
}

func (h *handler) listColumns(sc *sandbox.Schema, lv *listView) []any {
	cols := []any{}
	add := func(name string, hidden bool) {
		f, ok := lookupField(sc, name)
		if !ok {
			return
		}
		label := f.Label
		if label == "" {
			label = f.Name
		}
		cols = append(cols, newObj().set("ascendingLabel", "A-Z").set("descendingLabel", "Z-A").
			set("fieldNameOrPath", f.Name).set("hidden", hidden).set("label", label).set("selectListItem", f.Name).
			set("sortDirection", nil).set("sortIndex", nil).set("sortable", true).set("type", f.Type))
	}
	for _, c := range lv.columns {
		add(c, false)
	}
	for _, c := range []string{"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"} {
		if !contains(lv.columns, c) {
			add(c, true)
		}
	}
	return cols
}

// listViewResults evaluates the stored filter against current data.
func (h *handler) listViewResults(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	sc, lv, ok := h.listViewFor(w, c.segs[1], c.segs[3])
	if !ok {
		return
	}
	cols := h.listColumns(sc, lv)
	var names []string
	for _, col := range cols {
		v, _ := col.(*obj).get("fieldNameOrPath")
		names = append(names, v.(string))
	}
	q, err := lv.soql(sc)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "INVALID_FIELD", err.Error())
		return
	}
	// Select every column (visible and hidden) in column order.
	q = "SELECT " + strings.Join(names, ", ") + q[strings.Index(q, " FROM "):]
	pl, rows, err := h.execute(h.sb.SF, q, false)
	if err != nil {
		writeSOQLErr(w, err)
		return
	}
	limit, offset := 25, 0
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = min(v, 2000)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && v >= 0 {
		offset = v
	}
	recs := []any{}
	for i := offset; i < len(rows) && i < offset+limit; i++ {
		var cells []any
		for _, bf := range pl.fields {
			v := jsonValue(bf.field, fieldValue(rows[i], bf.field))
			var s any
			if v != nil {
				s = fmt.Sprint(v)
			}
			cells = append(cells, newObj().set("fieldNameOrPath", bf.field.Name).set("value", s))
		}
		recs = append(recs, newObj().set("columns", cells))
	}
	writeJSON(w, http.StatusOK, newObj().set("columns", cols).set("developerName", lv.apiName).
		set("done", offset+limit >= len(rows)).set("id", lv.id).set("label", lv.label).
		set("records", recs).set("size", len(rows)))
}

// report is a stored Analytics report.
type report struct {
	id       string
	object   string
	metadata map[string]any
	filters  []segFilter
	logic    string
	columns  []string // canonical field names
}

var reportTypes = map[string]string{
	"accountlist": sandbox.SFAccount, "contactlist": sandbox.SFContact, "opportunity": sandbox.SFOpportunity,
	"accounts": sandbox.SFAccount, "contacts": sandbox.SFContact, "opportunities": sandbox.SFOpportunity,
}

// reportColumn maps a report column token ("ACCOUNT.NAME",
// "Account.AI_Segment__c", "INDUSTRY") to a field of the report's object.
func reportColumn(sc *sandbox.Schema, token string) (*sandbox.Field, bool) {
	name := token
	if obj, rest, ok := strings.Cut(token, "."); ok && (strings.EqualFold(obj, sc.Name) || strings.EqualFold(obj, "ACCOUNT")) {
		name = rest
	}
	if f, ok := lookupField(sc, name); ok {
		return f, true
	}
	return lookupField(sc, strings.ReplaceAll(name, "_", ""))
}

// parseReport validates reportMetadata into rep; it answers errors itself.
func (h *handler) parseReport(w http.ResponseWriter, md map[string]any, rep *report) bool {
	rt, _ := md["reportType"].(map[string]any)
	typ, _ := rt["type"].(string)
	name, _ := md["name"].(string)
	if name == "" || typ == "" {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", "Report name and report type are required.")
		return false
	}
	object, ok := reportTypes[strings.ToLower(typ)]
	if !ok {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("The report type %s is invalid.", typ))
		return false
	}
	sc, ok := h.sb.SF.Schema(object)
	if !ok {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("The report type %s is invalid.", typ))
		return false
	}
	rep.object, rep.metadata, rep.filters, rep.columns = sc.Name, md, nil, nil
	cols, _ := md["detailColumns"].([]any)
	for _, c := range cols {
		tok, _ := c.(string)
		f, ok := reportColumn(sc, tok)
		if !ok {
			writeErr(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("The column %s is invalid.", tok))
			return false
		}
		rep.columns = append(rep.columns, f.Name)
	}
	if len(rep.columns) == 0 {
		rep.columns = []string{"Name"}
	}
	fls, _ := md["reportFilters"].([]any)
	for _, x := range fls {
		m, _ := x.(map[string]any)
		col, _ := m["column"].(string)
		op, _ := m["operator"].(string)
		val := fmt.Sprint(m["value"])
		if m["value"] == nil {
			val = ""
		}
		f, ok := reportColumn(sc, col)
		if !ok {
			writeErr(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("The filter column %s is invalid.", col))
			return false
		}
		if _, ok := listOperators[strings.ToLower(op)]; !ok {
			writeErr(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("The filter operator %s is invalid.", op))
			return false
		}
		var vals []string
		for _, v := range strings.Split(val, ",") {
			vals = append(vals, strings.TrimSpace(v))
		}
		rep.filters = append(rep.filters, segFilter{field: f.Name, operator: op, values: vals})
	}
	rep.logic, _ = md["reportBooleanFilter"].(string)
	if _, err := whereSOQL(sc, rep.filters, rep.logic); err != nil {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return false
	}
	return true
}

func (h *handler) reportMetadata(rep *report) map[string]any {
	md := map[string]any{}
	for k, v := range rep.metadata {
		md[k] = v
	}
	md["id"] = rep.id
	if _, ok := md["reportFormat"]; !ok {
		md["reportFormat"] = "TABULAR"
	}
	return md
}

func (h *handler) reportEnvelope(rep *report) *obj {
	return newObj().set("reportMetadata", h.reportMetadata(rep)).
		set("reportTypeMetadata", newObj().set("categories", []any{}).set("dataTypeFilterOperatorMap", newObj())).
		set("reportExtendedMetadata", newObj().set("aggregateColumnInfo", newObj()).set("detailColumnInfo", newObj()).set("groupingColumnInfo", newObj()))
}

func (h *handler) createReport(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	var body struct {
		ReportMetadata map[string]any `json:"reportMetadata"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	rep := &report{}
	if !h.parseReport(w, body.ReportMetadata, rep) {
		return
	}
	rep.id = h.nextID(sandbox.PrefixReport)
	h.mu.Lock()
	h.reports[rep.id] = rep
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, h.reportEnvelope(rep))
}

func (h *handler) findReport(w http.ResponseWriter, id string) (*report, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, rep := range h.reports {
		if rep.id == id || (len(id) == 15 && rep.id[:15] == id) {
			return rep, true
		}
	}
	writeErr(w, http.StatusNotFound, "NOT_FOUND", "The report ID is invalid.")
	return nil, false
}

func (h *handler) describeReport(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	rep, ok := h.findReport(w, c.segs[2])
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.reportEnvelope(rep))
}

func (h *handler) patchReport(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	rep, ok := h.findReport(w, c.segs[2])
	if !ok {
		return
	}
	var body struct {
		ReportMetadata map[string]any `json:"reportMetadata"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	merged := h.reportMetadata(rep)
	for k, v := range body.ReportMetadata {
		merged[k] = v
	}
	next := &report{id: rep.id}
	if !h.parseReport(w, merged, next) {
		return
	}
	h.mu.Lock()
	h.reports[rep.id] = next
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, h.reportEnvelope(next))
}

func (h *handler) deleteReport(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	rep, ok := h.findReport(w, c.segs[2])
	if !ok {
		return
	}
	h.mu.Lock()
	delete(h.reports, rep.id)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// runReport evaluates a report's filters live. Name cells carry the record
// id as value and the name as label, like the Analytics API.
func (h *handler) runReport(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	rep, ok := h.findReport(w, c.segs[2])
	if !ok {
		return
	}
	sc, ok := h.schema(w, rep.object)
	if !ok {
		return
	}
	cols := append([]string{"Id"}, rep.columns...)
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + sc.Name
	where, err := whereSOQL(sc, rep.filters, rep.logic)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY Id"
	pl, rows, err := h.execute(h.sb.SF, q, false)
	if err != nil {
		writeSOQLErr(w, err)
		return
	}
	outRows := []any{}
	for _, row := range rows {
		var cells []any
		for _, bf := range pl.fields[1:] {
			v := jsonValue(bf.field, fieldValue(row, bf.field))
			label := "-"
			if v != nil {
				label = fmt.Sprint(v)
			}
			if bf.field.Name == "Name" {
				v = row.ID
			}
			cells = append(cells, newObj().set("label", label).set("value", v))
		}
		outRows = append(outRows, newObj().set("dataCells", cells))
	}
	fact := newObj().set("T!T", newObj().
		set("aggregates", []any{newObj().set("label", strconv.Itoa(len(rows))).set("value", len(rows))}).
		set("rows", outRows))
	writeJSON(w, http.StatusOK, newObj().
		set("attributes", newObj().set("describeUrl", "/services/data/"+c.version+"/analytics/reports/"+rep.id+"/describe").
			set("instancesUrl", "/services/data/"+c.version+"/analytics/reports/"+rep.id+"/instances").
			set("reportId", rep.id).set("reportName", rep.metadata["name"]).set("type", "Report")).
		set("allData", true).
		set("factMap", fact).
		set("groupingsAcross", newObj().set("groupings", []any{})).
		set("groupingsDown", newObj().set("groupings", []any{})).
		set("hasDetailRows", true).
		set("reportExtendedMetadata", newObj().set("aggregateColumnInfo", newObj()).set("detailColumnInfo", newObj()).set("groupingColumnInfo", newObj())).
		set("reportMetadata", h.reportMetadata(rep)))
}
