package writeback

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/segments"
)

// Field check statuses.
const (
	StatusOK       = "ok"
	StatusMissing  = "missing"
	StatusType     = "type"
	StatusReadOnly = "read-only"
	StatusLength   = "length"
	StatusOptions  = "options"
)

// FieldCheck is the verdict on one mapping.
type FieldCheck struct {
	Connection string
	Output     string
	Field      string
	Type       string // the mapping's type
	CRMType    string // the CRM's type of the field ("" when missing)
	Status     string // StatusOK or the kind of problem
	Problem    string // what is wrong and how to fix it
}

// OK reports whether the mapping can be written as configured.
func (c FieldCheck) OK() bool { return c.Status == StatusOK }

// RiskBands are the option values of a risk band picklist.
var RiskBands = []connectors.Option{{Value: "low", Label: "Low"}, {Value: "medium", Label: "Medium"}, {Value: "high", Label: "High"}}

// SegmentOptions are the option values of a segment picklist: the segment
// ids of package segments with their English labels.
var SegmentOptions = func() []connectors.Option {
	var out []connectors.Option
	for _, id := range segments.IDs() {
		out = append(out, connectors.Option{Value: id, Label: segments.Label(id, "en")})
	}
	return out
}()

// compatible lists the CRM field types each output can be written to.
func compatible(output string) []string {
	switch output {
	case config.OutChurnScore:
		return []string{connectors.TypeNumber, connectors.TypeText, connectors.TypeTextArea}
	case config.OutNextActionDue, config.OutLastAnalyzedAt:
		return []string{connectors.TypeDate, connectors.TypeDateTime, connectors.TypeText, connectors.TypeTextArea}
	case config.OutRiskBand, config.OutSegment:
		return []string{connectors.TypeText, connectors.TypeTextArea, connectors.TypePicklist}
	}
	return []string{connectors.TypeText, connectors.TypeTextArea}
}

