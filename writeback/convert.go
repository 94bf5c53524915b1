package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
)

// Field length limits used when a CRM does not report one.
const (
	SalesforceTextMax     = 255    // Text
	SalesforceLongTextMax = 131072 // LongTextArea upper bound (32768 by default)
	HubSpotStringMax      = 65536  // string properties
)

// Wire formats of dates and datetimes.
const (
	SalesforceDateTime = "2006-01-02T15:04:05.000-0700" // 2024-05-01T12:00:00.000+0000
	HubSpotDateTime    = "2006-01-02T15:04:05.000Z"     // ISO-8601 UTC
	isoDate            = "2006-01-02"
)

// Joiner separates the items of multi-value outputs (top drivers, cross-sell).
const Joiner = "; "

// Ellipsis ends a truncated text.
const Ellipsis = "…"

// ErrConvert is wrapped by conversion errors (an output that cannot be
// written to its field's type).
var ErrConvert = errors.New("cannot convert")

// Target converts insights into one connection's field values, following its
// mappings and, when known, the CRM's description of each field.
//
// Conversion rules, by the field's type:
//
//   - number: the churn score as 0–100 with two decimals (a HubSpot
//     percentage property takes the 0–1 fraction); Salesforce receives a
//     JSON number, HubSpot a decimal string.
//   - date: Salesforce "2024-05-01"; HubSpot epoch milliseconds of midnight UTC.
//   - datetime: Salesforce "2024-05-01T12:00:00.000+0000"; HubSpot
//     "2024-05-01T12:00:00.000Z".
//   - picklist / enumeration: the option whose value or label matches
//     (case-insensitively, or as a slug: "At Risk" → at_risk); a value that
//     matches no option is sent as is and the CRM's verdict is dead-lettered.
//   - text / textarea: lists joined with "; ", truncated at a rune boundary
//     with an ellipsis to the smaller of the mapping's max_length and the
//     field's own length (Salesforce Text 255, LongTextArea as described up to
//     131072, HubSpot strings 65536). The insight summary keeps its evidence
//     line and shortens the narrative first.
//
// Empty values (no next action, no due date) clear the field.
type Target struct {
	Conn     string
	Kind     string // config.KindSalesforce or config.KindHubSpot
	Object   connectors.Object
	Mappings []config.Mapping
	specs    map[string]fieldSpec // by CRM field name
}

type fieldSpec struct {
	m        config.Mapping
	typ      string // neutral: number, text, textarea, date, datetime, picklist
	max      int    // text limit in runes (0: none)
	options  []connectors.Option
	fraction bool // number stored as a 0–1 fraction
}

// NewTarget returns the target of a connection. described is the CRM's
// description of the object's fields (Conn.DescribeFields); nil means the
// mappings' own types and the default limits.
func NewTarget(conn, kind string, mappings []config.Mapping, described []connectors.FieldInfo) (*Target, error) {
	t := &Target{Conn: conn, Kind: kind, Object: connectors.Accounts, Mappings: fillDefaults(mappings), specs: map[string]fieldSpec{}}
	byName := map[string]connectors.FieldInfo{}
	for _, f := range described {
		byName[strings.ToLower(f.Name)] = f
	}
	for _, m := range t.Mappings {
		obj, err := objectOf(m)
		if err != nil {
			return nil, err
		}
		t.Object = obj
		s := fieldSpec{m: m, typ: neutral(m.Type)}
		info, ok := byName[strings.ToLower(m.Field)]
		if ok && knownType(info.Type) {
			s.typ = info.Type
			s.options = info.Options
			s.fraction = kind == config.KindHubSpot && s.typ == connectors.TypeNumber && strings.Contains(strings.ToLower(info.CRMType), "percent")
		}
		if isText(s.typ) {
			s.max = t.fieldLimit(s.typ, info)
			if m.MaxLength > 0 && (s.max == 0 || m.MaxLength < s.max) {
				s.max = m.MaxLength
			}
		}
		t.specs[m.Field] = s
	}
	return t, nil
}

// LoadTarget describes the mapped object on conn and returns its target.
func LoadTarget(ctx context.Context, conn *connectors.Conn, mappings []config.Mapping) (*Target, error) {
	obj := connectors.Accounts
	if len(mappings) > 0 {
		o, err := objectOf(mappings[0])
		if err != nil {
			return nil, err
		}
		obj = o
	}
	infos, err := conn.DescribeFields(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("write-back %s: %w", conn.Name(), err)
	}
	return NewTarget(conn.Name(), conn.Kind(), mappings, infos)
}

