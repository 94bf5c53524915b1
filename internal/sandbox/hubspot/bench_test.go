package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// BenchmarkListPaging100k pages through a 100,000-company portal with the
// list endpoint (limit 100, the documented maximum), 1000 requests per full
// pass, calling the handler directly so the figure is the server's cost.
func BenchmarkListPaging100k(b *testing.B) {
	const rows, limit = 100_000, 100
	sb, err := sandbox.New(sandbox.Options{Empty: true, Now: t0})
	if err != nil {
		b.Fatal(err)
	}
	sb.Clock.Freeze(t0)
	sb.HS.Reserve(sandbox.HSCompanies, rows)
	for i := range rows {
		if _, err := sb.HS.Seed(sandbox.HSCompanies, map[string]any{"name": fmt.Sprintf("Company %d", i),
			"domain": fmt.Sprintf("c%d.example.com", i), "industry": "RETAIL", "numberofemployees": float64(i % 5000)},
			"user", t0, t0); err != nil {
			b.Fatal(err)
		}
	}
	h := NewHandler(sb, Options{SearchPerSecond: -1})
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
