package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/store"
)

// Group is the consumer group of every outbox stream.
const Group = "writeback"

// Sources of outbox entries.
const (
	SourceInsight = "insight" // Enqueue
	SourceRetry   = "retry"   // RetryDead
)

// OutboxKey is the outbox stream of a connection.
func OutboxKey(st *store.Store, conn string) string { return st.Key("outbox", conn) }

// WrittenKey is the hash of the values last written to one record.
func WrittenKey(st *store.Store, conn, object, id string) string {
	return st.Key("written", conn, object, id)
}

// DeadLetterKey is the dead-letter stream of a connection.
func DeadLetterKey(st *store.Store, conn string) string { return st.Key("deadletter", conn) }

// AuditKey is the audit stream of a connection.
func AuditKey(st *store.Store, conn string) string { return st.Key("audit", conn) }

// Change is the desired field set of one record: one outbox entry.
type Change struct {
	Object string            // store object name: account
	ID     string            // CRM record id
	Fields map[string]string // CRM field → wire value ("" clears)
	// At orders changes of the same record: the latest wins, and a value
	// older than the one last written is never sent.
	At     time.Time
	Source string // SourceInsight or SourceRetry
	// entry is the stream id it was read from.
	entry string
}

func (c Change) values() (map[string]any, error) {
	if err := (store.Ref{Connection: "c", Object: c.Object, ID: c.ID}).Validate(); err != nil {
		return nil, fmt.Errorf("outbox change: %w", err)
	}
	b, err := json.Marshal(c.Fields)
	if err != nil {
		return nil, err
	}
	src := c.Source
	if src == "" {
		src = SourceInsight
	}
	return map[string]any{"object": c.Object, "id": c.ID, "fields": string(b),
		"at": strconv.FormatInt(c.At.UnixMilli(), 10), "src": src}, nil
}

func parseChange(m redis.XMessage) (Change, error) {
	c := Change{entry: m.ID}
	c.Object, _ = m.Values["object"].(string)
	c.ID, _ = m.Values["id"].(string)
	c.Source, _ = m.Values["src"].(string)
	f, _ := m.Values["fields"].(string)
	if c.ID == "" || c.Object == "" {
		return c, fmt.Errorf("outbox entry %s: no object or id", m.ID)
	}
	if err := json.Unmarshal([]byte(f), &c.Fields); err != nil {
		return c, fmt.Errorf("outbox entry %s: fields: %w", m.ID, err)
	}
	at, _ := m.Values["at"].(string)
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return c, fmt.Errorf("outbox entry %s: at %q: %w", m.ID, at, err)
	}
	c.At = time.UnixMilli(ms).UTC()
	return c, nil
}

// Enqueue appends changes to the outbox of conn, in one pipeline.
func Enqueue(ctx context.Context, st *store.Store, conn string, changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	key := OutboxKey(st, conn)
	const chunk = 1000
	for start := 0; start < len(changes); start += chunk {
		_, err := st.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range changes[start:min(start+chunk, len(changes))] {
				v, err := c.values()
				if err != nil {
					return err
				}
				p.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: v})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("enqueue write-back for %s: %w", conn, err)
		}
	}
	return nil
}

// Changes converts insights with t into one change per account. A
// conversion error (a mapping whose output cannot be written to its field)
// fails the call.
func Changes(t *Target, ins []Insight) ([]Change, error) {
	changes := make([]Change, 0, len(ins))
	var errs []error
	for _, in := range ins {
		if in.AccountID == "" {
			errs = append(errs, errors.New("insight without an account id"))
			continue
		}
		fields, err := t.Desired(in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		at := in.AnalyzedAt
		if at.IsZero() {
			at = time.Now()
		}
		changes = append(changes, Change{Object: storeObject(t), ID: in.AccountID, Fields: fields, At: at, Source: SourceInsight})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("write-back for %s: %w", t.Conn, err)
	}
	return changes, nil
}

// EnqueueInsights converts insights with t and appends one change per
// account; nothing is queued when a conversion fails.
func EnqueueInsights(ctx context.Context, st *store.Store, t *Target, ins []Insight) error {
	changes, err := Changes(t, ins)
	if err != nil {
		return err
	}
	return Enqueue(ctx, st, t.Conn, changes)
}

// storeObject is the store's object name of the target.
func storeObject(t *Target) string {
	switch t.Object {
	case connectors.Opportunities:
		return "opportunity"
	case connectors.Activities:
		return "activity"
	}
	return strings.TrimSuffix(string(t.Object), "s")
}

// Pending returns the number of outbox entries of conn not yet done.
func Pending(ctx context.Context, st *store.Store, conn string) (int64, error) {
	return st.Client().XLen(ctx, OutboxKey(st, conn)).Result()
}
