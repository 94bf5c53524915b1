package chaos

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

// Report is the outcome of one consistency check.
type Report struct {
	Records int // records stored
	Chunks  int // chunks stored
	Vectors int64
	// Lost counts what the CRM or an uninterrupted sync has and the store
	// lacks: records, chunks, vectors of chunks.
	Lost int
	// Duplicated counts what the store has beyond them: records not live in
	// the CRM, chunks no uninterrupted sync derives, vectors without chunk.
	Duplicated int
	// Stale counts differing versions: modification stamps, content hashes,
	// owning accounts, fields, chunk texts and attributes.
	Stale int
	// Dirty counts accounts left in the dirty sets.
	Dirty int
	// Problems describes the first differences.
	Problems []string
}

// OK reports an exact match.
func (r *Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Stale == 0 && r.Dirty == 0 && len(r.Problems) == 0
}

func (r *Report) String() string {
	s := fmt.Sprintf("%d records, %d chunks, %d vectors: %d lost, %d duplicated, %d stale, %d dirty",
		r.Records, r.Chunks, r.Vectors, r.Lost, r.Duplicated, r.Stale, r.Dirty)
	if len(r.Problems) > 0 {
		s += "\n  " + strings.Join(r.Problems, "\n  ")
	}
	return s
}

func (r *Report) add(counter *int, format string, a ...any) {
	if counter != nil {
		*counter++
	}
	if len(r.Problems) < 30 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
	}
}

// sandboxTables maps each object to the sandbox tables behind it.
var sandboxTables = map[string]map[connectors.Object][]string{
	app.SandboxSalesforce: {
		connectors.Accounts: {sandbox.SFAccount}, connectors.Contacts: {sandbox.SFContact},
		connectors.Opportunities: {sandbox.SFOpportunity}, connectors.Activities: {sandbox.SFTask, sandbox.SFEvent},
	},
	app.SandboxHubSpot: {
		connectors.Accounts: {sandbox.HSCompanies}, connectors.Contacts: {sandbox.HSContacts},
		connectors.Opportunities: {sandbox.HSDeals}, connectors.Activities: sandbox.HSEngagements,
	},
}

// truthFields are CRM fields compared with the stored normalised fields.
var truthFields = map[string]map[string]string{
	sandbox.SFAccount:     {"Name": connectors.FName, "Industry": connectors.FIndustry},
	sandbox.SFContact:     {"Email": connectors.FEmail},
	sandbox.SFOpportunity: {"StageName": connectors.FStage, "Amount": connectors.FAmount},
	sandbox.SFTask:        {"Subject": connectors.FSubject, "Description": connectors.FBody},
	sandbox.SFEvent:       {"Subject": connectors.FSubject, "Description": connectors.FBody},
	sandbox.HSCompanies:   {"name": connectors.FName, "industry": connectors.FIndustry},
	sandbox.HSContacts:    {"email": connectors.FEmail},
	sandbox.HSDeals:       {"dealstage": connectors.FStage, "amount": connectors.FAmount},
	sandbox.HSCalls:       {"hs_call_body": connectors.FBody},
	sandbox.HSEmails:      {"hs_email_text": connectors.FBody},
	sandbox.HSMeetings:    {"hs_meeting_body": connectors.FBody},
	sandbox.HSNotes:       {"hs_note_body": connectors.FBody},
	sandbox.HSTasks:       {"hs_task_body": connectors.FBody},
}

// StoreType is the store object type of a connector object.
func StoreType(o connectors.Object) string {
	switch o {
	case connectors.Accounts:
		return store.TypeAccount
	case connectors.Contacts:
		return "contact"
	case connectors.Opportunities:
		return store.TypeOpportunity
	case connectors.Activities:
		return store.TypeActivity
	}
	return strings.TrimSuffix(string(o), "s")
}

type liveRow struct {
	table    string
	modified time.Time
	account  string
	fields   map[string]any
}

// live returns the live (not deleted) rows of obj in the sandbox by id.
func (r *Rig) live(conn string, obj connectors.Object) map[string]liveRow {
	out := map[string]liveRow{}
	ten := r.Tenant(conn)
	for _, table := range sandboxTables[conn][obj] {
		_ = ten.Scan(table, func(row sandbox.Row) bool {
			if row.Deleted {
				return true
			}
			lr := liveRow{table: table, modified: row.ModifiedAt.UTC(), fields: row.Fields}
			switch {
			case obj == connectors.Accounts:
				lr.account = row.ID
			case conn == app.SandboxSalesforce:
				lr.account, _ = row.Fields["AccountId"].(string)
				if lr.account == "" {
					if w, _ := row.Fields["WhatId"].(string); strings.HasPrefix(w, sandbox.PrefixAccount) {
						lr.account = w
					}
				}
			default:
				if ids, _ := ten.Associations(table, row.ID, sandbox.HSCompanies); len(ids) > 0 {
					lr.account = ids[0]
				}
			}
			out[row.ID] = lr
			return true
		})
	}
	return out
}

