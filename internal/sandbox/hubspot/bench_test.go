package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// BenchmarkListPaging100k pages through a 100,000-company portal with the
// list endpoint (limit 100, the documented maximum), 1000 requests per full
// pass, calling the handler directly so the figure is the server's cost.
func BenchmarkListPaging100k(b *testing.B) {
	const rows, limit = 100_000, 100
	sb, h := benchPortal(b, rows)
	after, seen := "", 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		target := fmt.Sprintf("/crm/v3/objects/companies?limit=%d&properties=name,domain", limit)
		if after != "" {
			target += "&after=" + url.QueryEscape(after)
		}
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+sb.Opt.HubSpotToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
		var p struct {
			Results []struct{ ID string } `json:"results"`
			Paging  *struct {
				Next struct{ After string } `json:"next"`
			} `json:"paging"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			b.Fatal(err)
		}
		seen += len(p.Results)
		after = ""
		if p.Paging != nil {
			after = p.Paging.Next.After
		} else if seen%rows != 0 {
			b.Fatalf("pass ended after %d rows", seen)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkSearch100k runs the incremental-sync search (modified since a
// stamp, ascending id, 100 a page) over the same 100,000 companies, whose
// filter matches every record.
func BenchmarkSearch100k(b *testing.B) {
	_, h := benchPortal(b, 100_000)
	body := `{"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GTE","value":"` +
		fmt.Sprint(t0.Add(-time.Hour).UnixMilli()) + `"}]}],"sorts":[{"propertyName":"hs_object_id","direction":"ASCENDING"}],` +
		`"properties":["name","domain"],"limit":100}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/crm/v3/objects/companies/search", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.sb.Opt.HubSpotToken)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var p struct {
			Total   int `json:"total"`
			Results []struct{ ID string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusOK || p.Total != 100_000 || len(p.Results) != 100 {
			b.Fatalf("search: %d %v total %d, %d results", w.Code, err, p.Total, len(p.Results))
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// benchPortal is an empty portal seeded with n companies.
func benchPortal(b *testing.B, n int) (*sandbox.Sandbox, *Handler) {
	b.Helper()
	sb, err := sandbox.New(sandbox.Options{Empty: true, Now: t0})
	if err != nil {
		b.Fatal(err)
	}
	sb.Clock.Freeze(t0)
	sb.HS.Reserve(sandbox.HSCompanies, n)
	for i := range n {
		if _, err := sb.HS.Seed(sandbox.HSCompanies, map[string]any{"name": fmt.Sprintf("Company %d", i),
			"domain": fmt.Sprintf("c%d.example.com", i), "industry": "RETAIL", "numberofemployees": float64(i % 5000)},
			"user", t0, t0); err != nil {
			b.Fatal(err)
		}
	}
	return sb, NewHandler(sb, Options{SearchPerSecond: -1})
}
