package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/crmtest"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/connectors/oauthlogin"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	sbhubspot "github.com/crmpulse/crmpulse/internal/sandbox/hubspot"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"golang.org/x/oauth2"
)

func noWait(int, time.Duration) time.Duration { return 0 }

func login(t *testing.T, sb *sandbox.Sandbox, base string) (*oauth2.Config, *oauth2.Token, *http.Client) {
	t.Helper()
	tokenClient := &http.Client{Transport: httpx.NewTransport(httpx.Options{Wait: noWait})}
	conf := hubspot.OAuthConfig(base, base, sb.Opt.ClientID, sb.Opt.ClientSecret, "", nil)
	tok, err := oauthlogin.Login(context.Background(), conf, oauthlogin.Options{Open: oauthlogin.FollowRedirects(&http.Client{}), HTTPClient: tokenClient})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token without refresh token or expiry: %v %v", tok.RefreshToken != "", tok.Expiry)
	}
	return conf, tok, tokenClient
}

func newDriver(t *testing.T, sess *httpx.Session, base string) *hubspot.Driver {
	t.Helper()
	return newDriverWith(t, sess, base, hubspot.Options{})
}

// newDriverWith sets the test's session, base URL, page size and windows
// on opt.
func newDriverWith(t *testing.T, sess *httpx.Session, base string, opt hubspot.Options) *hubspot.Driver {
	t.Helper()
	opt.Name, opt.Session, opt.BaseURL = "hs-test", sess, base
	opt.HTTP.Wait = noWait
	opt.PageSize, opt.Lookback, opt.Lag = 50, 2*time.Minute, 15*time.Second
	d, err := hubspot.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func harness(t *testing.T, opts sandbox.Options) *crmtest.Harness {
	sb, srv := sandboxsrv.StartTest(t, opts)
	return harnessOn(t, sb, srv.URL, hubspot.Options{})
}

// harnessOn is the conformance harness of a driver configured by dopt
// against a sandbox served at base.
func harnessOn(t *testing.T, sb *sandbox.Sandbox, base string, dopt hubspot.Options) *crmtest.Harness {
	srvURL := base
	conf, tok, tc := login(t, sb, srvURL)
	sess := httpx.NewSession(tok, hubspot.RefreshMinter(conf, tc), nil)
	h := &crmtest.Harness{
		SB: sb, Store: sb.HS, Conn: connectors.New("hs-test", newDriverWith(t, sess, srvURL, dopt)), Dialect: "hubspot",
		Tables: map[connectors.Object][]string{
			connectors.Accounts: {sandbox.HSCompanies}, connectors.Contacts: {sandbox.HSContacts},
			connectors.Opportunities: {sandbox.HSDeals}, connectors.Activities: sandbox.HSEngagements,
		},
		TextField: map[string]string{sandbox.HSCompanies: "description", sandbox.HSContacts: "jobtitle", sandbox.HSDeals: "description",
			sandbox.HSCalls: "hs_call_body", sandbox.HSEmails: "hs_email_text", sandbox.HSMeetings: "hs_meeting_body",
			sandbox.HSNotes: "hs_note_body", sandbox.HSTasks: "hs_task_body"},
		Lag: 15 * time.Second, Lookback: 2 * time.Minute,
		WriteField: connectors.FieldSpec{Name: "ai_churn_score", Label: "AI churn score", Type: connectors.TypeNumber},
		GoodValue:  82.5, BadValue: "not a number",
		SegmentField: connectors.FieldSpec{Name: "ai_segment", Label: "AI segment", Type: connectors.TypePicklist,
			Options: []connectors.Option{{Value: "vip", Label: "VIP"}, {Value: "at_risk", Label: "At risk"}}},
	}
	h.Secrets = func() []string {
		tok := sess.Current()
		return []string{tok.AccessToken, tok.RefreshToken, sb.Opt.HubSpotToken}
	}
	h.Reconnect = func(t *testing.T) {
		conf, tok, tc := login(t, sb, srvURL)
		sess = httpx.NewSession(tok, hubspot.RefreshMinter(conf, tc), nil)
		h.Conn = connectors.New("hs-test", newDriverWith(t, sess, srvURL, dopt))
	}
	return h
}

func TestConformance(t *testing.T) { crmtest.Run(t, harness) }

// TestConformanceListRead runs the suite with first windows read from the
// list endpoint, against a sandbox whose search limiter is off and a driver
// whose search rate is unbounded (as sandbox connections run).
func TestConformanceListRead(t *testing.T) {
	crmtest.Run(t, func(t *testing.T, opts sandbox.Options) *crmtest.Harness {
		sb, err := sandbox.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(sandboxsrv.NewWithOptions(sb, sandboxsrv.Options{HubSpot: sbhubspot.Options{SearchPerSecond: -1}}))
		t.Cleanup(srv.Close)
		return harnessOn(t, sb, srv.URL, hubspot.Options{InitialRead: hubspot.ReadList, SearchPerSecond: 1000,
			HTTP: httpx.Options{RequestsPerSecond: 1000, Burst: 200}})
	})
}

func TestPrivateAppToken(t *testing.T) {
	sb, srv := sandboxsrv.StartTest(t, sandbox.Options{Accounts: 5, Seed: 3})
	ctx := context.Background()
	c := connectors.New("hs-pat", newDriver(t, httpx.StaticSession(sb.Opt.HubSpotToken), srv.URL))
	ids, err := c.ListIDs(ctx, connectors.Accounts)
	if err != nil || len(ids) == 0 {
		t.Fatalf("ids = %d, %v", len(ids), err)
	}
	bad := connectors.New("hs-bad", newDriver(t, httpx.StaticSession("pat-na1-wrong"), srv.URL))
	if _, err := bad.ListIDs(ctx, connectors.Accounts); !errors.Is(err, connectors.ErrReauthorize) {
		t.Fatalf("wrong private-app token: %v, want ErrReauthorize", err)
	}
}
