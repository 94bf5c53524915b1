package salesforce

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// catalog is what the SOQL evaluator reads. *sandbox.Store satisfies it; the
// Tooling API serves its CustomField table through a small in-memory one.
type catalog interface {
	Schema(name string) (*sandbox.Schema, bool)
	Get(table, id string) (sandbox.Row, bool)
	Scan(table string, fn func(sandbox.Row) bool) error
}

// viewCatalog is a catalog that can also read rows in place (the store).
type viewCatalog interface {
	ScanView(table string, fn func(sandbox.RowView) bool) error
}

var _ catalog = (*sandbox.Store)(nil)

// Virtual fields every object has even when a schema omits them.
var (
	virtualID        = &sandbox.Field{Name: "Id", Label: "Record ID", Type: sandbox.FID, Length: 18}
	virtualIsDeleted = &sandbox.Field{Name: "IsDeleted", Label: "Deleted", Type: sandbox.FBoolean}
)

// lookupField finds a field visible to the API user (hidden fields do not
// exist as far as the API is concerned).
func lookupField(sc *sandbox.Schema, name string) (*sandbox.Field, bool) {
	if f, ok := sc.Field(name); ok {
		if f.Hidden {
			return nil, false
		}
		return f, true
	}
	switch strings.ToLower(name) {
	case "id":
		return virtualID, true
	case "isdeleted":
		return virtualIsDeleted, true
	}
	return nil, false
}

