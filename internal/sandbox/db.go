package sandbox

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
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
	// SeqOf, when set, is the inverse of NewID: the sequence number an id
	// was minted with. The store then finds generated ids through a slice
	// instead of a map entry per row.
	SeqOf func(id string) (int64, bool)
}

// Store is an in-process table store for one CRM tenant (a Salesforce org or
// a HubSpot portal). Every write goes through it so modification stamps are
// always bumped. Safe for concurrent use.
//
// Tables are stored column-wise (see column.go): strings that repeat
// (picklist values, owner and parent ids) are interned once per store, times
// are kept as integers, history is kept only for fields written after the
// insert, and the id, creation and modification stamp fields are derived from
// the row's stamps rather than stored. Get and Scan hand out copies as Rows;
// ScanView and ScanFrom read in place.
type Store struct {
	mu        sync.RWMutex
	clock     *Clock
	opt       StoreOptions
	tables    map[string]*table
	list      []*table          // by table index
	lower     map[string]string // lower-case table name -> canonical
	seq       int64
	deletions []Deletion
	dict      *dict
	// seqSlot and seqTab locate the row minted with each sequence number
	// (slot -1: none) when StoreOptions.SeqOf is set.
	seqSlot []int32
	seqTab  []uint16
	// loose holds associations with an end that is not a stored record
	// (unknown table or id): (fromTable,toTable) -> fromID -> toID -> type id.
	loose map[assocKey]map[string]map[string]int
}

type table struct {
	s      *Store
	idx    uint16
	schema *Schema
	cols   []*column
	colIdx map[string]int // canonical field name -> column
	// names caches field name as written -> resolution. Readers fill it
	// while holding only the store's read lock, so it is a sync.Map;
	// writers clear it under the write lock.
	names sync.Map
	vcre  []string // fields set to the creation stamp
	vmod  []string // fields set to the modification stamp
	hint  int      // expected rows (Reserve)

	// Per row (slot), in insertion order; purged slots stay as tombstones.
	ids                   []string
	byID                  map[string]int32 // rows not found through Store.seqSlot
	count                 int              // rows not purged
	created, modified     []int64          // encTime
	createdBy, modifiedBy []uint32         // actor dictionary codes
	deleted, purged       bitset
	deletedAt             map[int32]int64
	hist                  map[int32][]histEntry // changes after the insert
	links                 [][]link              // associations, sorted by (table, slot)
	live                  int

	// sorted lists the slots in CompareIDs order of their ids while
	// unsorted is false; inserts out of order set it and ScanFrom rebuilds.
	sorted   []int32
	unsorted bool
}

// nameRef is what a field name refers to: a column, a derived field, or
// neither (col -1, virt 0).
type nameRef struct {
	col  int
	virt byte // 'i' id, 'c' creation stamp, 'm' modification stamp
}

type histEntry struct {
	name  string
	at    int64
	actor uint32
}

// link is one association of a row: the target table index and slot.
type link struct {
	slot  int32
	typ   int32
	table uint16
}

func (l link) less(table uint16, slot int32) bool {
	return l.table < table || l.table == table && l.slot < slot
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
		opt.NewID = func(_ *Schema, seq int64) string { return strconv.FormatInt(seq, 10) }
	}
	return &Store{clock: clock, opt: opt, tables: map[string]*table{}, lower: map[string]string{},
		dict: newDict(), loose: map[assocKey]map[string]map[string]int{}}
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
		t.names.Clear()
		return
	}
	t := &table{s: s, idx: uint16(len(s.list)), schema: sc, colIdx: map[string]int{},
		byID: map[string]int32{}, deletedAt: map[int32]int64{}, hist: map[int32][]histEntry{},
		vcre: fieldsFor(s.opt.CreatedFields, sc.Name), vmod: fieldsFor(s.opt.ModifiedFields, sc.Name)}
	s.tables[sc.Name] = t
	s.list = append(s.list, t)
	s.lower[strings.ToLower(sc.Name)] = sc.Name
}

