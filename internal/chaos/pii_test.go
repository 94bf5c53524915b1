package chaos_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/chaos"
	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// TestSecurityPIIRedactedEndToEnd syncs both CRMs and runs the LLM analyses
// with crmpulse as subprocesses against a local OpenAI-compatible endpoint
// that keeps every request: no contact email, phone number or full name of
// the sandbox reaches it. (The endpoint answers 503, so analyses fall back to
// the statistical text; what matters is what was sent.)
func TestSecurityPIIRedactedEndToEnd(t *testing.T) {
	if !chaos.Full() {
		t.Skip("end-to-end (about 20 s): runs in the full suite, make chaos; insights/llm checks redaction per request")
	}
	var mu gosync.Mutex
	var bodies []string
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		http.Error(w, `{"error":{"message":"overloaded","type":"server_error"}}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(llm.Close)
	accounts := 12
	rig := chaos.NewRig(t, chaos.RigOptions{LLMURL: llm.URL + "/v1", Sandbox: sandbox.Options{Accounts: accounts, JapaneseShare: -1}})
	p := rig.StartSync()
	if err := p.Wait(3 * time.Minute); err != nil {
		t.Fatalf("sync: %v\n%s", err, p.Output())
	}
	p = rig.StartCrmpulse("insights", "run", "--all", "--llm")
	err := p.Wait(5 * time.Minute)
	mu.Lock()
	sent := strings.Join(bodies, "\n")
	n := len(bodies)
	mu.Unlock()
	if n == 0 {
		t.Fatalf("no request reached the LLM endpoint (insights run: %v)\n%s", err, p.Output())
	}
	// Everything personal the CRMs hold about contacts.
	var pii []string
	add := func(s string) {
		if len(s) >= 5 {
			pii = append(pii, s)
		}
	}
	_ = rig.SB.SF.Scan(sandbox.SFContact, func(r sandbox.Row) bool {
		add(r.Fields["Email"].(string))
		if ph, ok := r.Fields["Phone"].(string); ok {
			add(ph)
		}
		first, _ := r.Fields["FirstName"].(string)
		last, _ := r.Fields["LastName"].(string)
		add(first + " " + last)
		return true
	})
	_ = rig.SB.HS.Scan(sandbox.HSContacts, func(r sandbox.Row) bool {
		if e, ok := r.Fields["email"].(string); ok {
			add(e)
		}
		first, _ := r.Fields["firstname"].(string)
		last, _ := r.Fields["lastname"].(string)
		add(first + " " + last)
		return true
	})
	if len(pii) < 10 {
		t.Fatalf("only %d personal values to look for", len(pii))
	}
	leaks := 0
	for _, s := range pii {
		if strings.Contains(sent, s) {
			leaks++
			if leaks <= 10 {
				t.Errorf("%q reached the LLM endpoint", s)
			}
		}
	}
	t.Logf("%d LLM requests (%d bytes) checked for %d personal values: %d leaks", n, len(sent), len(pii), leaks)
}