// visibleFields lists a schema's fields as the API user sees them, with Id
// first and IsDeleted present.
func visibleFields(sc *sandbox.Schema) []*sandbox.Field {
	var out []*sandbox.Field
	if _, ok := sc.Field("Id"); !ok {
		out = append(out, virtualID)
	}
	for _, f := range sc.Fields {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	if _, ok := sc.Field("IsDeleted"); !ok {
		out = append(out, virtualIsDeleted)
	}
	return out
}

// relationField finds the reference field behind a relationship name:
// RelationshipName when set, else the field name without "Id" (standard) or
// with "__r" for "__c" (custom).
func relationField(sc *sandbox.Schema, rel string) (*sandbox.Field, bool) {
	for _, f := range sc.Fields {
		if f.Type != sandbox.FReference || f.Hidden || f.ReferenceTo == "" {
			continue
		}
		name := f.RelationshipName
		if name == "" {
			switch {
			case strings.HasSuffix(f.Name, "__c"):
				name = strings.TrimSuffix(f.Name, "__c") + "__r"
			case strings.HasSuffix(f.Name, "Id"):
				name = strings.TrimSuffix(f.Name, "Id")
			}
		}
		if strings.EqualFold(name, rel) {
			return f, true
		}
	}
	return nil, false
}

func relName(f *sandbox.Field) string {
	if f.RelationshipName != "" {
		return f.RelationshipName
	}
	if strings.HasSuffix(f.Name, "__c") {
		return strings.TrimSuffix(f.Name, "__c") + "__r"
	}
	return strings.TrimSuffix(f.Name, "Id")
}

// boundField is a resolved field path.
type boundField struct {
	refs   []*sandbox.Field // reference fields walked, outermost first
	tables []string         // table of each hop: tables[0] is the root
	field  *sandbox.Field
	names  []string // canonical output names: relationship names then the field
}

func (b *boundField) key() string { return strings.Join(b.names, ".") }

type valueKind int

const (
	kString valueKind = iota
	kID               // ids and references: exact, case-sensitive order
	kNumber
	kBool
	kDate
	kDateTime
)

func kindOf(f *sandbox.Field) valueKind {
	switch f.Type {
	case sandbox.FID, sandbox.FReference:
		return kID
	case sandbox.FDouble, sandbox.FCurrency, sandbox.FPercent, sandbox.FInt:
		return kNumber
	case sandbox.FBoolean:
		return kBool
	case sandbox.FDate:
		return kDate
	case sandbox.FDateTime:
		return kDateTime
	}
	return kString
}

func soapTypeName(f *sandbox.Field) string {
	switch kindOf(f) {
	case kNumber:
		if f.Type == sandbox.FInt {
			return "int"
		}
		return "double"
	case kBool:
		return "boolean"
	case kDate:
		return "date"
	case kDateTime:
		return "dateTime"
	case kID:
		return "id"
	}
	return "string"
}

// bound predicate nodes.
type pred interface {
	eval(ctx *evalCtx, r sandbox.Row) bool
}

type andPred []pred
type orPred []pred
type notPred struct{ x pred }
type cmpPred struct {
	f     *boundField
	op    string
	null  bool
	v     any       // comparable value (string, float64, bool, time.Time)
	lo    time.Time // relative literal range [lo, hi)
	hi    time.Time
	isRng bool
}
type inPred struct {
	f    *boundField
	not  bool
	vals []cmpPred
}
type likePred struct {
	f   *boundField
	pat string
}

func (p andPred) eval(c *evalCtx, r sandbox.Row) bool {
	for _, x := range p {
		if !x.eval(c, r) {
			return false
		}
	}
	return true
}

func (p orPred) eval(c *evalCtx, r sandbox.Row) bool {
	for _, x := range p {
		if x.eval(c, r) {
			return true
		}
	}
	return false
}

func (p notPred) eval(c *evalCtx, r sandbox.Row) bool { return !p.x.eval(c, r) }

func (p cmpPred) eval(c *evalCtx, r sandbox.Row) bool {
	v := c.value(r, p.f)
	return p.test(kindOf(p.f.field), v)
}

func (p cmpPred) test(k valueKind, v any) bool {
	if p.null {
		switch p.op {
		case "=":
			return v == nil
		case "!=":
			return v != nil
		}
		return false
	}
	if v == nil {
		return p.op == "!="
	}
	if p.isRng {
		t := asTime(v)
		switch p.op {
		case "=":
			return !t.Before(p.lo) && t.Before(p.hi)
		case "!=":
			return t.Before(p.lo) || !t.Before(p.hi)
		case "<":
			return t.Before(p.lo)
		case "<=":
			return t.Before(p.hi)
		case ">":
			return !t.Before(p.hi)
		case ">=":
			return !t.Before(p.lo)
		}
		return false
	}
	c := compareValues(k, v, p.v)
	switch p.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func (p inPred) eval(c *evalCtx, r sandbox.Row) bool {
	return p.matchValue(c.value(r, p.f))
}

func (p inPred) matchValue(v any) bool {
	k := kindOf(p.f.field)
	hit := false
	for _, x := range p.vals {
		if x.test(k, v) {
			hit = true
			break
		}
	}
	if p.not {
		return v != nil && !hit
	}
	return hit
}

// mayMatch reports whether a row can satisfy p, looking only at the row's
// own fields in place: comparisons of fields reached through a relationship,
// LIKE and NOT count as possibly true. It never rejects a row that eval
// accepts, so a query materialises only the rows that pass it and runs the
// full predicate on those (a page of an incremental read then copies about
// a page of rows rather than the whole table).
func mayMatch(p pred, v sandbox.RowView) bool {
	switch p := p.(type) {
	case nil:
		return true
	case andPred:
		for _, x := range p {
			if !mayMatch(x, v) {
				return false
			}
		}
		return true
	case orPred:
		for _, x := range p {
			if mayMatch(x, v) {
				return true
			}
		}
		return false
	case cmpPred:
		if len(p.f.refs) > 0 {
			return true
		}
		return p.test(kindOf(p.f.field), viewValue(v, p.f.field))
	case inPred:
		if len(p.f.refs) > 0 {
			return true
		}
		return p.matchValue(viewValue(v, p.f.field))
	}
	return true
}

// viewValue is fieldValue read in place.
func viewValue(v sandbox.RowView, f *sandbox.Field) any {
	switch {
	case f == virtualID || f.Name == "Id":
		return v.ID()
	case f == virtualIsDeleted || f.Name == "IsDeleted":
		return v.Deleted()
	}
	x, ok := v.Get(f.Name)
	if !ok {
		return nil
	}
	return x
}

func (p likePred) eval(c *evalCtx, r sandbox.Row) bool {
	v, ok := c.value(r, p.f).(string)
	if !ok {
		return false
	}
	return likeMatch(strings.ToLower(p.pat), strings.ToLower(v))
}

// likeMatch matches SOQL LIKE: % any run, _ one character, \ escapes.
func likeMatch(pat, s string) bool {
	p, r := []rune(pat), []rune(s)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var res bool
		switch {
		case i == len(p):
			res = j == len(r)
		case p[i] == '%':
			res = match(i+1, j) || (j < len(r) && match(i, j+1))
		case p[i] == '_':
			res = j < len(r) && match(i+1, j+1)
		case p[i] == '\\' && i+1 < len(p):
			res = j < len(r) && r[j] == p[i+1] && match(i+2, j+1)
		default:
			res = j < len(r) && r[j] == p[i] && match(i+1, j+1)
		}
		memo[k] = res
		return res
	}
	return match(0, 0)
}

func asTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case sandbox.Date:
		return t.Time
	}
	return time.Time{}
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// compareValues orders two non-nil values of a field kind.
func compareValues(k valueKind, a, b any) int {
	switch k {
	case kNumber:
		x, _ := asFloat(a)
		y, _ := asFloat(b)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case kBool:
		x, _ := a.(bool)
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case kDate, kDateTime:
		return asTime(a).Compare(asTime(b))
	case kID:
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	}
	return strings.Compare(strings.ToLower(fmt.Sprint(a)), strings.ToLower(fmt.Sprint(b)))
}

