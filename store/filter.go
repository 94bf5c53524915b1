package store

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
)

var (
	// ErrInvalidFilter: a Filter names an unknown field, has an empty value
	// list, an empty or unsafe value, or an empty or inverted range.
	ErrInvalidFilter = errors.New("invalid vector filter")
	// ErrInvalidAttrs: an Item's attributes hold a value that could not be
	// matched by a filter (quote, backslash or control characters).
	ErrInvalidAttrs = errors.New("invalid vector attributes")
)

// EqualsFields are the attribute names Filter.Equals accepts.
var EqualsFields = []string{"type", "conn", "account", "record", "industry", "size", "stage", "segment", "kind"}

// RangeFields are the attribute names Range.Field accepts.
var RangeFields = []string{"date", "amount"}

// Text returns the string attribute with the given JSON name ("" when the
// name is unknown or the value absent).
func (a Attrs) Text(field string) string {
	switch field {
	case "type":
		return a.Type
	case "conn":
		return a.Connection
	case "account":
		return a.Account
	case "record":
		return a.Record
	case "industry":
		return a.Industry
	case "size":
		return a.SizeBand
	case "stage":
		return a.Stage
	case "segment":
		return a.Segment
	case "kind":
		return a.Kind
	}
	return ""
}

// Number returns the numeric attribute with the given JSON name and whether
// it is present (zero values are absent).
func (a Attrs) Number(field string) (float64, bool) {
	switch field {
	case "date":
		return float64(a.Date), a.Date != 0
	case "amount":
		return a.Amount, a.Amount != 0
	}
	return 0, false
}

// Validate reports whether every string attribute can be stored and matched
// exactly by both index flavours.
func (a Attrs) Validate() error {
	for _, f := range EqualsFields {
		if err := checkValue(a.Text(f)); err != nil {
			return fmt.Errorf("%w: attribute %s=%q: %v", ErrInvalidAttrs, f, a.Text(f), err)
		}
	}
	if math.IsNaN(a.Amount) || math.IsInf(a.Amount, 0) {
		return fmt.Errorf("%w: attribute amount=%v is not finite", ErrInvalidAttrs, a.Amount)
	}
	return nil
}

// Validate checks field names, values and ranges; errors wrap ErrInvalidFilter
// and name the offending field and value.
func (f Filter) Validate() error {
	for field, vals := range f.Equals {
		if !contains(EqualsFields, field) {
			return fmt.Errorf("%w: unknown equals field %q (want one of %s)", ErrInvalidFilter, field, strings.Join(EqualsFields, ", "))
		}
		if len(vals) == 0 {
			return fmt.Errorf("%w: equals field %q has no values", ErrInvalidFilter, field)
		}
		for _, v := range vals {
			if v == "" {
				return fmt.Errorf("%w: equals field %q has an empty value", ErrInvalidFilter, field)
			}
			if err := checkValue(v); err != nil {
				return fmt.Errorf("%w: equals field %q value %q: %v", ErrInvalidFilter, field, v, err)
			}
		}
	}
	for i, r := range f.Ranges {
		if !contains(RangeFields, r.Field) {
			return fmt.Errorf("%w: range %d: unknown field %q (want one of %s)", ErrInvalidFilter, i, r.Field, strings.Join(RangeFields, ", "))
		}
		if r.Min == nil && r.Max == nil {
			return fmt.Errorf("%w: range %d on %q has neither min nor max", ErrInvalidFilter, i, r.Field)
		}
		for _, p := range []*float64{r.Min, r.Max} {
			if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
				return fmt.Errorf("%w: range %d on %q has a bound that is not finite", ErrInvalidFilter, i, r.Field)
			}
		}
		if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
			return fmt.Errorf("%w: range %d on %q has min %v above max %v", ErrInvalidFilter, i, r.Field, *r.Min, *r.Max)
		}
	}
	return nil
}

// Match reports whether attributes a pass the filter, with the semantics
// every flavour implements: each Equals field equals one of its values
// (byte-exact), and each Range's field is present and within its bounds
// (inclusive). It is the reference for brute-force checks.
func (f Filter) Match(a Attrs) bool {
	for field, vals := range f.Equals {
		v := a.Text(field)
		if v == "" || !contains(vals, v) {
			return false
		}
	}
	for _, r := range f.Ranges {
		v, ok := a.Number(r.Field)
		if !ok || (r.Min != nil && v < *r.Min) || (r.Max != nil && v > *r.Max) {
			return false
		}
	}
	return true
}

// Between returns a Range on field with inclusive bounds; use nil pointers
// through a Range literal for open ends.
func Between(field string, min, max float64) Range {
	return Range{Field: field, Min: &min, Max: &max}
}

// AtLeast returns a Range on field with only a lower (inclusive) bound.
func AtLeast(field string, min float64) Range { return Range{Field: field, Min: &min} }

// AtMost returns a Range on field with only an upper (inclusive) bound.
func AtMost(field string, max float64) Range { return Range{Field: field, Max: &max} }

// checkValue refuses characters that JSON would escape or that a filter
// literal cannot carry: a stored value holding them could never be matched.
func checkValue(v string) error {
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			return fmt.Errorf("quote or backslash %q not allowed", r)
		case r == '\u2028' || r == '\u2029' || unicode.IsControl(r):
			return fmt.Errorf("control character %U not allowed", r)
		case r == unicode.ReplacementChar:
			return errors.New("invalid UTF-8")
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
