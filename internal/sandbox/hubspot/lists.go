package hubspot

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// List limits.
const (
	membershipsLimitMax = 250
	listSearchCountMax  = 500
)

type listOperation struct {
	OperationType                string `json:"operationType"`
	Operator                     string `json:"operator"`
	Value                        any    `json:"value,omitempty"`
	Values                       []any  `json:"values,omitempty"`
	HighValue                    any    `json:"highValue,omitempty"`
	LowerBound                   any    `json:"lowerBound,omitempty"`
	UpperBound                   any    `json:"upperBound,omitempty"`
	IncludeObjectsWithNoValueSet bool   `json:"includeObjectsWithNoValueSet"`
}

type listFilter struct {
	FilterType string        `json:"filterType"`
	Property   string        `json:"property"`
	Operation  listOperation `json:"operation"`
}

type filterBranch struct {
	FilterBranchType     string          `json:"filterBranchType"`
	FilterBranchOperator string          `json:"filterBranchOperator"`
	Filters              []listFilter    `json:"filters"`
	FilterBranches       []*filterBranch `json:"filterBranches"`
}

// list is a stored list; members holds record id -> membership time (for
// DYNAMIC lists it is recomputed from the filters on read).
type list struct {
	id, name, objectTypeID, processingType, processingStatus string
	version                                                  int
	created, updated, filtersUpdated, deletedAt              time.Time
	branch                                                   *filterBranch
	members                                                  map[string]time.Time
}

type listJSON struct {
	ListID               string            `json:"listId"`
	ListVersion          int               `json:"listVersion"`
	Name                 string            `json:"name"`
	ObjectTypeID         string            `json:"objectTypeId"`
	ProcessingType       string            `json:"processingType"`
	ProcessingStatus     string            `json:"processingStatus"`
	CreatedAt            string            `json:"createdAt"`
	UpdatedAt            string            `json:"updatedAt"`
	FiltersUpdatedAt     string            `json:"filtersUpdatedAt,omitempty"`
	CreatedByID          string            `json:"createdById"`
	UpdatedByID          string            `json:"updatedById"`
	Size                 int               `json:"size"`
	AdditionalProperties map[string]string `json:"additionalProperties"`
	FilterBranch         *filterBranch     `json:"filterBranch,omitempty"`
}