// plan is a bound query ready to run.
type plan struct {
	table   string
	schema  *sandbox.Schema
	fields  []*boundField
	count   bool
	where   pred
	orderBy []boundOrder
	limit   int
	offset  int
}

type boundOrder struct {
	f          *boundField
	desc       bool
	nullsFirst bool
}

type binder struct {
	cat catalog
	q   string
	now time.Time
}

func invalidField(q string, f fieldRef, object string) *soqlError {
	return &soqlError{code: "INVALID_FIELD", fields: []string{f.text}, msg: located(q, f.pos, fmt.Sprintf(
		"No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
		f.path[len(f.path)-1], object))}
}

// bindQuery resolves a parsed query against the catalog.
func bindQuery(cat catalog, pq *parsedQuery, now time.Time) (*plan, error) {
	b := &binder{cat: cat, q: pq.src, now: now}
	sc, ok := cat.Schema(pq.object)
	if !ok {
		return nil, &soqlError{code: "INVALID_TYPE", msg: located(pq.src, pq.objPos, fmt.Sprintf(
			"sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
			pq.object))}
	}
	pl := &plan{table: sc.Name, schema: sc, count: pq.count, limit: pq.limit, offset: pq.offset}
	seen := map[string]bool{}
	for _, fr := range pq.fields {
		bf, err := b.field(sc, fr)
		if err != nil {
			return nil, err
		}
		if seen[strings.ToLower(bf.key())] {
			return nil, &soqlError{code: "INVALID_FIELD", fields: []string{fr.text},
				msg: located(pq.src, fr.pos, fmt.Sprintf("duplicate field selected: %s", bf.key()))}
		}
		seen[strings.ToLower(bf.key())] = true
		pl.fields = append(pl.fields, bf)
	}
	if pq.where != nil {
		w, err := b.expr(sc, pq.where)
		if err != nil {
			return nil, err
		}
		pl.where = w
	}
	for _, o := range pq.orderBy {
		bf, err := b.field(sc, o.f)
		if err != nil {
			return nil, err
		}
		pl.orderBy = append(pl.orderBy, boundOrder{f: bf, desc: o.desc, nullsFirst: o.nullsFirst})
	}
	return pl, nil
}

