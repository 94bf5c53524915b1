package redisearch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	rs "github.com/RediSearch/redisearch-go/v2/redisearch"

	"github.com/crmpulse/crmpulse/store"
)

// Hash field names. Categorical and numeric fields carry the JSON names of
// store.Attrs, which are also the names store.Filter uses.
const (
	fieldVector = "vec"
	fieldText   = "text"
	fieldDate   = "date"
	fieldAmount = "amount"
	// distField is the name the KNN clause yields its distance as.
	distField = "dist"
)

// tagSeparator splits TAG values on write. The Query Engine's default (',')
// would split values such as "Acme, Inc."; the unit separator never occurs
// in CRM text, so every value indexes as exactly one tag.
const tagSeparator byte = 0x1f

// tagFields are the TAG fields, in schema order: the names Filter.Equals uses.
var tagFields = store.EqualsFields

// numericFields are the NUMERIC fields, in schema order: the names Range uses.
var numericFields = store.RangeFields

// returnFields is the RETURN list of every search: the distance and the
// attributes, never the vector blob.
var returnFields = append(append([]string{distField}, tagFields...), numericFields...)

// schema returns the FT.CREATE schema for vectors of dim dimensions.
func schema(dim int, o Options) *rs.Schema {
	s := rs.NewSchema(rs.DefaultOptions)
	for _, f := range tagFields {
		s.AddField(rs.NewTagFieldOptions(f, rs.TagFieldOptions{Separator: tagSeparator, CaseSensitive: true}))
	}
	for _, f := range numericFields {
		s.AddField(rs.NewSortableNumericField(f))
	}
	s.AddField(rs.NewTextField(fieldText))
	// redisearch-go sends the attributes from a map, so their order on the
	// wire varies between calls; the server reads them as name/value pairs
	// and the count it sends (2 per attribute) is right.
	s.AddField(rs.NewVectorFieldOptions(fieldVector, rs.VectorFieldOptions{
		Algorithm: rs.HNSW,
		Attributes: map[string]any{
			"TYPE":            "FLOAT32",
			"DIM":             dim,
			"DISTANCE_METRIC": "COSINE",
			"M":               o.M,
			"EF_CONSTRUCTION": o.EFConstruction,
		},
	}))
	return s
}

// indexDefinition is ON HASH PREFIX 1 <prefix>.
func indexDefinition(prefix string) *rs.IndexDefinition {
	return rs.NewIndexDefinition().SetIndexOn(rs.HASH).AddPrefix(prefix)
}

// filterExpr builds the pre-filter of a KNN query from a filter that passed
// store.Filter.Validate: "*" without filters, else a parenthesised
// conjunction of TAG clauses (fields in store.EqualsFields order, values as
// given, duplicates dropped) and NUMERIC clauses (Ranges in the order given).
//
//	(@industry:{manufacturing|retail} @type:{opportunity} @amount:[10000 +inf])
func filterExpr(f store.Filter) string {
	var clauses []string
	for _, field := range tagFields {
		vals, ok := f.Equals[field]
		if !ok {
			continue
		}
		esc := make([]string, 0, len(vals))
		for _, v := range vals {
			if e := EscapeTag(v); !slices.Contains(esc, e) {
				esc = append(esc, e)
			}
		}
		clauses = append(clauses, "@"+field+":{"+strings.Join(esc, "|")+"}")
	}
	for _, r := range f.Ranges {
		clauses = append(clauses, "@"+r.Field+":["+bound(r.Min, "-inf")+" "+bound(r.Max, "+inf")+"]")
	}
	if len(clauses) == 0 {
		return "*"
	}
	return "(" + strings.Join(clauses, " ") + ")"
}

// bound formats a finite numeric range bound in plain decimal notation (the
// query lexer need not handle exponents); nil is the open end.
func bound(v *float64, open string) string {
	if v == nil {
		return open
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// knnQuery is the full query string: the pre-filter and the KNN clause, with
// k, the vector and EF_RUNTIME passed as PARAMS.
func knnQuery(filter string) string {
	return filter + "=>[KNN $k @" + fieldVector + " $blob EF_RUNTIME $ef AS " + distField + "]"
}

// EscapeTag escapes a value for use inside a TAG clause (@field:{...}) with
// DIALECT 2: every character other than a letter, a digit or '_' gets a
// backslash, which covers the query syntax's specials ($ { } \ | - @ quotes,
// parentheses, brackets, punctuation) and white space; letters and digits of
// any script pass as they are.
func EscapeTag(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for _, r := range s {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Similarity converts a COSINE distance d (1 - cos, 0..2) to the vector-set
// similarity scale (1 + cos)/2 = 1 - d/2, clamped to [0,1] against rounding.
func Similarity(d float64) float64 {
	return min(1, max(0, 1-d/2))
}

// hashFields returns the HSET field/value pairs for an item whose attributes
// passed store.Attrs.Validate, and the attribute fields it leaves absent (to
// HDEL, so a replaced item loses stale values).
func hashFields(it store.Item) (set []any, unset []string, err error) {
	a := it.Attrs
	tags := []string{a.Type, a.Connection, a.Account, a.Record, a.Industry, a.SizeBand, a.Stage, a.Segment, a.Kind}
	set = append(set, fieldVector, store.EncodeFP32(it.Vector))
	for i, v := range tags {
		switch {
		case v == "":
			unset = append(unset, tagFields[i])
		case strings.IndexByte(v, tagSeparator) >= 0:
			// Attrs.Validate refuses control characters; this guards the
			// separator even if that rule changes.
			return nil, nil, fmt.Errorf("item %q: attribute %s contains the tag separator 0x1f: %w", it.ID, tagFields[i], store.ErrInvalidAttrs)
		default:
			set = append(set, tagFields[i], v)
		}
	}
	if a.Date != 0 {
		set = append(set, fieldDate, strconv.FormatInt(a.Date, 10))
	} else {
		unset = append(unset, fieldDate)
	}
	if a.Amount != 0 {
		set = append(set, fieldAmount, strconv.FormatFloat(a.Amount, 'f', -1, 64))
	} else {
		unset = append(unset, fieldAmount)
	}
	return set, unset, nil
}

// hit converts one search result; prefix is the hash key prefix.
func hit(d rs.Document, prefix string) (store.Hit, error) {
	id, ok := strings.CutPrefix(d.Id, prefix)
	if !ok {
		return store.Hit{}, fmt.Errorf("result key %q outside prefix %q", d.Id, prefix)
	}
	str := func(name string) string {
		s, _ := d.Properties[name].(string)
		return s
	}
	ds := str(distField)
	dist, err := strconv.ParseFloat(ds, 64)
	if err != nil {
		return store.Hit{}, fmt.Errorf("result %q: distance %q: %w", id, ds, err)
	}
	h := store.Hit{ID: id, Score: Similarity(dist)}
	a := &h.Attrs
	for i, p := range []*string{&a.Type, &a.Connection, &a.Account, &a.Record, &a.Industry, &a.SizeBand, &a.Stage, &a.Segment, &a.Kind} {
		*p = str(tagFields[i])
	}
	if s := str(fieldDate); s != "" {
		// Dates are written as integers; a float form (edited by hand) still reads.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return store.Hit{}, fmt.Errorf("result %q: date %q: %w", id, s, err)
		}
		a.Date = int64(f)
	}
	if s := str(fieldAmount); s != "" {
		if a.Amount, err = strconv.ParseFloat(s, 64); err != nil {
			return store.Hit{}, fmt.Errorf("result %q: amount %q: %w", id, s, err)
		}
	}
	return h, nil
}
