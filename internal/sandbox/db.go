package sandbox

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Field types, named as Salesforce's describe names them. The HubSpot dialect
// maps them to its own property types.
const (
	FID        = "id"
	FString    = "string"
	FTextArea  = "textarea"
	FDouble    = "double"
	FCurrency  = "currency"
	FPercent   = "percent"
	FInt       = "int"
	FBoolean   = "boolean"
	FDate      = "date"
	FDateTime  = "datetime"
	FPicklist  = "picklist"
	FReference = "reference"
	FEmail     = "email"
	FPhone     = "phone"
	FURL       = "url"
)

// Field describes one column of a table.
type Field struct {
	Name             string
	Label            string
	Type             string
	Length           int // strings; 0 means the type's default
	Custom           bool
	Updateable       bool
	Createable       bool
	Nillable         bool
	ReferenceTo      string   // FReference: target table
	RelationshipName string   // FReference: parent relationship name, e.g. "Account"
	Options          []string // FPicklist / enumeration values
	Group            string   // HubSpot property group
	// OptionLabels are the display labels of Options, index for index; nil
	// means every label equals its value.
	OptionLabels []string
	// Hidden fields exist but the API user has no field-level security on them
	// (Salesforce custom fields right after Tooling API creation).
	Hidden bool
}

// References returns the tables a reference field points to. Polymorphic
// fields (Task.WhatId) list several, comma-separated, in ReferenceTo.
func (f *Field) References() []string {
	if f.ReferenceTo == "" {
		return nil
	}
	return strings.Split(f.ReferenceTo, ",")
}

// OptionLabel returns the label of picklist value v (v itself when unlabeled).
func (f *Field) OptionLabel(v string) string {
	for i, o := range f.Options {
		if o == v && i < len(f.OptionLabels) {
			return f.OptionLabels[i]
		}
	}
	return v
}

// Schema is a table definition.
type Schema struct {
	Name      string // canonical name: "Account" / "companies"
	KeyPrefix string // Salesforce 3-char id prefix; empty for HubSpot (numeric ids)
	Fields    []*Field

	byLower map[string]*Field
}

// Field returns a field by case-insensitive name.
func (s *Schema) Field(name string) (*Field, bool) {
	f, ok := s.byLower[strings.ToLower(name)]
	return f, ok
}

func (s *Schema) index() {
	s.byLower = make(map[string]*Field, len(s.Fields))
	for _, f := range s.Fields {
		s.byLower[strings.ToLower(f.Name)] = f
	}
}

// Date is a calendar date without time (Salesforce "date" fields).
type Date struct{ time.Time }

