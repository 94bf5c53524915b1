package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

func (e *env) oauthConfig(redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: e.sb.Opt.ClientID, ClientSecret: e.sb.Opt.ClientSecret, RedirectURL: redirect,
		Scopes: []string{"api", "refresh_token"},
		Endpoint: oauth2.Endpoint{
			AuthURL: e.srv.URL + "/services/oauth2/authorize", TokenURL: e.srv.URL + "/services/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// authorize follows the auto-approving authorize endpoint and returns the
// callback query.
func (e *env) authorize(u string) url.Values {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc.Query()
}

func TestAuthorizationCodePKCE(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	conf := e.oauthConfig("https://app.example/callback")
	verifier := oauth2.GenerateVerifier()
	back := e.authorize(conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier)))
	if back.Get("state") != "st4te" || back.Get("code") == "" {
		t.Fatalf("callback query %v", back)
	}

	// A wrong verifier is refused and burns the code.
	if _, err := conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption("wrong-verifier-wrong-verifier-wrong-verifier")); !isGrantErr(err, "invalid_grant", "invalid code verifier") {
		t.Fatalf("wrong verifier: %v", err)
	}
	back = e.authorize(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || !tok.Expiry.IsZero() || tok.TokenType != "Bearer" {
		t.Fatalf("token %+v: want refresh token, zero expiry (no expires_in), Bearer", tok)
	}
	if got := tok.Extra("instance_url"); got != e.srv.URL {
		t.Fatalf("instance_url = %v, want %s", got, e.srv.URL)
	}
	if tok.Extra("expires_in") != nil {
		t.Fatal("token response carries expires_in")
	}

	// The token works against the data API and the identity URL.
	client := conf.Client(ctx, tok)
	resp, err := client.Get(tok.Extra("id").(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("identity: %d", resp.StatusCode)
	}

	// Refresh mints a new access token without a refresh token in the response.
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
		t.Fatalf("refresh: %+v", fresh)
	}
	e.tok = fresh.AccessToken
	if r := e.do("GET", "limits", nil); r.status != 200 {
		t.Fatalf("refreshed token: %d %s", r.status, r.body)
	}

	// Revoking the refresh token revokes its access tokens and refreshes fail.
	resp, err = http.PostForm(e.srv.URL+"/services/oauth2/revoke", url.Values{"token": {tok.RefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if r := e.do("GET", "limits", nil); r.status != 401 || errorCode(t, r) != "INVALID_SESSION_ID" {
		t.Fatalf("after revoke: %d %s", r.status, r.body)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if !isGrantErr(err, "invalid_grant", "expired access/refresh token") {
		t.Fatalf("refresh after revoke: %v", err)
	}
}

// isGrantErr checks an OAuth error. x/oauth2/jwt leaves ErrorCode empty,
// so the body is decoded here.
func isGrantErr(err error, code, desc string) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != 400 {
		return false
	}
	var body oauthError
	if json.Unmarshal(re.Body, &body) != nil {
		return false
	}
	return body.Error == code && body.ErrorDescription == desc
}

func TestAuthorizeValidation(t *testing.T) {
	e := newEnv(t, Options{RedirectURIs: []string{"https://app.example/callback"}})
	conf := e.oauthConfig("https://evil.example/cb")
	resp, err := http.Get(conf.AuthCodeURL("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unregistered redirect_uri: %d", resp.StatusCode)
	}
	conf = e.oauthConfig("https://app.example/callback")
	conf.ClientID = "nope"
	resp, err = http.Get(conf.AuthCodeURL("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unknown client_id: %d", resp.StatusCode)
	}
}

func TestTokenResponseGolden(t *testing.T) {
	e := newEnv(t, Options{})
	conf := e.oauthConfig("https://app.example/callback")
	back := e.authorize(conf.AuthCodeURL("s"))
	resp, err := http.PostForm(e.srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "client_id": {conf.ClientID},
		"client_secret": {conf.ClientSecret}, "redirect_uri": {conf.RedirectURL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	e.golden("token_code", []byte(b.String()))

	// Error bodies: reused code, bad secret, unknown grant.
	for name, form := range map[string]url.Values{
		"token_error_code_reused": {"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "client_id": {conf.ClientID}, "client_secret": {conf.ClientSecret}, "redirect_uri": {conf.RedirectURL}},
		"token_error_secret":      {"grant_type": {"client_credentials"}, "client_id": {conf.ClientID}, "client_secret": {"bad"}},
		"token_error_grant":       {"grant_type": {"implicit"}, "client_id": {conf.ClientID}},
	} {
		resp, err := http.PostForm(e.srv.URL+"/services/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
		e.golden(name, []byte(b.String()))
	}
}

func TestClientCredentialsBasicAuth(t *testing.T) {
	e := newEnv(t, Options{})
	req, _ := http.NewRequest("POST", e.srv.URL+"/services/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.sb.Opt.ClientID, e.sb.Opt.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("client_credentials with Basic: %d", resp.StatusCode)
	}
}

func TestJWTBearer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{JWTPublicKey: &key.PublicKey})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	conf := func(k *rsa.PrivateKey, sub, aud string) *jwt.Config {
		return &jwt.Config{
			Email: e.sb.Opt.ClientID, Subject: sub, TokenURL: e.srv.URL + "/services/oauth2/token",
			Audience: aud, Expires: 3 * 60e9,
			PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}),
		}
	}
	tok, err := conf(key, e.sb.Opt.Username, "https://login.salesforce.com").TokenSource(ctx).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || tok.Extra("instance_url") != e.srv.URL {
		t.Fatalf("jwt token: %+v", tok)
	}
	e.tok = tok.AccessToken
	if r := e.do("GET", "sobjects", nil); r.status != 200 {
		t.Fatalf("jwt token use: %d", r.status)
	}
	for _, tt := range []struct {
		c    *jwt.Config
		desc string
	}{
		{conf(other, e.sb.Opt.Username, "https://login.salesforce.com"), "invalid assertion"},
		{conf(key, "someone@else.example", "https://login.salesforce.com"), "user hasn't approved this consumer"},
		{conf(key, e.sb.Opt.Username, ""), "audience is invalid"}, // x/oauth2 falls back to the token URL
	} {
		_, err := tt.c.TokenSource(ctx).Token()
		if !isGrantErr(err, "invalid_grant", tt.desc) {
			t.Errorf("want invalid_grant %q, got %v", tt.desc, err)
		}
	}
	long := conf(key, e.sb.Opt.Username, "https://login.salesforce.com")
	long.Expires = 10 * 60e9
	if _, err := long.TokenSource(ctx).Token(); !isGrantErr(err, "invalid_grant", "invalid assertion") {
		t.Errorf("exp 10 minutes ahead: %v", err)
	}
}

func TestExpiredAndRevokedAccessToken(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.do("GET", "limits", nil); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	e.sb.Clock.Advance(e.sb.Opt.TokenTTL)
	r := e.do("GET", "query?q=SELECT+Id+FROM+Account", nil)
	if r.status != 401 || errorCode(t, r) != "INVALID_SESSION_ID" {
		t.Fatalf("expired: %d %s", r.status, r.body)
	}
	e.golden("error_invalid_session", r.body)

	e.tok = e.passwordToken()
	resp, err := http.PostForm(e.srv.URL+"/services/oauth2/revoke", url.Values{"token": {e.tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := e.do("GET", "limits", nil); r.status != 401 || errorCode(t, r) != "INVALID_SESSION_ID" {
		t.Fatalf("revoked: %d %s", r.status, r.body)
	}
}
