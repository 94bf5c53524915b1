package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/store"
)

// checkpoint is what the engine saves per (connection, object): the change
// feed cursor, and the stamp from which the next run asks for deletions.
type checkpoint struct {
	V            int               `json:"v"`
	Cursor       connectors.Cursor `json:"cursor"`
	DeletesSince time.Time         `json:"deletes_since,omitzero"`
}

// deletionOverlap is re-read from the deletion list on every run.
const deletionOverlap = 10 * time.Minute

func (c *connRun) loadCheckpoint(ctx context.Context, typ string) (checkpoint, error) {
	var ck checkpoint
	b, err := c.e.st.GetCheckpoint(ctx, c.name(), typ)
	if err != nil || len(b) == 0 {
		return ck, err
	}
	if err := json.Unmarshal(b, &ck); err != nil {
		return ck, fmt.Errorf("checkpoint of %s:%s is not valid: %w", c.name(), typ, err)
	}
	return ck, nil
}

// readObject applies the deletion list and reads the change feed of obj.
func (c *connRun) readObject(ctx context.Context, obj connectors.Object, sum *ObjectSummary) error {
	typ := storeType(obj)
	ck, err := c.loadCheckpoint(ctx, typ)
	if err != nil {
		return err
	}
	conn := c.src.Conn
	if !ck.DeletesSince.IsZero() {
		dels, err := conn.Deletions(ctx, obj, ck.DeletesSince.Add(-deletionOverlap))
		switch {
		case err == nil:
			if err := c.applyDeletions(ctx, typ, dels, sum); err != nil {
				return err
			}
		case errors.Is(err, connectors.ErrPermanent):
			// The CRM no longer lists deletions that far back: the id
			// reconciliation finds them instead.
			c.e.log.Warn("deletion list unavailable; reconciling ids instead", "connection", c.name(), "object", obj, "err", err)
			c.mu.Lock()
			c.forceReconcile = true
			c.mu.Unlock()
		default:
			return err
		}
	}
	var read int64
	for {
		c.e.at(ctx, "page:before-read")
		page, err := conn.Changes(ctx, obj, ck.Cursor)
		if err != nil {
			return err
		}
		sum.Pages++
		ck.Cursor = page.Next
		if page.Done {
			ck.DeletesSince = page.Next.Covered()
		}
		ck.V = 1
		c.e.at(ctx, "page:read")
		if err := c.writePage(ctx, obj, typ, page.Records, ck, sum); err != nil {
			return err
		}
		read += int64(len(page.Records))
		c.e.progress(Progress{Conn: c.name(), Object: string(obj), Phase: PhaseRead, Done: read})
		if page.Done {
			return nil
		}
	}
}

func (c *connRun) applyDeletions(ctx context.Context, typ string, dels []connectors.Deletion, sum *ObjectSummary) error {
	if len(dels) == 0 {
		return nil
	}
	refs := make([]store.Ref, 0, len(dels))
	for _, d := range dels {
		r := store.Ref{Connection: c.name(), Object: typ, ID: d.ID}
		if r.Validate() == nil {
			refs = append(refs, r)
		}
	}
	return c.deleteRefs(ctx, refs, &sum.Deleted)
}

// deleteRefs deletes the stored records among refs, after marking their
// accounts dirty, and counts them in n.
func (c *connRun) deleteRefs(ctx context.Context, refs []store.Ref, n *int) error {
	if len(refs) == 0 {
		return nil
	}
	st := c.e.st
	pipe := st.Client().Pipeline()
	cmds := make([]*redis.SliceCmd, len(refs))
	for i, r := range refs {
		cmds[i] = pipe.HMGet(ctx, recKey(st, r), "id", "account")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read records to delete: %w", err)
	}
	var gone []store.Ref
	dirty := map[string]bool{}
	for i, cmd := range cmds {
		v := cmd.Val()
		if id, _ := v[0].(string); id == "" {
			continue
		}
		gone = append(gone, refs[i])
		if a, _ := v[1].(string); a != "" {
			dirty[a] = true
		}
		if refs[i].Object == store.TypeAccount {
			dirty[refs[i].ID] = true
		}
	}
	*n += len(gone)
	if len(gone) == 0 {
		return nil
	}
	if err := c.markDirty(ctx, dirty, nil, nil); err != nil {
		return err
	}
	if c.e.opt.DryRun {
		return nil
	}
	c.e.at(ctx, "delete:before")
	return st.DeleteRecordEverywhere(ctx, gone...)
}