var listOperators = map[string][]string{
	"ENUMERATION":  {"IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY", "IS_NOT_EXACTLY", "CONTAINS_ALL", "DOES_NOT_CONTAIN_ALL"},
	"STRING":       {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"},
	"MULTISTRING":  {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"},
	"NUMBER":       {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_GREATER_THAN", "IS_GREATER_THAN_OR_EQUAL_TO", "IS_LESS_THAN", "IS_LESS_THAN_OR_EQUAL_TO", "IS_BETWEEN", "IS_NOT_BETWEEN"},
	"BOOL":         {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO"},
	"ALL_PROPERTY": {"IS_KNOWN", "IS_NOT_KNOWN"},
}

// validateBranch checks a filter tree (root OR) and fills the echoed
// filterBranchOperator and empty arrays.
func (h *Handler) validateBranch(ot *objectType, b *filterBranch, root bool) *apiError {
	if b == nil {
		return errValidation("filterBranch is required")
	}
	if root && b.FilterBranchType != "OR" {
		return errValidation("The root filter branch must be of type OR, got %q", b.FilterBranchType)
	}
	switch b.FilterBranchType {
	case "OR", "AND", "NOT_ALL", "NOT_ANY":
	default:
		return errValidation("Unsupported filterBranchType %q", b.FilterBranchType)
	}
	b.FilterBranchOperator = b.FilterBranchType
	if b.Filters == nil {
		b.Filters = []listFilter{}
	}
	if b.FilterBranches == nil {
		b.FilterBranches = []*filterBranch{}
	}
	for _, f := range b.Filters {
		if f.FilterType != "PROPERTY" {
			return errValidation("Unsupported filterType %q (only PROPERTY filters are supported)", f.FilterType)
		}
		if _, ok := h.prop(ot, f.Property); !ok {
			return errValidation("Property %q does not exist on object type %s", f.Property, ot.typeID)
		}
		ops, ok := listOperators[f.Operation.OperationType]
		if !ok {
			return errValidation("Unsupported operationType %q", f.Operation.OperationType)
		}
		if !slices.Contains(ops, f.Operation.Operator) {
			return errValidation("Operator %q is not valid for operationType %s", f.Operation.Operator, f.Operation.OperationType)
		}
	}
	for _, c := range b.FilterBranches {
		if e := h.validateBranch(ot, c, false); e != nil {
			return e
		}
	}
	return nil
}

func (b *filterBranch) match(ot *objectType, row sandbox.Row) bool {
	anyMatch := func() bool {
		return slices.ContainsFunc(b.Filters, func(f listFilter) bool { return f.match(ot, row) }) ||
			slices.ContainsFunc(b.FilterBranches, func(c *filterBranch) bool { return c.match(ot, row) })
	}
	all := func() bool {
		for _, f := range b.Filters {
			if !f.match(ot, row) {
				return false
			}
		}
		for _, c := range b.FilterBranches {
			if !c.match(ot, row) {
				return false
			}
		}
		return true
	}
	switch b.FilterBranchType {
	case "OR":
		return anyMatch()
	case "AND":
		return all()
	case "NOT_ALL":
		return !all()
	case "NOT_ANY":
		return !anyMatch()
	}
	return false
}

func lowerStrings(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s, _ := inputString(v)
		out = append(out, strings.ToLower(s))
	}
	return out
}

func (f listFilter) match(ot *objectType, row sandbox.Row) bool {
	op := f.Operation
	v := ot.value(row, f.Property)
	if !hasValue(v) {
		switch op.Operator {
		case "IS_NOT_KNOWN":
			return true
		case "IS_KNOWN":
			return false
		}
		return op.IncludeObjectsWithNoValueSet
	}
	s := strings.ToLower(*formatValue(v))
	single, _ := inputString(op.Value)
	single = strings.ToLower(single)
	switch op.OperationType {
	case "ALL_PROPERTY":
		return op.Operator == "IS_KNOWN"
	case "ENUMERATION":
		have := strings.Split(s, ";")
		want := lowerStrings(op.Values)
		anyOf := slices.ContainsFunc(have, func(x string) bool { return slices.Contains(want, x) })
		allOf := !slices.ContainsFunc(want, func(x string) bool { return !slices.Contains(have, x) })
		exactly := allOf && !slices.ContainsFunc(have, func(x string) bool { return !slices.Contains(want, x) })
		switch op.Operator {
		case "IS_ANY_OF":
			return anyOf
		case "IS_NONE_OF":
			return !anyOf
		case "IS_EXACTLY":
			return exactly
		case "IS_NOT_EXACTLY":
			return !exactly
		case "CONTAINS_ALL":
			return allOf
		case "DOES_NOT_CONTAIN_ALL":
			return !allOf
		}
	case "STRING", "MULTISTRING":
		want := []string{single}
		if op.OperationType == "MULTISTRING" {
			want = lowerStrings(op.Values)
		}
		test := func(pred func(string) bool) bool { return slices.ContainsFunc(want, pred) }
		switch op.Operator {
		case "IS_EQUAL_TO":
			return test(func(w string) bool { return s == w })
		case "IS_NOT_EQUAL_TO":
			return !test(func(w string) bool { return s == w })
		case "CONTAINS":
			return test(func(w string) bool { return strings.Contains(s, w) })
		case "DOES_NOT_CONTAIN":
			return !test(func(w string) bool { return strings.Contains(s, w) })
		case "STARTS_WITH":
			return test(func(w string) bool { return strings.HasPrefix(s, w) })
		case "ENDS_WITH":
			return test(func(w string) bool { return strings.HasSuffix(s, w) })
		}
	case "NUMBER":
		cmp := func(lit any) (int, bool) {
			ls, _ := inputString(lit)
			return compareTyped(tNumber, v, ls)
		}
		c, ok := cmp(op.Value)
		switch op.Operator {
		case "IS_EQUAL_TO":
			return ok && c == 0
		case "IS_NOT_EQUAL_TO":
			return !(ok && c == 0)
		case "IS_GREATER_THAN":
			return ok && c > 0
		case "IS_GREATER_THAN_OR_EQUAL_TO":
			return ok && c >= 0
		case "IS_LESS_THAN":
			return ok && c < 0
		case "IS_LESS_THAN_OR_EQUAL_TO":
			return ok && c <= 0
		case "IS_BETWEEN", "IS_NOT_BETWEEN":
			low, high := op.LowerBound, op.UpperBound
			if low == nil {
				low, high = op.Value, op.HighValue
			}
			cl, ok1 := cmp(low)
			ch, ok2 := cmp(high)
			in := ok1 && ok2 && cl >= 0 && ch <= 0
			return in == (op.Operator == "IS_BETWEEN")
		}
	case "BOOL":
		eq := s == single
		return eq == (op.Operator == "IS_EQUAL_TO")
	}
	return false
}

// listScopes are the scopes of list reads and writes.
func listScopes(write bool) scopeFunc {
	return func(*http.Request) []string {
		if write {
			return []string{"crm.lists.write"}
		}
		return []string{"crm.lists.read", "crm.lists.write"}
	}
}

func errListNotFound(id string) *apiError {
	return errNotFound("List " + id + " does not exist.")
}

// getList returns a live list by id.
func (h *Handler) getList(id string) (*list, *apiError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.lists[id]
	if !ok || !l.deletedAt.IsZero() {
		return nil, errListNotFound(id)
	}
	return l, nil
}

// refresh recomputes a DYNAMIC list's members from its filters against
// current data; members keep the time they first matched.
func (h *Handler) refresh(l *list) {
	h.mu.Lock()
	dynamic, branch, typeID := l.processingType == "DYNAMIC", l.branch, l.objectTypeID
	h.mu.Unlock()
	if !dynamic {
		return
	}
	ids := h.evaluate(typeID, branch)
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]time.Time, len(ids))
	for _, id := range ids {
		if t, ok := l.members[id]; ok {
			next[id] = t
		} else {
			next[id] = now
		}
	}
	l.members, l.processingStatus = next, "COMPLETE"
}

// evaluate returns the ids of live records matching a filter tree.
func (h *Handler) evaluate(objectTypeID string, b *filterBranch) []string {
	ot, ok := lookupObjectType(objectTypeID)
	if !ok || b == nil {
		return nil
	}
	var ids []string
	_ = h.sb.HS.Scan(ot.table, func(row sandbox.Row) bool {
		if !row.Deleted && b.match(ot, row) {
			ids = append(ids, row.ID)
		}
		return true
	})
	return ids
}

// render returns the API shape of l; the caller holds h.mu.
func (l *list) render(withFilters bool) listJSON {
	out := listJSON{ListID: l.id, ListVersion: l.version, Name: l.name, ObjectTypeID: l.objectTypeID,
		ProcessingType: l.processingType, ProcessingStatus: l.processingStatus,
		CreatedAt: isoMillis(l.created), UpdatedAt: isoMillis(l.updated),
		CreatedByID: strconv.Itoa(sandboxUserID), UpdatedByID: strconv.Itoa(sandboxUserID), Size: len(l.members),
		AdditionalProperties: map[string]string{"hs_list_size": strconv.Itoa(len(l.members))}}
	if !l.filtersUpdated.IsZero() {
		out.FiltersUpdatedAt = isoMillis(l.filtersUpdated)
	}
	if withFilters && l.branch != nil {
		out.FilterBranch = l.branch
	}
	return out
}

func (h *Handler) renderList(l *list, withFilters bool) listJSON {
	h.mu.Lock()
	defer h.mu.Unlock()
	return l.render(withFilters)
}

// nameTaken reports a live list with the name (case-insensitive); the
// caller holds h.mu.
func (h *Handler) nameTaken(name, except string) bool {
	for _, l := range h.lists {
		if l.id != except && l.deletedAt.IsZero() && strings.EqualFold(l.name, name) {
			return true
		}
	}
	return false
}

func errDuplicateListName(name string) *apiError {
	e := errValidation("A list named '%s' already exists.", name)
	e.SubCategory = "ILS.DUPLICATE_LIST_NAMES"
	return e
}

// createList serves POST /crm/v3/lists.
func (h *Handler) createList(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	var in struct {
		Name           string        `json:"name"`
		ObjectTypeID   string        `json:"objectTypeId"`
		ProcessingType string        `json:"processingType"`
		FilterBranch   *filterBranch `json:"filterBranch"`
	}
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	if in.Name == "" || in.ObjectTypeID == "" || in.ProcessingType == "" {
		return errValidation("Invalid input JSON: Cannot build ListCreateRequest, some of required attributes are not set [name, objectTypeId, processingType]")
	}
	ot, e := h.objectType(in.ObjectTypeID)
	if e != nil {
		return e
	}
	switch in.ProcessingType {
	case "MANUAL":
		if in.FilterBranch != nil {
			return errValidation("MANUAL lists cannot have a filterBranch")
		}
	case "DYNAMIC", "SNAPSHOT":
		if e := h.validateBranch(ot, in.FilterBranch, true); e != nil {
			return e
		}
	default:
		return errValidation("processingType must be one of MANUAL, SNAPSHOT, DYNAMIC, got %q", in.ProcessingType)
	}
	var snapshot []string
	if in.ProcessingType == "SNAPSHOT" {
		snapshot = h.evaluate(ot.typeID, in.FilterBranch)
	}
	now := h.now()
	h.mu.Lock()
	if h.nameTaken(in.Name, "") {
		h.mu.Unlock()
		return errDuplicateListName(in.Name)
	}
	h.listSeq++
	l := &list{id: strconv.Itoa(h.listSeq), name: in.Name, objectTypeID: ot.typeID, processingType: in.ProcessingType,
		processingStatus: "COMPLETE", version: 1, created: now, updated: now, branch: in.FilterBranch,
		members: map[string]time.Time{}}
	if in.FilterBranch != nil {
		l.filtersUpdated = now
	}
	if in.ProcessingType == "DYNAMIC" {
		l.processingStatus = "PROCESSING"
	}
	for _, id := range snapshot {
		l.members[id] = now
	}
	h.lists[l.id] = l
	out := l.render(true)
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"list": out})
	return nil
}

