package hubspot

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Search limits.
const (
	searchLimitMax     = 200
	searchResultsCap   = 10000
	searchGroupsMax    = 5
	searchGroupFilters = 6
	searchFiltersMax   = 25
	searchDefaultLimit = 10
)

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        any    `json:"value"`
	HighValue    any    `json:"highValue"`
	Values       []any  `json:"values"`
}

type searchRequest struct {
	FilterGroups []struct {
		Filters []searchFilter `json:"filters"`
	} `json:"filterGroups"`
	Sorts      json.RawMessage `json:"sorts"`
	Query      string          `json:"query"`
	Properties []string        `json:"properties"`
	Limit      any             `json:"limit"`
	After      any             `json:"after"`
}

// filter is a validated search filter.
type filter struct {
	p      propInfo
	op     string
	value  string
	high   string
	values []string
}

type sortSpec struct {
	p    propInfo
	desc bool
}

var operators = map[string]bool{
	"EQ": true, "NEQ": true, "LT": true, "LTE": true, "GT": true, "GTE": true, "BETWEEN": true,
	"IN": true, "NOT_IN": true, "HAS_PROPERTY": true, "NOT_HAS_PROPERTY": true,
	"CONTAINS_TOKEN": true, "NOT_CONTAINS_TOKEN": true,
}

// intParam reads a JSON number or numeric string.
func intParam(v any, name string, def int) (int, *apiError) {
	if v == nil {
		return def, nil
	}
	s, _ := inputString(v)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errValidation("Invalid input JSON: %s must be a non-negative integer, got %q", name, s)
	}
	return n, nil
}

