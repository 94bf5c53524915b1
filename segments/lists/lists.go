// Package lists publishes segments as CRM-native definitions: for every
// segment, a filter on the account field that write-back fills with the
// segment id (Salesforce AI_Segment__c = 'vip', HubSpot crmpulse_segment is
// vip), as a HubSpot Lists v3 DYNAMIC list or a Salesforce list view (a
// report when list views are unavailable).
//
// Apply creates the lists through connectors.Conn.EnsureSegment and keeps
// them in sync: the CRM id of each list is remembered in Redis (see
// segments.Tracker.SaveApplied) and passed back on the next apply, so a
// renamed label or a changed definition updates the same list; running
// Apply twice creates nothing new. Export writes the same definitions as
// JSON, SOQL and HubSpot filter JSON for admins who apply them by hand.
//
// List names are "AI segment: <label> (<id>)": the id keeps names unique
// when labels are not ASCII (Salesforce derives list view API names from
// the ASCII letters of the name) and tells admins which value is selected.
package lists

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/salesforce"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/segments"
)

// Field is the CRM account field holding the segment id on a connection.
type Field struct {
	Connection string `json:"connection"`
	Kind       string `json:"kind"` // salesforce or hubspot
	Name       string `json:"field"`
	Type       string `json:"type"` // connectors.Type*: picklist (default) or text
}

// ErrNoSegmentField: the connection's write-back mappings have no segment
// output.
var ErrNoSegmentField = errors.New("no write-back mapping for the segment output")

// FieldFor returns the segment field of connection name: the mapping with
// output "segment" of its writeback.connections entry, or, when that entry
// lists no mappings or the connection is not listed, the default mapping
// for its kind (AI_Segment__c, crmpulse_segment).
func FieldFor(cfg *config.Config, name string) (Field, error) {
	var cc *config.Connection
	for i := range cfg.Connections {
		if cfg.Connections[i].Name == name {
			cc = &cfg.Connections[i]
		}
	}
	if cc == nil {
		return Field{}, fmt.Errorf("connection %q is not configured", name)
	}
	maps := config.DefaultMappings(cc.Kind)
	where := "default mappings"
	for i, wc := range cfg.Writeback.Connections {
		if wc.Connection == name && len(wc.Mappings) > 0 {
			maps, where = wc.Mappings, fmt.Sprintf("writeback.connections[%d].mappings", i)
		}
	}
	for _, m := range maps {
		if m.Output != config.OutSegment {
			continue
		}
		f := Field{Connection: name, Kind: cc.Kind, Name: m.Field, Type: connectors.TypePicklist}
		if m.Type == "text" {
			f.Type = connectors.TypeText
		}
		if cc.Kind == config.KindSalesforce {
			if _, err := salesforce.Ident(m.Field); err != nil {
				return Field{}, fmt.Errorf("%s: segment field %q: %w", where, m.Field, err)
			}
		}
		return f, nil
	}
	return Field{}, fmt.Errorf("connection %s: %w (%s)", name, ErrNoSegmentField, where)
}

// ListName is the CRM list name of segment id with the given label.
func ListName(label, id string) string {
	return "AI segment: " + strings.TrimSpace(label) + " (" + id + ")"
}

// SalesforceFilter is a segment in Salesforce terms.
type SalesforceFilter struct {
	Object string `json:"object"`
	Field  string `json:"field"`
	Value  string `json:"value"`
	SOQL   string `json:"soql"`
	// ListView is the UI API list-info body (POST /ui-api/list-info/Account).
	ListView map[string]any `json:"list_view"`
}

// HubSpotFilter is a segment in HubSpot terms.
type HubSpotFilter struct {
	ObjectTypeID string `json:"object_type_id"`
	Property     string `json:"property"`
	Value        string `json:"value"`
	// List is the Lists v3 create body (POST /crm/v3/lists).
	List map[string]any `json:"list"`
}

