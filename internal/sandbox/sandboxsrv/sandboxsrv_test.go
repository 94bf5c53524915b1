package sandboxsrv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

var now = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAdmin(t *testing.T) {
	sb, srv := StartTest(t, sandbox.Options{Accounts: 40, Now: now})
	sb.Clock.Freeze(now)

	resp, err := http.Get(srv.URL + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st sandbox.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Accounts != 40 {
		t.Fatalf("stats: %v accounts=%d", err, st.Accounts)
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(now) {
		t.Errorf("Date header %q, want the sandbox clock %v", resp.Header.Get("Date"), now)
	}

	r := post(t, srv.URL+"/_sandbox/step?days=3", "")
	var rep sandbox.StepReport
	if err := json.NewDecoder(r.Body).Decode(&rep); err != nil || rep.Step != 1 || !rep.To.Equal(now.Add(72*time.Hour)) {
		t.Fatalf("step: %v %+v", err, rep)
	}
	if r := post(t, srv.URL+"/_sandbox/step?days=x", ""); r.StatusCode != http.StatusBadRequest {
		t.Errorf("step with bad days: %d", r.StatusCode)
	}

	if r := post(t, srv.URL+"/_sandbox/faults", `{"fail429": 2, "latency": "1ms", "mutateOnPage": 3, "dropIds": 5}`); r.StatusCode != http.StatusNoContent {
		t.Fatalf("faults: %d", r.StatusCode)
	}
	sb.Faults.Set(func(f *sandbox.Faults) {
		if f.Fail429 != 2 || f.Latency != time.Millisecond || f.MutateOnPage != 3 || f.DropIDs != 5 {
			t.Errorf("faults not applied: %+v", f)
		}
	})
	if r := post(t, srv.URL+"/_sandbox/faults", `{"fail430": 1}`); r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown fault accepted: %d", r.StatusCode)
	}

	sb.Tokens.Put(sandbox.Token{Value: "t1", Dialect: "hubspot", Kind: "access"})
	r = post(t, srv.URL+"/_sandbox/revoke?dialect=hubspot", "")
	var rv map[string]int
	if err := json.NewDecoder(r.Body).Decode(&rv); err != nil || rv["revoked"] < 1 {
		t.Errorf("revoke: %v %v", err, rv)
	}
	if tok, _, _ := sb.Tokens.Lookup("t1"); !tok.Revoked {
		t.Error("token not revoked")
	}

	resp2, err := http.Get(srv.URL + "/_sandbox/truth")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	tr, err := sandbox.ReadTruth(resp2.Body)
	if err != nil || len(tr.Accounts) != 40 {
		t.Fatalf("truth: %v (%d accounts)", err, len(tr.Accounts))
	}

	sb.Counters.Inc("hubspot", "GET /crm/v3/objects/{type}")
	resp3, err := http.Get(srv.URL + "/_sandbox/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp3.Body.Close()
	var cs map[string]int64
	_ = json.NewDecoder(resp3.Body).Decode(&cs)
	if cs["hubspot GET /crm/v3/objects/{type}"] < 1 {
		t.Errorf("counters: %v", cs)
	}
	post(t, srv.URL+"/_sandbox/counters/reset", "")
	if len(sb.Counters.Snapshot()) != 0 {
		t.Error("counters not reset")
	}
}

func TestDialectsMounted(t *testing.T) {
	_, srv := StartTest(t, sandbox.Options{Empty: true, Now: now})
	for _, p := range []string{"/services/data/", "/crm/v3/objects/companies"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound && !strings.Contains(b.String(), "{") {
			t.Errorf("%s: not routed to a dialect (%d %s)", p, resp.StatusCode, b.String())
		}
	}
}