// Reserve makes room for n rows in a table, so that bulk loads do not grow
// its columns step by step. It is only a hint.
func (s *Store) Reserve(tableName string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(tableName)
	if !ok || n <= len(t.ids) {
		return
	}
	t.hint = n
	t.ids = reserve(t.ids, n)
	t.created, t.modified = reserve(t.created, n), reserve(t.modified, n)
	t.createdBy, t.modifiedBy = reserve(t.createdBy, n), reserve(t.modifiedBy, n)
	if !t.unsorted {
		t.sorted = reserve(t.sorted, n)
	}
	if t.links != nil {
		t.links = reserve(t.links, n)
	}
	for _, c := range t.cols {
		c.reserve(n)
	}
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

// canon is a table's canonical name, or name itself for unknown tables.
func (s *Store) canon(name string) string {
	if t, ok := s.table(name); ok {
		return t.schema.Name
	}
	return name
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
	t.names.Clear()
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

// encStamp encodes a stamp for the row metadata.
func (s *Store) encStamp(t time.Time) (int64, time.Time, error) {
	t = s.stamp(t)
	n, ok := encTime(t)
	if !ok {
		return 0, t, fmt.Errorf("time %s is outside the years 1678-2261", t.Format(time.RFC3339))
	}
	return n, t, nil
}

func fieldsFor(m map[string][]string, table string) []string {
	return append(append([]string(nil), m["*"]...), m[table]...)
}

// resolve maps a field name to its column or derived field: exact column
// names first, then the schema's case-insensitive names, then a
// case-insensitive match among columns outside the schema.
func (t *table) resolve(name string) nameRef {
	if r, ok := t.names.Load(name); ok {
		return r.(nameRef)
	}
	canon := name
	if f, ok := t.schema.Field(name); ok {
		canon = f.Name
	}
	r := nameRef{col: -1}
	if ci, ok := t.colIdx[canon]; ok {
		r.col = ci
	} else if canon == name {
		for ci, c := range t.cols {
			if strings.EqualFold(c.name, name) {
				r.col, canon = ci, c.name
				break
			}
		}
	}
	switch {
	case t.s.opt.IDField != "" && strings.EqualFold(canon, t.s.opt.IDField):
		r.virt = 'i'
	case containsFold(t.vmod, canon):
		r.virt = 'm'
	case containsFold(t.vcre, canon):
		r.virt = 'c'
	}
	if r.col >= 0 || r.virt != 0 {
		t.names.Store(name, r)
	}
	return r
}

func containsFold(xs []string, s string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// column returns the column of a field, created on first write.
func (t *table) column(name string) *column {
	if r := t.resolve(name); r.col >= 0 {
		return t.cols[r.col]
	}
	canon := name
	kind := kNone
	if f, ok := t.schema.Field(name); ok {
		canon, kind = f.Name, kindOf(f)
	}
	c := &column{name: canon, kind: kind}
	c.reserve(t.hint)
	t.colIdx[canon] = len(t.cols)
	t.cols = append(t.cols, c)
	t.names.Clear() // a new column can change earlier resolutions
	return c
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
	t, slot, err := s.insert(tableName, fields, actor, at, at)
	if err != nil {
		return Row{}, err
	}
	return t.row(slot), nil
}

// Seed inserts a historical record created at `created` and last modified at
// `modified` (not before created) and returns its id. It is the bulk path of
// the generator and importers: no copy of the row is made, and fields is not
// retained (callers may reuse the map).
func (s *Store) Seed(tableName string, fields map[string]any, actor string, created, modified time.Time) (string, error) {
	if modified.Before(created) {
		modified = created
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, slot, err := s.insert(tableName, fields, actor, created, modified)
	if err != nil {
		return "", err
	}
	return t.ids[slot], nil
}

func (s *Store) insert(tableName string, fields map[string]any, actor string, created, modified time.Time) (*table, int32, error) {
	t, ok := s.table(tableName)
	if !ok {
		return nil, 0, fmt.Errorf("table %s: %w", tableName, ErrNotFound)
	}
	cn, _, err := s.encStamp(created)
	if err != nil {
		return nil, 0, fmt.Errorf("insert into %s: created: %w", t.schema.Name, err)
	}
	mn, _, err := s.encStamp(modified)
	if err != nil {
		return nil, 0, fmt.Errorf("insert into %s: modified: %w", t.schema.Name, err)
	}
	s.seq++
	id := s.opt.NewID(t.schema, s.seq)
	for _, k := range []string{"Id", "id", "hs_object_id"} {
		if v, ok := fields[k].(string); ok && v != "" {
			id = v
		}
	}
	if _, dup := t.find(id); dup {
		return nil, 0, fmt.Errorf("%s %s already exists", t.schema.Name, id)
	}
	if len(t.ids) >= math.MaxInt32 {
		return nil, 0, fmt.Errorf("table %s is full", t.schema.Name)
	}
	slot := int32(len(t.ids))
	act, _ := s.dict.code(actor)
	t.ids = append(t.ids, id)
	if q, ok := s.seqOf(id); ok && q == s.seq && int64(len(s.seqSlot)) <= q {
		for int64(len(s.seqSlot)) < q {
			s.seqSlot, s.seqTab = append(s.seqSlot, -1), append(s.seqTab, 0)
		}
		s.seqSlot, s.seqTab = append(s.seqSlot, slot), append(s.seqTab, t.idx)
	} else {
		t.byID[id] = slot
	}
	t.count++
	t.created, t.modified = append(t.created, cn), append(t.modified, mn)
	t.createdBy, t.modifiedBy = append(t.createdBy, act), append(t.modifiedBy, act)
	for k, v := range fields {
		if t.resolve(k).virt != 0 {
			continue // the id and the stamps are the row's own
		}
		t.column(k).set(slot, v, s.dict, t.hint)
	}
	if !t.unsorted {
		if n := len(t.sorted); n == 0 || CompareIDs(t.ids[t.sorted[n-1]], id) < 0 {
			t.sorted = append(t.sorted, slot)
		} else {
			t.sorted, t.unsorted = nil, true
		}
	}
	t.live++
	return t, slot, nil
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
	slot, ok := t.find(id)
	if !ok || t.deleted.get(slot) {
		return Row{}, fmt.Errorf("%s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	for k := range fields {
		if _, ok := t.schema.Field(k); !ok {
			return Row{}, fmt.Errorf("no field %s on %s", k, t.schema.Name)
		}
	}
	an, _, err := s.encStamp(at)
	if err != nil {
		return Row{}, fmt.Errorf("update %s %s: %w", t.schema.Name, id, err)
	}
	act, _ := s.dict.code(actor)
	for k, v := range fields {
		f, _ := t.schema.Field(k)
		if t.resolve(f.Name).virt != 'm' { // modification stamps are always the row's
			t.column(f.Name).set(slot, v, s.dict, t.hint)
		}
		t.setHistory(slot, f.Name, an, act)
	}
	t.modified[slot], t.modifiedBy[slot] = an, act
	return t.row(slot), nil
}

func (t *table) setHistory(slot int32, name string, at int64, actor uint32) {
	h := t.hist[slot]
	for i := range h {
		if h[i].name == name {
			h[i].at, h[i].actor = at, actor
			return
		}
	}
	t.hist[slot] = append(h, histEntry{name: name, at: at, actor: actor})
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
	slot, ok := t.find(id)
	if !ok || t.deleted.get(slot) {
		return fmt.Errorf("%s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	n, now, err := s.encStamp(s.clock.Now())
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", t.schema.Name, id, err)
	}
	t.deleted.set(slot, true)
	t.deletedAt[slot] = n
	t.modified[slot] = n
	t.live--
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
	slot, ok := t.find(id)
	if !ok || !t.deleted.get(slot) {
		return fmt.Errorf("deleted %s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	n, _, err := s.encStamp(s.clock.Now())
	if err != nil {
		return fmt.Errorf("undelete %s %s: %w", t.schema.Name, id, err)
	}
	t.deleted.set(slot, false)
	delete(t.deletedAt, slot)
	t.modified[slot] = n
	t.live++
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
	slot, ok := t.find(id)
	if !ok {
		return fmt.Errorf("%s %s: %w", t.schema.Name, id, ErrNotFound)
	}
	delete(t.byID, id)
	t.count--
	if !t.deleted.get(slot) {
		t.live--
	}
	t.purged.set(slot, true)
	delete(t.deletedAt, slot)
	delete(t.hist, slot)
	for i := range s.deletions {
		if s.deletions[i].Table == t.schema.Name && s.deletions[i].ID == id {
			s.deletions[i].Purged = true
		}
	}
	s.deletions = append(s.deletions, Deletion{Table: t.schema.Name, ID: id, DeletedAt: s.stamp(s.clock.Now()), Purged: true})
	return nil
}

// Get returns a copy of a record, live or soft-deleted.
func (s *Store) Get(tableName, id string) (Row, bool) { return s.get(tableName, id, (*table).row) }

// GetFields is Get without the History of the copy (nil).
func (s *Store) GetFields(tableName, id string) (Row, bool) {
	return s.get(tableName, id, (*table).rowFields)
}

func (s *Store) get(tableName, id string, copyRow func(*table, int32) Row) (Row, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return Row{}, false
	}
	slot, ok := t.find(id)
	if !ok {
		return Row{}, false
	}
	return copyRow(t, slot), true
}

// Scan calls fn with a copy of every record (live and soft-deleted) in
// insertion order until fn returns false. The store is read-locked
// throughout: fn must not write to the store. ScanView reads the same rows
// without copying them.
func (s *Store) Scan(tableName string, fn func(Row) bool) error {
	return s.ScanView(tableName, func(v RowView) bool { return fn(v.Row()) })
}

// Count returns the number of live (not deleted) records.
func (s *Store) Count(tableName string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return 0
	}
	return t.live
}

// Len returns the number of records, live and soft-deleted.
func (s *Store) Len(tableName string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(tableName)
	if !ok {
		return 0
	}
	return t.count
}

// Deletions returns delete events for a table with DeletedAt in [from, to).
// Purged records are included with Purged set; feeds skip them.
func (s *Store) Deletions(tableName string, from, to time.Time) []Deletion {
	s.mu.RLock()
	defer s.mu.RUnlock()
	canon := s.canon(tableName)
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
	ft, fs := s.slot(fromTable, fromID)
	tt, ts := s.slot(toTable, toID)
	if ft != nil && tt != nil && typeID == int(int32(typeID)) && reverseTypeID == int(int32(reverseTypeID)) {
		ft.link(fs, tt.idx, ts, int32(typeID))
		tt.link(ts, ft.idx, fs, int32(reverseTypeID))
		return
	}
	s.looseLink(s.canon(fromTable), fromID, s.canon(toTable), toID, typeID)
	s.looseLink(s.canon(toTable), toID, s.canon(fromTable), fromID, reverseTypeID)
}

// seqOf is StoreOptions.SeqOf, false when unset.
func (s *Store) seqOf(id string) (int64, bool) {
	if s.opt.SeqOf == nil {
		return 0, false
	}
	return s.opt.SeqOf(id)
}

// find returns the slot of a stored (not purged) record.
func (t *table) find(id string) (int32, bool) {
	if slot, ok := t.byID[id]; ok {
		return slot, true
	}
	q, ok := t.s.seqOf(id)
	if !ok || q < 0 || q >= int64(len(t.s.seqSlot)) || t.s.seqTab[q] != t.idx {
		return 0, false
	}
	slot := t.s.seqSlot[q]
	if slot < 0 || t.ids[slot] != id || t.purged.get(slot) {
		return 0, false
	}
	return slot, true
}

// slot finds a stored record; the table is nil when there is none.
func (s *Store) slot(tableName, id string) (*table, int32) {
	t, ok := s.table(tableName)
	if !ok {
		return nil, 0
	}
	slot, ok := t.find(id)
	if !ok {
		return nil, 0
	}
	return t, slot
}

func (t *table) link(slot int32, to uint16, toSlot int32, typ int32) {
	t.links = grow(t.links, slot)
	ls := t.links[slot]
	i := len(ls)
	if i > 0 && !ls[i-1].less(to, toSlot) {
		i = sort.Search(len(ls), func(k int) bool { return !ls[k].less(to, toSlot) })
	}
	if i < len(ls) && ls[i].table == to && ls[i].slot == toSlot {
		ls[i].typ = typ
		return
	}
	t.links[slot] = slices.Insert(ls, i, link{slot: toSlot, typ: typ, table: to})
}

func (s *Store) looseLink(from, fromID, to, toID string, typeID int) {
	k := assocKey{from, to}
	m := s.loose[k]
	if m == nil {
		m = map[string]map[string]int{}
		s.loose[k] = m
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
	type pair struct {
		id  string
		typ int
	}
	var ps []pair
	ft, fs := s.slot(fromTable, fromID)
	tt, ok := s.table(toTable)
	if ft != nil && ok && int(fs) < len(ft.links) {
		for _, l := range ft.links[fs] {
			if l.table == tt.idx {
				ps = append(ps, pair{tt.ids[l.slot], int(l.typ)})
			}
		}
	}
	if m := s.loose[assocKey{s.canon(fromTable), s.canon(toTable)}][fromID]; len(m) > 0 {
		for id, typ := range m {
			if !slices.ContainsFunc(ps, func(p pair) bool { return p.id == id }) {
				ps = append(ps, pair{id, typ})
			}
		}
	}
	if len(ps) == 0 {
		return nil, nil
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.id, b.id) })
	ids, types = make([]string, len(ps)), make([]int, len(ps))
	for i, p := range ps {
		ids[i], types[i] = p.id, p.typ
	}
	return ids, types
}

// CompareIDs is the order of ScanFrom: numeric ids (HubSpot) numerically
// and before all others, the rest bytewise (Salesforce ids of one table sort
// by creation).
func CompareIDs(a, b string) int {
	na, ea := strconv.ParseInt(a, 10, 64)
	nb, eb := strconv.ParseInt(b, 10, 64)
	switch {
	case ea == nil && eb == nil:
		return cmp.Compare(na, nb)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
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
