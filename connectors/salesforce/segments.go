package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/crmpulse/crmpulse/connectors"
)

// Segments are UI API list views (API 61.0+), named crmpulse_<slug> and
// filtered on spec.Field Equals spec.Value: GET the definition first, PATCH
// it when it exists, POST otherwise, so a segment is never duplicated. When
// the UI API is unavailable (older version, no list view permission) an
// Analytics report with the same filter is used instead, found by name
// before one is created.

var nonSlug = regexp.MustCompile(`[^A-Za-z0-9]+`)

// ListViewAPIName is the developer name of a segment's list view.
func ListViewAPIName(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(name, "_"), "_")
	s = "crmpulse_" + s
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "_")
	}
	return s
}

type listInfo struct {
	ID            string `json:"id"`
	ListReference struct {
		ID              string `json:"id"`
		ListViewAPIName string `json:"listViewApiName"`
	} `json:"listReference"`
	ListViewAPIName string `json:"listViewApiName"`
	Label           string `json:"label"`
}

func (l listInfo) id() string {
	if l.ListReference.ID != "" {
		return l.ListReference.ID
	}
	return l.ID
}

// EnsureSegment implements connectors.Driver.
func (d *Driver) EnsureSegment(ctx context.Context, spec connectors.SegmentSpec) (connectors.Segment, error) {
	sobject := primary(spec.Object)
	api := ListViewAPIName(spec.Name)
	if spec.ID != "" {
		known, err := d.listViewAPINameByID(ctx, sobject, spec.ID)
		if err != nil {
			return connectors.Segment{}, err
		}
		if known != "" {
			api = known
		}
	}
	cols := spec.Columns
	if len(cols) == 0 {
		cols = []string{"Name", spec.Field}
	}
	body := map[string]any{
		"listViewApiName":   api,
		"label":             spec.Name,
		"filteredByInfo":    []map[string]any{{"fieldApiName": spec.Field, "operator": "Equals", "operandLabels": []string{spec.Value}}},
		"filterLogicString": "1",
		"displayColumns":    cols,
		"visibility":        "Public",
	}
	path := d.dataPath("ui-api/list-info/" + sobject)
	var li listInfo
	_, err := d.rest(ctx, http.MethodGet, path+"/"+api, nil, &li)
	created := false
	switch {
	case err == nil:
		patch := map[string]any{}
		for k, v := range body {
			if k != "listViewApiName" {
				patch[k] = v
			}
		}
		_, err = d.rest(ctx, http.MethodPatch, path+"/"+api, patch, &li)
	case isStatus(err, http.StatusNotFound):
		_, err = d.rest(ctx, http.MethodPost, path, body, &li)
		created = err == nil
	}
	if err != nil {
		if isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusForbidden) || isStatus(err, http.StatusMethodNotAllowed) {
			d.opt.Logger.Info("salesforce list views unavailable; using a report", "connection", d.opt.Name, "segment", spec.Name)
			return d.ensureReport(ctx, spec)
		}
		return connectors.Segment{}, err
	}
	id := li.id()
	if id == "" {
		id = api
	}
	return connectors.Segment{Object: spec.Object, Kind: "listview", ID: id, Name: spec.Name, Created: created}, nil
}

func isStatus(err error, status int) bool {
	var ce *connectors.Error
	return errors.As(err, &ce) && ce.Status == status
}

func isCode(err error, code string) bool {
	var ce *connectors.Error
	return errors.As(err, &ce) && ce.Code == code
}

// SegmentMembers implements connectors.Driver: list view results or a
// report run, paged.
func (d *Driver) SegmentMembers(ctx context.Context, seg connectors.Segment) ([]string, error) {
	if seg.Kind == "report" {
		return d.reportMembers(ctx, seg)
	}
	sobject := primary(seg.Object)
	var ids []string
	const limit = 2000
	for offset := 0; ; offset += limit {
		var res struct {
			Records []struct {
				Columns []struct {
					FieldNameOrPath string `json:"fieldNameOrPath"`
					Value           any    `json:"value"`
				} `json:"columns"`
			} `json:"records"`
			Done bool `json:"done"`
		}
		q := url.Values{"limit": {itoa(limit)}, "offset": {itoa(offset)}}
		if _, err := d.rest(ctx, http.MethodGet, d.dataPath("sobjects/"+sobject+"/listviews/"+seg.ID+"/results?"+q.Encode()), nil, &res); err != nil {
			return nil, err
		}
		for _, r := range res.Records {
			for _, c := range r.Columns {
				if c.FieldNameOrPath == "Id" {
					if s, ok := c.Value.(string); ok {
						ids = append(ids, s)
					}
				}
			}
		}
		if res.Done || len(res.Records) < limit {
			return ids, nil
		}
	}
}

var reportColumn = map[string]string{"Account": "ACCOUNT_ID", "Opportunity": "OPPORTUNITY_ID", "Contact": "CONTACT_ID", "Task": "ACTIVITY_ID"}
var reportType = map[string]string{"Account": "AccountList", "Opportunity": "Opportunity", "Contact": "ContactList", "Task": "Task"}

func (d *Driver) ensureReport(ctx context.Context, spec connectors.SegmentSpec) (connectors.Segment, error) {
	sobject := primary(spec.Object)
	md := map[string]any{
		"name":          spec.Name,
		"reportType":    map[string]any{"type": reportType[sobject]},
		"reportFormat":  "TABULAR",
		"detailColumns": []string{reportColumn[sobject], sobject + "." + spec.Field},
		"reportFilters": []map[string]any{{"column": sobject + "." + spec.Field, "operator": "equals", "value": spec.Value}},
	}
	if spec.ID != "" {
		seg, ok, err := d.patchReportByID(ctx, spec, md)
		if err != nil || ok {
			return seg, err
		}
	}
	id, err := d.firstID(ctx, Query{Fields: []string{"Id"}, From: "Report", Where: Eq("Name", spec.Name)})
	if err != nil && !isCode(err, "INVALID_TYPE") {
		return connectors.Segment{}, err
	}
	var res struct {
		ReportMetadata struct {
			ID string `json:"id"`
		} `json:"reportMetadata"`
	}
	if id != "" {
		if _, err := d.rest(ctx, http.MethodPatch, d.dataPath("analytics/reports/"+id), map[string]any{"reportMetadata": md}, &res); err != nil {
			return connectors.Segment{}, err
		}
		return connectors.Segment{Object: spec.Object, Kind: "report", ID: id, Name: spec.Name}, nil
	}
	if _, err := d.rest(ctx, http.MethodPost, d.dataPath("analytics/reports"), map[string]any{"reportMetadata": md}, &res); err != nil {
		return connectors.Segment{}, err
	}
	return connectors.Segment{Object: spec.Object, Kind: "report", ID: res.ReportMetadata.ID, Name: spec.Name, Created: true}, nil
}

func (d *Driver) reportMembers(ctx context.Context, seg connectors.Segment) ([]string, error) {
	var res struct {
		FactMap map[string]struct {
			Rows []struct {
				DataCells []struct {
					Value any    `json:"value"`
					Label string `json:"label"`
				} `json:"dataCells"`
			} `json:"rows"`
		} `json:"factMap"`
	}
	if _, err := d.rest(ctx, http.MethodGet, d.dataPath("analytics/reports/"+seg.ID+"?includeDetails=true"), nil, &res); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range res.FactMap["T!T"].Rows {
		if len(r.DataCells) > 0 {
			ids = append(ids, fmt.Sprint(r.DataCells[0].Value))
		}
	}
	return ids, nil
}
