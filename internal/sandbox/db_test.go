package sandbox

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// modelRow is what the store must hand back for a record: the plain
// map-per-row semantics the column store replaces.
type modelRow struct {
	id                    string
	fields                map[string]any
	hist                  map[string]Change
	created, modified     time.Time
	createdBy, modifiedBy string
	deleted               bool
	deletedAt             time.Time
}

func (m *modelRow) row() Row {
	r := Row{ID: m.id, Fields: map[string]any{}, History: map[string]Change{}, Deleted: m.deleted, DeletedAt: m.deletedAt,
		CreatedAt: m.created, ModifiedAt: m.modified, CreatedBy: m.createdBy, ModifiedBy: m.modifiedBy}
	for k, v := range m.fields {
		r.Fields[k] = v
		r.History[k] = Change{At: m.created, Actor: m.createdBy}
		if h, ok := m.hist[k]; ok {
			r.History[k] = h
		}
	}
	return r
}

func testSchema() *Schema {
	f := func(name, typ string) *Field {
		return &Field{Name: name, Type: typ, Createable: true, Updateable: true, Nillable: true}
	}
	sc := &Schema{Name: "Thing", KeyPrefix: "a0T", Fields: []*Field{
		f("Id", FID), f("CreatedDate", FDateTime), f("SystemModstamp", FDateTime),
		f("Name", FString), f("Stage", FPicklist), f("Amount", FCurrency), f("Done", FBoolean),
		f("Due", FDate), f("At", FDateTime), f("Body", FTextArea), f("ParentId", FReference),
	}}
	sc.index()
	return sc
}

// randomValue draws a value for field name: mostly the field's own type,
// sometimes one the column cannot hold (kept as is), sometimes nil.
func randomValue(rng *rand.Rand, name string, seq int) any {
	tokyo := time.FixedZone("JST", 9*3600)
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	switch rng.IntN(12) {
	case 0:
		return nil
	case 1:
		return []any{7, int64(8), "x", base.In(tokyo), NewDate(base)}[rng.IntN(5)]
	}
	switch name {
	case "Name", "Body", "Extra":
		if rng.IntN(3) == 0 {
			return []string{"Acme", "Globex", "", "Initech"}[rng.IntN(4)]
		}
		return fmt.Sprintf("%s text %d", name, seq) // mostly distinct: columns demote
	case "Stage", "ParentId":
		return fmt.Sprintf("v%d", rng.IntN(20))
	case "Amount":
		return float64(rng.IntN(100000)) / 7
	case "Done":
		return rng.IntN(2) == 0
	case "Due":
		return NewDate(base.Add(time.Duration(rng.IntN(900)) * day))
	case "At":
		if rng.IntN(10) == 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(rng.Int64N(int64(900 * day))))
	case "CreatedDate", "SystemModstamp", "Id":
		return base
	}
	return seq
}

// TestStoreMatchesModel runs random inserts, updates, deletes, undeletes,
// purges and touches against a store and the plain model, then compares
// every read path.
func TestStoreMatchesModel(t *testing.T) {
	opt := StoreOptions{Stamp: time.Millisecond, IDField: "Id",
		CreatedFields: map[string][]string{"*": {"CreatedDate"}}, ModifiedFields: map[string][]string{"Thing": {"SystemModstamp"}}}
	t.Run("map index", func(t *testing.T) { storeMatchesModel(t, opt) })
	// Ids minted as "n<seq>" are found by sequence number; explicit ids
	// ("explicit-…", or "n…" ones that were not minted) through the map.
	opt.NewID = func(_ *Schema, seq int64) string { return "n" + strconv.FormatInt(seq+100, 10) }
	opt.SeqOf = func(id string) (int64, bool) {
		n, err := strconv.ParseInt(strings.TrimPrefix(id, "n"), 10, 64)
		return n - 100, err == nil && strings.HasPrefix(id, "n")
	}
	t.Run("sequence index", func(t *testing.T) { storeMatchesModel(t, opt) })
}

