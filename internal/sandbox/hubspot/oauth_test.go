package hubspot

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func oauthConfig(e *env) *oauth2.Config {
	return &oauth2.Config{
		ClientID: e.sb.Opt.ClientID, ClientSecret: e.sb.Opt.ClientSecret,
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/oauth/authorize", TokenURL: e.srv.URL + "/oauth/v1/token",
			AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://localhost:8765/callback",
		Scopes:      []string{"crm.objects.companies.read", "crm.objects.companies.write"},
	}
}

// authorize follows the consent redirect and returns code and state.
func authorize(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), "http://localhost:8765/callback?") {
		t.Fatalf("redirected to %s", loc)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestOAuthCodeFlowWithRefresh(t *testing.T) {
	e := newEnv(t)
	seedCompanies(t, e, 3)
	cfg := oauthConfig(e)
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	code, state := authorize(t, cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier)))
	if state != "st-123" || code == "" {
		t.Fatalf("code %q state %q", code, state)
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.TokenType != "bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	if hub, ok := tok.Extra("hub_id").(float64); !ok || int64(hub) != e.h.opt.HubID {
		t.Errorf("hub_id = %v", tok.Extra("hub_id"))
	}
	// A code is single-use.
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("second exchange of the same code succeeded")
	} else if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || !strings.Contains(string(re.Body), `"BAD_AUTH_CODE"`) {
		t.Fatalf("second exchange: %v", err)
	}

	api := &client{base: e.srv.URL, token: tok.AccessToken}
	api.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	var info map[string]any
	api.must(t, 200, "GET", "/oauth/v1/access-tokens/"+tok.AccessToken, nil).decode(t, &info)
	if info["expires_in"].(float64) != 1800 || info["token_type"] != "access" {
		t.Errorf("token metadata %v", info)
	}

	// 30 minutes later on the sandbox clock the access token is expired.
	e.sb.Clock.Advance(AccessTokenTTL + time.Second)
	r := api.must(t, 401, "GET", "/crm/v3/objects/companies", nil)
	if got := r.err(t); got.Category != "EXPIRED_AUTHENTICATION" || got.Status != "error" {
		t.Fatalf("expired token: %s", r.body)
	}
	e.golden(t, "error_expired", r)

	// The client's view of expiry is real time; make it agree, then let
	// x/oauth2 refresh.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
		t.Fatalf("refresh: access rotated %v, refresh kept %v", fresh.AccessToken != tok.AccessToken, fresh.RefreshToken == tok.RefreshToken)
	}
	hc := cfg.Client(ctx, fresh)
	resp, err := hc.Get(e.srv.URL + "/crm/v3/objects/companies")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after refresh: status %d", resp.StatusCode)
	}
	// Granted scopes are enforced: deals were not requested.
	r = (&client{base: e.srv.URL, token: fresh.AccessToken}).must(t, 403, "GET", "/crm/v3/objects/deals", nil)
	if got := r.err(t); got.Category != "MISSING_SCOPES" || len(got.Errors) != 1 ||
		!slices.Contains(got.Errors[0].Context["requiredScopes"], "crm.objects.deals.read") {
		t.Fatalf("missing scope: %s", r.body)
	}

	// A revoked refresh token cannot refresh.
	(&client{base: e.srv.URL}).must(t, 204, "DELETE", "/oauth/v1/refresh-tokens/"+tok.RefreshToken, nil)
	fresh.Expiry = time.Now().Add(-time.Minute)
	_, err = cfg.TokenSource(ctx, fresh).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != 400 || !strings.Contains(string(re.Body), `"status":"BAD_REFRESH_TOKEN"`) {
		t.Fatalf("refresh with revoked token: %v", err)
	}
}

