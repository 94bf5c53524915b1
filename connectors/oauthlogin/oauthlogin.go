// Package oauthlogin runs the OAuth 2.0 authorization-code flow with PKCE
// for a command-line login: it listens on a loopback port, hands the
// authorization URL to the caller (to print or open), receives the redirect,
// checks state, and exchanges the code for a token.
package oauthlogin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Options configure Login.
type Options struct {
	// Addr is the loopback address to listen on (default 127.0.0.1:0, a
	// free port). The redirect URL is http://<addr>/callback unless
	// Config.RedirectURL is set, whose port and path are then used.
	Addr string
	// Open receives the URL the user must visit. Required.
	Open func(authURL string) error
	// HTTPClient sends the token request (default http.DefaultClient).
	HTTPClient *http.Client
	// Params are extra authorization parameters (prompt, login_hint ...).
	Params map[string]string
	// Timeout bounds the wait for the redirect (default 5m).
	Timeout time.Duration
}

// ErrDenied is returned when the user or the server refused access.
var ErrDenied = errors.New("authorization denied")

// Login runs the flow with conf and returns the token. conf is not
// modified.
func Login(ctx context.Context, conf *oauth2.Config, opt Options) (*oauth2.Token, error) {
	if opt.Open == nil {
		return nil, errors.New("oauthlogin: Options.Open is required")
	}
	if opt.Timeout == 0 {
		opt.Timeout = 5 * time.Minute
	}
	addr, path := opt.Addr, "/callback"
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	c := *conf
	keep := false
	if c.RedirectURL != "" {
		u, err := parseLoopback(c.RedirectURL)
		if err != nil {
			return nil, err
		}
		addr, path = u.host, u.path
		keep = !strings.HasSuffix(u.host, ":0")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oauthlogin: listen on %s: %w", addr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if !keep {
		c.RedirectURL = "http://127.0.0.1:" + strconv.Itoa(port) + path
	}

	state := randomString()
	verifier := oauth2.GenerateVerifier()
	authOpts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range opt.Params {
		authOpts = append(authOpts, oauth2.SetAuthURLParam(k, v))
	}
	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			res.err = errors.New("oauthlogin: state mismatch (stale or forged redirect)")
		case q.Get("error") != "":
			res.err = fmt.Errorf("%w: %s: %s", ErrDenied, q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("oauthlogin: redirect without a code")
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>Login failed: %s</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<p>Logged in. You can close this window.</p>")
		}
		select {
		case done <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if err := opt.Open(c.AuthCodeURL(state, authOpts...)); err != nil {
		return nil, err
	}
	timer := time.NewTimer(opt.Timeout)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, errors.New("oauthlogin: timed out waiting for the browser redirect")
	}
	if res.err != nil {
		return nil, res.err
	}
	if opt.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, opt.HTTPClient)
	}
	tok, err := c.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("oauthlogin: exchange code: %w", err)
	}
	return tok, nil
}

type loopback struct{ host, path string }

func parseLoopback(raw string) (loopback, error) {
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		return loopback{}, fmt.Errorf("oauthlogin: redirect URL: %w", err)
	}
	u := req.URL
	h := u.Hostname()
	if u.Scheme != "http" || (h != "127.0.0.1" && h != "localhost" && h != "::1") {
		return loopback{}, fmt.Errorf("oauthlogin: redirect URL %s is not an http loopback address", raw)
	}
	port := u.Port()
	if port == "" {
		port = "0"
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	return loopback{host: net.JoinHostPort("127.0.0.1", port), path: p}, nil
}

func randomString() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// FollowRedirects returns an Open func that visits the URL with client
// (following redirects back to the loopback listener): for tests against a
// server that approves without a person, such as the sandbox.
func FollowRedirects(client *http.Client) func(string) error {
	return func(u string) error {
		resp, err := client.Get(u)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
}
