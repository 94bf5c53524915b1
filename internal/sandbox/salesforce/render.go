package salesforce

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Salesforce renders datetimes with milliseconds and an offset without colon.
const sfDateTimeLayout = "2006-01-02T15:04:05.000-0700"

func formatDateTime(t time.Time) string { return t.UTC().Format(sfDateTimeLayout) }

// obj is a JSON object that keeps its keys in insertion order, so responses
// list attributes first and fields in SELECT order like the real API.
type obj struct {
	keys []string
	vals map[string]any
}

func newObj() *obj { return &obj{vals: map[string]any{}} }

func (o *obj) set(k string, v any) *obj {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
	return o
}

func (o *obj) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshalNoEscape(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// jsonValue converts a stored value to its wire form for a field.
func jsonValue(f *sandbox.Field, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		if f != nil && f.Type == sandbox.FDate {
			return x.UTC().Format("2006-01-02")
		}
		return formatDateTime(x)
	case sandbox.Date:
		return x.String()
	case float64:
		if f != nil && f.Type == sandbox.FInt {
			return int64(x)
		}
		return x
	}
	return v
}

// attributes is the per-record "attributes" object.
func (h *handler) attributes(version, table, id string) *obj {
	return newObj().set("type", table).set("url", "/services/data/"+version+"/sobjects/"+table+"/"+id)
}

// renderRecord renders a row with the selected fields, nesting parent
// relationship fields as objects with their own attributes (null when the
// lookup is empty).
func (h *handler) renderRecord(c *evalCtx, version string, pl *plan, r sandbox.Row) *obj {
	rec := newObj().set("attributes", h.attributes(version, pl.table, r.ID))
	for _, bf := range pl.fields {
		h.placeField(c, version, rec, r, bf, 0)
	}
	return rec
}

func (h *handler) placeField(c *evalCtx, version string, into *obj, r sandbox.Row, bf *boundField, depth int) {
	if depth == len(bf.refs) {
		into.set(bf.field.Name, jsonValue(bf.field, fieldValue(r, bf.field)))
		return
	}
	name := bf.names[depth]
	if existing, ok := into.get(name); ok {
		child, isObj := existing.(*obj)
		if !isObj {
			return // lookup was empty: already null
		}
		parent := c.hop(r, bf, depth)
		if parent != nil {
			h.placeField(c, version, child, *parent, bf, depth+1)
		}
		return
	}
	parent := c.hop(r, bf, depth)
	if parent == nil {
		into.set(name, nil)
		return
	}
	table := bf.tables[depth+1]
	if sc, ok := c.cat.Schema(tableForID(c.cat, bf.refs[depth], parent.ID)); ok {
		table = sc.Name
	}
	child := newObj().set("attributes", h.attributes(version, table, parent.ID))
	into.set(name, child)
	h.placeField(c, version, child, *parent, bf, depth+1)
}

// tableForID picks the target table of a (possibly polymorphic,
// comma-separated) reference field for an id, by key prefix.
func tableForID(cat catalog, f *sandbox.Field, id string) string {
	targets := strings.Split(f.ReferenceTo, ",")
	if len(targets) == 1 || len(id) < 3 {
		return targets[0]
	}
	for _, t := range targets {
		if sc, ok := cat.Schema(t); ok && sc.KeyPrefix == id[:3] {
			return sc.Name
		}
	}
	return targets[0]
}

// renderFullRecord renders every visible field of a row (GET /sobjects/{type}/{id}).
func (h *handler) renderFullRecord(version string, sc *sandbox.Schema, r sandbox.Row, only []string) *obj {
	rec := newObj().set("attributes", h.attributes(version, sc.Name, r.ID))
	if len(only) > 0 {
		for _, n := range only {
			if f, ok := lookupField(sc, n); ok {
				rec.set(f.Name, jsonValue(f, fieldValue(r, f)))
			}
		}
		return rec
	}
	for _, f := range visibleFields(sc) {
		rec.set(f.Name, jsonValue(f, fieldValue(r, f)))
	}
	return rec
}
