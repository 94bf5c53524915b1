package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// DeadLetter is a record the CRM refused for good, with its own words.
type DeadLetter struct {
	ID      string // stream entry id
	At      time.Time
	Object  string
	Record  string
	Fields  map[string]string // the values that were sent
	Code    string            // the CRM's error code (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, VALIDATION_ERROR/INVALID_OPTION …)
	Message string            // the CRM's message
	Status  int               // HTTP status when the whole call failed, else 0
	Source  time.Time         // when the insight behind the values ran
}

func (d DeadLetter) values(nowMs string) map[string]any {
	b, _ := json.Marshal(d.Fields)
	return map[string]any{"object": d.Object, "id": d.Record, "fields": string(b), "code": d.Code,
		"message": d.Message, "status": strconv.Itoa(d.Status), "at": nowMs,
		"src": strconv.FormatInt(d.Source.UnixMilli(), 10)}
}

func parseDeadLetter(m redis.XMessage) DeadLetter {
	s := func(k string) string { v, _ := m.Values[k].(string); return v }
	d := DeadLetter{ID: m.ID, Object: s("object"), Record: s("id"), Code: s("code"), Message: s("message")}
	d.Status, _ = strconv.Atoi(s("status"))
	_ = json.Unmarshal([]byte(s("fields")), &d.Fields)
	if ms, err := strconv.ParseInt(s("at"), 10, 64); err == nil {
		d.At = time.UnixMilli(ms).UTC()
	}
	if ms, err := strconv.ParseInt(s("src"), 10, 64); err == nil {
		d.Source = time.UnixMilli(ms).UTC()
	}
	return d
}

// DeadLetters lists the dead letters of conn, oldest first (limit <= 0: all).
func DeadLetters(ctx context.Context, st *store.Store, conn string, limit int64) ([]DeadLetter, error) {
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = st.Client().XRangeN(ctx, DeadLetterKey(st, conn), "-", "+", limit).Result()
	} else {
		msgs, err = st.Client().XRange(ctx, DeadLetterKey(st, conn), "-", "+").Result()
	}
	if err != nil {
		return nil, fmt.Errorf("dead letters of %s: %w", conn, err)
	}
	out := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = parseDeadLetter(m)
	}
	return out, nil
}

// RetryDead moves dead letters back into the outbox (ids: those entries;
// none: all) and returns how many were requeued. Each keeps the time of its
// insight, so a newer value of the same field, queued or written since,
// still wins.
func RetryDead(ctx context.Context, st *store.Store, conn string, ids ...string) (int, error) {
	rdb := st.Client()
	key := DeadLetterKey(st, conn)
	var msgs []redis.XMessage
	if len(ids) == 0 {
		all, err := rdb.XRange(ctx, key, "-", "+").Result()
		if err != nil {
			return 0, fmt.Errorf("retry dead letters of %s: %w", conn, err)
		}
		msgs = all
	} else {
		for _, id := range ids {
			m, err := rdb.XRange(ctx, key, id, id).Result()
			if err != nil {
				return 0, fmt.Errorf("retry dead letter %s of %s: %w", id, conn, err)
			}
			if len(m) == 0 {
				return 0, fmt.Errorf("retry dead letters of %s: no dead letter %s", conn, id)
			}
			msgs = append(msgs, m...)
		}
	}
	n := 0
	for _, m := range msgs {
		d := parseDeadLetter(m)
		c := Change{Object: d.Object, ID: d.Record, Fields: d.Fields, At: d.Source, Source: SourceRetry}
		v, err := c.values()
		if err != nil {
			return n, fmt.Errorf("retry dead letter %s of %s: %w", m.ID, conn, err)
		}
		_, err = rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.XAdd(ctx, &redis.XAddArgs{Stream: OutboxKey(st, conn), Values: v})
			pl.XDel(ctx, key, m.ID)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("retry dead letter %s of %s: %w", m.ID, conn, err)
		}
		n++
	}
	return n, nil
}

// AuditEntry is one field decision of the writer.
type AuditEntry struct {
	ID     string
	At     time.Time
	Object string
	Record string
	Field  string
	Old    string
	New    string
	Result string // written, already, kept, failed
	Note   string
}

// Audit lists the latest audit entries of conn, newest first (limit <= 0:
// all that the capped stream holds).
func Audit(ctx context.Context, st *store.Store, conn string, limit int64) ([]AuditEntry, error) {
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = st.Client().XRevRangeN(ctx, AuditKey(st, conn), "+", "-", limit).Result()
	} else {
		msgs, err = st.Client().XRevRange(ctx, AuditKey(st, conn), "+", "-").Result()
	}
	if err != nil {
		return nil, fmt.Errorf("audit trail of %s: %w", conn, err)
	}
	out := make([]AuditEntry, len(msgs))
	for i, m := range msgs {
		s := func(k string) string { v, _ := m.Values[k].(string); return v }
		a := AuditEntry{ID: m.ID, Object: s("object"), Record: s("id"), Field: s("field"), Old: s("old"), New: s("new"), Result: s("result"), Note: s("note")}
		if ms, err := strconv.ParseInt(s("at"), 10, 64); err == nil {
			a.At = time.UnixMilli(ms).UTC()
		}
		out[i] = a
	}
	return out, nil
}
