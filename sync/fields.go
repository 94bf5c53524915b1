package sync

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
)

// fields reads the normalised fields of a stored record. Stored fields went
// through JSON: times are RFC 3339 strings, lists are []any, numbers float64.
// A record fresh from a connector (time.Time, []string) reads the same way.
type fields map[string]any

func (f fields) str(k string) string {
	s, _ := f[k].(string)
	return s
}

func (f fields) num(k string) float64 {
	switch v := f[k].(type) {
	case float64:
		return v
	case json.Number:
		x, _ := v.Float64()
		return x
	case int:
		return float64(v)
	}
	return 0
}

func (f fields) boolean(k string) bool {
	b, _ := f[k].(bool)
	return b
}

func (f fields) time(k string) time.Time {
	switch v := f[k].(type) {
	case time.Time:
		return v.UTC()
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func (f fields) strs(k string) []string {
	switch v := f[k].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// sizeBand is the size band of an employee count as the sync stores it.
func sizeBand(employees float64) string { return connectors.SizeBand(int(employees)) }

// storeType maps a connector object to the store's record type.
func storeType(o connectors.Object) string {
	switch o {
	case connectors.Accounts:
		return "account"
	case connectors.Contacts:
		return "contact"
	case connectors.Opportunities:
		return "opportunity"
	case connectors.Activities:
		return "activity"
	}
	return strings.TrimSuffix(string(o), "s")
}