func storeMatchesModel(t *testing.T, opt StoreOptions) {
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewClock(start)
	clock.Freeze(start)
	s := NewStore(clock, opt)
	s.Define(testSchema())
	names := []string{"Name", "Stage", "Amount", "Done", "Due", "At", "Body", "ParentId", "CreatedDate", "SystemModstamp", "Id"}
	model := map[string]*modelRow{}
	var order []string // insertion order, purged removed
	actors := []string{"user", "integration:app", "automation"}
	for op := range 6000 {
		clock.Advance(time.Duration(1+rng.IntN(1500)) * time.Millisecond)
		now := clock.Now().Truncate(time.Millisecond)
		var live []string
		if len(order) > 0 {
			live = order
		}
		switch k := rng.IntN(10); {
		case k < 5 || len(live) == 0:
			fields := map[string]any{}
			for _, n := range names[:8] {
				if rng.IntN(4) > 0 {
					fields[n] = randomValue(rng, n, op)
				}
			}
			if rng.IntN(5) == 0 {
				fields["Extra"] = randomValue(rng, "Extra", op) // not in the schema
			}
			if _, set := fields["Stage"]; !set && rng.IntN(4) == 0 {
				fields["stage"] = "lower-case name" // resolved through the schema
			}
			switch rng.IntN(40) {
			case 0:
				fields["Id"] = "explicit-" + strconv.Itoa(rng.IntN(1_000_000)) // out of id order
			case 1:
				fields["Id"] = "n" + strconv.Itoa(rng.IntN(8000)) // may collide with a minted id
			}
			actor := actors[rng.IntN(len(actors))]
			created := now.Add(-time.Duration(rng.IntN(1000)) * time.Hour)
			id, err := s.Seed("Thing", fields, actor, created, now)
			if err != nil {
				// Explicit and minted ids can collide; the store refuses
				// the second record.
				dupID, ok := strings.CutSuffix(strings.TrimPrefix(err.Error(), "Thing "), " already exists")
				if _, known := model[dupID]; ok && known {
					continue
				}
				t.Fatalf("seed: %v", err)
			}
			m := &modelRow{id: id, fields: map[string]any{}, hist: map[string]Change{}, created: created,
				modified: now, createdBy: actor, modifiedBy: actor}
			for k, v := range fields {
				if f, ok := testSchema().Field(k); ok {
					k = f.Name
				}
				m.fields[k] = v
			}
			m.fields["Id"], m.fields["CreatedDate"], m.fields["SystemModstamp"] = id, created, now
			model[id] = m
			order = append(order, id)
		case k < 7:
			id := live[rng.IntN(len(live))]
			m := model[id]
			fields := map[string]any{}
			for range 1 + rng.IntN(3) {
				n := names[rng.IntN(len(names))]
				fields[n] = randomValue(rng, n, op)
			}
			actor := actors[rng.IntN(len(actors))]
			r, err := s.Update("Thing", id, fields, actor)
			if m.deleted {
				if err == nil {
					t.Fatalf("update of deleted %s succeeded", id)
				}
				continue
			}
			if err != nil {
				t.Fatalf("update %s: %v", id, err)
			}
			for k, v := range fields {
				m.fields[k] = v
				m.hist[k] = Change{At: now, Actor: actor}
			}
			m.fields["SystemModstamp"], m.modified, m.modifiedBy = now, now, actor
			if want := m.row(); !reflect.DeepEqual(r, want) {
				t.Fatalf("update returned\n%+v\nwant\n%+v", r, want)
			}
		case k < 8:
			id := live[rng.IntN(len(live))]
			m := model[id]
			if err := s.Delete("Thing", id); (err == nil) == m.deleted {
				t.Fatalf("delete %s (deleted %v): %v", id, m.deleted, err)
			}
			if !m.deleted {
				m.deleted, m.deletedAt, m.modified = true, now, now
				m.fields["SystemModstamp"] = now
			}
		case k < 9:
			id := live[rng.IntN(len(live))]
			m := model[id]
			if err := s.Undelete("Thing", id); (err == nil) != m.deleted {
				t.Fatalf("undelete %s (deleted %v): %v", id, m.deleted, err)
			}
			if m.deleted {
				m.deleted, m.deletedAt, m.modified = false, time.Time{}, now
				m.fields["SystemModstamp"] = now
			}
		default:
			if rng.IntN(4) == 0 {
				id := live[rng.IntN(len(live))]
				if err := s.Purge("Thing", id); err != nil {
					t.Fatalf("purge %s: %v", id, err)
				}
				delete(model, id)
				order = slices.DeleteFunc(order, func(x string) bool { return x == id })
			} else if id := live[rng.IntN(len(live))]; !model[id].deleted {
				if _, err := s.Touch("Thing", id, "automation"); err != nil {
					t.Fatalf("touch %s: %v", id, err)
				}
				m := model[id]
				m.fields["SystemModstamp"], m.modified, m.modifiedBy = now, now, "automation"
			}
		}
	}

	liveCount := 0
	for _, id := range order {
		m := model[id]
		if !m.deleted {
			liveCount++
		}
		got, ok := s.Get("Thing", id)
		if want := m.row(); !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("Get %s:\n got %+v\nwant %+v", id, got, want)
		}
	}
	if n := s.Count("Thing"); n != liveCount {
		t.Errorf("Count = %d, want %d", n, liveCount)
	}
	if n := s.Len("Thing"); n != len(order) {
		t.Errorf("Len = %d, want %d", n, len(order))
	}
	var scanned []string
	_ = s.ScanView("Thing", func(v RowView) bool {
		scanned = append(scanned, v.ID())
		checkView(t, v, model[v.ID()].row())
		return true
	})
	if !slices.Equal(scanned, order) {
		t.Fatalf("ScanView order differs from insertion order")
	}
	sorted := slices.Clone(order)
	slices.SortFunc(sorted, CompareIDs)
	var paged []string
	after := ""
	for {
		n := 0
		_ = s.ScanFrom("Thing", after, func(v RowView) bool {
			paged = append(paged, v.ID())
			after = v.ID()
			n++
			return n < 97
		})
		if n < 97 {
			break
		}
	}
	if !slices.Equal(paged, sorted) {
		t.Fatalf("ScanFrom pages give %d ids, want %d in CompareIDs order", len(paged), len(sorted))
	}
}

