// Package segtest starts a sandbox over HTTP and connects to both of its
// CRM dialects, for the segments tests.
package segtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/connectors/salesforce"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
)

// Env is a running sandbox and a connection to each dialect.
type Env struct {
	SB  *sandbox.Sandbox
	URL string
	SF  *connectors.Conn // "sf"
	HS  *connectors.Conn // "hs"

	sfSess, hsSess *httpx.Session
}

func noWait(int, time.Duration) time.Duration { return 0 }

// Start serves a sandbox for the test and connects to it.
func Start(t testing.TB, opts sandbox.Options) *Env {
	t.Helper()
	sb, srv := sandboxsrv.StartTest(t, opts)
	o := sb.Opt.Defaults()
	hopt := httpx.Options{Wait: noWait}
	tokenClient := &http.Client{Transport: httpx.NewTransport(hopt)}
	sfSess := httpx.NewSession(nil, salesforce.ClientCredentialsMinter(srv.URL, o.ClientID, o.ClientSecret, tokenClient), nil)
	sfd, err := salesforce.New(salesforce.Options{Name: "sf", Session: sfSess, InstanceURL: srv.URL, HTTP: hopt,
		PageSize: 500, Lookback: 2 * time.Minute, Lag: 15 * time.Second, BudgetFraction: 1})
	if err != nil {
		t.Fatal(err)
	}
	hsd, err := hubspot.New(hubspot.Options{Name: "hs", Session: httpx.StaticSession(o.HubSpotToken), BaseURL: srv.URL, HTTP: hopt,
		PageSize: 200, Lookback: 2 * time.Minute, Lag: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Change feeds stop at the server clock minus their lag: a minute on,
	// every generated record is inside the first window, so two reads of
	// unchanged data see the same records.
	sb.Clock.Advance(time.Minute)
	return &Env{SB: sb, URL: srv.URL, SF: connectors.New("sf", sfd), HS: connectors.New("hs", hsd),
		sfSess: sfSess, hsSess: httpx.StaticSession(o.HubSpotToken)}
}

// Step advances the sandbox by days through its admin endpoint (mutating
// both tenants), then one more minute so the step's records are readable.
func (e *Env) Step(t testing.TB, days int) {
	t.Helper()
	resp, err := http.Post(e.URL+"/_sandbox/step?days="+strconv.Itoa(days), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("step: %s", resp.Status)
	}
	e.SB.Clock.Advance(time.Minute)
}

// Counters returns the sandbox's API call counters ("dialect METHOD route").
func (e *Env) Counters(t testing.TB) map[string]int64 {
	t.Helper()
	resp, err := http.Get(e.URL + "/_sandbox/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("counters: %v", err)
	}
	return out
}

// Call sends an authenticated request to a dialect ("salesforce" or
// "hubspot") of the sandbox, decoding a JSON answer into out.
func (e *Env) Call(t testing.TB, dialect, method, path string, body, out any) {
	t.Helper()
	sess := e.hsSess
	if dialect == "salesforce" {
		sess = e.sfSess
	}
	tok, err := sess.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
