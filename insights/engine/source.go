package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/store"
)

// Source reads account histories. The engine needs nothing else from the
// synced data.
type Source interface {
	// Accounts returns the ids of the connection's accounts.
	Accounts(ctx context.Context, conn string) ([]string, error)
	// History returns everything stored about one account.
	History(ctx context.Context, conn, id string) (churn.AccountHistory, error)
}

// BatchSource is a Source that loads many accounts at once; the engine
// uses it to prepare a base when the source implements it.
type BatchSource interface {
	Source
	// Histories returns the histories of the accounts that exist, by id.
	Histories(ctx context.Context, conn string, ids []string) (map[string]churn.AccountHistory, error)
}

// SourceFuncs adapts two functions (for instance the sync engine's loaders)
// to a Source.
type SourceFuncs struct {
	AccountsFunc func(ctx context.Context, conn string) ([]string, error)
	HistoryFunc  func(ctx context.Context, conn, id string) (churn.AccountHistory, error)
}

// Accounts calls AccountsFunc.
func (f SourceFuncs) Accounts(ctx context.Context, conn string) ([]string, error) {
	return f.AccountsFunc(ctx, conn)
}

// History calls HistoryFunc.
func (f SourceFuncs) History(ctx context.Context, conn, id string) (churn.AccountHistory, error) {
	return f.HistoryFunc(ctx, conn, id)
}

// StoreSource reads histories from the records the sync wrote into the
// store: the account record, and the contacts, opportunities and activities
// in its account index. Won opportunities are the purchases (close date,
// amount, products). Field names are the connectors' neutral keys. It reads
// what the sync engine's LoadHistory reads and, in addition, the recorded
// churn: the close date of a lost renewal opportunity (type containing
// "renewal") not followed by a purchase becomes ChurnedAt.
//
// Records are read with pipelines (the key schema of package store): one
// round trip for the accounts' record sets and one for their records.
type StoreSource struct {
	Store *store.Store
	// Concurrency is kept for compatibility; batches are pipelined.
	Concurrency int
}

var _ BatchSource = (*StoreSource)(nil)

// Object names as the store knows them (singular, with the plural tolerated).
func objectOf(o string) string {
	return strings.TrimSuffix(strings.ToLower(o), "s")
}