// CheckFields checks every mapping of conn against the CRM's description of
// its object: the field exists, its type can hold the output, the
// integration user may write it, and a text field is long enough for the
// mapping's max_length. One DescribeFields call per object.
func CheckFields(ctx context.Context, conn *connectors.Conn, mappings []config.Mapping) ([]FieldCheck, error) {
	mappings = fillDefaults(mappings)
	described := map[connectors.Object]map[string]connectors.FieldInfo{}
	var out []FieldCheck
	for _, m := range mappings {
		c := FieldCheck{Connection: conn.Name(), Output: m.Output, Field: m.Field, Type: m.Type}
		obj, err := objectOf(m)
		if err != nil {
			c.Status, c.Problem = StatusType, err.Error()
			out = append(out, c)
			continue
		}
		if described[obj] == nil {
			infos, err := conn.DescribeFields(ctx, obj)
			if err != nil {
				return nil, fmt.Errorf("check fields of %s: %w", conn.Name(), err)
			}
			described[obj] = map[string]connectors.FieldInfo{}
			for _, f := range infos {
				described[obj][strings.ToLower(f.Name)] = f
			}
		}
		f, ok := described[obj][strings.ToLower(m.Field)]
		switch {
		case !ok:
			c.Status, c.Problem = StatusMissing, "no such field on "+string(obj)+" (or hidden from the integration user); create it with: crmpulse fields provision --connection "+conn.Name()
		case !slices.Contains(compatible(m.Output), f.Type):
			c.CRMType, c.Status = f.CRMType, StatusType
			c.Problem = fmt.Sprintf("a %s field cannot hold %s; use a field of type %s", f.Type, m.Output, strings.Join(compatible(m.Output), " or "))
		case !f.Updateable:
			c.CRMType, c.Status = f.CRMType, StatusReadOnly
			c.Problem = "the integration user may not edit it (field-level security, or a formula/calculated field); grant edit access or run crmpulse fields provision"
		default:
			c.CRMType, c.Status = f.CRMType, StatusOK
			limit := f.Length
			if limit == 0 && (f.Type == connectors.TypeText || f.Type == connectors.TypeTextArea) && conn.Kind() == config.KindHubSpot {
				limit = HubSpotStringMax
			}
			if m.MaxLength > 0 && limit > 0 && m.MaxLength > limit && f.Type != connectors.TypePicklist {
				c.Status = StatusLength
				c.Problem = fmt.Sprintf("the field holds %d characters but max_length is %d; values would be cut at %d: lower max_length or lengthen the field", limit, m.MaxLength, limit)
			}
			if f.Type == connectors.TypePicklist && m.Output == config.OutRiskBand {
				if missing := missingOptions(f.Options, RiskBands); len(missing) > 0 {
					c.Status = StatusOptions
					c.Problem = "picklist lacks options " + strings.Join(missing, ", ") + "; add them or run crmpulse fields provision"
				}
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func missingOptions(have, want []connectors.Option) []string {
	var out []string
	for _, w := range want {
		if _, ok := findOption(have, w.Value); !ok {
			out = append(out, w.Value)
		}
	}
	return out
}

// Provision actions.
const (
	ProvisionExists  = "exists"       // present and writable: nothing done
	ProvisionCreated = "created"      // created (with its permissions)
	ProvisionGranted = "granted"      // existed, made writable for the integration user
	ProvisionOptions = "options"      // picklist options added
	ProvisionWould   = "would create" // dry run: missing
	ProvisionWouldFx = "would grant"  // dry run: not writable
)

// Provisioned is the outcome for one mapping.
type Provisioned struct {
	Connection string
	Output     string
	Field      string
	Action     string
	Info       connectors.FieldInfo
}

// ProvisionFields creates the missing fields of the mappings with
// Conn.EnsureField (Salesforce: Tooling API CustomField and field-level
// security for the integration user; HubSpot: properties in the crmpulse
// group, enumeration options for segments). Fields that exist and are
// writable are left alone, so running it again creates nothing. With dryRun
// it only reports what it would do.
func ProvisionFields(ctx context.Context, conn *connectors.Conn, mappings []config.Mapping, dryRun bool) ([]Provisioned, error) {
	mappings = fillDefaults(mappings)
	var out []Provisioned
	have := map[connectors.Object]map[string]connectors.FieldInfo{}
	for _, m := range mappings {
		obj, err := objectOf(m)
		if err != nil {
			return out, err
		}
		if have[obj] == nil {
			infos, err := conn.DescribeFields(ctx, obj)
			if err != nil {
				return out, fmt.Errorf("provision fields of %s: %w", conn.Name(), err)
			}
			have[obj] = map[string]connectors.FieldInfo{}
			for _, f := range infos {
				have[obj][strings.ToLower(f.Name)] = f
			}
		}
		spec, err := FieldSpecFor(conn.Kind(), m)
		if err != nil {
			return out, fmt.Errorf("provision %s on %s: %w", m.Field, conn.Name(), err)
		}
		p := Provisioned{Connection: conn.Name(), Output: m.Output, Field: m.Field}
		f, exists := have[obj][strings.ToLower(m.Field)]
		// Salesforce picklists are unrestricted when provisioned here; HubSpot
		// enumerations reject unknown values, so their options are completed.
		needOptions := conn.Kind() == config.KindHubSpot && spec.Type == connectors.TypePicklist &&
			f.Type == connectors.TypePicklist && len(missingOptions(f.Options, spec.Options)) > 0
		switch {
		case exists && f.Updateable && !needOptions:
			p.Action, p.Info = ProvisionExists, f
			out = append(out, p)
			continue
		case dryRun && !exists:
			p.Action = ProvisionWould
			out = append(out, p)
			continue
		case dryRun:
			p.Action, p.Info = ProvisionWouldFx, f
			out = append(out, p)
			continue
		case !exists:
			p.Action = ProvisionCreated
		case !f.Updateable:
			p.Action = ProvisionGranted
		default:
			p.Action = ProvisionOptions
		}
		info, err := conn.EnsureField(ctx, obj, spec)
		if err != nil {
			return out, fmt.Errorf("provision %s on %s: %w", m.Field, conn.Name(), err)
		}
		p.Info = info
		have[obj][strings.ToLower(m.Field)] = info
		out = append(out, p)
	}
	return out, nil
}

// FieldSpecFor is the custom field a mapping needs on a CRM of kind.
func FieldSpecFor(kind string, m config.Mapping) (connectors.FieldSpec, error) {
	m = fillDefaults([]config.Mapping{m})[0]
	spec := connectors.FieldSpec{
		Name:        m.Field,
		Label:       "AI " + strings.ReplaceAll(m.Output, "_", " "),
		Description: "Written by crmpulse (" + m.Output + "); a person's edit is kept or overwritten as the write-back mapping says (" + m.OnHumanEdit + ").",
	}
	switch neutral(m.Type) {
	case connectors.TypeNumber:
		spec.Type, spec.Precision, spec.Scale = connectors.TypeNumber, 5, 2
	case connectors.TypeText:
		spec.Type, spec.Length = connectors.TypeText, SalesforceTextMax
		if m.MaxLength > 0 && m.MaxLength < SalesforceTextMax {
			spec.Length = m.MaxLength
		}
	case connectors.TypeTextArea:
		spec.Type, spec.Length = connectors.TypeTextArea, 32768
		if m.MaxLength > 0 {
			spec.Length = max(m.MaxLength, 256)
		}
	case connectors.TypeDate:
		spec.Type = connectors.TypeDate
	case connectors.TypeDateTime:
		spec.Type = connectors.TypeDateTime
	case connectors.TypePicklist:
		spec.Type = connectors.TypePicklist
		switch m.Output {
		case config.OutSegment:
			spec.Options = SegmentOptions
		case config.OutRiskBand:
			spec.Options = RiskBands
		default:
			return spec, fmt.Errorf("output %s cannot be a %s field (only segment and risk_band are)", m.Output, m.Type)
		}
	default:
		return spec, fmt.Errorf("unknown field type %q", m.Type)
	}
	if kind == config.KindHubSpot {
		spec.Length = 0
	}
	return spec, nil
}

func sortStrings(s []string) { sort.Strings(s) }
