package salesforce

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/httpx"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"
)

// DefaultLoginURL is the production OAuth host.
const DefaultLoginURL = "https://login.salesforce.com"

// Endpoint returns Salesforce's OAuth endpoints on loginURL. Client
// credentials go in the form body (AuthStyleInParams), as Salesforce
// expects, saving the failed Basic attempt auto-detection would make.
func Endpoint(loginURL string) oauth2.Endpoint {
	if loginURL == "" {
		loginURL = DefaultLoginURL
	}
	loginURL = strings.TrimRight(loginURL, "/")
	return oauth2.Endpoint{
		AuthURL:   loginURL + "/services/oauth2/authorize",
		TokenURL:  loginURL + "/services/oauth2/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// OAuthConfig is the web-server (authorization code) flow configuration.
// Scopes default to api and refresh_token.
func OAuthConfig(loginURL, clientID, clientSecret, redirectURL string, scopes []string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = []string{"api", "refresh_token"}
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Scopes: scopes, Endpoint: Endpoint(loginURL)}
}

// withClient makes x/oauth2 send token requests through c (retries, the
// connection's limiter, the sandbox in tests).
func withClient(ctx context.Context, c *http.Client) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}

// RefreshMinter refreshes with conf and the current token's refresh token.
// Salesforce tokens carry no expiry, so x/oauth2 never refreshes by itself;
// the session calls this on 401 INVALID_SESSION_ID. The new token keeps the
// refresh token when the response has none (no rotation) and carries the
// possibly new instance_url.
func RefreshMinter(conf *oauth2.Config, tokenClient *http.Client) httpx.Minter {
	return func(ctx context.Context, cur *oauth2.Token) (*oauth2.Token, error) {
		rt := ""
		if cur != nil {
			rt = cur.RefreshToken
		}
		if rt == "" {
			return nil, &httpx.TokenError{Revoked: true, Code: "NO_REFRESH_TOKEN", Description: "no refresh token stored"}
		}
		return conf.TokenSource(withClient(ctx, tokenClient), &oauth2.Token{RefreshToken: rt}).Token()
	}
}

// JWTConfig is the JWT bearer flow: iss = consumer key, sub = username,
// aud = the login host (not the token URL), RS256 with privateKeyPEM.
func JWTConfig(loginURL, clientID, username string, privateKeyPEM []byte) *jwt.Config {
	if loginURL == "" {
		loginURL = DefaultLoginURL
	}
	loginURL = strings.TrimRight(loginURL, "/")
	return &jwt.Config{
		Email:      clientID,
		Subject:    username,
		PrivateKey: privateKeyPEM,
		TokenURL:   loginURL + "/services/oauth2/token",
		Audience:   loginURL,
		Expires:    3 * time.Minute,
	}
}

// JWTMinter mints a fresh token with a new assertion each time (the flow
// issues no refresh token).
func JWTMinter(conf *jwt.Config, tokenClient *http.Client) httpx.Minter {
	return func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) {
		return conf.TokenSource(withClient(ctx, tokenClient)).Token()
	}
}

// ClientCredentialsMinter mints tokens with the client-credentials flow
// (against the org's My Domain login URL, with a run-as user on the app).
func ClientCredentialsMinter(loginURL, clientID, clientSecret string, tokenClient *http.Client) httpx.Minter {
	conf := &clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret,
		TokenURL: Endpoint(loginURL).TokenURL, AuthStyle: oauth2.AuthStyleInParams}
	return func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) {
		return conf.TokenSource(withClient(ctx, tokenClient)).Token()
	}
}