// parseSearch validates a search body.
func (h *Handler) parseSearch(ot *objectType, req *searchRequest) (groups [][]filter, sort *sortSpec, limit, offset int, e *apiError) {
	if len(req.FilterGroups) > searchGroupsMax {
		return nil, nil, 0, 0, errValidation("Too many filter groups: %d. The maximum is %d.", len(req.FilterGroups), searchGroupsMax)
	}
	total := 0
	for _, g := range req.FilterGroups {
		if len(g.Filters) > searchGroupFilters {
			return nil, nil, 0, 0, errValidation("Too many filters in a filter group: %d. The maximum is %d.", len(g.Filters), searchGroupFilters)
		}
		total += len(g.Filters)
		var fs []filter
		for _, f := range g.Filters {
			if f.PropertyName == "" || f.Operator == "" {
				return nil, nil, 0, 0, errValidation("Invalid input JSON: Cannot build Filter, some of required attributes are not set [propertyName, operator]")
			}
			if !operators[f.Operator] {
				return nil, nil, 0, 0, errValidation("Invalid input JSON: Cannot deserialize value of type `FilterOperator` from String %q", f.Operator)
			}
			p, ok := h.prop(ot, f.PropertyName)
			if !ok {
				return nil, nil, 0, 0, errValidation("Property %q does not exist on %s (filter)", f.PropertyName, ot.table)
			}
			pf := filter{p: p, op: f.Operator}
			pf.value, _ = inputString(f.Value)
			pf.high, _ = inputString(f.HighValue)
			for _, v := range f.Values {
				s, _ := inputString(v)
				pf.values = append(pf.values, s)
			}
			switch f.Operator {
			case "IN", "NOT_IN":
				if len(pf.values) == 0 {
					return nil, nil, 0, 0, errValidation("Operator %s requires values", f.Operator)
				}
			case "BETWEEN":
				if f.Value == nil || f.HighValue == nil {
					return nil, nil, 0, 0, errValidation("Operator BETWEEN requires value and highValue")
				}
			case "HAS_PROPERTY", "NOT_HAS_PROPERTY":
			default:
				if f.Value == nil {
					return nil, nil, 0, 0, errValidation("Operator %s requires a value", f.Operator)
				}
			}
			fs = append(fs, pf)
		}
		groups = append(groups, fs)
	}
	if total > searchFiltersMax {
		return nil, nil, 0, 0, errValidation("Too many filters: %d. The maximum is %d.", total, searchFiltersMax)
	}
	// Sorts: only objects {propertyName, direction} are honoured, and only
	// the first. Plain strings (what several SDKs send) are ignored, as the
	// live API ignores them.
	if len(req.Sorts) > 0 && string(req.Sorts) != "null" {
		var objs []struct {
			PropertyName string `json:"propertyName"`
			Direction    string `json:"direction"`
		}
		if err := json.Unmarshal(req.Sorts, &objs); err == nil && len(objs) > 0 && objs[0].PropertyName != "" {
			p, ok := h.prop(ot, objs[0].PropertyName)
			if !ok {
				return nil, nil, 0, 0, errValidation("Property %q does not exist on %s (sort)", objs[0].PropertyName, ot.table)
			}
			switch objs[0].Direction {
			case "", "ASCENDING":
				sort = &sortSpec{p: p}
			case "DESCENDING":
				sort = &sortSpec{p: p, desc: true}
			default:
				return nil, nil, 0, 0, errValidation("Invalid sort direction %q", objs[0].Direction)
			}
		} else if err != nil {
			var strs []string
			if json.Unmarshal(req.Sorts, &strs) != nil {
				return nil, nil, 0, 0, errValidation("Invalid input JSON: sorts must be an array")
			}
		}
	}
	if limit, e = intParam(req.Limit, "limit", searchDefaultLimit); e != nil {
		return nil, nil, 0, 0, e
	}
	if limit == 0 {
		limit = searchDefaultLimit
	}
	if limit > searchLimitMax {
		return nil, nil, 0, 0, errValidation("limit must be less than or equal to %d, got %d", searchLimitMax, limit)
	}
	if offset, e = intParam(req.After, "after", 0); e != nil {
		return nil, nil, 0, 0, e
	}
	if offset+limit > searchResultsCap {
		e = errValidation("There was a problem with the request: the search would return results past %d (after %d + limit %d). Narrow the query.", searchResultsCap, offset, limit)
		e.Context = map[string][]string{"after": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
		return nil, nil, 0, 0, e
	}
	return groups, sort, limit, offset, nil
}

// search serves POST /crm/v3/objects/{type}/search.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ot, e := h.objectType(r.PathValue("type"))
	if e != nil {
		return e
	}
	var req searchRequest
	if e := decodeBody(r, &req); e != nil {
		return e
	}
	groups, sortBy, limit, offset, e := h.parseSearch(ot, &req)
	if e != nil {
		return e
	}
	h.mu.Lock()
	lag := h.indexLag
	h.mu.Unlock()
	now := h.now()
	query := strings.ToLower(strings.TrimSpace(req.Query))
	// Filter the records in place and keep only the id (and sort value) of
	// each match; only the page served is copied out of the store, as it is
	// at that moment.
	type match struct {
		id  string
		key any
	}
	var matches []match
	_ = h.sb.HS.ScanView(ot.table, func(v sandbox.RowView) bool {
		if v.Deleted() || (lag > 0 && now.Sub(v.ModifiedAt()) < lag) {
			return true
		}
		if len(groups) > 0 && !slices.ContainsFunc(groups, func(g []filter) bool { return matchAllView(ot, v, g) }) {
			return true
		}
		if query != "" && !matchesQuery(v.Row(), query) {
			return true
		}
		m := match{id: v.ID()}
		if sortBy != nil {
			m.key = ot.viewValue(v, sortBy.p.name)
		}
		matches = append(matches, m)
		return true
	})
	slices.SortStableFunc(matches, func(a, b match) int {
		if sortBy != nil {
			if c := compareSortValues(sortBy, a.key, b.key); c != 0 {
				return c
			}
		}
		return compareIDs(a.id, b.id)
	})
	type page struct {
		Total   int         `json:"total"`
		Results []*hsObject `json:"results"`
		Paging  *paging     `json:"paging,omitempty"`
	}
	out := page{Total: len(matches), Results: []*hsObject{}}
	spec := readSpec{props: req.Properties}
	if len(spec.props) == 0 {
		spec.props = nil
	}
	end := min(offset+limit, len(matches))
	for i := offset; i < end; i++ {
		if row, ok := h.sb.HS.Get(ot.table, matches[i].id); ok {
			o := h.render(ot, row, spec)
			if h.sb.Faults.TakeDropID() {
				o.ID = ""
			}
			out.Results = append(out.Results, o)
		}
	}
	if end < len(matches) {
		out.Paging = &paging{Next: &pagingNext{After: strconv.Itoa(end)}}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// hasValue reports whether v is set (not null, not empty).
func hasValue(v any) bool {
	s := formatValue(v)
	return s != nil && *s != ""
}

// matchAllView reports whether a record, read in place, passes every filter
// of a group.
func matchAllView(ot *objectType, v sandbox.RowView, fs []filter) bool {
	for _, f := range fs {
		if !f.matchValue(ot.viewValue(v, f.p.name)) {
			return false
		}
	}
	return true
}

// matchValue applies the filter to a property's value.
func (f filter) matchValue(v any) bool {
	has := hasValue(v)
	eq := func(lit string) bool {
		c, ok := compareTyped(f.p.typ, v, lit)
		return has && ok && c == 0
	}
	cmp := func(lit string, want func(int) bool) bool {
		c, ok := compareTyped(f.p.typ, v, lit)
		return has && ok && want(c)
	}
	switch f.op {
	case "EQ":
		return eq(f.value)
	case "NEQ":
		return !eq(f.value)
	case "LT":
		return cmp(f.value, func(c int) bool { return c < 0 })
	case "LTE":
		return cmp(f.value, func(c int) bool { return c <= 0 })
	case "GT":
		return cmp(f.value, func(c int) bool { return c > 0 })
	case "GTE":
		return cmp(f.value, func(c int) bool { return c >= 0 })
	case "BETWEEN":
		return cmp(f.value, func(c int) bool { return c >= 0 }) && cmp(f.high, func(c int) bool { return c <= 0 })
	case "IN":
		return slices.ContainsFunc(f.values, eq)
	case "NOT_IN":
		return !slices.ContainsFunc(f.values, eq)
	case "HAS_PROPERTY":
		return has
	case "NOT_HAS_PROPERTY":
		return !has
	case "CONTAINS_TOKEN":
		return has && containsToken(*formatValue(v), f.value)
	case "NOT_CONTAINS_TOKEN":
		return !(has && containsToken(*formatValue(v), f.value))
	}
	return false
}

// compareTyped compares a stored value with a filter literal by property
// type; ok is false when either side does not parse.
func compareTyped(typ string, v any, lit string) (int, bool) {
	switch typ {
	case tNumber:
		a, ok1 := toFloat(v)
		b, err := strconv.ParseFloat(strings.TrimSpace(lit), 64)
		if !ok1 || err != nil {
			return 0, false
		}
		return cmpOrdered(a, b), true
	case tDateTime, tDate:
		a, ok1 := toTime(v)
		b, ok2 := parseTime(lit)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmpOrdered(a.UnixMilli(), b.UnixMilli()), true
	case tBool:
		a, ok1 := v.(bool)
		b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(lit)))
		if !ok1 || err != nil {
			return 0, false
		}
		if a == b {
			return 0, true
		}
		return 1, true
	}
	s := formatValue(v)
	if s == nil {
		return 0, false
	}
	return strings.Compare(strings.ToLower(*s), strings.ToLower(lit)), true
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case sandbox.Date:
		return x.Time, true
	case string:
		return parseTime(x)
	}
	return time.Time{}, false
}

