package salesforce

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SOQL building. Every value goes through Literal, which quotes and escapes
// strings and rejects control characters; every identifier is checked against
// the API-name grammar. Nothing from a record or a user is ever pasted into
// query text.

// ErrUnsafeSOQL reports a value or identifier that cannot be put in a query.
var ErrUnsafeSOQL = errors.New("unsafe SOQL")

// SOQLTimeLayout formats dateTime literals (unquoted, UTC, milliseconds).
const SOQLTimeLayout = "2006-01-02T15:04:05.000Z"

// Date is a SOQL date literal (no time part).
type Date struct{ time.Time }

var identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)

// Ident validates a field, relationship path or object API name.
func Ident(s string) (string, error) {
	if len(s) > 255 || !identRE.MatchString(s) || strings.Contains(s, "___") {
		return "", fmt.Errorf("%w: identifier %q", ErrUnsafeSOQL, s)
	}
	return s, nil
}

// Literal renders a Go value as a SOQL literal: strings quoted with
// backslash escapes, time.Time as an unquoted UTC dateTime, Date as a date,
// bools as TRUE/FALSE, nil as null, numbers in decimal.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return Quote(x)
	case bool:
		if x {
			return "TRUE", nil
		}
		return "FALSE", nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("%w: number %v", ErrUnsafeSOQL, x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case time.Time:
		return x.UTC().Format(SOQLTimeLayout), nil
	case Date:
		return x.UTC().Format("2006-01-02"), nil
	}
	return "", fmt.Errorf("%w: unsupported literal type %T", ErrUnsafeSOQL, v)
}

// Quote quotes a string literal, escaping backslash, quotes and the
// whitespace controls SOQL knows (\n \r \t \b \f); any other control
// character is rejected.
func Quote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: string literal is not valid UTF-8", ErrUnsafeSOQL)
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%w: control character %U in string literal", ErrUnsafeSOQL, r)
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// LikePattern escapes s for use inside a LIKE pattern (% and _ literal),
// then wraps it with the given prefix and suffix wildcards.
func LikePattern(prefix, s, suffix string) (string, error) {
	for _, w := range prefix + suffix {
		if w != '%' && w != '_' {
			return "", fmt.Errorf("%w: LIKE wildcard %q", ErrUnsafeSOQL, w)
		}
	}
	q, err := Quote(s)
	if err != nil {
		return "", err
	}
	body := q[1 : len(q)-1]
	body = strings.ReplaceAll(body, "%", `\%`)
	body = strings.ReplaceAll(body, "_", `\_`)
	return "'" + prefix + body + suffix + "'", nil
}

// Cond is a WHERE condition.
type Cond interface{ soql() (string, error) }

type cmp struct {
	field, op string
	value     any
}

func (c cmp) soql() (string, error) {
	f, err := Ident(c.field)
	if err != nil {
		return "", err
	}
	l, err := Literal(c.value)
	if err != nil {
		return "", err
	}
	return f + " " + c.op + " " + l, nil
}

// Comparisons.
func Eq(field string, v any) Cond { return cmp{field, "=", v} }
func Ne(field string, v any) Cond { return cmp{field, "!=", v} }
func Gt(field string, v any) Cond { return cmp{field, ">", v} }
func Ge(field string, v any) Cond { return cmp{field, ">=", v} }
func Lt(field string, v any) Cond { return cmp{field, "<", v} }
func Le(field string, v any) Cond { return cmp{field, "<=", v} }

type in struct {
	field  string
	values []any
}

// In is field IN (values...).
func In(field string, values ...any) Cond { return in{field, values} }

func (c in) soql() (string, error) {
	f, err := Ident(c.field)
	if err != nil {
		return "", err
	}
	if len(c.values) == 0 {
		return "", fmt.Errorf("%w: empty IN list", ErrUnsafeSOQL)
	}
	parts := make([]string, len(c.values))
	for i, v := range c.values {
		if parts[i], err = Literal(v); err != nil {
			return "", err
		}
	}
	return f + " IN (" + strings.Join(parts, ", ") + ")", nil
}

type like struct{ field, prefix, s, suffix string }

// Like is field LIKE '<prefix><escaped s><suffix>' (prefix/suffix: % or _).
func Like(field, prefix, s, suffix string) Cond { return like{field, prefix, s, suffix} }

func (c like) soql() (string, error) {
	f, err := Ident(c.field)
	if err != nil {
		return "", err
	}
	p, err := LikePattern(c.prefix, c.s, c.suffix)
	if err != nil {
		return "", err
	}
	return f + " LIKE " + p, nil
}

type junction struct {
	op    string
	conds []Cond
}

// And and Or combine conditions (parenthesised).
func And(c ...Cond) Cond { return junction{"AND", c} }
func Or(c ...Cond) Cond  { return junction{"OR", c} }

func (j junction) soql() (string, error) {
	var parts []string
	for _, c := range j.conds {
		if c == nil {
			continue
		}
		s, err := c.soql()
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	switch len(parts) {
	case 0:
		return "", nil
	case 1:
		return parts[0], nil
	}
	return "(" + strings.Join(parts, " "+j.op+" ") + ")", nil
}

// Query is a SELECT statement.
type Query struct {
	Fields  []string
	From    string
	Where   Cond
	OrderBy []Order
	Limit   int
}

// Order is one ORDER BY key.
type Order struct {
	Field string
	Desc  bool
}

// String renders the query, or an error when anything is unsafe.
func (q Query) String() (string, error) {
	if len(q.Fields) == 0 {
		return "", fmt.Errorf("%w: no fields", ErrUnsafeSOQL)
	}
	fields := make([]string, len(q.Fields))
	for i, f := range q.Fields {
		var err error
		if fields[i], err = Ident(f); err != nil {
			return "", err
		}
	}
	from, err := Ident(q.From)
	if err != nil {
		return "", err
	}
	s := "SELECT " + strings.Join(fields, ", ") + " FROM " + from
	if q.Where != nil {
		w, err := q.Where.soql()
		if err != nil {
			return "", err
		}
		if w != "" {
			s += " WHERE " + w
		}
	}
	if len(q.OrderBy) > 0 {
		keys := make([]string, len(q.OrderBy))
		for i, o := range q.OrderBy {
			f, err := Ident(o.Field)
			if err != nil {
				return "", err
			}
			keys[i] = f + " ASC"
			if o.Desc {
				keys[i] = f + " DESC"
			}
		}
		s += " ORDER BY " + strings.Join(keys, ", ")
	}
	if q.Limit > 0 {
		s += " LIMIT " + strconv.Itoa(q.Limit)
	}
	return s, nil
}
