package server

import (
	"bytes"
	"html/template"
	"net/http"
	"sort"
	"time"
)

var adminTmpl = template.Must(template.New("admin").Funcs(template.FuncMap{
	"ts": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
		return "—"
	},
	"keys": func(m map[string]int64) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crmpulse daemon</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.4em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176d17}.failed{color:#b00020}.canceled{color:#8a6d00}.running,.queued{color:#1750a0}
code{background:#f3f3f3;padding:0 .25em}small{color:#666}
</style></head><body>
<h1>crmpulse daemon</h1>
<p><small>version {{if .Version}}{{.Version}}{{else}}dev{{end}} · started {{ts .Started}} · now {{ts .Now}} · interval {{.Interval}}{{if .Draining}} · <strong>shutting down</strong>{{end}}</small></p>

<h2>Connections</h2>
{{if .Connections}}
<table>
<tr><th>connection</th><th>state</th><th>last cycle</th><th>duration</th><th>stages</th><th>failures in a row</th><th>last success</th><th>next run</th></tr>
{{range .Connections}}
<tr>
<td>{{.Name}}</td>
<td class="{{.State}}">{{.State}}{{if .RunID}}<br><small>{{.RunID}} ({{.Trigger}}) since {{ts .Since}}</small>{{end}}</td>
{{with .LastCycle}}
<td class="{{.Outcome}}">{{.Outcome}}<br><small>{{.RunID}} ({{.Trigger}}) {{ts .Finished}}</small>{{if .Error}}<br><small>{{.Class}}: {{.Error}}</small>{{end}}</td>
<td class="n">{{.Duration}}</td>
<td>{{range .Stages}}<div class="{{if .Error}}failed{{end}}">{{.Name}} {{.Duration}}{{range .Records}} <small>{{.Object}} {{.Read}}/{{.Changed}}/{{.Deleted}}</small>{{end}}{{$c := .Counts}}{{range keys .Counts}} <small>{{.}}={{index $c .}}</small>{{end}}</div>{{end}}</td>
{{else}}
<td>—</td><td></td><td></td>
{{end}}
<td class="n">{{.ConsecutiveFailures}}</td>
<td>{{ts .LastSuccess}}</td>
<td>{{ts .NextRun}}</td>
</tr>
{{end}}
</table>
<p><small>Records per object: read/changed/deleted. Start a cycle now with
<code>curl -X POST -H "Authorization: Bearer $TOKEN" 'http://HOST/api/run?connection=NAME'</code>.</small></p>
{{else}}
<p>No connections configured.</p>
{{end}}

<h2>Queues</h2>
{{if .QueuesError}}<p class="failed">queue depths unavailable: {{.QueuesError}}</p>{{end}}
{{if .Queues}}
<table><tr><th>queue</th><th>entries</th><th>pending</th></tr>
{{range .Queues}}<tr><td>{{.Name}}</td><td class="n">{{.Length}}</td><td class="n">{{.Pending}}</td></tr>{{end}}
</table>
{{else}}<p><small>No queue figures.</small></p>{{end}}

<h2>Recent errors</h2>
{{if .RecentErrors}}
<table><tr><th>time</th><th>connection</th><th>run</th><th>stage</th><th>class</th><th>message</th></tr>
{{range .RecentErrors}}<tr><td>{{ts .Time}}</td><td>{{.Connection}}</td><td><small>{{.RunID}}</small></td><td>{{.Stage}}</td><td>{{.Class}}</td><td>{{.Message}}</td></tr>{{end}}
</table>
{{else}}<p><small>None.</small></p>{{end}}
<p><small>JSON: <code>/api/status</code> · metrics: <code>/metrics</code> · health: <code>/healthz</code>, <code>/readyz</code></small></p>
</body></html>
`))

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := adminTmpl.Execute(&buf, s.Status(r.Context())); err != nil {
		s.log.Error("render admin page", "err", err)
		http.Error(w, "render admin page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}