func tokenRequest(t *testing.T, e *env, path string, form url.Values) response {
	t.Helper()
	resp, err := http.PostForm(e.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	cfg := oauthConfig(e)
	code, _ := authorize(t, cfg.AuthCodeURL("s"))
	good := url.Values{"grant_type": {"authorization_code"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret},
		"redirect_uri": {cfg.RedirectURL}, "code": {code}}
	r := tokenRequest(t, e, "/oauth/v1/token", good)
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	e.golden(t, "token", r)
	var tok tokenResponse
	r.decode(t, &tok)

	cases := []struct {
		name, path string
		form       url.Values
		status     string
	}{
		{"unknown code", "/oauth/v1/token", with(good, "code", "nope"), "BAD_AUTH_CODE"},
		{"bad client", "/oauth/v1/token", with(good, "client_id", "other"), "BAD_CLIENT_ID"},
		{"bad secret", "/oauth/v1/token", with(good, "client_secret", "x"), "BAD_CLIENT_SECRET"},
		{"bad grant", "/oauth/v1/token", with(good, "grant_type", "password"), "BAD_GRANT_TYPE"},
		{"bad refresh", "/oauth/v1/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {cfg.ClientID},
			"client_secret": {cfg.ClientSecret}, "refresh_token": {"na1-nope"}}, "BAD_REFRESH_TOKEN"},
	}
	for _, c := range cases {
		r := tokenRequest(t, e, c.path, c.form)
		var body v1Error
		r.decode(t, &body)
		if r.status != 400 || body.Status != c.status || body.CorrelationID == "" {
			t.Errorf("%s: %d %s, want 400 %s", c.name, r.status, r.body, c.status)
		}
	}
	e.golden(t, "error_bad_refresh_token", tokenRequest(t, e, "/oauth/v1/token", cases[4].form))

	// The v3 and date-versioned endpoints refresh too, with the standard body on errors.
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret},
		"refresh_token": {tok.RefreshToken}}
	for _, p := range []string{"/oauth/v3/token", "/oauth/2026-03/token"} {
		if r := tokenRequest(t, e, p, refresh); r.status != 200 {
			t.Errorf("%s refresh: %d %s", p, r.status, r.body)
		}
		r := tokenRequest(t, e, p, with(refresh, "refresh_token", "na1-nope"))
		if got := r.err(t); r.status != 400 || got.Category != "VALIDATION_ERROR" || got.SubCategory != "BAD_REFRESH_TOKEN" {
			t.Errorf("%s bad refresh: %d %s", p, r.status, r.body)
		}
	}
	resp, err := http.Post(e.srv.URL+"/oauth/v3/token?"+refresh.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("v3 token with query-string credentials: status %d, want 400", resp.StatusCode)
	}
}

func with(v url.Values, key, value string) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	c.Set(key, value)
	return c
}

func TestAuthorizeValidation(t *testing.T) {
	e := newEnv(t)
	cfg := oauthConfig(e)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bad := *cfg
	bad.ClientID = "someone-else"
	for name, u := range map[string]string{
		"client_id":    bad.AuthCodeURL("s"),
		"redirect_uri": strings.Replace(cfg.AuthCodeURL("s"), url.QueryEscape(cfg.RedirectURL), "not-a-url", 1),
	} {
		resp, err := noFollow.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("bad %s: status %d, want 400", name, resp.StatusCode)
		}
	}
	// PKCE: a wrong verifier is refused.
	code, _ := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if _, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchange with the wrong code_verifier succeeded")
	}
	// Codes expire.
	code, _ = authorize(t, cfg.AuthCodeURL("s"))
	e.sb.Clock.Advance(authCodeTTL)
	_, err := cfg.Exchange(context.Background(), code)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || !strings.Contains(string(re.Body), "EXPIRED_AUTH_CODE") {
		t.Fatalf("expired code: %v", err)
	}
}

func TestAPIAuthErrors(t *testing.T) {
	e := newEnv(t)
	noAuth := &client{base: e.srv.URL}
	r := noAuth.must(t, 401, "GET", "/crm/v3/objects/companies", nil)
	if got := r.err(t); got.Category != "INVALID_AUTHENTICATION" || r.header.Get("x-hubspot-auth-failure") == "" {
		t.Fatalf("no token: %s", r.body)
	}
	e.golden(t, "error_invalid_authentication", r)
	r = (&client{base: e.srv.URL, token: "CN-unknown"}).must(t, 401, "GET", "/crm/v3/objects/companies", nil)
	if got := r.err(t); got.Category != "INVALID_AUTHENTICATION" {
		t.Fatalf("unknown token: %s", r.body)
	}
	c := e.scoped("oauth", "crm.objects.companies.read")
	c.must(t, 200, "GET", "/crm/v3/objects/companies", nil)
	e.sb.Tokens.Revoke(c.token)
	if got := c.must(t, 401, "GET", "/crm/v3/objects/companies", nil).err(t); got.Category != "INVALID_AUTHENTICATION" {
		t.Fatalf("revoked token: %+v", got)
	}
	c = e.scoped("oauth", "crm.objects.companies.read")
	r = c.must(t, 403, "PATCH", "/crm/v3/objects/companies/1", map[string]any{"properties": map[string]any{}})
	e.golden(t, "error_missing_scopes", r)
	c.must(t, 403, "POST", "/crm/v3/lists", map[string]any{})
}