// wireText is s as a JSON wire carries it: each invalid UTF-8 byte becomes
// U+FFFD.
func wireText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

func sameValue(crm, stored any) bool {
	if s, ok := crm.(string); ok {
		crm = wireText(s)
	}
	switch c := crm.(type) {
	case nil:
		return stored == nil
	case string:
		if c == "" {
			return stored == nil
		}
		if f, ok := stored.(float64); ok { // HubSpot numbers are strings
			return fmt.Sprint(f) == c || strings.TrimRight(strings.TrimRight(c, "0"), ".") == fmt.Sprint(f)
		}
		s, _ := stored.(string)
		return s == c
	case float64:
		f, ok := stored.(float64)
		return ok && math.Abs(f-c) < 1e-9
	}
	return fmt.Sprint(crm) == fmt.Sprint(stored)
}

// snapshot is everything Check compares, read from one database.
type snapshot struct {
	records    map[string]store.Record // ref string -> record
	chunks     map[string]store.Chunk  // chunk id -> chunk (text, attrs)
	quarantine map[string]crmsync.Quarantined
	vectors    int64
	missingVec []string
	dirty      int
}

func readSnapshot(ctx context.Context, rdb *redis.Client) (*snapshot, error) {
	st, err := store.New(rdb, nil)
	if err != nil {
		return nil, err
	}
	s := &snapshot{records: map[string]store.Record{}, chunks: map[string]store.Chunk{}, quarantine: map[string]crmsync.Quarantined{}}
	for _, conn := range Conns {
		for _, obj := range connectors.AllObjects {
			typ := StoreType(obj)
			ids, err := st.RecordIDs(ctx, conn, typ)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				ref := store.Ref{Connection: conn, Object: typ, ID: id}
				rec, err := st.GetRecord(ctx, ref)
				if err != nil {
					return nil, fmt.Errorf("record %s listed but unreadable: %w", ref, err)
				}
				s.records[ref.String()] = rec
			}
		}
		q, err := crmsync.Quarantine(ctx, st, conn)
		if err != nil {
			return nil, err
		}
		for _, e := range q {
			s.quarantine[e.Connection+":"+e.Object+":"+e.ID] = e
		}
		n, err := rdb.SCard(ctx, st.Key("dirty", conn)).Result()
		if err != nil {
			return nil, err
		}
		s.dirty += int(n)
	}
	var ids []string
	if err := st.ScanChunks(ctx, func(it store.Item) error {
		ids = append(ids, it.ID)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += 500 {
		chs, err := st.GetChunks(ctx, ids[start:min(start+500, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, c := range chs {
			s.chunks[c.ID] = c
		}
	}
	// Vectors: the vector set of the CRM index (Redis 8 vector sets).
	key := st.Key(app.IndexName) + ":vs"
	if s.vectors, err = rdb.Do(ctx, "VCARD", key).Int64(); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("count vectors: %w", err)
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Do(ctx, "VGETATTR", key, id)
	}
	_, _ = pipe.Exec(ctx)
	for i, c := range cmds {
		if v, err := c.Result(); err != nil || v == nil {
			s.missingVec = append(s.missingVec, ids[i])
		}
	}
	return s, nil
}

// Reference syncs the sandbox's current state into a fresh database without
// interruption and returns that database.
func (r *Rig) Reference(ctx context.Context) (*redis.Client, error) {
	rdb := redistest.Client(r.T)
	a, err := r.OpenOn(ctx, rdb, nil)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if _, err := SyncApp(ctx, a, &crmsync.Options{Reconcile: true}); err != nil {
		return nil, fmt.Errorf("reference sync: %w", err)
	}
	return rdb, nil
}

// Check compares the rig's database with the sandbox and with an
// uninterrupted reference sync of the same state (see the package
// documentation). The sandbox must not change during the check.
func (r *Rig) Check(ctx context.Context) (*Report, error) {
	got, err := readSnapshot(ctx, r.Rdb)
	if err != nil {
		return nil, err
	}
	refDB, err := r.Reference(ctx)
	if err != nil {
		return nil, err
	}
	want, err := readSnapshot(ctx, refDB)
	if err != nil {
		return nil, err
	}
	_ = refDB.FlushDB(ctx).Err()
	rep := &Report{Records: len(got.records), Chunks: len(got.chunks), Vectors: got.vectors, Dirty: got.dirty}
	if got.dirty > 0 {
		rep.add(nil, "%d accounts still dirty", got.dirty)
	}

	// Quarantine: the same records, for the same reasons.
	for k, q := range want.quarantine {
		g, ok := got.quarantine[k]
		if !ok {
			rep.add(&rep.Lost, "quarantine entry %s missing (%s)", k, q.Error())
		} else if g.Field != q.Field || g.Reason != q.Reason {
			rep.add(&rep.Stale, "quarantine entry %s: %s, uninterrupted sync: %s", k, g.Error(), q.Error())
		}
	}
	for k := range got.quarantine {
		if _, ok := want.quarantine[k]; !ok {
			rep.add(&rep.Duplicated, "quarantine entry %s extra", k)
		}
	}

	// Records against the CRM's live rows.
	for _, conn := range Conns {
		for _, obj := range connectors.AllObjects {
			typ := StoreType(obj)
			live := r.live(conn, obj)
			for id, lr := range live {
				ref := store.Ref{Connection: conn, Object: typ, ID: id}.String()
				if _, q := got.quarantine[ref]; q {
					continue
				}
				rec, ok := got.records[ref]
				if !ok {
					rep.add(&rep.Lost, "%s missing", ref)
					continue
				}
				if !rec.Modified.Equal(lr.modified) {
					rep.add(&rep.Stale, "%s stale: stored %s, crm %s", ref, rec.Modified.UTC().Format(time.RFC3339Nano), lr.modified.Format(time.RFC3339Nano))
				}
				if rec.AccountID != lr.account {
					rep.add(&rep.Stale, "%s account %q, crm %q", ref, rec.AccountID, lr.account)
				}
				for crmField, key := range truthFields[lr.table] {
					if !sameValue(lr.fields[crmField], rec.Fields[key]) {
						rep.add(&rep.Stale, "%s field %s = %v, crm %s = %v", ref, key, rec.Fields[key], crmField, lr.fields[crmField])
					}
				}
			}
			prefix := conn + ":" + typ + ":"
			for ref := range got.records {
				if strings.HasPrefix(ref, prefix) {
					if _, ok := live[strings.TrimPrefix(ref, prefix)]; !ok {
						rep.add(&rep.Duplicated, "%s stored but not live in the CRM", ref)
					}
				}
			}
		}
	}
	// Records against the uninterrupted sync: the same content hashes.
	for ref, w := range want.records {
		if g, ok := got.records[ref]; ok && g.Hash != w.Hash {
			rep.add(&rep.Stale, "%s content hash %s, uninterrupted sync %s", ref, g.Hash, w.Hash)
		}
	}

	// Chunks against the uninterrupted sync.
	for id, w := range want.chunks {
		g, ok := got.chunks[id]
		switch {
		case !ok:
			rep.add(&rep.Lost, "chunk %s missing", id)
		case g.Text != w.Text:
			rep.add(&rep.Stale, "chunk %s text differs", id)
		case !reflect.DeepEqual(g.Attrs, w.Attrs) || g.Record != w.Record:
			rep.add(&rep.Stale, "chunk %s attributes %+v, uninterrupted sync %+v", id, g.Attrs, w.Attrs)
		}
	}
	for id := range got.chunks {
		if _, ok := want.chunks[id]; !ok {
			rep.add(&rep.Duplicated, "chunk %s extra", id)
		}
	}
	// Vectors: one per chunk, none extra.
	for _, id := range got.missingVec {
		rep.add(&rep.Lost, "chunk %s has no vector", id)
	}
	if extra := got.vectors - int64(len(got.chunks)-len(got.missingVec)); extra > 0 {
		rep.Duplicated += int(extra)
		rep.add(nil, "index holds %d vectors for %d chunks", got.vectors, len(got.chunks))
	}
	if len(want.missingVec) > 0 || want.vectors != int64(len(want.chunks)) {
		rep.add(nil, "uninterrupted sync itself is inconsistent: %d vectors for %d chunks, %d without vector",
			want.vectors, len(want.chunks), len(want.missingVec))
	}
	return rep, nil
}

// MustCheck runs Check and fails the test on any difference.
func (r *Rig) MustCheck(ctx context.Context, what string) *Report {
	r.T.Helper()
	rep, err := r.Check(ctx)
	if err != nil {
		r.T.Fatalf("%s: check: %v", what, err)
	}
	if !rep.OK() {
		r.T.Fatalf("%s: store differs: %s", what, rep)
	}
	return rep
}