// compareSortValues orders two values of the sort property; records
// without a value sort last in either direction.
func compareSortValues(s *sortSpec, va, vb any) int {
	ha, hb := hasValue(va), hasValue(vb)
	switch {
	case !ha && !hb:
		return 0
	case !ha:
		return 1
	case !hb:
		return -1
	}
	c, ok := compareTyped(s.p.typ, va, *formatValue(vb))
	if !ok {
		c = strings.Compare(*formatValue(va), *formatValue(vb))
	}
	if s.desc {
		return -c
	}
	return c
}

// tokens splits text into lower-case words.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// containsToken reports whether text contains the token, or, when the
// token has * wildcards, whether the text or one of its words matches it.
func containsToken(text, token string) bool {
	token = strings.ToLower(strings.TrimSpace(token))
	if token == "" {
		return false
	}
	if strings.Contains(token, "*") {
		if globMatch(token, strings.ToLower(text)) {
			return true
		}
		return slices.ContainsFunc(tokens(text), func(t string) bool { return globMatch(token, t) })
	}
	want := tokens(token)
	if len(want) == 0 {
		return false
	}
	words := tokens(text)
	// A multi-word token matches a run of consecutive words.
	for i := 0; i+len(want) <= len(words); i++ {
		if slices.Equal(words[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// globMatch matches s against a pattern whose only metacharacter is *.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
}

// matchesQuery is the free-text query: any string property containing it.
func matchesQuery(row sandbox.Row, q string) bool {
	for _, v := range row.Fields {
		if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}
