package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads, parses and validates the configuration file at path, expanding
// ${VAR} references from the process environment.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	cfg, err := parse(f, os.LookupEnv, path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse decodes YAML from r on top of Default. String, number, boolean and
// duration values may reference environment variables as ${VAR} or
// ${VAR:-default} (write $${ for a literal "${"); lookupEnv resolves them
// (os.LookupEnv, or a map in tests; nil means no variables are set). When
// redis.url is not set, lookupEnv("REDIS_URL") is used before DefaultRedisURL.
//
// Parse checks structure (unknown keys, types, durations) and reports every
// problem found as a *ValidationError with field paths and line numbers; it
// does not call Validate.
func Parse(r io.Reader, lookupEnv func(string) (string, bool)) (*Config, error) {
	return parse(r, lookupEnv, "")
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): `)

func parse(r io.Reader, lookupEnv func(string) (string, bool), source string) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg := Default()
	cfg.source = source
	cfg.lines = map[string]int{}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The line is the parser's; for some errors it points at the
		// construct that contains the problem.
		fe := FieldError{Msg: strings.TrimPrefix(err.Error(), "yaml: "), Err: ErrSyntax}
		if m := yamlLineRE.FindStringSubmatch(fe.Msg); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Msg = fe.Msg[len(m[0]):]
		}
		return nil, &ValidationError{Source: source, Errors: []FieldError{fe}}
	}
	d := &decoder{lookupEnv: lookupEnv, lines: cfg.lines}
	if root := documentRoot(&doc); root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	if len(d.errs) > 0 {
		return nil, &ValidationError{Source: source, Errors: d.errs}
	}
	if _, set := cfg.lines["redis.url"]; !set || cfg.Redis.URL == "" {
		if u, ok := lookupEnv("REDIS_URL"); ok && u != "" {
			cfg.Redis.URL = u
		} else if cfg.Redis.URL == "" {
			cfg.Redis.URL = DefaultRedisURL
		}
	}
	for i := range cfg.Connections {
		cfg.Connections[i].fillKindDefaults()
	}
	for i := range cfg.Writeback.Connections {
		for j := range cfg.Writeback.Connections[i].Mappings {
			m := &cfg.Writeback.Connections[i].Mappings[j]
			if m.Object == "" {
				m.Object = "account"
			}
			if m.OnHumanEdit == "" {
				m.OnHumanEdit = HumanEditKeep
			}
		}
	}
	return cfg, nil
}

// documentRoot returns the top-level node of a document, nil when empty.
func documentRoot(doc *yaml.Node) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil
	}
	return n
}

// elementDefaulter is implemented by list element types that start from
// defaults rather than zero values.
type elementDefaulter interface{ setDefaults() }

func (c *Connection) setDefaults() { *c = DefaultConnection("", "") }

var durationType = reflect.TypeOf(time.Duration(0))

type decoder struct {
	lookupEnv func(string) (string, bool)
	lines     map[string]int
	errs      []FieldError
}

func (d *decoder) fail(path string, line int, value string, err error, msg string) {
	d.errs = append(d.errs, FieldError{Field: path, Value: value, Line: line, Msg: msg, Err: err})
}

// decode stores node n into v, recording the line of each path and
// collecting errors instead of stopping at the first.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // keep the default
	}
	if v.Type() == durationType {
		d.duration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.dict(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, nodeText(n), ErrType, "must be a mapping of keys to values")
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k.Line, nodeText(k), ErrType, "keys must be strings")
			continue
		}
		p := join(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(p, k.Line, k.Value, ErrUnknownField, "unknown field; known fields: "+knownFields(fields))
			continue
		}
		if seen[k.Value] {
			d.fail(p, k.Line, k.Value, ErrDuplicate, "field set twice")
			continue
		}
		seen[k.Value] = true
		d.lines[p] = k.Line
		d.decode(val, v.Field(idx), p)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n.Line, nodeText(n), ErrType, "must be a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, el := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = el.Line
		e := s.Index(i)
		if def, ok := e.Addr().Interface().(elementDefaulter); ok {
			def.setDefaults()
		}
		d.decode(el, e, p)
	}
	v.Set(s)
}

func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, nodeText(n), ErrType, "must be a mapping of keys to values")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k.Line, nodeText(k), ErrType, "keys must be strings")
			continue
		}
		p := join(path, k.Value)
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.fail(p, k.Line, k.Value, ErrDuplicate, "key set twice")
			continue
		}
		d.lines[p] = k.Line
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, p)
		m.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
	v.Set(m)
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalarText(n, path)
	if !ok {
		return
	}
	if s == "0" {
		v.SetInt(0)
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.fail(path, n.Line, s, ErrInvalid, "must be a duration such as 90s, 15m or 2h")
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalarText(n, path)
	if !ok {
		return
	}
	tmp := &yaml.Node{Kind: yaml.ScalarNode, Value: s, Line: n.Line, Column: n.Column, Tag: n.Tag, Style: n.Style}
	if s != n.Value {
		// Expanded from the environment: resolve the type from the new text.
		tmp.Tag, tmp.Style = "", 0
	}
	if v.Kind() == reflect.String {
		v.SetString(s)
		return
	}
	target := reflect.New(v.Type())
	if err := tmp.Decode(target.Interface()); err != nil {
		d.fail(path, n.Line, s, ErrType, "must be "+kindName(v.Kind()))
		return
	}
	v.Set(target.Elem())
}

// scalarText returns a scalar's text with environment references expanded.
func (d *decoder) scalarText(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n.Line, nodeText(n), ErrType, "must be a single value, not a list or mapping")
		return "", false
	}
	s, err := expandEnv(n.Value, d.lookupEnv)
	if err != nil {
		d.fail(path, n.Line, n.Value, ErrInvalid, err.Error())
		return "", false
	}
	return s, true
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces ${VAR} and ${VAR:-default} (default used when VAR is
// unset or empty); $${ is a literal "${". Unset variables without a default
// expand to the empty string.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("unterminated ${ (write $${ for a literal ${)")
		}
		expr := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !envNameRE.MatchString(name) {
			return "", fmt.Errorf("invalid environment variable name %q", name)
		}
		val, ok := lookup(name)
		if (!ok || val == "") && hasDef {
			val = def
		}
		b.WriteString(val)
	}
}

// yamlFields maps yaml tag names to field indexes of struct type t.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
	}
	return m
}

func knownFields(fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nodeText(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		return "[...]"
	case yaml.MappingNode:
		return "{...}"
	}
	return ""
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + k.String()
}
