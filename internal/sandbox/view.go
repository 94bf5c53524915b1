package sandbox

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// RowView reads one stored record in place. It is valid only inside the
// ScanView or ScanFrom callback that received it (the store is read-locked
// there); Row makes a copy that outlives it.
type RowView struct {
	t    *table
	slot int32
}

// ID returns the record id.
func (v RowView) ID() string { return v.t.ids[v.slot] }

// Deleted reports whether the record is soft-deleted.
func (v RowView) Deleted() bool { return v.t.deleted.get(v.slot) }

// DeletedAt returns when the record was soft-deleted (zero when live).
func (v RowView) DeletedAt() time.Time {
	if n, ok := v.t.deletedAt[v.slot]; ok {
		return decTime(n)
	}
	return time.Time{}
}

// CreatedAt returns the insert stamp.
func (v RowView) CreatedAt() time.Time { return decTime(v.t.created[v.slot]) }

// ModifiedAt returns the stamp of the last write.
func (v RowView) ModifiedAt() time.Time { return decTime(v.t.modified[v.slot]) }

// CreatedBy returns the actor of the insert.
func (v RowView) CreatedBy() string { return v.t.s.dict.str(v.t.createdBy[v.slot]) }

// ModifiedBy returns the actor of the last write.
func (v RowView) ModifiedBy() string { return v.t.s.dict.str(v.t.modifiedBy[v.slot]) }

// Get returns a field by case-insensitive name, as Row.Get does on a copy.
func (v RowView) Get(name string) (any, bool) {
	r := v.t.resolve(name)
	if r.col >= 0 {
		if x, ok := v.t.cols[r.col].get(v.slot, v.t.s.dict); ok {
			return x, true
		}
	}
	switch r.virt {
	case 'i':
		return v.ID(), true
	case 'c':
		return v.CreatedAt(), true
	case 'm':
		return v.ModifiedAt(), true
	}
	return nil, false
}

// Str returns a string field without boxing it ("" when absent or not a
// string).
func (v RowView) Str(name string) string {
	r := v.t.resolve(name)
	if r.col >= 0 && v.t.cols[r.col].has.get(v.slot) {
		return v.t.cols[r.col].str(v.slot, v.t.s.dict)
	}
	if r.virt == 'i' {
		return v.ID()
	}
	return ""
}

// Float returns a number field; ok is false when absent or not a number.
func (v RowView) Float(name string) (float64, bool) {
	if r := v.t.resolve(name); r.col >= 0 {
		return v.t.cols[r.col].num(v.slot)
	}
	return 0, false
}

// Bool returns a boolean field (false when absent or not a bool).
func (v RowView) Bool(name string) bool {
	if r := v.t.resolve(name); r.col >= 0 {
		return v.t.cols[r.col].boolean(v.slot)
	}
	return false
}

// Time returns a datetime field, or a date field's midnight (zero when
// absent or neither).
func (v RowView) Time(name string) time.Time {
	r := v.t.resolve(name)
	if r.col >= 0 && v.t.cols[r.col].has.get(v.slot) {
		return v.t.cols[r.col].time(v.slot)
	}
	switch r.virt {
	case 'c':
		return v.CreatedAt()
	case 'm':
		return v.ModifiedAt()
	}
	return time.Time{}
}

// Row returns a copy of the record.
func (v RowView) Row() Row { return v.t.row(v.slot) }

// RowFields is Row without History (nil): the cheaper copy for readers
// that only need the values.
func (v RowView) RowFields() Row { return v.t.rowFields(v.slot) }

// row materialises a slot as a Row. Every field carries a history entry:
// the last write of it after the insert, else the insert's stamp and actor.
func (t *table) row(slot int32) Row {
	r := t.rowFields(slot)
	d := t.s.dict
	r.History = make(map[string]Change, len(r.Fields))
	for k := range r.Fields {
		r.History[k] = Change{At: r.CreatedAt, Actor: r.CreatedBy}
	}
	for _, h := range t.hist[slot] {
		if _, ok := r.Fields[h.name]; ok {
			r.History[h.name] = Change{At: decTime(h.at), Actor: d.str(h.actor)}
		}
	}
	return r
}

// rowFields materialises a slot's values, without History.
func (t *table) rowFields(slot int32) Row {
	d := t.s.dict
	r := Row{ID: t.ids[slot], Deleted: t.deleted.get(slot), CreatedAt: decTime(t.created[slot]),
		ModifiedAt: decTime(t.modified[slot]), CreatedBy: d.str(t.createdBy[slot]), ModifiedBy: d.str(t.modifiedBy[slot])}
	if n, ok := t.deletedAt[slot]; ok {
		r.DeletedAt = decTime(n)
	}
	r.Fields = make(map[string]any, len(t.cols)+len(t.vcre)+len(t.vmod)+1)
	if f := t.s.opt.IDField; f != "" {
		r.Fields[f] = r.ID
	}
	for _, f := range t.vcre {
		r.Fields[f] = r.CreatedAt
	}
	for _, f := range t.vmod {
		r.Fields[f] = r.ModifiedAt
	}
	for _, c := range t.cols {
		if x, ok := c.get(slot, d); ok {
			r.Fields[c.name] = x
		}
	}
	return r
}

// ScanView calls fn with every record (live and soft-deleted) in insertion
// order until fn returns false, without copying them. The store is
// read-locked throughout: fn must not write to the store, and v is valid
// only during the call.
func (s *Store) ScanView(tableName string, fn func(v RowView) bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	for slot := range int32(len(t.ids)) {
		if t.purged.get(slot) {
			continue
		}
		if !fn(RowView{t, slot}) {
			return nil
		}
	}
	return nil
}

// ScanFrom calls fn with the records (live and soft-deleted) whose id
// follows afterID in CompareIDs order, in that order, until fn returns
// false; an empty afterID starts at the first id. Paging by id costs the
// page, not the table. The locking rules of ScanView apply.
func (s *Store) ScanFrom(tableName, afterID string, fn func(v RowView) bool) error {
	s.mu.RLock()
	t, ok := s.table(tableName)
	for ok && t.unsorted {
		s.mu.RUnlock()
		s.mu.Lock()
		t.sortIDs()
		s.mu.Unlock()
		s.mu.RLock()
		t, ok = s.table(tableName)
	}
	defer s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	i := 0
	if afterID != "" {
		i = sort.Search(len(t.sorted), func(k int) bool { return CompareIDs(t.ids[t.sorted[k]], afterID) > 0 })
	}
	for _, slot := range t.sorted[i:] {
		if t.purged.get(slot) {
			continue
		}
		if !fn(RowView{t, slot}) {
			return nil
		}
	}
	return nil
}

// sortIDs rebuilds the id order after out-of-order inserts.
func (t *table) sortIDs() {
	if !t.unsorted {
		return
	}
	t.sorted = make([]int32, len(t.ids))
	for i := range t.sorted {
		t.sorted[i] = int32(i)
	}
	slices.SortFunc(t.sorted, func(a, b int32) int {
		if c := CompareIDs(t.ids[a], t.ids[b]); c != 0 {
			return c
		}
		return int(a - b) // a purged id inserted again: older slot first
	})
	t.unsorted = false
}
