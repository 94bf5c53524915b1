package salesforce

import (
	"context"
	"net/http"
	"net/url"

	"github.com/crmpulse/crmpulse/connectors"
)

// listViewAPINameByID returns the developer name of the list view with the
// given id, or "" when sobject has no such list view (the id may be a
// report's, or the view was deleted).
func (d *Driver) listViewAPINameByID(ctx context.Context, sobject, id string) (string, error) {
	var lv struct {
		DeveloperName string `json:"developerName"`
	}
	_, err := d.rest(ctx, http.MethodGet, d.dataPath("sobjects/"+sobject+"/listviews/"+url.PathEscape(id)), nil, &lv)
	switch {
	case err == nil:
		return lv.DeveloperName, nil
	case isStatus(err, http.StatusNotFound), isStatus(err, http.StatusBadRequest):
		return "", nil
	}
	return "", err
}

// patchReportByID updates the report with id spec.ID (renaming it to
// spec.Name); ok is false when no such report exists.
func (d *Driver) patchReportByID(ctx context.Context, spec connectors.SegmentSpec, md map[string]any) (connectors.Segment, bool, error) {
	_, err := d.rest(ctx, http.MethodPatch, d.dataPath("analytics/reports/"+url.PathEscape(spec.ID)), map[string]any{"reportMetadata": md}, nil)
	switch {
	case err == nil:
		return connectors.Segment{Object: spec.Object, Kind: "report", ID: spec.ID, Name: spec.Name}, true, nil
	case isStatus(err, http.StatusNotFound), isStatus(err, http.StatusBadRequest):
		return connectors.Segment{}, false, nil
	}
	return connectors.Segment{}, false, err
}