// Definition is one segment with its CRM filter.
type Definition struct {
	ID            string             `json:"id"`
	Label         string             `json:"label"`
	Rank          int                `json:"rank"`
	Conditions    string             `json:"conditions"`
	Count         int                `json:"count"`
	Share         float64            `json:"share"`
	Communication *segments.Strategy `json:"communication,omitempty"`
	ListName      string             `json:"list_name"`
	Salesforce    *SalesforceFilter  `json:"salesforce,omitempty"`
	HubSpot       *HubSpotFilter     `json:"hubspot,omitempty"`
}

// Export is the set of definitions of one connection.
type Export struct {
	Connection string       `json:"connection"`
	Kind       string       `json:"kind"`
	AsOf       time.Time    `json:"as_of"`
	Field      string       `json:"field"`
	Segments   []Definition `json:"segments"`
}

// Definitions renders every segment of seg as a filter on f.
func Definitions(seg *segments.Segmentation, f Field) (*Export, error) {
	e := &Export{Connection: f.Connection, Kind: f.Kind, AsOf: seg.AsOf.UTC(), Field: f.Name}
	for _, s := range seg.Segments {
		d := Definition{ID: s.Key, Label: s.Label, Rank: s.Rank, Conditions: s.Conditions, Count: s.Count, Share: s.Share,
			Communication: s.Strategy, ListName: ListName(s.Label, s.Key)}
		switch f.Kind {
		case config.KindSalesforce:
			q, err := salesforce.Query{Fields: []string{"Id", "Name"}, From: "Account", Where: salesforce.Eq(f.Name, s.Key)}.String()
			if err != nil {
				return nil, fmt.Errorf("segment %s: %w", s.Key, err)
			}
			d.Salesforce = &SalesforceFilter{Object: "Account", Field: f.Name, Value: s.Key, SOQL: q, ListView: map[string]any{
				"listViewApiName":   salesforce.ListViewAPIName(d.ListName),
				"label":             d.ListName,
				"filteredByInfo":    []map[string]any{{"fieldApiName": f.Name, "operator": "Equals", "operandLabels": []string{s.Key}}},
				"filterLogicString": "1",
				"displayColumns":    []string{"Name", f.Name},
				"visibility":        "Public",
			}}
		case config.KindHubSpot:
			op := map[string]any{"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": []string{s.Key}, "includeObjectsWithNoValueSet": false}
			if f.Type == connectors.TypeText {
				op = map[string]any{"operationType": "STRING", "operator": "IS_EQUAL_TO", "value": s.Key, "includeObjectsWithNoValueSet": false}
			}
			d.HubSpot = &HubSpotFilter{ObjectTypeID: "0-2", Property: f.Name, Value: s.Key, List: map[string]any{
				"name": d.ListName, "objectTypeId": "0-2", "processingType": "DYNAMIC",
				"filterBranch": map[string]any{
					"filterBranchType": "OR", "filters": []any{},
					"filterBranches": []any{map[string]any{
						"filterBranchType": "AND", "filterBranches": []any{},
						"filters": []any{map[string]any{"filterType": "PROPERTY", "property": f.Name, "operation": op}},
					}},
				},
			}}
		default:
			return nil, fmt.Errorf("connection %s: unknown kind %q", f.Connection, f.Kind)
		}
		e.Segments = append(e.Segments, d)
	}
	return e, nil
}

// WriteJSON writes the definitions as indented JSON.
func (e *Export) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

