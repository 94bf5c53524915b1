package hubspot

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// t0 is the frozen sandbox time of every test.
var t0 = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

// env is a sandbox with its HubSpot handler behind an HTTP server.
type env struct {
	sb  *sandbox.Sandbox
	h   *Handler
	srv *httptest.Server
	c   *client // private-app token
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{Empty: true, Now: t0})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	sb.Clock.Freeze(t0)
	h := NewHandler(sb, Options{SearchPerSecond: -1})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{sb: sb, h: h, srv: srv, c: &client{base: srv.URL, token: sb.Opt.HubSpotToken}}
}

// tick advances the frozen clock so successive writes get distinct stamps.
func (e *env) tick() { e.sb.Clock.Advance(time.Millisecond) }

func (e *env) insert(t *testing.T, table string, fields map[string]any) string {
	t.Helper()
	e.tick()
	row, err := e.sb.HS.Insert(table, fields, "user")
	if err != nil {
		t.Fatalf("insert %s: %v", table, err)
	}
	return row.ID
}

// client is a minimal HubSpot API client built from the documented API.
type client struct {
	base, token string
}

// response is a decoded API answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errBody is the standard error body.
type errBody struct {
	Status      string `json:"status"`
	Message     string `json:"message"`
	Category    string `json:"category"`
	SubCategory string `json:"subCategory"`
	ErrorType   string `json:"errorType"`
	PolicyName  string `json:"policyName"`
	Errors      []struct {
		Code    string              `json:"code"`
		In      string              `json:"in"`
		Context map[string][]string `json:"context"`
	} `json:"errors"`
	Context map[string][]string `json:"context"`
}

func (r response) err(t *testing.T) errBody {
	t.Helper()
	var e errBody
	r.decode(t, &e)
	return e
}

func (c *client) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-hubspot-correlation-id") == "" {
		t.Errorf("%s %s: no x-hubspot-correlation-id header", method, path)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *client) must(t *testing.T, want int, method, path string, body any) response {
	t.Helper()
	r := c.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// object is a decoded SimplePublicObject.
type object struct {
	ID                    string             `json:"id"`
	Properties            map[string]*string `json:"properties"`
	PropertiesWithHistory map[string][]struct {
		Value      string `json:"value"`
		Timestamp  string `json:"timestamp"`
		SourceType string `json:"sourceType"`
		SourceID   string `json:"sourceId"`
	} `json:"propertiesWithHistory"`
	CreatedAt    string `json:"createdAt"`
	UpdatedAt    string `json:"updatedAt"`
	Archived     bool   `json:"archived"`
	ArchivedAt   string `json:"archivedAt"`
	Associations map[string]struct {
		Results []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"results"`
	} `json:"associations"`
}

func (o object) prop(name string) string {
	if v := o.Properties[name]; v != nil {
		return *v
	}
	return "<null>"
}

type page struct {
	Total   int      `json:"total"`
	Results []object `json:"results"`
	Paging  *struct {
		Next struct {
			After string `json:"after"`
			Link  string `json:"link"`
		} `json:"next"`
	} `json:"paging"`
}

// listAll pages through GET /crm/v3/objects/{type} by following
// paging.next.after until it is absent.
func (c *client) listAll(t *testing.T, typ, query string) []object {
	t.Helper()
	var out []object
	after := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not terminate")
		}
		path := "/crm/v3/objects/" + typ + "?" + query
		if after != "" {
			path += "&after=" + after
		}
		var p page
		c.must(t, 200, "GET", path, nil).decode(t, &p)
		out = append(out, p.Results...)
		if p.Paging == nil {
			return out
		}
		after = p.Paging.Next.After
	}
}

// searchAll pages through a search until paging is absent.
func (c *client) search(t *testing.T, typ string, body map[string]any) (page, response) {
	t.Helper()
	r := c.do(t, "POST", "/crm/v3/objects/"+typ+"/search", body)
	var p page
	if r.status == 200 {
		r.decode(t, &p)
	}
	return p, r
}

func ids(objs []object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// redacted are volatile values replaced in golden files.
var redacted = map[string]bool{"correlationId": true, "requestId": true, "access_token": true, "refresh_token": true}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && redacted[k] && s != "" {
				x[k] = "<" + k + ">"
				continue
			}
			x[k] = normalize(val)
		}
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	}
	return v
}

// golden compares a response (status and JSON body, volatile values
// redacted, the server URL replaced) with testdata/<name>.json.
func (e *env) golden(t *testing.T, name string, r response) {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%s: body is not JSON: %s", name, r.body)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"status": r.status, "body": normalize(v)}); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(buf.String(), e.srv.URL, "http://sandbox")
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// scoped issues an OAuth access token with the given scopes.
func (e *env) scoped(scopes ...string) *client {
	tok := e.sb.Tokens.Issue("CN", sandbox.Token{Dialect: Dialect, Kind: "access", ClientID: e.sb.Opt.ClientID, Scopes: scopes}, AccessTokenTTL)
	return &client{base: e.srv.URL, token: tok.Value}
}

// aiSegment creates the ai_insights group and the ai_segment enumeration
// property on an object type through the API.
func (e *env) aiSegment(t *testing.T, object string) {
	t.Helper()
	e.c.must(t, 201, "POST", "/crm/v3/properties/"+object+"/groups", map[string]any{"name": "ai_insights", "label": "AI insights"})
	e.c.must(t, 201, "POST", "/crm/v3/properties/"+object, map[string]any{
		"name": "ai_segment", "label": "AI segment", "groupName": "ai_insights", "type": "enumeration", "fieldType": "select",
		"options": []map[string]any{
			{"label": "VIP", "value": "vip", "displayOrder": 0, "hidden": false},
			{"label": "At risk", "value": "at_risk", "displayOrder": 1, "hidden": false},
		},
	})
}