func (t *Target) fieldLimit(typ string, info connectors.FieldInfo) int {
	if info.Length > 0 {
		return info.Length
	}
	if t.Kind == config.KindHubSpot {
		return HubSpotStringMax
	}
	if typ == connectors.TypeTextArea {
		return SalesforceLongTextMax
	}
	return SalesforceTextMax
}

// neutral maps a configuration field type to a connectors type.
func neutral(typ string) string {
	switch typ {
	case "enumeration":
		return connectors.TypePicklist
	case "":
		return connectors.TypeText
	}
	return typ
}

func knownType(t string) bool {
	switch t {
	case connectors.TypeNumber, connectors.TypeText, connectors.TypeTextArea, connectors.TypeDate,
		connectors.TypeDateTime, connectors.TypePicklist, connectors.TypeBool:
		return true
	}
	return false
}

func isText(typ string) bool {
	return typ == connectors.TypeText || typ == connectors.TypeTextArea || typ == connectors.TypePicklist
}

// Fields lists the CRM fields of the target, in mapping order.
func (t *Target) Fields() []string {
	out := make([]string, len(t.Mappings))
	for i, m := range t.Mappings {
		out[i] = m.Field
	}
	return out
}

// Policy returns the on_human_edit policy of a field.
func (t *Target) Policy(field string) string { return t.specs[field].m.OnHumanEdit }

// Desired returns the desired values of the mapped fields for in, in the
// CRM's wire format as strings ("" clears a field).
func (t *Target) Desired(in Insight) (map[string]string, error) {
	out := make(map[string]string, len(t.Mappings))
	var errs []error
	for _, m := range t.Mappings {
		v, err := t.value(t.specs[m.Field], in)
		if err != nil {
			errs = append(errs, fmt.Errorf("account %s: output %s → %s: %w", in.AccountID, m.Output, m.Field, err))
			continue
		}
		out[m.Field] = v
	}
	return out, errors.Join(errs...)
}

func (t *Target) value(s fieldSpec, in Insight) (string, error) {
	switch s.m.Output {
	case config.OutChurnScore:
		return t.number(s, in.ChurnScore)
	case config.OutRiskBand:
		return t.text(s, in.RiskBand)
	case config.OutTopDrivers:
		return t.text(s, strings.Join(in.TopDrivers, Joiner))
	case config.OutNextAction:
		return t.text(s, in.NextAction)
	case config.OutNextActionDue:
		return t.time(s, in.NextActionDue, true)
	case config.OutCrossSell:
		return t.text(s, strings.Join(in.CrossSell, Joiner))
	case config.OutSegment:
		return t.text(s, in.Segment)
	case config.OutInsightSummary:
		return t.summary(s, in.Summary, in.Evidence)
	case config.OutLastAnalyzedAt:
		return t.time(s, in.AnalyzedAt, false)
	}
	return "", fmt.Errorf("%w: unknown output %q", ErrConvert, s.m.Output)
}

func (t *Target) number(s fieldSpec, p float64) (string, error) {
	if math.IsNaN(p) || math.IsInf(p, 0) {
		return "", fmt.Errorf("%w: churn score %v is not a number", ErrConvert, p)
	}
	p = min(max(p, 0), 1)
	v := math.Round(p*10000) / 100 // 0–100, two decimals
	if s.fraction {
		v = math.Round(p*10000) / 10000
	}
	str := strconv.FormatFloat(v, 'f', -1, 64)
	switch s.typ {
	case connectors.TypeNumber:
		return str, nil
	case connectors.TypeText, connectors.TypeTextArea, connectors.TypePicklist:
		return t.text(s, str)
	}
	return "", fmt.Errorf("%w: a number cannot be written to a %s field", ErrConvert, s.typ)
}

func (t *Target) time(s fieldSpec, at time.Time, dateOnly bool) (string, error) {
	if at.IsZero() {
		return "", nil
	}
	at = at.UTC()
	switch s.typ {
	case connectors.TypeDate:
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		if t.Kind == config.KindHubSpot {
			return strconv.FormatInt(day.UnixMilli(), 10), nil
		}
		return day.Format(isoDate), nil
	case connectors.TypeDateTime:
		if t.Kind == config.KindHubSpot {
			return at.Format(HubSpotDateTime), nil
		}
		return at.Format(SalesforceDateTime), nil
	case connectors.TypeText, connectors.TypeTextArea:
		if dateOnly {
			return t.text(s, at.Format(isoDate))
		}
		return t.text(s, at.Format(time.RFC3339))
	}
	return "", fmt.Errorf("%w: a date cannot be written to a %s field", ErrConvert, s.typ)
}

