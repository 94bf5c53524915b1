package hubspot

import (
	"testing"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

func TestRateLimitHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	want := map[string]string{
		"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "99",
		"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
		"X-HubSpot-RateLimit-Daily":                 "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249999",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("private-app token: %s = %q, want %q", k, got, v)
		}
	}
	r = e.scoped("crm.objects.companies.read").must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	if r.header.Get("X-HubSpot-RateLimit-Max") != "110" || r.header.Get("X-HubSpot-RateLimit-Daily") != "" {
		t.Errorf("OAuth token headers: %v", r.header)
	}
}

func TestTenSecondlyLimit(t *testing.T) {
	e := newEnv(t)
	e.sb.Faults.Set(func(f *sandbox.Faults) { f.RateLimit = 2 })
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	r := e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	if r.header.Get("X-HubSpot-RateLimit-Max") != "2" || r.header.Get("X-HubSpot-RateLimit-Remaining") != "0" {
		t.Errorf("headers under a 2/10s limit: %v", r.header)
	}
	r = e.c.must(t, 429, "GET", "/crm/v3/objects/companies", nil)
	got := r.err(t)
	if got.PolicyName != "TEN_SECONDLY_ROLLING" || got.ErrorType != "RATE_LIMIT" || got.Status != "error" || r.header.Get("Retry-After") != "10" {
		t.Fatalf("429: %s Retry-After %q", r.body, r.header.Get("Retry-After"))
	}
	e.golden(t, "error_rate_limit", r)
}

func TestInjectedFaults(t *testing.T) {
	e := newEnv(t)
	e.sb.Faults.Set(func(f *sandbox.Faults) { f.Fail429, f.Fail5xx = 1, 1 })
	r := e.c.must(t, 429, "POST", "/crm/v3/objects/companies/batch/read", map[string]any{"inputs": []any{}})
	if r.header.Get("Retry-After") != "1" || r.err(t).PolicyName != "TEN_SECONDLY_ROLLING" {
		t.Fatalf("injected 429: %s %v", r.body, r.header)
	}
	e.c.must(t, 503, "GET", "/crm/v3/objects/companies", nil)
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
}

func TestDailyLimit(t *testing.T) {
	e := newEnv(t)
	e.sb.Faults.Set(func(f *sandbox.Faults) { f.DailyLimit = 2 })
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	r := e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	if r.header.Get("X-HubSpot-RateLimit-Daily-Remaining") != "0" {
		t.Fatalf("daily remaining %q", r.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))
	}
	r = e.c.must(t, 429, "GET", "/crm/v3/objects/companies", nil)
	if got := r.err(t); got.PolicyName != "DAILY" {
		t.Fatalf("over the daily limit: %s", r.body)
	}
	// OAuth apps have no daily cap.
	e.scoped("crm.objects.companies.read").must(t, 200, "GET", "/crm/v3/objects/companies", nil)
}

func TestCounters(t *testing.T) {
	e := newEnv(t)
	e.c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	e.c.must(t, 200, "GET", "/crm/objects/2026-03/companies", nil)
	e.c.search(t, "companies", map[string]any{})
	got := e.sb.Counters.Snapshot()
	if got["hubspot GET /crm/v3/objects/{type}"] != 2 || got["hubspot POST /crm/v3/objects/{type}/search"] != 1 {
		t.Fatalf("counters %v", got)
	}
}
