package sandbox

import (
	"math"
	"slices"
	"time"
)

// The store keeps each table column-wise: one column per field ever written,
// holding the values of every row (slot) in typed slices, so a row costs a
// few bytes per field instead of a map entry and a boxed value. The column's
// kind comes from the schema's field type (or, for fields outside the
// schema, from the first value written). A value that does not fit the kind
// (an int in a number column, a time outside UTC, an explicit nil) is kept
// as is in the column's odd map, so reads always return exactly what was
// written.

type colKind uint8

const (
	kNone   colKind = iota // no value yet; the first one decides
	kString                // plain strings: mostly distinct text
	kDict                  // strings coded through the store's dictionary
	kFloat
	kBool
	kTime // time.Time in UTC without monotonic reading, as Unix nanoseconds
	kDate // Date, as Unix nanoseconds of its midnight
	kAny  // anything else, boxed
)

// Dictionary columns whose values keep being new switch to plain strings:
// after dictMinRows values, when more than one in dictMaxNew added an entry.
const (
	dictMinRows = 1024
	dictMaxNew  = 4
)

// kindOf picks a column kind for a schema field type.
func kindOf(f *Field) colKind {
	switch f.Type {
	case FPicklist, FReference, FID, FString, FPhone, FURL, FEmail:
		return kDict // demoted to kString when the values are mostly distinct
	case FTextArea:
		return kString
	case FDouble, FCurrency, FPercent, FInt:
		return kFloat
	case FBoolean:
		return kBool
	case FDate:
		return kDate
	case FDateTime:
		return kTime
	}
	return kNone
}

// kindOfValue picks a column kind for a field outside the schema.
func kindOfValue(v any) colKind {
	switch v.(type) {
	case nil:
		return kNone
	case string:
		return kDict
	case float64:
		return kFloat
	case bool:
		return kBool
	case time.Time:
		return kTime
	case Date:
		return kDate
	}
	return kAny
}

// dict interns strings: each distinct value is stored (and boxed) once per
// store, and dictionary columns keep 4-byte codes.
type dict struct {
	vals  []any // code -> boxed string
	index map[string]uint32
}

func newDict() *dict { return &dict{index: map[string]uint32{}} }

// code returns s's code and whether it was new.
func (d *dict) code(s string) (uint32, bool) {
	if c, ok := d.index[s]; ok {
		return c, false
	}
	c := uint32(len(d.vals))
	d.vals = append(d.vals, any(s))
	d.index[s] = c
	return c, true
}

func (d *dict) str(c uint32) string { return d.vals[c].(string) }

// intern returns the stored copy of s when there is one (sharing its bytes).
func (d *dict) intern(s string) string {
	if c, ok := d.index[s]; ok {
		return d.str(c)
	}
	return s
}

// bitset is a growable set of slots.
type bitset []uint64

func (b bitset) get(i int32) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

func (b *bitset) set(i int32, v bool) {
	w := int(i >> 6)
	if w >= len(*b) {
		if !v {
			return
		}
		*b = grow(*b, int32(w))
	}
	if v {
		(*b)[w] |= 1 << (uint(i) & 63)
	} else {
		(*b)[w] &^= 1 << (uint(i) & 63)
	}
}

// grow returns s with length at least i+1, new elements zero.
func grow[T any](s []T, i int32) []T {
	n := int(i) + 1
	if n <= len(s) {
		return s
	}
	old := len(s)
	s = slices.Grow(s, n-old)[:n]
	clear(s[old:])
	return s
}

// reserve makes room for n elements without changing the length.
func reserve[T any](s []T, n int) []T {
	if n > cap(s) {
		return slices.Grow(s, n-len(s))
	}
	return s
}

// noTime is the encoding of the zero time.Time.
const noTime = math.MinInt64

// encTime encodes t as Unix nanoseconds when that decodes to an identical
// value (UTC location, no monotonic reading, years 1678-2262).
func encTime(t time.Time) (int64, bool) {
	if t == (time.Time{}) {
		return noTime, true
	}
	if t.Location() != time.UTC || t.Year() < 1678 || t.Year() > 2261 {
		return 0, false
	}
	n := t.UnixNano()
	if n == noTime || decTime(n) != t {
		return 0, false
	}
	return n, true
}

