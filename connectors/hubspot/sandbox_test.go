package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/crmtest"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/connectors/oauthlogin"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
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
	d, err := hubspot.New(hubspot.Options{Name: "hs-test", Session: sess, BaseURL: base, HTTP: httpx.Options{Wait: noWait},
		PageSize: 50, Lookback: 2 * time.Minute, Lag: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func harness(t *testing.T, opts sandbox.Options) *crmtest.Harness {
	sb, srv := sandboxsrv.StartTest(t, opts)
	conf, tok, tc := login(t, sb, srv.URL)
	sess := httpx.NewSession(tok, hubspot.RefreshMinter(conf, tc), nil)
	h := &crmtest.Harness{
		SB: sb, Store: sb.HS, Conn: connectors.New("hs-test", newDriver(t, sess, srv.URL)), Dialect: "hubspot",
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
		conf, tok, tc := login(t, sb, srv.URL)
		sess = httpx.NewSession(tok, hubspot.RefreshMinter(conf, tc), nil)
		h.Conn = connectors.New("hs-test", newDriver(t, sess, srv.URL))
	}
	return h
}

func TestConformance(t *testing.T) { crmtest.Run(t, harness) }

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
