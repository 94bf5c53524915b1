package writeback

import (
	"fmt"
	"slices"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
)

// Mappings returns the write-back mappings of a connection with defaults
// resolved, and false when the connection is not written to.
//
// A connection listed under writeback.connections uses its mappings (or
// config.DefaultMappings for its kind when it lists none). When the
// configuration has no writeback section at all, sandbox connections get
// the default mappings, so a fresh setup can be tried end to end; real
// connections are never written to unless configured.
func Mappings(cfg *config.Config, conn string) ([]config.Mapping, bool) {
	if wb, ok := cfg.WritebackFor(conn); ok {
		return fillDefaults(wb.Mappings), true
	}
	c := cfg.Connection(conn)
	if c == nil || !c.Sandbox || len(cfg.Writeback.Connections) > 0 {
		return nil, false
	}
	return config.DefaultMappings(c.Kind), true
}

// fillDefaults completes mappings built in code: object, type and policy.
func fillDefaults(ms []config.Mapping) []config.Mapping {
	out := slices.Clone(ms)
	for i := range out {
		if out[i].Object == "" {
			out[i].Object = "account"
		}
		if out[i].Type == "" {
			out[i].Type = defaultType(out[i].Output)
		}
		if out[i].OnHumanEdit == "" {
			out[i].OnHumanEdit = config.HumanEditKeep
		}
	}
	return out
}

// defaultType is the field type an output gets when its mapping names none.
func defaultType(output string) string {
	for _, m := range config.DefaultMappings("") {
		if m.Output == output {
			return m.Type
		}
	}
	return "text"
}

// MappedFields lists the CRM field API names crmpulse writes on conn, sorted
// (nil when the connection is not written to). The sync engine uses it to
// ignore changes that touch only these fields (the echo of our own writes).
func MappedFields(cfg *config.Config, conn string) []string {
	ms, ok := Mappings(cfg, conn)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Field)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// objectOf maps a mapping's object to the connectors object.
func objectOf(m config.Mapping) (connectors.Object, error) {
	switch m.Object {
	case "", "account", "accounts":
		return connectors.Accounts, nil
	}
	return "", fmt.Errorf("mapping %s: object %q is not supported (only account)", m.Output, m.Object)
}
