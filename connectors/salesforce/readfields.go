package salesforce

import (
	"context"
	"net/http"
	"strings"

	"github.com/crmpulse/crmpulse/connectors"
)

// ReadFields reads the current values of fields on the records ids of obj
// (sObject Collections retrieve, 200 ids a call) and returns them by id;
// ids that match no live record are absent. Values are as Salesforce renders
// them in JSON (numbers, strings, null).
func (d *Driver) ReadFields(ctx context.Context, obj connectors.Object, ids, fields []string) (map[string]map[string]any, error) {
	out := make(map[string]map[string]any, len(ids))
	if len(ids) == 0 || len(fields) == 0 {
		return out, nil
	}
	sobject := primary(obj)
	for start := 0; start < len(ids); start += d.MaxBatch() {
		chunk := ids[start:min(start+d.MaxBatch(), len(ids))]
		var res []map[string]any
		body := map[string]any{"ids": chunk, "fields": append([]string{"Id"}, fields...)}
		if _, err := d.rest(ctx, http.MethodPost, d.dataPath("composite/sobjects/"+sobject), body, &res); err != nil {
			return nil, err
		}
		for i, rec := range res {
			if rec == nil || i >= len(chunk) {
				continue
			}
			vals := make(map[string]any, len(fields))
			for _, f := range fields {
				for k, v := range rec {
					if strings.EqualFold(k, f) {
						vals[f] = v
					}
				}
			}
			out[chunk[i]] = vals
		}
	}
	return out, nil
}
