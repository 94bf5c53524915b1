package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"golang.org/x/oauth2"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/connectors/oauthlogin"
	"github.com/crmpulse/crmpulse/connectors/salesforce"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/secrets"
)

// HubSpotAuthHost is HubSpot's OAuth app host (authorization page).
const HubSpotAuthHost = "https://app.hubspot.com"

// ErrNotLoggedIn: an authorization_code connection has no stored token yet.
var ErrNotLoggedIn = errors.New("no stored token: run crmpulse auth login")

// credentials are a connection's resolved secrets.
type credentials struct {
	clientID, clientSecret string
	token                  string // HubSpot private-app token
	username               string
}

func (a *App) credentials(cc config.Connection, o Options) (credentials, error) {
	env := func(name string) string {
		if name == "" {
			return ""
		}
		v, _ := o.LookupEnv(name)
		return v
	}
	c := credentials{clientID: cc.Auth.ClientID, clientSecret: env(cc.Auth.ClientSecretEnv),
		token: env(cc.Auth.TokenEnv), username: cc.Auth.Username}
	if cc.Sandbox {
		d := sandbox.Options{}
		if a.Sandbox != nil {
			d = a.Sandbox.Opt
		} else if o.Sandbox != nil {
			d = *o.Sandbox
		}
		d = d.Defaults()
		if c.clientID == "" {
			c.clientID = d.ClientID
		}
		if c.clientSecret == "" {
			c.clientSecret = d.ClientSecret
		}
		if c.token == "" {
			c.token = d.HubSpotToken
		}
		if c.username == "" {
			c.username = d.Username
		}
	}
	return c, nil
}

