package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/crmtest"
	"github.com/crmpulse/crmpulse/connectors/oauthlogin"
	"github.com/crmpulse/crmpulse/connectors/salesforce"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
)

func noWait(int, time.Duration) time.Duration { return 0 }

var testKey = func() []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}()

// startSandbox serves a sandbox over HTTP; its Date header is the sandbox clock.
func startSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, *httptest.Server) {
	t.Helper()
	return sandboxsrv.StartTest(t, opts)
}

func newDriver(t *testing.T, sb *sandbox.Sandbox, srv *httptest.Server, mut func(*salesforce.Options)) (*salesforce.Driver, *httpx.Session) {
	t.Helper()
	tokenClient := &http.Client{Transport: httpx.NewTransport(httpx.Options{Wait: noWait})}
	conf := salesforce.OAuthConfig(srv.URL, sb.Opt.ClientID, sb.Opt.ClientSecret, "", nil)
	tok, err := oauthlogin.Login(context.Background(), conf, oauthlogin.Options{
		Open: oauthlogin.FollowRedirects(&http.Client{}), HTTPClient: tokenClient})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if tok.RefreshToken == "" || tok.Extra("instance_url") == nil || !tok.Expiry.IsZero() {
		t.Fatalf("token: refresh=%v instance=%v expiry=%v", tok.RefreshToken != "", tok.Extra("instance_url"), tok.Expiry)
	}
	sess := httpx.NewSession(tok, salesforce.RefreshMinter(conf, tokenClient), nil)
	opt := salesforce.Options{
		Name: "sf-test", Session: sess, HTTP: httpx.Options{Wait: noWait},
		PageSize: 50, Lookback: 2 * time.Minute, Lag: 15 * time.Second,
	}
	if mut != nil {
		mut(&opt)
	}
	d, err := salesforce.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return d, sess
}

func harness(t *testing.T, opts sandbox.Options) *crmtest.Harness {
	sb, srv := startSandbox(t, opts)
	d, sess := newDriver(t, sb, srv, nil)
	h := &crmtest.Harness{
		SB: sb, Store: sb.SF, Conn: connectors.New("sf-test", d), Dialect: "salesforce",
		Tables: map[connectors.Object][]string{
			connectors.Accounts: {sandbox.SFAccount}, connectors.Contacts: {sandbox.SFContact},
			connectors.Opportunities: {sandbox.SFOpportunity}, connectors.Activities: {sandbox.SFTask, sandbox.SFEvent},
		},
		TextField: map[string]string{sandbox.SFAccount: "Description", sandbox.SFContact: "Description",
			sandbox.SFOpportunity: "Description", sandbox.SFTask: "Description", sandbox.SFEvent: "Description"},
		Lag: 15 * time.Second, Lookback: 2 * time.Minute, FeedHasDeletes: true,
		WriteField: connectors.FieldSpec{Name: "AI_Churn_Score__c", Label: "AI churn score", Type: connectors.TypeNumber, Precision: 5, Scale: 2},
		GoodValue:  82.5, BadValue: "not a number",
		SegmentField: connectors.FieldSpec{Name: "AI_Segment__c", Label: "AI segment", Type: connectors.TypePicklist,
			Options: []connectors.Option{{Value: "VIP", Label: "VIP"}, {Value: "At_Risk", Label: "At risk"}}},
	}
	h.Secrets = func() []string {
		tok := sess.Current()
		if tok == nil {
			return nil
		}
		return []string{tok.AccessToken, tok.RefreshToken}
	}
	h.Reconnect = func(t *testing.T) {
		d2, s2 := newDriver(t, sb, srv, nil)
		h.Conn = connectors.New("sf-test", d2)
		sess = s2
	}
	return h
}

func TestConformance(t *testing.T) { crmtest.Run(t, harness) }

func TestJWTBearerSurvivesRevocation(t *testing.T) {
	sb, srv := startSandbox(t, sandbox.Options{Accounts: 5, Seed: 3})
	tokenClient := &http.Client{Transport: httpx.NewTransport(httpx.Options{Wait: noWait})}
	conf := salesforce.JWTConfig(srv.URL, sb.Opt.ClientID, sb.Opt.Username, testKey)
	sess := httpx.NewSession(nil, salesforce.JWTMinter(conf, tokenClient), nil)
	d, err := salesforce.New(salesforce.Options{Name: "sf-jwt", Session: sess, HTTP: httpx.Options{Wait: noWait}})
	if err != nil {
		t.Fatal(err)
	}
	c := connectors.New("sf-jwt", d)
	ctx := context.Background()
	ids, err := c.ListIDs(ctx, connectors.Accounts)
	if err != nil || len(ids) == 0 {
		t.Fatalf("ids = %d, %v", len(ids), err)
	}
	first := sess.Current().AccessToken
	sb.Tokens.RevokeAll("salesforce") // the session dies; a new assertion mints another
	if _, err := c.ListIDs(ctx, connectors.Accounts); err != nil {
		t.Fatal(err)
	}
	if sess.Current().AccessToken == first {
		t.Fatal("token not replaced after 401 INVALID_SESSION_ID")
	}
}

func TestBudgetStopsBeforeDailyLimit(t *testing.T) {
	sb, srv := startSandbox(t, sandbox.Options{Accounts: 5, Seed: 3})
	sb.Faults.Set(func(f *sandbox.Faults) { f.DailyLimit = 10 })
	d, _ := newDriver(t, sb, srv, func(o *salesforce.Options) { o.BudgetFraction = 0.5 })
	c := connectors.New("sf-test", d)
	ctx := context.Background()
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		_, err = c.ListIDs(ctx, connectors.Accounts)
	}
	if !errorsIs(err, connectors.ErrQuotaExhausted) {
		t.Fatalf("err = %v, want ErrQuotaExhausted", err)
	}
	u := d.Usage()
	if u.Limit != 10 || u.Used < 5 || u.Used > 6 {
		t.Fatalf("usage = %+v; the guard must stop at half of the allowance", u)
	}
}
