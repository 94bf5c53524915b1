package hubspot

import (
	"context"
	"net/http"
	"net/url"

	"github.com/crmpulse/crmpulse/connectors"
)

// updateListByID updates the list spec.ID in place: renamed to spec.Name
// when its name differs, filters replaced by branch. ok is false when no
// such list of the object type exists (deleted, or an id from elsewhere).
func (d *Driver) updateListByID(ctx context.Context, spec connectors.SegmentSpec, otid string, branch map[string]any) (connectors.Segment, bool, error) {
	var got struct {
		List struct {
			hsList
			ObjectTypeID string `json:"objectTypeId"`
		} `json:"list"`
	}
	_, _, err := d.do(ctx, http.MethodGet, "/crm/v3/lists/"+url.PathEscape(spec.ID), nil, &got)
	switch {
	case isStatus(err, http.StatusNotFound), isStatus(err, http.StatusBadRequest):
		return connectors.Segment{}, false, nil
	case err != nil:
		return connectors.Segment{}, false, err
	}
	if got.List.ObjectTypeID != "" && got.List.ObjectTypeID != otid {
		return connectors.Segment{}, false, nil
	}
	id := got.List.ListID
	if id == "" {
		id = spec.ID
	}
	if got.List.Name != spec.Name {
		q := url.Values{"listName": {spec.Name}}
		if _, _, err := d.do(ctx, http.MethodPut, "/crm/v3/lists/"+url.PathEscape(id)+"/update-list-name?"+q.Encode(), nil, nil); err != nil {
			return connectors.Segment{}, false, err
		}
	}
	if _, _, err := d.do(ctx, http.MethodPut, "/crm/v3/lists/"+url.PathEscape(id)+"/update-list-filters?enrollObjectsInWorkflows=false",
		map[string]any{"filterBranch": branch}, nil); err != nil {
		return connectors.Segment{}, false, err
	}
	return connectors.Segment{Object: spec.Object, Kind: "list", ID: id, Name: spec.Name}, true, nil
}