func (t *Target) text(s fieldSpec, v string) (string, error) {
	switch s.typ {
	case connectors.TypePicklist:
		if v == "" {
			return "", nil
		}
		return matchOption(s.options, v), nil
	case connectors.TypeText, connectors.TypeTextArea:
		return Truncate(v, s.max), nil
	}
	return "", fmt.Errorf("%w: text cannot be written to a %s field", ErrConvert, s.typ)
}

func (t *Target) summary(s fieldSpec, text string, ev []Evidence) (string, error) {
	if !isText(s.typ) || s.typ == connectors.TypePicklist {
		return "", fmt.Errorf("%w: the summary cannot be written to a %s field", ErrConvert, s.typ)
	}
	if len(ev) == 0 {
		return Truncate(text, s.max), nil
	}
	refs := make([]string, len(ev))
	for i, e := range ev {
		refs[i] = e.String()
	}
	tail := "Evidence: " + strings.Join(refs, Joiner)
	if text != "" {
		tail = "\n\n" + tail
	}
	n := utf8.RuneCountInString(tail)
	if s.max == 0 || utf8.RuneCountInString(text)+n <= s.max {
		return text + tail, nil
	}
	if n <= s.max/2 {
		return Truncate(text, s.max-n) + tail, nil
	}
	return Truncate(text+tail, s.max), nil
}

// Truncate shortens s to at most max runes, ending with an ellipsis when
// cut; max <= 0 means no limit. It never splits a rune.
func Truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	if max == 1 {
		return Ellipsis
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + Ellipsis
		}
		n++
	}
	return s
}

// matchOption returns the value of the option v names (see findOption);
// unknown values are returned unchanged.
func matchOption(opts []connectors.Option, v string) string {
	if o, ok := findOption(opts, v); ok {
		return o
	}
	return v
}

// findOption finds the option v names: by value, then case-insensitively by
// value or label, then by slug ("At Risk" → at_risk).
func findOption(opts []connectors.Option, v string) (string, bool) {
	for _, o := range opts {
		if o.Value == v {
			return o.Value, true
		}
	}
	for _, o := range opts {
		if strings.EqualFold(o.Value, v) || strings.EqualFold(o.Label, v) {
			return o.Value, true
		}
	}
	sv := slug(v)
	for _, o := range opts {
		if slug(o.Value) == sv || slug(o.Label) == sv {
			return o.Value, true
		}
	}
	return "", false
}

// slug lower-cases s and turns every run of non-alphanumerics into one "_".
func slug(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.ReplaceAll(s, "'", "")) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// wire converts a stored value to what the CRM's JSON body carries: null to
// clear a Salesforce field, a JSON number for Salesforce numbers, strings
// otherwise.
func (t *Target) wire(field, v string) any {
	if t.Kind == config.KindHubSpot {
		return v
	}
	if v == "" {
		return nil
	}
	if t.specs[field].typ == connectors.TypeNumber {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

// Same reports whether two values of field are equal once normalised by the
// field's type: numbers by value, dates by day, datetimes by millisecond
// (HubSpot's epoch milliseconds, ISO-8601 and Salesforce's +0000 form
// compare equal), text with \r\n as \n. nil and "" are equal.
func (t *Target) Same(field string, a, b any) bool {
	typ := t.specs[field].typ
	return canonical(typ, a) == canonical(typ, b)
}

func canonical(typ string, v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	if s == "" {
		return ""
	}
	switch typ {
	case connectors.TypeNumber:
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return strconv.FormatFloat(math.Round(f*1e6)/1e6, 'f', -1, 64)
		}
	case connectors.TypeDate:
		if at, ok := parseTime(s); ok {
			return at.Format(isoDate)
		}
	case connectors.TypeDateTime:
		if at, ok := parseTime(s); ok {
			return strconv.FormatInt(at.UnixMilli(), 10)
		}
	}
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// parseTime reads epoch milliseconds, ISO-8601 and Salesforce datetimes.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, SalesforceDateTime, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", isoDate} {
		if at, err := time.Parse(layout, s); err == nil {
			return at.UTC(), true
		}
	}
	return time.Time{}, false
}