// WriteSOQL writes one SOQL query per segment, each preceded by a comment
// line with the segment id, its quoted label and conditions (control
// characters escaped, so a label cannot break out of its line). Salesforce
// connections only.
func (e *Export) WriteSOQL(w io.Writer) error {
	if e.Kind != config.KindSalesforce {
		return fmt.Errorf("connection %s is %s: SOQL is for Salesforce", e.Connection, e.Kind)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "-- crmpulse segments of connection %s as of %s; field %s\n", e.Connection, e.AsOf.Format(time.RFC3339), e.Field)
	for _, d := range e.Segments {
		fmt.Fprintf(&b, "-- %s %s: %s\n%s\n", d.ID, strconv.Quote(d.Label), strconv.Quote(d.Conditions), d.Salesforce.SOQL)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteHubSpot writes the Lists v3 create bodies as a JSON array. HubSpot
// connections only.
func (e *Export) WriteHubSpot(w io.Writer) error {
	if e.Kind != config.KindHubSpot {
		return fmt.Errorf("connection %s is %s: list filters are for HubSpot", e.Connection, e.Kind)
	}
	out := make([]map[string]any, 0, len(e.Segments))
	for _, d := range e.Segments {
		out = append(out, d.HubSpot.List)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteFiles writes <conn>.segments.json and <conn>.segments.soql
// (Salesforce) or <conn>.hubspot-lists.json (HubSpot) into dir, creating
// it, and returns the paths written.
func (e *Export) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type file struct {
		name  string
		write func(io.Writer) error
	}
	files := []file{{e.Connection + ".segments.json", e.WriteJSON}}
	if e.Kind == config.KindSalesforce {
		files = append(files, file{e.Connection + ".segments.soql", e.WriteSOQL})
	} else {
		files = append(files, file{e.Connection + ".hubspot-lists.json", e.WriteHubSpot})
	}
	var paths []string
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return paths, err
		}
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Result is the outcome of applying one segment.
type Result struct {
	Segment string             `json:"segment"`
	List    connectors.Segment `json:"list"`
	Created bool               `json:"created"`
	Renamed bool               `json:"renamed"` // the list existed under another name
}

// Apply provisions the segment field (a picklist/enumeration with every
// segment id, labelled) and ensures one CRM list per segment of seg,
// updating lists applied before in place. It stops at the first error;
// lists already ensured stay recorded.
func Apply(ctx context.Context, conn *connectors.Conn, tr *segments.Tracker, seg *segments.Segmentation, f Field) ([]Result, error) {
	spec := connectors.FieldSpec{Name: f.Name, Label: "AI segment", Type: f.Type,
		Description: "Customer segment id written by crmpulse (RFM segments)"}
	if f.Type == connectors.TypePicklist {
		for _, s := range seg.Segments {
			spec.Options = append(spec.Options, connectors.Option{Value: s.Key, Label: s.Label})
		}
	}
	if _, err := conn.EnsureField(ctx, connectors.Accounts, spec); err != nil {
		return nil, fmt.Errorf("segment field %s: %w", f.Name, err)
	}
	before, err := tr.Applied(ctx, conn.Name())
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range seg.Segments {
		prev, had := before[s.Key]
		ss := connectors.SegmentSpec{Object: connectors.Accounts, Name: ListName(s.Label, s.Key), Field: f.Name, Value: s.Key, Label: s.Label}
		if had && prev.Field == f.Name {
			ss.ID = prev.ID
		}
		got, err := conn.EnsureSegment(ctx, ss)
		if err != nil {
			return out, fmt.Errorf("segment %s: %w", s.Key, err)
		}
		r := Result{Segment: s.Key, List: got, Created: got.Created, Renamed: had && got.ID == prev.ID && prev.Name != got.Name}
		if err := tr.SaveApplied(ctx, conn.Name(), s.Key, segments.Applied{Segment: got, Field: f.Name, Value: s.Key, Applied: time.Now().UTC()}); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Lists returns the applied CRM lists of conn by segment id, the input of
// segments.MembershipDelta.
func Lists(ctx context.Context, tr *segments.Tracker, conn string) (map[string]connectors.Segment, error) {
	a, err := tr.Applied(ctx, conn)
	if err != nil {
		return nil, err
	}
	out := make(map[string]connectors.Segment, len(a))
	for id, x := range a {
		out[id] = x.Segment
	}
	return out, nil
}