// newConn builds the driver and session of one connection against base (the
// API root; for Salesforce also the login host when login_url is empty).
func (a *App) newConn(ctx context.Context, cc config.Connection, base string, o Options) (*connectors.Conn, error) {
	cred, err := a.credentials(cc, o)
	if err != nil {
		return nil, err
	}
	hopt := o.HTTP
	hopt.Name = cc.Name
	hopt.Logger = a.Logger
	hopt.Counters = &httpx.Counters{}
	hopt.Limiter = httpx.NewLimiter(cc.RateLimit.RequestsPerSecond, cc.RateLimit.Burst)
	tokenOpt := o.HTTP
	tokenOpt.Name, tokenOpt.Logger, tokenOpt.Limiter = cc.Name, a.Logger, hopt.Limiter
	tokenClient := &http.Client{Transport: httpx.NewTransport(tokenOpt)}
	pageSize := o.PageSize
	if pageSize == 0 {
		pageSize = a.Config.Sync.PageSize
	}
	log := a.Logger.With("connection", cc.Name)

	switch cc.Kind {
	case config.KindSalesforce:
		login := cc.LoginURL
		if login == "" {
			login = base
		}
		if login == "" {
			login = salesforce.DefaultLoginURL
		}
		sess, err := a.salesforceSession(ctx, cc, cred, login, tokenClient)
		if err != nil {
			return nil, err
		}
		inst := cc.InstanceURL
		if inst == "" && cc.Sandbox {
			inst = base
		}
		d, err := salesforce.New(salesforce.Options{
			Name: cc.Name, Session: sess, InstanceURL: inst, APIVersion: cc.APIVersion, HTTP: hopt,
			Lookback: cc.Lookback, Lag: cc.Lag, PageSize: pageSize, BudgetFraction: cc.DailyBudgetFraction, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		return connectors.New(cc.Name, d), nil
	case config.KindHubSpot:
		api := base
		if api == "" {
			api = hubspot.DefaultBaseURL
		}
		sess, err := a.hubspotSession(ctx, cc, cred, api, tokenClient)
		if err != nil {
			return nil, err
		}
		search, initial := cc.RateLimit.SearchPerSecond, hubspot.ReadMode(cc.InitialRead)
		if cc.Sandbox && base == a.SandboxURL && a.SandboxURL != "" {
			// The in-process sandbox runs without a search limiter: search
			// at the connection's own rate and read first syncs from the
			// list endpoint, the faster of the two there (see package
			// hubspot), unless configured otherwise.
			if search == 0 {
				search = max(cc.RateLimit.RequestsPerSecond, 4)
			}
			if initial == "" {
				initial = hubspot.ReadList
			}
		}
		d, err := hubspot.New(hubspot.Options{
			Name: cc.Name, Session: sess, BaseURL: api, HTTP: hopt,
			SearchPerSecond: search, InitialRead: initial,
			Lookback: cc.Lookback, Lag: cc.Lag, PageSize: min(pageSize, 200), Logger: log,
		})
		if err != nil {
			return nil, err
		}
		return connectors.New(cc.Name, d), nil
	}
	return nil, fmt.Errorf("unknown kind %q", cc.Kind)
}

func (a *App) salesforceSession(ctx context.Context, cc config.Connection, cred credentials, login string, tokenClient *http.Client) (*httpx.Session, error) {
	switch cc.Auth.Mode {
	case config.AuthClientCredentials:
		if cred.clientSecret == "" {
			return nil, fmt.Errorf("auth: client secret missing (set the variable named by auth.client_secret_env, %q)", cc.Auth.ClientSecretEnv)
		}
		return httpx.NewSession(nil, salesforce.ClientCredentialsMinter(login, cred.clientID, cred.clientSecret, tokenClient), nil), nil
	case config.AuthJWTBearer:
		key, err := os.ReadFile(cc.Auth.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("auth: private key: %w", err)
		}
		conf := salesforce.JWTConfig(login, cred.clientID, cred.username, key)
		return httpx.NewSession(nil, salesforce.JWTMinter(conf, tokenClient), nil), nil
	case config.AuthAuthorizationCode:
		conf := salesforce.OAuthConfig(login, cred.clientID, cred.clientSecret, cc.Auth.RedirectURL, cc.Auth.Scopes)
		return a.storedSession(ctx, cc, conf, salesforce.RefreshMinter(conf, tokenClient), tokenClient)
	}
	return nil, fmt.Errorf("auth.mode %q is not supported by salesforce", cc.Auth.Mode)
}

func (a *App) hubspotSession(ctx context.Context, cc config.Connection, cred credentials, api string, tokenClient *http.Client) (*httpx.Session, error) {
	switch cc.Auth.Mode {
	case config.AuthPrivateApp:
		if cred.token == "" {
			return nil, fmt.Errorf("auth: private-app token missing (set the variable named by auth.token_env, %q)", cc.Auth.TokenEnv)
		}
		return httpx.StaticSession(cred.token), nil
	case config.AuthAuthorizationCode:
		authHost := HubSpotAuthHost
		if cc.Sandbox {
			authHost = api
		}
		conf := hubspot.OAuthConfig(authHost, api, cred.clientID, cred.clientSecret, cc.Auth.RedirectURL, cc.Auth.Scopes)
		return a.storedSession(ctx, cc, conf, hubspot.RefreshMinter(conf, tokenClient), tokenClient)
	}
	return nil, fmt.Errorf("auth.mode %q is not supported by hubspot", cc.Auth.Mode)
}

// storedSession is the authorization-code session: the token saved by
// crmpulse auth login (encrypted in Redis), refreshed by mint, each new token
// saved before use. A sandbox connection without a stored token logs in by
// itself (the sandbox approves every authorization request) and keeps the
// token in memory when no token key is configured.
func (a *App) storedSession(ctx context.Context, cc config.Connection, conf *oauth2.Config, mint httpx.Minter, tokenClient *http.Client) (*httpx.Session, error) {
	keyEnv := a.Config.Security.TokenKeyEnv
	cipher, keyErr := secrets.CipherFromEnv(keyEnv)
	var ts *secrets.Store
	if keyErr == nil {
		ts = secrets.NewStore(a.Store.Client(), cipher, a.Store.Namespace())
	}
	var tok *oauth2.Token
	if ts != nil {
		t, err := ts.Load(ctx, cc.Name)
		switch {
		case err == nil:
			tok = t
		case errors.Is(err, secrets.ErrNoToken):
		default:
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	if tok == nil {
		if !cc.Sandbox {
			if keyErr != nil {
				return nil, fmt.Errorf("auth: %w (%s)", keyErr, keyEnv)
			}
			return nil, ErrNotLoggedIn
		}
		t, err := oauthlogin.Login(ctx, conf, oauthlogin.Options{Open: oauthlogin.FollowRedirects(&http.Client{}), HTTPClient: tokenClient})
		if err != nil {
			return nil, fmt.Errorf("auth: sandbox login: %w", err)
		}
		tok = t
		if ts != nil {
			if err := ts.Save(ctx, cc.Name, tok); err != nil {
				return nil, fmt.Errorf("auth: save token: %w", err)
			}
		}
	}
	var save func(context.Context, *oauth2.Token) error
	if ts != nil {
		save = func(ctx context.Context, t *oauth2.Token) error { return ts.Save(ctx, cc.Name, t) }
	}
	return httpx.NewSession(tok, mint, save), nil
}