func includeFilters(r *http.Request) bool { return r.URL.Query().Get("includeFilters") == "true" }

// getListByID serves GET /crm/v3/lists/{listId}.
func (h *Handler) getListByID(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	l, e := h.getList(r.PathValue("listId"))
	if e != nil {
		return e
	}
	h.refresh(l)
	writeJSON(w, http.StatusOK, map[string]any{"list": h.renderList(l, includeFilters(r))})
	return nil
}

// getLists serves GET /crm/v3/lists?listIds=...
func (h *Handler) getLists(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	out := []listJSON{}
	for _, id := range multiParam(r.URL.Query(), "listIds") {
		l, e := h.getList(id)
		if e != nil {
			continue
		}
		h.refresh(l)
		out = append(out, h.renderList(l, includeFilters(r)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": out})
	return nil
}

// getListByName serves GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{name}.
func (h *Handler) getListByName(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("objectTypeId"))
	if e != nil {
		return e
	}
	name := r.PathValue("name")
	var found *list
	h.mu.Lock()
	for _, l := range h.lists {
		if l.deletedAt.IsZero() && l.objectTypeID == ot.typeID && strings.EqualFold(l.name, name) {
			found = l
		}
	}
	h.mu.Unlock()
	if found == nil {
		return errNotFound("List with name '" + name + "' does not exist for object type " + ot.typeID + ".")
	}
	h.refresh(found)
	writeJSON(w, http.StatusOK, map[string]any{"list": h.renderList(found, includeFilters(r))})
	return nil
}

// searchLists serves POST /crm/v3/lists/search.
func (h *Handler) searchLists(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	var in struct {
		Query           string   `json:"query"`
		ListIDs         []string `json:"listIds"`
		ProcessingTypes []string `json:"processingTypes"`
		Offset          int      `json:"offset"`
		Count           int      `json:"count"`
	}
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	if in.Count <= 0 {
		in.Count = 20
	}
	if in.Count > listSearchCountMax {
		return errValidation("count must be at most %d", listSearchCountMax)
	}
	h.mu.Lock()
	var matched []*list
	for _, l := range h.lists {
		if !l.deletedAt.IsZero() ||
			(in.Query != "" && !strings.Contains(strings.ToLower(l.name), strings.ToLower(in.Query))) ||
			(len(in.ListIDs) > 0 && !slices.Contains(in.ListIDs, l.id)) ||
			(len(in.ProcessingTypes) > 0 && !slices.Contains(in.ProcessingTypes, l.processingType)) {
			continue
		}
		matched = append(matched, l)
	}
	h.mu.Unlock()
	slices.SortFunc(matched, func(a, b *list) int { return compareIDs(a.id, b.id) })
	end := min(in.Offset+in.Count, len(matched))
	out := []listJSON{}
	for i := max(in.Offset, 0); i < end; i++ {
		h.refresh(matched[i])
		out = append(out, h.renderList(matched[i], false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": out, "total": len(matched), "offset": end, "hasMore": end < len(matched)})
	return nil
}

// updateListFilters serves PUT /crm/v3/lists/{listId}/update-list-filters.
func (h *Handler) updateListFilters(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	l, e := h.getList(r.PathValue("listId"))
	if e != nil {
		return e
	}
	var in struct {
		FilterBranch *filterBranch `json:"filterBranch"`
	}
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	h.mu.Lock()
	typ, typeID := l.processingType, l.objectTypeID
	h.mu.Unlock()
	if typ == "MANUAL" {
		return errValidation("List %s is a MANUAL list; its filters cannot be updated", l.id)
	}
	ot, e := h.objectType(typeID)
	if e != nil {
		return e
	}
	if e := h.validateBranch(ot, in.FilterBranch, true); e != nil {
		return e
	}
	now := h.now()
	h.mu.Lock()
	l.branch, l.version, l.updated, l.filtersUpdated = in.FilterBranch, l.version+1, now, now
	if l.processingType == "DYNAMIC" {
		l.processingStatus = "PROCESSING"
	}
	out := l.render(true)
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"updatedList": out})
	return nil
}

// updateListName serves PUT /crm/v3/lists/{listId}/update-list-name.
func (h *Handler) updateListName(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	l, e := h.getList(r.PathValue("listId"))
	if e != nil {
		return e
	}
	name := r.URL.Query().Get("listName")
	if name == "" {
		return errValidation("listName is required")
	}
	h.mu.Lock()
	if h.nameTaken(name, l.id) {
		h.mu.Unlock()
		return errDuplicateListName(name)
	}
	l.name, l.version, l.updated = name, l.version+1, h.now()
	out := l.render(includeFilters(r))
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"updatedList": out})
	return nil
}

// deleteList serves DELETE /crm/v3/lists/{listId}.
func (h *Handler) deleteList(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	l, e := h.getList(r.PathValue("listId"))
	if e != nil {
		return e
	}
	h.mu.Lock()
	l.deletedAt = h.now()
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// restoreList serves PUT /crm/v3/lists/{listId}/restore.
func (h *Handler) restoreList(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	id := r.PathValue("listId")
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.lists[id]
	if !ok || l.deletedAt.IsZero() {
		return errListNotFound(id)
	}
	if h.nameTaken(l.name, l.id) {
		return errDuplicateListName(l.name)
	}
	l.deletedAt = time.Time{}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberships serves GET /crm/v3/lists/{listId}/memberships.
func (h *Handler) memberships(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	l, e := h.getList(r.PathValue("listId"))
	if e != nil {
		return e
	}
	q := r.URL.Query()
	limit, e := queryLimit(q, 100, membershipsLimitMax)
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
	h.refresh(l)
	type member struct {
		RecordID            string `json:"recordId"`
		MembershipTimestamp string `json:"membershipTimestamp"`
	}
	h.mu.Lock()
	ids := make([]string, 0, len(l.members))
	for id := range l.members {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	total := len(ids)
	out := struct {
		Results []member `json:"results"`
		Paging  *paging  `json:"paging,omitempty"`
		Total   int      `json:"total"`
	}{Results: []member{}, Total: total}
	for _, id := range ids {
		if after != "" && compareIDs(id, after) <= 0 {
			continue
		}
		if len(out.Results) == limit {
			next := encodeCursor(out.Results[len(out.Results)-1].RecordID)
			out.Paging = &paging{Next: &pagingNext{After: next, Link: nextLink(r, next)}}
			break
		}
		out.Results = append(out.Results, member{RecordID: id, MembershipTimestamp: isoMillis(l.members[id])})
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// changeMemberships serves PUT /crm/v3/lists/{listId}/memberships/add and
// .../remove (MANUAL and SNAPSHOT lists only).
func (h *Handler) changeMemberships(add bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
		l, e := h.getList(r.PathValue("listId"))
		if e != nil {
			return e
		}
		var ids []string
		if e := decodeBody(r, &ids); e != nil {
			return e
		}
		h.mu.Lock()
		typ, typeID := l.processingType, l.objectTypeID
		h.mu.Unlock()
		if typ == "DYNAMIC" {
			return errValidation("List %s is a DYNAMIC list; memberships can only be changed on MANUAL and SNAPSHOT lists", l.id)
		}
		ot, _ := lookupObjectType(typeID)
		changed, missing := []string{}, []string{}
		now := h.now()
		for _, id := range ids {
			row, ok := h.sb.HS.Get(ot.table, id)
			if !ok || row.Deleted {
				missing = append(missing, id)
				continue
			}
			h.mu.Lock()
			_, member := l.members[id]
			switch {
			case add && !member:
				l.members[id] = now
				changed = append(changed, id)
			case !add && member:
				delete(l.members, id)
				changed = append(changed, id)
			}
			h.mu.Unlock()
		}
		key := "recordIdsRemoved"
		if add {
			key = "recordsIdsAdded" // sic: the live API's spelling
		}
		writeJSON(w, http.StatusOK, map[string]any{key: changed, "recordIdsMissing": missing})
		return nil
	}
}