// markDirty adds accounts to the dirty set and updates quarantine entries
// (added: new problems; cleared: "<object>:<id>" now stored fine), in one
// pipeline. In a dry run it only remembers the accounts.
func (c *connRun) markDirty(ctx context.Context, accounts map[string]bool, added []Quarantined, cleared []string) error {
	if c.e.opt.DryRun {
		c.mu.Lock()
		for a := range accounts {
			c.dirty[a] = true
		}
		c.mu.Unlock()
		return nil
	}
	if len(accounts) == 0 && len(added) == 0 && len(cleared) == 0 {
		return nil
	}
	st := c.e.st
	pipe := st.Client().TxPipeline()
	if len(accounts) > 0 {
		members := make([]any, 0, len(accounts))
		for a := range accounts {
			members = append(members, a)
		}
		pipe.SAdd(ctx, dirtyKey(st, c.name()), members...)
	}
	qk := QuarantineKey(st, c.name())
	for _, q := range added {
		b, _ := json.Marshal(q)
		pipe.HSet(ctx, qk, q.key(), string(b))
	}
	if len(cleared) > 0 {
		pipe.HDel(ctx, qk, cleared...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("mark dirty accounts: %w", err)
	}
	return nil
}

// writePage stores one page: quarantine, dirty marks, deletes, then the
// records with the checkpoint (see the package documentation).
func (c *connRun) writePage(ctx context.Context, obj connectors.Object, typ string, recs []connectors.Record, ck checkpoint, sum *ObjectSummary) error {
	sum.Read += len(recs)
	var bad []Quarantined
	latest := map[string]int{} // id -> index in good
	var good []connectors.Record
	for _, r := range recs {
		if q, ok := c.validate(obj, r); !ok {
			bad = append(bad, q)
			continue
		}
		if j, dup := latest[r.ID]; dup {
			if r.Modified.After(good[j].Modified) {
				good[j] = r
			}
			continue
		}
		latest[r.ID] = len(good)
		good = append(good, r)
	}
	sum.Quarantined += len(bad)
	for _, q := range bad {
		c.e.log.Warn("record quarantined", "connection", q.Connection, "object", q.Object, "id", q.ID, "field", q.Field, "reason", q.Reason)
	}

	st := c.e.st
	prev := make([]*redis.SliceCmd, len(good))
	if len(good) > 0 {
		pipe := st.Client().Pipeline()
		for i, r := range good {
			prev[i] = pipe.HMGet(ctx, recKey(st, store.Ref{Connection: c.name(), Object: typ, ID: r.ID}), "id", "account", "modified", "hash", "raw")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("read stored versions: %w", err)
		}
	}
	dirty := map[string]bool{}
	var puts []store.Record
	var dels []store.Ref
	cleared := make([]string, 0, len(good))
	for i, r := range good {
		ref := store.Ref{Connection: c.name(), Object: typ, ID: r.ID}
		cleared = append(cleared, typ+":"+r.ID)
		v := prev[i].Val()
		exists := v[0] != nil && v[0] != ""
		oldAcct, _ := v[1].(string)
		oldMod, _ := v[2].(string)
		oldHash, _ := v[3].(string)
		oldRaw, _ := v[4].(string)
		acct := r.AccountID
		if obj == connectors.Accounts {
			acct = r.ID
		}
		if len(c.forgotten) > 0 && (c.forgotten[idHash(r.ID)] || acct != "" && c.forgotten[idHash(acct)]) {
			sum.Unchanged++ // erased on request: never stored again
			continue
		}
		if r.Deleted {
			if exists {
				dels = append(dels, ref)
				if oldAcct != "" {
					dirty[oldAcct] = true
				}
				if obj == connectors.Accounts {
					dirty[r.ID] = true
				}
			}
			continue
		}
		hash, err := contentHash(acct, r.Fields)
		if err != nil { // validate rules this out; keep the page going
			bad = append(bad, Quarantined{Connection: c.name(), Object: typ, ID: r.ID, Reason: err.Error()})
			continue
		}
		raw, _ := json.Marshal(r.Raw)
		rec := store.Record{Ref: ref, AccountID: acct, Modified: r.Modified, Hash: hash, Fields: r.Fields, Raw: raw}
		switch {
		case !exists:
			sum.New++
		case oldHash != hash:
			sum.Updated++
		case oldMod == r.Modified.UTC().Format(time.RFC3339Nano):
			sum.Unchanged++ // the same version again
			continue
		default:
			// A new version with the same content: keep its stamp and raw
			// payload, rebuild nothing.
			if c.writebackChanged(oldRaw, r.Raw) {
				sum.Echo++
			} else {
				sum.Unchanged++
			}
			puts = append(puts, rec)
			continue
		}
		puts = append(puts, rec)
		if acct != "" {
			dirty[acct] = true
		}
		if oldAcct != "" && oldAcct != acct {
			dirty[oldAcct] = true
		}
	}
	sum.Deleted += len(dels)
	if err := c.markDirty(ctx, dirty, bad, cleared); err != nil {
		return err
	}
	if c.e.opt.DryRun {
		return nil
	}
	if len(dels) > 0 {
		c.e.at(ctx, "delete:before")
		if err := st.DeleteRecordEverywhere(ctx, dels...); err != nil {
			return err
		}
	}
	ck.Cursor = c.scrubCursor(ck.Cursor)
	data, err := json.Marshal(ck)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	c.e.at(ctx, "page:before-write")
	if _, err := st.PutRecordsWithCheckpoint(ctx, puts, store.Checkpoint{Connection: c.name(), Object: typ, Data: data}); err != nil {
		return err
	}
	c.e.at(ctx, "page:written")
	return nil
}

// contentHash is the hash of what chunks and aggregates are made from: the
// owning account and the normalised fields (write-back fields are never
// among them: connectors map only the CRM's standard fields).
func contentHash(account string, f map[string]any) (string, error) {
	return store.ContentHash(map[string]any{"account": account, "fields": f})
}

// writebackChanged reports whether a write-back field differs between the
// stored raw payload and the new one (top level, or under "properties" as
// HubSpot sends them).
func (c *connRun) writebackChanged(oldRaw string, raw map[string]any) bool {
	if len(c.src.WritebackFields) == 0 {
		return false
	}
	var old map[string]any
	_ = json.Unmarshal([]byte(oldRaw), &old)
	get := func(m map[string]any, k string) (any, bool) {
		if v, ok := m[k]; ok {
			return v, true
		}
		if p, ok := m["properties"].(map[string]any); ok {
			v, ok := p[k]
			return v, ok
		}
		return nil, false
	}
	for _, f := range c.src.WritebackFields {
		a, okA := get(old, f)
		b, okB := get(raw, f)
		if okA != okB || !reflect.DeepEqual(normJSON(a), normJSON(b)) {
			return true
		}
	}
	return false
}

// normJSON makes a value comparable with its JSON round trip.
func normJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// scrubCursor keeps erased ids (see Forget) out of the saved cursor: their
// overlap versions are forgotten and a keyset position on one restarts at
// its stamp. Both only cause harmless re-reads.
func (c *connRun) scrubCursor(cur connectors.Cursor) connectors.Cursor {
	if len(c.forgotten) == 0 {
		return cur
	}
	cur = cur.Clone()
	for _, sc := range cur.Streams {
		for id := range sc.Seen {
			if c.forgotten[idHash(id)] {
				delete(sc.Seen, id)
			}
		}
		if sc.ID != "" && c.forgotten[idHash(sc.ID)] {
			sc.ID = ""
		}
	}
	return cur
}
