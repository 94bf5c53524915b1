package llm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Schema is a JSON Schema (the subset that OpenAI structured outputs
// accept in strict mode): type, properties, required, additionalProperties
// false, items, enum, minLength/maxLength, minItems/maxItems,
// minimum/maximum. It is sent as response_format and checked locally by
// Validate, since not every OpenAI-compatible server enforces it.
type Schema map[string]any

// MarshalJSON makes Schema a json.Marshaler (response_format wants one).
func (s Schema) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]any(s)) }

func str(minLen, maxLen int) Schema {
	return Schema{"type": "string", "minLength": minLen, "maxLength": maxLen}
}

func enum(values ...string) Schema {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return Schema{"type": "string", "enum": vs}
}

func array(items Schema, minItems, maxItems int) Schema {
	return Schema{"type": "array", "items": items, "minItems": minItems, "maxItems": maxItems}
}

// object requires every property (strict mode) and forbids others.
func object(props map[string]Schema) Schema {
	p := map[string]any{}
	var req []any
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p[k] = props[k]
		req = append(req, k)
	}
	return Schema{"type": "object", "properties": p, "required": req, "additionalProperties": false}
}

// point is a cited statement; minCites is 1 where a statement must rest on
// a source.
func point(minCites int) Schema {
	return object(map[string]Schema{
		"text":      str(1, 600),
		"citations": array(str(1, 200), minCites, 12),
	})
}

// SchemaError is a validation failure: where (a JSON path) and what.
type SchemaError struct {
	Path, Msg string
}

func (e SchemaError) Error() string { return e.Path + ": " + e.Msg }

// Validate checks v (decoded JSON: map[string]any, []any, string, float64,
// bool, nil) against s and returns every problem found, in document order.
func (s Schema) Validate(v any) []SchemaError {
	var errs []SchemaError
	validate(s, v, "$", &errs)
	return errs
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func validate(s Schema, v any, path string, errs *[]SchemaError) {
	add := func(format string, a ...any) {
		*errs = append(*errs, SchemaError{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	if t, ok := s["type"].(string); ok {
		got := typeOf(v)
		if !(got == t || t == "number" && got == "integer") {
			add("want %s, got %s", t, got)
			return
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if x == v {
				found = true
			}
		}
		if !found {
			add("%v is not one of %v", v, e)
		}
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if m, ok := num(s["minLength"]); ok && float64(n) < m {
			add("%d characters, at least %v required", n, m)
		}
		if m, ok := num(s["maxLength"]); ok && float64(n) > m {
			add("%d characters, at most %v allowed", n, m)
		}
	case float64:
		if m, ok := num(s["minimum"]); ok && x < m {
			add("%v below minimum %v", x, m)
		}
		if m, ok := num(s["maximum"]); ok && x > m {
			add("%v above maximum %v", x, m)
		}
	case []any:
		if m, ok := num(s["minItems"]); ok && float64(len(x)) < m {
			add("%d items, at least %v required", len(x), m)
		}
		if m, ok := num(s["maxItems"]); ok && float64(len(x)) > m {
			add("%d items, at most %v allowed", len(x), m)
		}
		if items, ok := s["items"].(Schema); ok {
			for i, it := range x {
				validate(items, it, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					add("missing required property %q", r)
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(Schema)
			if !ok {
				if ap, isBool := s["additionalProperties"].(bool); isBool && !ap {
					add("unexpected property %q", k)
				}
				continue
			}
			validate(ps, x[k], path+"."+k, errs)
		}
	}
}

// joinErrors formats validation errors for the retry prompt and reports.
func joinErrors(errs []SchemaError) string {
	parts := make([]string, 0, len(errs))
	for i, e := range errs {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("… and %d more", len(errs)-10))
			break
		}
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

// The analyses' output schemas.
var (
	// AccountSchema is the account insight: challenges and needs, purchase
	// pattern and decision process, cross-sell/upsell, churn risk and its
	// factors, competitors, next actions.
	AccountSchema = object(map[string]Schema{
		"summary":          str(1, 800),
		"challenges":       array(point(1), 0, 6),
		"needs":            array(point(1), 0, 6),
		"purchase_pattern": point(0),
		"decision_process": point(0),
		"cross_sell":       array(point(1), 0, 6),
		"churn_risk": object(map[string]Schema{
			"level":   enum("low", "medium", "high"),
			"factors": array(point(1), 0, 6),
		}),
		"competitors":  array(point(1), 0, 6),
		"next_actions": array(point(1), 1, 5),
	})
	// WinbackSchema is the win-back plan.
	WinbackSchema = object(map[string]Schema{
		"risk":       enum("low", "medium", "high"),
		"assessment": point(1),
		"steps":      array(point(1), 1, 6),
		"precedents": array(str(1, 200), 0, 10),
	})
	// SegmentSchema is the strategy for a set of segments.
	SegmentSchema = object(map[string]Schema{
		"segments": array(object(map[string]Schema{
			"segment":   str(1, 100),
			"needs":     array(point(1), 1, 5),
			"behaviour": array(point(1), 1, 5),
			"approach":  array(point(1), 1, 5),
			"risks":     array(point(1), 1, 5),
		}), 1, 20),
	})
)
