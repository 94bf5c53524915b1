package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/connectors/oauthlogin"
	"github.com/crmpulse/crmpulse/connectors/salesforce"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/secrets"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
)

func init() {
	register(&command{name: "auth", summary: "log in to a CRM connection, show or remove its stored token", run: runAuth})
}

const authUsage = `auth login|status|logout <connection>

  login   run the OAuth authorization-code flow (PKCE) for a connection: a
          loopback listener on 127.0.0.1 receives the redirect; open the
          printed URL in a browser. The token is stored encrypted in Redis.
  status  say whether a token is stored and when it was saved.
  logout  delete the stored token.`

// Sandbox OAuth client used when a sandbox connection configures none.
const (
	sandboxClientID     = "crmpulse-sandbox"
	sandboxClientSecret = "sandbox-secret"
)

func runAuth(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "auth", authUsage)
	timeout := fs.Duration("timeout", 5*time.Minute, "how long login waits for the browser redirect")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usagef("need a subcommand (login, status, logout) and a connection name")
	}
	sub, name := fs.Arg(0), fs.Arg(1)
	if sub != "login" && sub != "status" && sub != "logout" {
		return usagef("unknown auth subcommand %q (login, status, logout)", sub)
	}
	cfg, err := loadAuthConfig(e.configPath)
	if err != nil {
		return configError{err}
	}
	conn := cfg.Connection(name)
	if conn == nil {
		return configError{fmt.Errorf("no connection named %q in the configuration", name)}
	}
	store, closeStore, err := tokenStore(cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	switch sub {
	case "status":
		ok, at, err := store.Status(ctx, name)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(e.stdout, "%s (%s, %s): no token stored\n", name, conn.Kind, conn.Auth.Mode)
			return nil
		}
		fmt.Fprintf(e.stdout, "%s (%s, %s): token stored, saved %s\n", name, conn.Kind, conn.Auth.Mode, at.Local().Format(time.RFC3339))
		return nil
	case "logout":
		if err := store.Delete(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: stored token deleted\n", name)
		return nil
	}
	if conn.Auth.Mode != config.AuthAuthorizationCode {
		return configError{fmt.Errorf("connection %s authenticates with %s; only %s connections log in interactively", name, conn.Auth.Mode, config.AuthAuthorizationCode)}
	}
	conf, err := oauthConfig(conn)
	if err != nil {
		return configError{err}
	}
	tokenClient := &http.Client{Transport: httpx.NewTransport(httpx.Options{Name: name, Logger: e.log})}
	tok, err := oauthlogin.Login(ctx, conf, oauthlogin.Options{
		HTTPClient: tokenClient,
		Timeout:    *timeout,
		Open: func(u string) error {
			fmt.Fprintf(e.stdout, "Open this URL in a browser to authorize crmpulse for %s:\n\n  %s\n\nWaiting for the redirect...\n", name, u)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("login %s: %w", name, err)
	}
	if tok.RefreshToken == "" {
		fmt.Fprintf(e.stderr, "warning: %s returned no refresh token; add the refresh_token (Salesforce) or offline scope to the app\n", name)
	}
	if err := store.Save(ctx, name, tok); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Logged in to %s; token stored encrypted in Redis.\n", name)
	return nil
}

func loadAuthConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("no configuration file: pass --config or set CRMPULSE_CONFIG")
	}
	return config.Load(path)
}

// tokenStore opens Redis and the token cipher.
func tokenStore(cfg *config.Config) (*secrets.Store, func(), error) {
	c, err := secrets.CipherFromEnv(cfg.Security.TokenKeyEnv)
	if err != nil {
		return nil, nil, configError{err}
	}
	opt, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return nil, nil, configError{fmt.Errorf("redis.url: %w", err)}
	}
	rdb := redis.NewClient(opt)
	return secrets.NewStore(rdb, c, cfg.Redis.Namespace), func() { _ = rdb.Close() }, nil
}

// oauthConfig builds the authorization-code configuration of a connection.
func oauthConfig(conn *config.Connection) (*oauth2.Config, error) {
	id, secret := conn.Auth.ClientID, ""
	if conn.Auth.ClientSecretEnv != "" {
		secret = os.Getenv(conn.Auth.ClientSecretEnv)
	}
	if conn.Sandbox {
		if id == "" {
			id = sandboxClientID
		}
		if secret == "" {
			secret = sandboxClientSecret
		}
	}
	if id == "" {
		return nil, fmt.Errorf("connections[%s].auth.client_id is empty", conn.Name)
	}
	switch conn.Kind {
	case config.KindSalesforce:
		login := conn.LoginURL
		if login == "" {
			login = conn.BaseURL
		}
		if login == "" {
			return nil, fmt.Errorf("connections[%s]: login_url is empty", conn.Name)
		}
		return salesforce.OAuthConfig(login, id, secret, conn.Auth.RedirectURL, conn.Auth.Scopes), nil
	case config.KindHubSpot:
		authHost := ""
		if conn.Sandbox {
			authHost = conn.BaseURL
		}
		return hubspot.OAuthConfig(authHost, conn.BaseURL, id, secret, conn.Auth.RedirectURL, conn.Auth.Scopes), nil
	}
	return nil, fmt.Errorf("connections[%s]: unknown kind %q", conn.Name, conn.Kind)
}