// checkView compares every RowView accessor with the copy's content.
func checkView(t *testing.T, v RowView, want Row) {
	t.Helper()
	if v.ID() != want.ID || v.Deleted() != want.Deleted || !v.DeletedAt().Equal(want.DeletedAt) ||
		v.CreatedAt() != want.CreatedAt || v.ModifiedAt() != want.ModifiedAt || v.CreatedBy() != want.CreatedBy ||
		v.ModifiedBy() != want.ModifiedBy {
		t.Fatalf("view %s metadata differs from %+v", v.ID(), want)
	}
	if got := v.Row(); !reflect.DeepEqual(got, want) {
		t.Fatalf("view.Row %s:\n got %+v\nwant %+v", v.ID(), got, want)
	}
	for _, name := range []string{"Name", "name", "Stage", "Amount", "Done", "Due", "At", "Body", "Extra", "Id", "CreatedDate", "systemmodstamp", "Missing"} {
		wv, wok := want.Get(name)
		gv, gok := v.Get(name)
		if wok != gok || !reflect.DeepEqual(gv, wv) {
			t.Fatalf("view %s Get(%s) = %v %v, want %v %v", v.ID(), name, gv, gok, wv, wok)
		}
		s, _ := wv.(string)
		if got := v.Str(name); got != s {
			t.Fatalf("view %s Str(%s) = %q, want %q", v.ID(), name, got, s)
		}
		f, fok := wv.(float64)
		if got, ok := v.Float(name); got != f || ok != fok {
			t.Fatalf("view %s Float(%s) = %v %v, want %v %v", v.ID(), name, got, ok, f, fok)
		}
		b, _ := wv.(bool)
		if v.Bool(name) != b {
			t.Fatalf("view %s Bool(%s) = %v, want %v", v.ID(), name, v.Bool(name), b)
		}
		var tm time.Time
		switch x := wv.(type) {
		case time.Time:
			tm = x
		case Date:
			tm = x.Time
		}
		if got := v.Time(name); got != tm {
			t.Fatalf("view %s Time(%s) = %v, want %v", v.ID(), name, got, tm)
		}
	}
}

// TestAssociationsMatchModel links stored records and unknown ids at
// random and compares Associations with a plain map.
func TestAssociationsMatchModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := NewStore(NewClock(time.Time{}), StoreOptions{})
	for _, n := range []string{"a", "b"} {
		s.Define(&Schema{Name: n, Fields: []*Field{{Name: "x", Type: FString}}})
	}
	ids := map[string][]string{}
	for _, n := range []string{"a", "b"} {
		for range 50 {
			r, err := s.Insert(n, map[string]any{"x": "y"}, "user")
			if err != nil {
				t.Fatal(err)
			}
			ids[n] = append(ids[n], r.ID)
		}
		ids[n] = append(ids[n], "999001", "999002") // not stored
	}
	tables := []string{"a", "b", "ghost"}
	ids["ghost"] = []string{"1", "2", "3"}
	type key struct{ from, fromID, to string }
	model := map[key]map[string]int{}
	link := func(from, fromID, to, toID string, typ int) {
		k := key{from, fromID, to}
		if model[k] == nil {
			model[k] = map[string]int{}
		}
		model[k][toID] = typ
	}
	for range 3000 {
		from, to := tables[rng.IntN(3)], tables[rng.IntN(3)]
		fromID, toID := ids[from][rng.IntN(len(ids[from]))], ids[to][rng.IntN(len(ids[to]))]
		typ, rev := rng.IntN(400), rng.IntN(400)
		s.Associate(from, fromID, to, toID, typ, rev)
		link(from, fromID, to, toID, typ)
		link(to, toID, from, fromID, rev)
	}
	if err := s.Purge("a", ids["a"][0]); err != nil { // associations of a purged record stay
		t.Fatal(err)
	}
	for _, from := range tables {
		for _, fromID := range ids[from] {
			for _, to := range tables {
				m := model[key{from, fromID, to}]
				var wantIDs []string
				for id := range m {
					wantIDs = append(wantIDs, id)
				}
				slices.Sort(wantIDs)
				var wantTypes []int
				for _, id := range wantIDs {
					wantTypes = append(wantTypes, m[id])
				}
				gotIDs, gotTypes := s.Associations(from, fromID, to)
				if from == "a" && fromID == ids["a"][0] {
					continue // the purged record's own links are gone with it
				}
				if !slices.Equal(gotIDs, wantIDs) || !slices.Equal(gotTypes, wantTypes) {
					t.Fatalf("Associations(%s, %s, %s) = %v %v, want %v %v", from, fromID, to, gotIDs, gotTypes, wantIDs, wantTypes)
				}
			}
		}
	}
}

