package hubspot

import (
	"context"
	"net/http"

	"github.com/crmpulse/crmpulse/connectors"
)

// ReadFields reads the current values of the properties fields on the
// records ids of obj (batch read, 100 ids a call) and returns them by id;
// ids that match no live record are absent. Values are HubSpot's property
// strings (or nil).
func (d *Driver) ReadFields(ctx context.Context, obj connectors.Object, ids, fields []string) (map[string]map[string]any, error) {
	out := make(map[string]map[string]any, len(ids))
	if len(ids) == 0 || len(fields) == 0 {
		return out, nil
	}
	typ := primary(obj)
	for start := 0; start < len(ids); start += d.MaxBatch() {
		chunk := ids[start:min(start+d.MaxBatch(), len(ids))]
		inputs := make([]map[string]string, len(chunk))
		for i, id := range chunk {
			inputs[i] = map[string]string{"id": id}
		}
		var res struct {
			Results []hsObject `json:"results"`
		}
		body := map[string]any{"inputs": inputs, "properties": fields}
		if _, _, err := d.do(ctx, http.MethodPost, "/crm/v3/objects/"+typ+"/batch/read", body, &res); err != nil {
			return nil, err
		}
		for _, o := range res.Results {
			vals := make(map[string]any, len(fields))
			for _, f := range fields {
				vals[f] = o.Properties[f]
			}
			out[o.ID] = vals
		}
	}
	return out, nil
}
