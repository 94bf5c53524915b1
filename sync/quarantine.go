package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/store"
)

// Quarantined describes a record the engine could not store, kept in
// <ns>:quarantine:<conn> under "<object>:<id>".
type Quarantined struct {
	Connection string    `json:"conn"`
	Object     string    `json:"object"`
	ID         string    `json:"id"`
	Field      string    `json:"field,omitempty"`
	Reason     string    `json:"reason"`
	Modified   time.Time `json:"modified,omitzero"`
	// Digest tells records without an id apart: the first 16 hex digits of
	// the SHA-256 of the payload as received.
	Digest string `json:"digest,omitempty"`
}

// key is the entry's field in the quarantine hash: "<object>:<id>", or
// "<object>:(no id) <digest>" for a record that came without an id.
func (q Quarantined) key() string {
	if q.ID == "" {
		return q.Object + ":(no id) " + q.Digest
	}
	return q.Object + ":" + q.ID
}

func (q Quarantined) Error() string {
	id := q.ID
	if id == "" {
		id = "(no id)"
	}
	s := fmt.Sprintf("%s %s %s", q.Connection, q.Object, id)
	if q.Field != "" {
		s += " field " + q.Field
	}
	return s + ": " + q.Reason
}

// fieldKinds are the Go types connectors use for each normalised field.
var fieldKinds = map[string]string{
	connectors.FEmployees: "number", connectors.FAnnualRevenue: "number", connectors.FAmount: "number",
	connectors.FCreated: "time", connectors.FCloseDate: "time", connectors.FDate: "time",
	connectors.FIsClosed: "bool", connectors.FIsWon: "bool",
	connectors.FProducts: "list", connectors.FContactIDs: "list",
}

// validate checks that a record can be stored and matched faithfully.
func (c *connRun) validate(obj connectors.Object, r connectors.Record) (Quarantined, bool) {
	q := Quarantined{Connection: c.name(), Object: storeType(obj), ID: r.ID, Modified: r.Modified}
	fail := func(field, format string, a ...any) (Quarantined, bool) {
		q.Field, q.Reason = field, fmt.Sprintf(format, a...)
		if !utf8.ValidString(q.ID) {
			q.ID = strings.ToValidUTF8(q.ID, "\uFFFD")
		}
		return q, false
	}
	if r.ID == "" {
		b, _ := json.Marshal(r.Raw)
		sum := sha256.Sum256(b)
		q.Digest = hex.EncodeToString(sum[:8])
		return fail("id", "missing id (the CRM sent the record without one)")
	}
	if err := idUsable(r.ID); err != nil {
		return fail("id", "id %q %v", r.ID, err)
	}
	if r.AccountID != "" {
		if err := idUsable(r.AccountID); err != nil {
			return fail("account", "account id %q %v", r.AccountID, err)
		}
	}
	if r.Modified.IsZero() {
		return fail("modified", "missing modification stamp")
	}
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if reason := c.checkValue(k, r.Fields[k]); reason != "" {
			return fail(k, "%s", reason)
		}
	}
	if _, err := json.Marshal(r.Raw); err != nil {
		return fail("raw", "raw payload cannot be encoded: %v", err)
	}
	return q, true
}

// idUsable rejects ids that keys or vector filters cannot hold.
func idUsable(id string) error {
	if !utf8.ValidString(id) {
		return fmt.Errorf("is not valid UTF-8")
	}
	if len(id) > 255 {
		return fmt.Errorf("is longer than 255 bytes")
	}
	for _, r := range id {
		if r == '"' || r == '\\' || r == '#' || r == ':' || r == ' ' || r == '*' || r == '?' || r == '[' || r == ']' || r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return fmt.Errorf("contains %q, which ids may not", r)
		}
	}
	return nil
}

func (c *connRun) checkValue(k string, v any) string {
	want := fieldKinds[k]
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if want != "" {
			return fmt.Sprintf("got text, want %s", want)
		}
		if !utf8.ValidString(x) {
			return "invalid UTF-8"
		}
		if len(x) > c.e.opt.MaxFieldBytes {
			return fmt.Sprintf("text of %d bytes exceeds the %d-byte limit", len(x), c.e.opt.MaxFieldBytes)
		}
		if strings.ContainsRune(x, 0) {
			return "contains NUL characters"
		}
	case float64:
		if want != "number" {
			return fmt.Sprintf("got a number, want %s", orText(want))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("number %v is not finite", x)
		}
	case bool:
		if want != "bool" {
			return fmt.Sprintf("got a boolean, want %s", orText(want))
		}
	case time.Time:
		if want != "time" {
			return fmt.Sprintf("got a time, want %s", orText(want))
		}
		if x.Year() < 1 || x.Year() > 9999 {
			return fmt.Sprintf("time %v out of range", x)
		}
	case []string:
		if want != "list" {
			return fmt.Sprintf("got a list, want %s", orText(want))
		}
		for _, s := range x {
			if !utf8.ValidString(s) {
				return "invalid UTF-8 in list"
			}
		}
	default:
		return fmt.Sprintf("unsupported value type %T", v)
	}
	return ""
}

func orText(k string) string {
	if k == "" {
		return "text"
	}
	return k
}

// Quarantine lists the quarantined records of a connection, sorted by
// object and id.
func Quarantine(ctx context.Context, st *store.Store, conn string) ([]Quarantined, error) {
	m, err := st.Client().HGetAll(ctx, QuarantineKey(st, conn)).Result()
	if err != nil {
		return nil, fmt.Errorf("read quarantine of %s: %w", conn, err)
	}
	out := make([]Quarantined, 0, len(m))
	for k, v := range m {
		var q Quarantined
		if err := json.Unmarshal([]byte(v), &q); err != nil {
			return nil, fmt.Errorf("quarantine entry %s of %s: %w", k, conn, err)
		}
		out = append(out, q)
	}
	slices.SortFunc(out, func(a, b Quarantined) int {
		if c := strings.Compare(a.Object, b.Object); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