// Accounts lists the connection's stored account records.
func (s *StoreSource) Accounts(ctx context.Context, conn string) ([]string, error) {
	ids, err := s.Store.RecordIDs(ctx, conn, store.TypeAccount)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		if ids, err = s.Store.RecordIDs(ctx, conn, "accounts"); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// History loads one account: its record refs, then every record in one
// pipeline.
func (s *StoreSource) History(ctx context.Context, conn, id string) (churn.AccountHistory, error) {
	hs, err := s.Histories(ctx, conn, []string{id})
	if err != nil {
		return churn.AccountHistory{}, err
	}
	h, ok := hs[id]
	if !ok {
		return h, fmt.Errorf("load history of %s/%s: %w", conn, id, store.ErrNotFound)
	}
	return h, nil
}

// historyBatch is how many accounts one pair of pipelines reads.
const historyBatch = 64

// Histories implements BatchSource: the accounts' record sets in one
// pipeline, then their records (without the raw CRM payload, which the
// engine does not read) in another, per batch of historyBatch accounts.
// Accounts whose record no longer exists are left out.
func (s *StoreSource) Histories(ctx context.Context, conn string, ids []string) (map[string]churn.AccountHistory, error) {
	out := make(map[string]churn.AccountHistory, len(ids))
	rdb := s.Store.Client()
	for start := 0; start < len(ids); start += historyBatch {
		batch := ids[start:min(start+historyBatch, len(ids))]
		pipe := rdb.Pipeline()
		sets := make([]*redis.StringSliceCmd, len(batch))
		for i, id := range batch {
			sets[i] = pipe.SMembers(ctx, s.Store.Key("acct", conn, id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("load histories of %s: record sets: %w", conn, err)
		}
		type pending struct {
			acct int
			ref  store.Ref
			cmd  *redis.SliceCmd
		}
		var reads []pending
		pipe = rdb.Pipeline()
		for i, c := range sets {
			members, _ := c.Result()
			sort.Strings(members)
			for _, m := range members {
				ref, err := store.ParseRef(m)
				if err != nil {
					return nil, fmt.Errorf("load history of %s/%s: %w", conn, batch[i], err)
				}
				reads = append(reads, pending{i, ref, pipe.HMGet(ctx, s.Store.Key("rec", ref.String()), "id", "account", "modified", "fields")})
			}
		}
		if len(reads) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("load histories of %s: records: %w", conn, err)
			}
		}
		recs := make([][]store.Record, len(batch))
		for _, rd := range reads {
			v, err := rd.cmd.Result()
			if err != nil {
				return nil, fmt.Errorf("load history of %s/%s: %s: %w", conn, batch[rd.acct], rd.ref, err)
			}
			if str(v[0]) == "" {
				continue // chunk-only entries (documents) or deleted meanwhile
			}
			rec := store.Record{Ref: rd.ref, AccountID: str(v[1])}
			if m := str(v[2]); m != "" {
				if rec.Modified, err = time.Parse(time.RFC3339Nano, m); err != nil {
					return nil, fmt.Errorf("load history of %s/%s: %s: modified: %w", conn, batch[rd.acct], rd.ref, err)
				}
			}
			if err := json.Unmarshal([]byte(str(v[3])), &rec.Fields); err != nil {
				return nil, fmt.Errorf("load history of %s/%s: %s: fields: %w", conn, batch[rd.acct], rd.ref, err)
			}
			recs[rd.acct] = append(recs[rd.acct], rec)
		}
		for i, id := range batch {
			if h, ok := HistoryFromRecords(id, recs[i]); ok {
				out[id] = h
			}
		}
	}
	return out, nil
}

func str(v any) string { s, _ := v.(string); return s }

// HistoryFromRecords builds an account history from stored records; ok is
// false when the account record itself is not among them.
func HistoryFromRecords(id string, recs []store.Record) (h churn.AccountHistory, ok bool) {
	h.ID = id
	var lapsed time.Time // close date of the latest lost renewal
	for _, r := range recs {
		f := fields(r.Fields)
		switch objectOf(r.Object) {
		case "account":
			if r.ID != id {
				continue
			}
			ok = true
			h.Name = f.str("name")
			h.Industry = f.str("industry")
			h.Employees = int(f.num("employees"))
			h.Owner = f.str("owner")
			h.FirstSeen = f.time("created")
			h.Renewal = f.time("renewal")
			h.ChurnedAt = f.time("churned_at")
		case "contact":
			h.Contacts = append(h.Contacts, churn.Contact{
				ID: r.ID, Name: f.str("name"), Title: f.str("title"), Email: f.str("email"),
				Role: f.str("role"), Champion: f.boolean("champion"), Left: f.time("left"),
			})
		case "opportunity":
			closed := f.time("close_date")
			isClosed, won := f.boolean("is_closed"), f.boolean("is_won")
			o := churn.Opportunity{
				ID: r.ID, Name: f.str("name"), Stage: f.str("stage"), Amount: f.num("amount"),
				Created: f.time("created"), Won: won, Lost: isClosed && !won,
				LossReason: f.str("loss_reason"), Competitor: f.str("competitor"), Products: f.list("products"),
			}
			if isClosed {
				o.Closed = closed
				if o.Closed.IsZero() {
					o.Closed = r.Modified
				}
				if !won && strings.Contains(strings.ToLower(f.str("type")), "renewal") && o.Closed.After(lapsed) {
					lapsed = o.Closed
				}
			}
			if o.Created.IsZero() {
				o.Created = closed
			}
			h.Opportunities = append(h.Opportunities, o)
			if won {
				h.Purchases = append(h.Purchases, churn.Purchase{ID: r.ID, Date: o.Closed, Amount: o.Amount, Products: o.Products})
			}
		case "activity":
			a := churn.Activity{ID: r.ID, Date: f.time("date"), Kind: f.str("kind"), Subject: f.str("subject"), Text: f.str("body")}
			if cs := f.list("contact_ids"); len(cs) > 0 {
				a.ContactID = cs[0]
			}
			if a.Date.IsZero() {
				a.Date = f.time("created")
			}
			if a.Date.IsZero() {
				a.Date = r.Modified
			}
			h.Activities = append(h.Activities, a)
		}
	}
	for _, p := range h.Purchases {
		if h.FirstSeen.IsZero() || (!p.Date.IsZero() && p.Date.Before(h.FirstSeen)) {
			h.FirstSeen = p.Date
		}
	}
	// A lost renewal with no purchase after it is the account's recorded
	// churn (the CRM's own outcome, used for training labels).
	if h.ChurnedAt.IsZero() && !lapsed.IsZero() {
		h.ChurnedAt = lapsed
		for _, p := range h.Purchases {
			if p.Date.After(lapsed) {
				h.ChurnedAt = time.Time{}
			}
		}
	}
	sortHistory(&h)
	return h, ok
}

func sortHistory(h *churn.AccountHistory) {
	sort.SliceStable(h.Purchases, func(i, j int) bool { return h.Purchases[i].Date.Before(h.Purchases[j].Date) })
	sort.SliceStable(h.Opportunities, func(i, j int) bool { return h.Opportunities[i].Created.Before(h.Opportunities[j].Created) })
	sort.SliceStable(h.Activities, func(i, j int) bool { return h.Activities[i].Date.Before(h.Activities[j].Date) })
	sort.SliceStable(h.Contacts, func(i, j int) bool { return h.Contacts[i].ID < h.Contacts[j].ID })
}

// fields reads normalised values that went through JSON (times as RFC 3339
// strings, lists as []any, numbers as float64) as well as native ones.
type fields map[string]any

func (f fields) str(k string) string {
	switch v := f[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func (f fields) num(k string) float64 {
	switch v := f[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case string:
		x, _ := strconv.ParseFloat(v, 64)
		return x
	}
	return 0
}

func (f fields) boolean(k string) bool {
	switch v := f[k].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

func (f fields) time(k string) time.Time {
	switch v := f[k].(type) {
	case time.Time:
		return v.UTC()
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}

func (f fields) list(k string) []string {
	switch v := f[k].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case string:
		var out []string
		for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return nil
}

// SizeBand returns the employee-count band of an account ("" when unknown),
// the bands the sync stores on chunks (connectors.SizeBand).
func SizeBand(employees int) string { return connectors.SizeBand(employees) }