func (b *binder) field(sc *sandbox.Schema, fr fieldRef) (*boundField, error) {
	bf := &boundField{tables: []string{sc.Name}}
	cur := sc
	for i, seg := range fr.path {
		if i == len(fr.path)-1 {
			f, ok := lookupField(cur, seg)
			if !ok {
				return nil, invalidField(b.q, fr, cur.Name)
			}
			bf.field = f
			bf.names = append(bf.names, f.Name)
			return bf, nil
		}
		rf, ok := relationField(cur, seg)
		if !ok {
			return nil, &soqlError{code: "INVALID_FIELD", fields: []string{fr.text}, msg: located(b.q, fr.pos, fmt.Sprintf(
				"Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
				seg))}
		}
		next, ok := b.cat.Schema(strings.Split(rf.ReferenceTo, ",")[0])
		if !ok {
			return nil, invalidField(b.q, fr, cur.Name)
		}
		bf.refs = append(bf.refs, rf)
		bf.names = append(bf.names, relName(rf))
		bf.tables = append(bf.tables, next.Name)
		cur = next
	}
	return bf, nil
}

func (b *binder) expr(sc *sandbox.Schema, e expr) (pred, error) {
	switch x := e.(type) {
	case andExpr:
		var out andPred
		for _, it := range x.items {
			p, err := b.expr(sc, it)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	case orExpr:
		var out orPred
		for _, it := range x.items {
			p, err := b.expr(sc, it)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	case notExpr:
		p, err := b.expr(sc, x.x)
		if err != nil {
			return nil, err
		}
		return notPred{p}, nil
	case cmpExpr:
		bf, err := b.field(sc, x.f)
		if err != nil {
			return nil, err
		}
		return b.cmp(bf, x.f, x.op, x.val)
	case inExpr:
		bf, err := b.field(sc, x.f)
		if err != nil {
			return nil, err
		}
		p := inPred{f: bf, not: x.not}
		for _, v := range x.vals {
			c, err := b.cmp(bf, x.f, "=", v)
			if err != nil {
				return nil, err
			}
			p.vals = append(p.vals, c)
		}
		return p, nil
	case likeExpr:
		bf, err := b.field(sc, x.f)
		if err != nil {
			return nil, err
		}
		if k := kindOf(bf.field); k != kString && k != kID {
			return nil, &soqlError{code: "INVALID_FIELD", fields: []string{x.f.text}, msg: located(b.q, x.f.pos,
				fmt.Sprintf("invalid operator on %s field: LIKE", soapTypeName(bf.field)))}
		}
		return likePred{f: bf, pat: x.pat.str}, nil
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func typeMismatch(q string, fr fieldRef, f *sandbox.Field, lit literal) *soqlError {
	return &soqlError{code: "INVALID_FIELD", fields: []string{fr.text}, msg: located(q, lit.pos, fmt.Sprintf(
		"value of filter criterion for field '%s' must be of type %s and should not be enclosed in quotes", f.Name, soapTypeName(f)))}
}

func (b *binder) cmp(bf *boundField, fr fieldRef, op string, lit literal) (cmpPred, error) {
	f := bf.field
	k := kindOf(f)
	p := cmpPred{f: bf, op: op}
	if lit.kind == lNull {
		if op != "=" && op != "!=" {
			return p, &soqlError{code: "MALFORMED_QUERY", msg: located(b.q, lit.pos, "unexpected token: 'null'")}
		}
		p.null = true
		return p, nil
	}
	bad := func() (cmpPred, error) { return p, typeMismatch(b.q, fr, f, lit) }
	switch lit.kind {
	case lString:
		if k != kString && k != kID {
			return bad()
		}
		p.v = lit.str
	case lNumber:
		if k != kNumber {
			return bad()
		}
		p.v = lit.num
	case lBool:
		if k != kBool {
			return bad()
		}
		p.v = lit.b
	case lDate:
		if k != kDate {
			return bad()
		}
		t, err := time.Parse("2006-01-02", lit.text)
		if err != nil {
			return p, &soqlError{code: "MALFORMED_QUERY", msg: located(b.q, lit.pos, fmt.Sprintf("unexpected token: '%s'", lit.text))}
		}
		p.v = t
	case lDateTime:
		if k != kDateTime {
			return bad()
		}
		t, err := parseDateTime(lit.text)
		if err != nil {
			return p, &soqlError{code: "MALFORMED_QUERY", msg: located(b.q, lit.pos, fmt.Sprintf("unexpected token: '%s'", lit.text))}
		}
		p.v = t
	case lRelative:
		if k != kDate && k != kDateTime {
			return bad()
		}
		p.lo, p.hi = relativeRange(lit.str, lit.n, b.now)
		p.isRng = true
	}
	return p, nil
}

// parseDateTime accepts the ISO-8601 forms SOQL and the REST API accept.
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{
		"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad dateTime %q", s)
}

// relativeRange returns [lo, hi) for a relative date literal, in UTC with
// weeks starting on Sunday and calendar quarters.
func relativeRange(name string, n int, now time.Time) (time.Time, time.Time) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	week := day.AddDate(0, 0, -int(day.Weekday()))
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	quarter := time.Date(now.Year(), time.Month((int(now.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	year := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	switch name {
	case "YESTERDAY":
		return day.AddDate(0, 0, -1), day
	case "TODAY":
		return day, day.AddDate(0, 0, 1)
	case "TOMORROW":
		return day.AddDate(0, 0, 1), day.AddDate(0, 0, 2)
	case "LAST_WEEK":
		return week.AddDate(0, 0, -7), week
	case "THIS_WEEK":
		return week, week.AddDate(0, 0, 7)
	case "NEXT_WEEK":
		return week.AddDate(0, 0, 7), week.AddDate(0, 0, 14)
	case "LAST_MONTH":
		return month.AddDate(0, -1, 0), month
	case "THIS_MONTH":
		return month, month.AddDate(0, 1, 0)
	case "NEXT_MONTH":
		return month.AddDate(0, 1, 0), month.AddDate(0, 2, 0)
	case "LAST_90_DAYS":
		return day.AddDate(0, 0, -90), day.AddDate(0, 0, 1)
	case "NEXT_90_DAYS":
		return day.AddDate(0, 0, 1), day.AddDate(0, 0, 91)
	case "LAST_QUARTER":
		return quarter.AddDate(0, -3, 0), quarter
	case "THIS_QUARTER":
		return quarter, quarter.AddDate(0, 3, 0)
	case "NEXT_QUARTER":
		return quarter.AddDate(0, 3, 0), quarter.AddDate(0, 6, 0)
	case "LAST_YEAR":
		return year.AddDate(-1, 0, 0), year
	case "THIS_YEAR":
		return year, year.AddDate(1, 0, 0)
	case "NEXT_YEAR":
		return year.AddDate(1, 0, 0), year.AddDate(2, 0, 0)
	case "LAST_N_DAYS":
		return day.AddDate(0, 0, -n), day.AddDate(0, 0, 1)
	case "NEXT_N_DAYS":
		return day.AddDate(0, 0, 1), day.AddDate(0, 0, 1+n)
	case "N_DAYS_AGO":
		return day.AddDate(0, 0, -n), day.AddDate(0, 0, -n+1)
	case "LAST_N_WEEKS":
		return week.AddDate(0, 0, -7*n), week
	case "NEXT_N_WEEKS":
		return week.AddDate(0, 0, 7), week.AddDate(0, 0, 7*(n+1))
	case "N_WEEKS_AGO":
		return week.AddDate(0, 0, -7*n), week.AddDate(0, 0, -7*n+7)
	case "LAST_N_MONTHS":
		return month.AddDate(0, -n, 0), month
	case "NEXT_N_MONTHS":
		return month.AddDate(0, 1, 0), month.AddDate(0, 1+n, 0)
	case "N_MONTHS_AGO":
		return month.AddDate(0, -n, 0), month.AddDate(0, -n+1, 0)
	case "LAST_N_YEARS":
		return year.AddDate(-n, 0, 0), year
	case "NEXT_N_YEARS":
		return year.AddDate(1, 0, 0), year.AddDate(1+n, 0, 0)
	case "N_YEARS_AGO":
		return year.AddDate(-n, 0, 0), year.AddDate(-n+1, 0, 0)
	}
	return day, day
}

// evalCtx resolves field values, following parent references with a cache.
type evalCtx struct {
	cat     catalog
	parents map[string]*sandbox.Row // table+"/"+id -> row (nil: missing)
}

func newEvalCtx(cat catalog) *evalCtx {
	return &evalCtx{cat: cat, parents: map[string]*sandbox.Row{}}
}

func fieldValue(r sandbox.Row, f *sandbox.Field) any {
	switch f {
	case virtualID:
		return r.ID
	case virtualIsDeleted:
		return r.Deleted
	}
	switch f.Name {
	case "Id":
		return r.ID
	case "IsDeleted":
		return r.Deleted
	}
	v, ok := r.Fields[f.Name]
	if !ok {
		return nil
	}
	return v
}

func (c *evalCtx) parent(table, id string) *sandbox.Row {
	k := table + "/" + id
	if r, ok := c.parents[k]; ok {
		return r
	}
	var p *sandbox.Row
	if r, ok := c.cat.Get(table, id); ok {
		p = &r
	}
	c.parents[k] = p
	return p
}

// hop follows the i-th reference of bf from row r; nil when the lookup is empty.
func (c *evalCtx) hop(r sandbox.Row, bf *boundField, i int) *sandbox.Row {
	id, _ := fieldValue(r, bf.refs[i]).(string)
	if id == "" {
		return nil
	}
	return c.parent(tableForID(c.cat, bf.refs[i], id), id)
}

func (c *evalCtx) value(r sandbox.Row, bf *boundField) any {
	cur := r
	for i := range bf.refs {
		p := c.hop(cur, bf, i)
		if p == nil {
			return nil
		}
		cur = *p
	}
	return fieldValue(cur, bf.field)
}

// run evaluates a plan over rows (already filtered for visibility) and
// returns the matching rows in result order.
func (pl *plan) run(c *evalCtx, rows []sandbox.Row) []sandbox.Row {
	var out []sandbox.Row
	for _, r := range rows {
		if pl.where == nil || pl.where.eval(c, r) {
			out = append(out, r)
		}
	}
	if len(pl.orderBy) > 0 {
		type keyed struct {
			r sandbox.Row
			k []any
		}
		ks := make([]keyed, len(out))
		for i, r := range out {
			ks[i].r = r
			for _, o := range pl.orderBy {
				ks[i].k = append(ks[i].k, c.value(r, o.f))
			}
		}
		sort.SliceStable(ks, func(i, j int) bool {
			for n, o := range pl.orderBy {
				a, b := ks[i].k[n], ks[j].k[n]
				var cmp int
				switch {
				case a == nil && b == nil:
					cmp = 0
				case a == nil:
					cmp = -1
					if !o.nullsFirst {
						cmp = 1
					}
				case b == nil:
					cmp = 1
					if !o.nullsFirst {
						cmp = -1
					}
				default:
					cmp = compareValues(kindOf(o.f.field), a, b)
					if o.desc {
						cmp = -cmp
					}
				}
				if cmp != 0 {
					return cmp < 0
				}
			}
			return false
		})
		for i := range ks {
			out[i] = ks[i].r
		}
	}
	if pl.offset > 0 {
		if pl.offset >= len(out) {
			out = nil
		} else {
			out = out[pl.offset:]
		}
	}
	if pl.limit >= 0 && len(out) > pl.limit {
		out = out[:pl.limit]
	}
	return out
}
