package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/store"
)

// stored is a record as read back for derivation.
type stored struct {
	Ref      store.Ref
	Account  string
	Modified time.Time
	Fields   fields
}

// loadAccount reads every CRM record of an account (the account record and
// the contacts, opportunities and activities indexed under it) in one
// pipeline. Derived owners (activity digests) and refs whose record is gone
// are left out. The result is sorted by object, then id.
func loadAccount(ctx context.Context, st *store.Store, conn, account string) ([]stored, error) {
	refs, err := st.AccountRecords(ctx, conn, account)
	if err != nil {
		return nil, err
	}
	refs = slices.DeleteFunc(refs, func(r store.Ref) bool { return r.Object == TypeActivityDigest || r.Object == TypeDealDigest })
	return loadRecords(ctx, st, refs)
}

func loadRecords(ctx context.Context, st *store.Store, refs []store.Ref) ([]stored, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	pipe := st.Client().Pipeline()
	cmds := make([]*redis.SliceCmd, len(refs))
	for i, r := range refs {
		cmds[i] = pipe.HMGet(ctx, recKey(st, r), "id", "account", "modified", "fields")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read records: %w", err)
	}
	out := make([]stored, 0, len(refs))
	for i, c := range cmds {
		v := c.Val()
		if id, _ := v[0].(string); id == "" {
			continue
		}
		s := stored{Ref: refs[i]}
		s.Account, _ = v[1].(string)
		if m, _ := v[2].(string); m != "" {
			s.Modified, _ = time.Parse(time.RFC3339Nano, m)
		}
		raw, _ := v[3].(string)
		if err := json.Unmarshal([]byte(raw), &s.Fields); err != nil {
			return nil, fmt.Errorf("record %s: fields: %w", refs[i], err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b stored) int {
		if c := strings.Compare(a.Ref.Object, b.Ref.Object); c != 0 {
			return c
		}
		return strings.Compare(a.Ref.ID, b.Ref.ID)
	})
	return out, nil
}

// recKey is the store's record key (see the store package's key schema).
func recKey(st *store.Store, r store.Ref) string { return st.Key("rec", r.String()) }

// Accounts returns the ids of the accounts of a connection stored in st,
// sorted.
func Accounts(ctx context.Context, st *store.Store, conn string) ([]string, error) {
	return st.RecordIDs(ctx, conn, store.TypeAccount)
}

func opportunityOf(r stored) churn.Opportunity {
	f := r.Fields
	o := churn.Opportunity{ID: r.Ref.ID, Name: f.str(connectors.FName), Stage: f.str(connectors.FStage),
		Amount: f.num(connectors.FAmount), Created: f.time(connectors.FCreated),
		LossReason: f.str(connectors.FLossReason), Competitor: f.str(connectors.FCompetitor),
		Products: f.strs(connectors.FProducts)}
	if f.boolean(connectors.FIsClosed) {
		o.Closed = f.time(connectors.FCloseDate)
		if o.Closed.IsZero() {
			o.Closed = r.Modified
		}
		o.Won = f.boolean(connectors.FIsWon)
		o.Lost = !o.Won
	}
	return o
}

// activityDate is when an activity happened: its date, else its creation,
// else its modification stamp.
func activityDate(r stored) time.Time {
	if t := r.Fields.time(connectors.FDate); !t.IsZero() {
		return t
	}
	if t := r.Fields.time(connectors.FCreated); !t.IsZero() {
		return t
	}
	return r.Modified
}