func decTime(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// column holds one field of every row of a table.
type column struct {
	name  string
	kind  colKind
	has   bitset // slots with a value (odd ones included)
	strs  []string
	codes []uint32
	nums  []float64
	ints  []int64
	bits  bitset
	anys  []any
	odd   map[int32]any // values that do not fit kind, explicit nil included
	// sets and fresh count values written and new dictionary entries made
	// by this column (kDict only), to demote it when values are distinct.
	sets, fresh int
}

func (c *column) reserve(n int) {
	switch c.kind {
	case kString:
		c.strs = reserve(c.strs, n)
	case kDict:
		c.codes = reserve(c.codes, n)
	case kFloat:
		c.nums = reserve(c.nums, n)
	case kTime, kDate:
		c.ints = reserve(c.ints, n)
	case kAny:
		c.anys = reserve(c.anys, n)
	}
}

// set stores v at slot.
func (c *column) set(slot int32, v any, d *dict, hint int) {
	if c.kind == kNone {
		c.kind = kindOfValue(v)
		c.reserve(hint)
	}
	c.has.set(slot, true)
	if c.odd != nil {
		delete(c.odd, slot)
	}
	switch c.kind {
	case kString:
		if s, ok := v.(string); ok {
			c.strs = grow(c.strs, slot)
			c.strs[slot] = s
			return
		}
	case kDict:
		if s, ok := v.(string); ok {
			code, fresh := d.code(s)
			c.codes = grow(c.codes, slot)
			c.codes[slot] = code
			c.sets++
			if fresh {
				c.fresh++
				if c.sets >= dictMinRows && c.fresh*dictMaxNew > c.sets {
					c.toStrings(d)
				}
			}
			return
		}
	case kFloat:
		if f, ok := v.(float64); ok {
			c.nums = grow(c.nums, slot)
			c.nums[slot] = f
			return
		}
	case kBool:
		if b, ok := v.(bool); ok {
			c.bits.set(slot, b)
			return
		}
	case kTime:
		if t, ok := v.(time.Time); ok {
			if n, ok := encTime(t); ok {
				c.ints = grow(c.ints, slot)
				c.ints[slot] = n
				return
			}
		}
	case kDate:
		if t, ok := v.(Date); ok {
			if n, ok := encTime(t.Time); ok {
				c.ints = grow(c.ints, slot)
				c.ints[slot] = n
				return
			}
		}
	case kAny:
		c.anys = grow(c.anys, slot)
		c.anys[slot] = v
		return
	}
	if c.odd == nil {
		c.odd = map[int32]any{}
	}
	c.odd[slot] = v
}

// toStrings demotes a dictionary column to plain strings.
func (c *column) toStrings(d *dict) {
	c.strs = make([]string, len(c.codes), max(cap(c.codes), len(c.codes)))
	for i, code := range c.codes {
		if c.has.get(int32(i)) {
			c.strs[i] = d.str(code)
		}
	}
	c.codes, c.kind = nil, kString
}

// get returns the value at slot.
func (c *column) get(slot int32, d *dict) (any, bool) {
	if !c.has.get(slot) {
		return nil, false
	}
	if c.odd != nil {
		if v, ok := c.odd[slot]; ok {
			return v, true
		}
	}
	switch c.kind {
	case kString:
		return c.strs[slot], true
	case kDict:
		return d.vals[c.codes[slot]], true
	case kFloat:
		return c.nums[slot], true
	case kBool:
		return c.bits.get(slot), true
	case kTime:
		return decTime(c.ints[slot]), true
	case kDate:
		return Date{decTime(c.ints[slot])}, true
	case kAny:
		return c.anys[slot], true
	}
	return nil, true
}

// str returns the string at slot without boxing ("" when absent or not a string).
func (c *column) str(slot int32, d *dict) string {
	if !c.has.get(slot) {
		return ""
	}
	if c.odd != nil {
		if v, ok := c.odd[slot]; ok {
			s, _ := v.(string)
			return s
		}
	}
	switch c.kind {
	case kString:
		return c.strs[slot]
	case kDict:
		return d.str(c.codes[slot])
	case kAny:
		s, _ := c.anys[slot].(string)
		return s
	}
	return ""
}

// num returns the number at slot without boxing.
func (c *column) num(slot int32) (float64, bool) {
	if !c.has.get(slot) {
		return 0, false
	}
	if c.odd != nil {
		if v, ok := c.odd[slot]; ok {
			f, ok := v.(float64)
			return f, ok
		}
	}
	switch c.kind {
	case kFloat:
		return c.nums[slot], true
	case kAny:
		f, ok := c.anys[slot].(float64)
		return f, ok
	}
	return 0, false
}

// boolean returns the bool at slot (false when absent or not a bool).
func (c *column) boolean(slot int32) bool {
	if !c.has.get(slot) {
		return false
	}
	if c.odd != nil {
		if v, ok := c.odd[slot]; ok {
			b, _ := v.(bool)
			return b
		}
	}
	switch c.kind {
	case kBool:
		return c.bits.get(slot)
	case kAny:
		b, _ := c.anys[slot].(bool)
		return b
	}
	return false
}

// time returns the datetime or date at slot (zero when absent or neither).
func (c *column) time(slot int32) time.Time {
	if !c.has.get(slot) {
		return time.Time{}
	}
	v, odd := c.odd[slot]
	switch {
	case odd:
	case c.kind == kTime, c.kind == kDate:
		return decTime(c.ints[slot])
	case c.kind == kAny:
		v = c.anys[slot]
	}
	switch x := v.(type) {
	case time.Time:
		return x
	case Date:
		return x.Time
	}
	return time.Time{}
}