// TestColumnKinds checks that values round-trip through each column kind
// exactly, including the ones a kind cannot hold.
func TestColumnKinds(t *testing.T) {
	d := newDict()
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2025, 7, 1, 12, 30, 0, 123456789, time.UTC)
	cases := map[colKind][]any{
		kString: {"a", "", nil, 3, "b"},
		kDict:   {"x", "y", "x", nil, 2.5},
		kFloat:  {1.5, 0.0, nil, 3, "x"},
		kBool:   {true, false, nil, "true"},
		kTime:   {at, time.Time{}, at.In(tokyo), time.Now(), nil, NewDate(at), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
		kDate:   {NewDate(at), Date{}, at, nil},
		kNone:   {[]string{"a"}, "s"},
	}
	for kind, vals := range cases {
		c := &column{name: "f", kind: kind}
		for i, v := range vals {
			c.set(int32(i*3), v, d, 0)
		}
		for i, v := range vals {
			got, ok := c.get(int32(i*3), d)
			if !ok || !reflect.DeepEqual(got, v) {
				t.Errorf("kind %d slot %d: got %#v %v, want %#v", kind, i*3, got, ok, v)
			}
			if _, ok := c.get(int32(i*3+1), d); ok {
				t.Errorf("kind %d: unset slot %d has a value", kind, i*3+1)
			}
		}
	}
}

// TestDictDemotion checks that a dictionary column of distinct values turns
// into plain strings and keeps every value.
func TestDictDemotion(t *testing.T) {
	d := newDict()
	c := &column{name: "f", kind: kDict}
	for i := range 3 * dictMinRows {
		c.set(int32(i), "value "+strconv.Itoa(i), d, 0)
	}
	if c.kind != kString {
		t.Fatalf("kind %d after %d distinct values, want kString", c.kind, 3*dictMinRows)
	}
	for i := range 3 * dictMinRows {
		if got := c.str(int32(i), d); got != "value "+strconv.Itoa(i) {
			t.Fatalf("slot %d = %q", i, got)
		}
	}
	r := &column{name: "g", kind: kDict}
	for i := range 3 * dictMinRows {
		r.set(int32(i), "v"+strconv.Itoa(i%20), d, 0)
	}
	if r.kind != kDict {
		t.Fatalf("a 20-value column was demoted")
	}
}

// TestConcurrentViewReads reads fields through views from several
// goroutines at once, each resolving names no one resolved before (run
// with -race: the name cache is filled under the read lock).
func TestConcurrentViewReads(t *testing.T) {
	s := NewStore(NewClock(time.Time{}), StoreOptions{})
	s.Define(&Schema{Name: "a", Fields: []*Field{{Name: "Name", Type: FString}, {Name: "Amount", Type: FDouble}}})
	for i := range 100 {
		if _, err := s.Insert("a", map[string]any{"Name": "n", "Amount": float64(i)}, "user"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	sums := make([]float64, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names := []string{"name", "NAME", "amount", "AMOUNT", "Amount"}
			_ = s.ScanView("a", func(v RowView) bool {
				if v.Str(names[g%2]) != "n" {
					t.Errorf("goroutine %d: name %q", g, v.Str(names[g%2]))
				}
				x, _ := v.Float(names[2+g%3])
				sums[g] += x
				return true
			})
		}()
	}
	wg.Wait()
	for g, sum := range sums {
		if sum != 4950 {
			t.Errorf("goroutine %d summed %v, want 4950", g, sum)
		}
	}
}