// NewDate truncates t to its UTC calendar day.
func NewDate(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

func (d Date) String() string { return d.Format("2006-01-02") }

// Row is one record. Values in Fields are string, float64, bool, time.Time
// (datetime), Date or nil. Rows handed out by the Store are copies.
type Row struct {
	ID         string
	Fields     map[string]any
	Deleted    bool      // in the recycle bin / archived (soft-deleted)
	DeletedAt  time.Time // when soft-deleted
	CreatedAt  time.Time
	ModifiedAt time.Time // the stamp that incremental reads use
	ModifiedBy string    // actor of the last write ("user", "integration:<client>", "automation")
	CreatedBy  string    // actor of the insert
	// History keeps, per field, who set its current value and when
	// (HubSpot propertiesWithHistory; echo-loop detection).
	History map[string]Change
}

// Change records the source of a field's current value.
type Change struct {
	At    time.Time
	Actor string
}

// Get returns a field by case-insensitive name.
func (r Row) Get(name string) (any, bool) {
	if v, ok := r.Fields[name]; ok {
		return v, true
	}
	for k, v := range r.Fields {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func (r *Row) clone() Row {
	c := *r
	c.Fields = make(map[string]any, len(r.Fields))
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	// Stored history holds only changes after the insert; fields never
	// written since carry the insert's stamp and actor.
	c.History = make(map[string]Change, len(r.Fields))
	for k := range r.Fields {
		if h, ok := r.History[k]; ok {
			c.History[k] = h
		} else {
			c.History[k] = Change{At: r.CreatedAt, Actor: r.CreatedBy}
		}
	}
	return c
}

// Deletion is a soft or hard delete event, kept for deleted-record feeds.
type Deletion struct {
	Table     string
	ID        string
	DeletedAt time.Time
	Purged    bool // hard-deleted: no recycle-bin trace (not served by feeds)
}

// StoreOptions set the dialect-specific behaviour of a Store.
type StoreOptions struct {
	// Stamp is the resolution of modification stamps: time.Second for
	// Salesforce (ties are common), time.Millisecond for HubSpot.
	Stamp time.Duration
	// ModifiedFields are set to the modification time on every write, per
	// table; "*" applies to all tables ("SystemModstamp", "LastModifiedDate").
	ModifiedFields map[string][]string
	// CreatedFields are set once on insert, per table ("*" for all).
	CreatedFields map[string][]string
	// NewID makes a record id for a table; seq is a store-wide counter.
	NewID func(s *Schema, seq int64) string
	// IDField, when set, is a field set to the record id on insert
	// ("Id" in Salesforce, "hs_object_id" in HubSpot).
	IDField string
}

// Store is an in-process table store for one CRM tenant (a Salesforce org or
// a HubSpot portal). Every write goes through it so modification stamps are
// always bumped. Safe for concurrent use.
type Store struct {
	mu        sync.RWMutex
	clock     *Clock
	opt       StoreOptions
	tables    map[string]*table
	lower     map[string]string // lower-case table name -> canonical
	seq       int64
	deletions []Deletion
	assoc     map[assocKey]map[string]map[string]int // (fromTable,toTable) -> fromID -> toID -> type id
}

type table struct {
	schema *Schema
	rows   map[string]*Row
	order  []string // ids in insertion order (includes purged; skipped on scan)
}

type assocKey struct{ from, to string }

// ErrNotFound is returned for unknown tables and ids.
var ErrNotFound = errors.New("not found")

// NewStore returns an empty store on clock.
func NewStore(clock *Clock, opt StoreOptions) *Store {
	if opt.Stamp == 0 {
		opt.Stamp = time.Millisecond
	}
	if opt.NewID == nil {
		opt.NewID = func(_ *Schema, seq int64) string { return fmt.Sprint(seq) }
	}
	return &Store{clock: clock, opt: opt, tables: map[string]*table{}, lower: map[string]string{},
		assoc: map[assocKey]map[string]map[string]int{}}
}

// Clock returns the store's clock.
func (s *Store) Clock() *Clock { return s.clock }

// Define adds (or replaces) a table.
func (s *Store) Define(sc *Schema) {
	sc.index()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tables[sc.Name]; ok {
		t.schema = sc
		return
	}
	s.tables[sc.Name] = &table{schema: sc, rows: map[string]*Row{}}
	s.lower[strings.ToLower(sc.Name)] = sc.Name
}

// Tables lists the canonical table names, sorted.
func (s *Store) Tables() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.tables))
	for n := range s.tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Schema returns a table's schema by case-insensitive name. The schema must
// be treated as read-only; use AddField to change it.
func (s *Store) Schema(name string) (*Schema, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(name)
	if !ok {
		return nil, false
	}
	return t.schema, true
}

func (s *Store) table(name string) (*table, bool) {
	if t, ok := s.tables[name]; ok {
		return t, true
	}
	c, ok := s.lower[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return s.tables[c], true
}

// AddField adds a field to a table; it fails if the name exists.
func (s *Store) AddField(tableName string, f *Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	if _, dup := t.schema.Field(f.Name); dup {
		return fmt.Errorf("field %s.%s already exists", t.schema.Name, f.Name)
	}
	sc := *t.schema
	sc.Fields = append(append([]*Field(nil), t.schema.Fields...), f)
	sc.index()
	t.schema = &sc
	return nil
}

// SetFieldHidden grants (hidden=false) or revokes field-level security.
func (s *Store) SetFieldHidden(tableName, field string, hidden bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	f, ok := t.schema.Field(field)
	if !ok {
		return fmt.Errorf("field %s.%s: %w", tableName, field, ErrNotFound)
	}
	f.Hidden = hidden
	return nil
}

func (s *Store) stamp(t time.Time) time.Time { return t.UTC().Truncate(s.opt.Stamp) }

func fieldsFor(m map[string][]string, table string) []string {
	return append(append([]string(nil), m["*"]...), m[table]...)
}

// Insert adds a record stamped with the clock's time.
func (s *Store) Insert(tableName string, fields map[string]any, actor string) (Row, error) {
	return s.InsertAt(tableName, fields, actor, s.clock.Now())
}

// InsertAt adds a record as if created and last modified at `at` (seeding
// history). The id is generated unless fields has "Id"/"id" set.
func (s *Store) InsertAt(tableName string, fields map[string]any, actor string, at time.Time) (Row, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.insert(tableName, fields, actor, at, at)
	if err != nil {
		return Row{}, err
	}
	return r.clone(), nil
}

// Seed inserts a historical record created at `created` and last modified at
// `modified` (not before created) and returns its id. It is the bulk path of
// the generator and importers: no copy of the row is made.
func (s *Store) Seed(tableName string, fields map[string]any, actor string, created, modified time.Time) (string, error) {
	if modified.Before(created) {
		modified = created
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.insert(tableName, fields, actor, created, modified)
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

func (s *Store) insert(tableName string, fields map[string]any, actor string, created, modified time.Time) (*Row, error) {
	t, ok := s.table(tableName)
	if !ok {
		return nil, fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	s.seq++
	id := s.opt.NewID(t.schema, s.seq)
	for _, k := range []string{"Id", "id", "hs_object_id"} {
		if v, ok := fields[k].(string); ok && v != "" {
			id = v
		}
	}
	if _, dup := t.rows[id]; dup {
		return nil, fmt.Errorf("%s %s already exists", t.schema.Name, id)
	}
	created, modified = s.stamp(created), s.stamp(modified)
	r := &Row{ID: id, Fields: make(map[string]any, len(fields)+4), CreatedAt: created, ModifiedAt: modified,
		ModifiedBy: actor, CreatedBy: actor}
	for k, v := range fields {
		name := k
		if f, ok := t.schema.Field(k); ok {
			name = f.Name
		}
		r.Fields[name] = v
	}
	if s.opt.IDField != "" {
		r.Fields[s.opt.IDField] = id
	}
	for _, f := range fieldsFor(s.opt.CreatedFields, t.schema.Name) {
		r.Fields[f] = created
	}
	for _, f := range fieldsFor(s.opt.ModifiedFields, t.schema.Name) {
		r.Fields[f] = modified
	}
	t.rows[id] = r
	t.order = append(t.order, id)
	return r, nil
}

// Update sets fields on a live record and bumps its modification stamp.
// Unknown field names are an error (the dialects validate first to produce
// their own error bodies).
func (s *Store) Update(tableName, id string, fields map[string]any, actor string) (Row, error) {
	return s.UpdateAt(tableName, id, fields, actor, s.clock.Now())
}

// UpdateAt is Update with an explicit stamp (late commits are stamped in the past).
func (s *Store) UpdateAt(tableName, id string, fields map[string]any, actor string, at time.Time) (Row, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok {
		return Row{}, fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	r, ok := t.rows[id]
	if !ok || r.Deleted {
		return Row{}, fmt.Errorf("%s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	at = s.stamp(at)
	for k := range fields {
		if _, ok := t.schema.Field(k); !ok {
			return Row{}, fmt.Errorf("no field %s on %s", k, t.schema.Name)
		}
	}
	if r.History == nil && len(fields) > 0 {
		r.History = make(map[string]Change, len(fields))
	}
	for k, v := range fields {
		f, _ := t.schema.Field(k)
		r.Fields[f.Name] = v
		r.History[f.Name] = Change{At: at, Actor: actor}
	}
	for _, f := range fieldsFor(s.opt.ModifiedFields, t.schema.Name) {
		r.Fields[f] = at
	}
	r.ModifiedAt, r.ModifiedBy = at, actor
	return r.clone(), nil
}

// Touch bumps a record's modification stamp without changing fields
// ("automation" writes that only move SystemModstamp).
func (s *Store) Touch(tableName, id, actor string) (Row, error) {
	return s.UpdateAt(tableName, id, nil, actor, s.clock.Now())
}

// Delete soft-deletes a record (recycle bin / archived).
func (s *Store) Delete(tableName, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	r, ok := t.rows[id]
	if !ok || r.Deleted {
		return fmt.Errorf("%s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	now := s.stamp(s.clock.Now())
	r.Deleted, r.DeletedAt = true, now
	r.ModifiedAt = now
	for _, f := range fieldsFor(s.opt.ModifiedFields, t.schema.Name) {
		r.Fields[f] = now
	}
	s.deletions = append(s.deletions, Deletion{Table: t.schema.Name, ID: id, DeletedAt: now})
	return nil
}

// Undelete restores a soft-deleted record; it counts as a write.
func (s *Store) Undelete(tableName, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	r, ok := t.rows[id]
	if !ok || !r.Deleted {
		return fmt.Errorf("deleted %s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	now := s.stamp(s.clock.Now())
	r.Deleted, r.DeletedAt, r.ModifiedAt = false, time.Time{}, now
	for _, f := range fieldsFor(s.opt.ModifiedFields, t.schema.Name) {
		r.Fields[f] = now
	}
	return nil
}

// Purge hard-deletes a record with no recycle-bin trace.
func (s *Store) Purge(tableName, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	if _, ok := t.rows[id]; !ok {
		return fmt.Errorf("%s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	delete(t.rows, id)
	for i := range s.deletions {
		if s.deletions[i].Table == t.schema.Name && s.deletions[i].ID == id {
			s.deletions[i].Purged = true
		}
	}
	s.deletions = append(s.deletions, Deletion{Table: t.schema.Name, ID: id, DeletedAt: s.stamp(s.clock.Now()), Purged: true})
	return nil
}

// Get returns a copy of a record, live or soft-deleted.
func (s *Store) Get(tableName, id string) (Row, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return Row{}, false
	}
	r, ok := t.rows[id]
	if !ok {
		return Row{}, false
	}
	return r.clone(), true
}

// Scan calls fn with a copy of every record (live and soft-deleted) in
// insertion order until fn returns false. The store is read-locked
// throughout: fn must not write to the store.
func (s *Store) Scan(tableName string, fn func(Row) bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	for _, id := range t.order {
		r, ok := t.rows[id]
		if !ok {
			continue
		}
		if !fn(r.clone()) {
			return nil
		}
	}
	return nil
}

// Count returns the number of live (not deleted) records.
func (s *Store) Count(tableName string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return 0
	}
	n := 0
	for _, r := range t.rows {
		if !r.Deleted {
			n++
		}
	}
	return n
}

// Deletions returns delete events for a table with DeletedAt in [from, to).
// Purged records are included with Purged set; feeds skip them.
func (s *Store) Deletions(tableName string, from, to time.Time) []Deletion {
	s.mu.RLock()
	defer s.mu.RUnlock()
	canon := tableName
	if t, ok := s.table(tableName); ok {
		canon = t.schema.Name
	}
	var out []Deletion
	for _, d := range s.deletions {
		if d.Table == canon && !d.DeletedAt.Before(from) && d.DeletedAt.Before(to) {
			out = append(out, d)
		}
	}
	return out
}

// Associate links two records in both directions with an association type id.
func (s *Store) Associate(fromTable, fromID, toTable, toID string, typeID, reverseTypeID int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.link(fromTable, fromID, toTable, toID, typeID)
	s.link(toTable, toID, fromTable, fromID, reverseTypeID)
}

func (s *Store) link(from, fromID, to, toID string, typeID int) {
	k := assocKey{from, to}
	m := s.assoc[k]
	if m == nil {
		m = map[string]map[string]int{}
		s.assoc[k] = m
	}
	if m[fromID] == nil {
		m[fromID] = map[string]int{}
	}
	m[fromID][toID] = typeID
}

// Associations returns the ids of toTable records linked from a record, sorted,
// with their association type ids.
func (s *Store) Associations(fromTable, fromID, toTable string) (ids []string, types []int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.assoc[assocKey{fromTable, toTable}][fromID]
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		types = append(types, m[id])
	}
	return ids, types
}

// Clock is the sandbox's time source: real time shifted by an offset that
// Advance moves forward, or a frozen instant. Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen *time.Time
}

// NewClock returns a clock reading `start` now and running in real time; a
// zero start means the real time.
func NewClock(start time.Time) *Clock {
	c := &Clock{}
	if !start.IsZero() {
		c.offset = time.Until(start)
	}
	return c
}

// Now returns the sandbox time (UTC).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return time.Now().Add(c.offset).UTC()
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		t := c.frozen.Add(d)
		c.frozen = &t
		return
	}
	c.offset += d
}

// Freeze stops the clock at t (tests); Unfreeze resumes real-time flow from there.
func (c *Clock) Freeze(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t = t.UTC()
	c.frozen = &t
}

// Unfreeze lets the clock run again from its frozen reading.
func (c *Clock) Unfreeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		c.offset = time.Until(*c.frozen)
		c.frozen = nil
	}
}
