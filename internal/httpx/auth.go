package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Minter obtains a fresh token, given the current one (for its refresh
// token; nil when there is none yet).
type Minter func(ctx context.Context, current *oauth2.Token) (*oauth2.Token, error)

// Session holds a connection's access token and refreshes it on demand:
// before its Expiry (when it has one) and when the CRM rejects it
// (Invalidate, used by AuthTransport on 401). Salesforce tokens carry no
// expiry, so for them the 401 path is the only refresh. Refreshes are
// single-flight. Safe for concurrent use.
type Session struct {
	mint  Minter
	save  func(context.Context, *oauth2.Token) error
	early time.Duration

	mu  sync.Mutex
	tok *oauth2.Token
}

// NewSession returns a session starting from initial (may be nil), minting
// with mint (nil: a static token that cannot be refreshed) and persisting
// every new token with save (may be nil). A save error fails the refresh: a
// rotated refresh token that was not persisted would be lost.
func NewSession(initial *oauth2.Token, mint Minter, save func(context.Context, *oauth2.Token) error) *Session {
	return &Session{tok: initial, mint: mint, save: save, early: time.Minute}
}

// StaticSession is a session over a fixed bearer token (HubSpot private
// apps).
func StaticSession(token string) *Session {
	return NewSession(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}, nil, nil)
}

// Current returns the token held now (nil before the first).
func (s *Session) Current() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

// Token returns a usable token, minting one when there is none or it is
// about to expire.
func (s *Session) Token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken != "" && (s.tok.Expiry.IsZero() || time.Until(s.tok.Expiry) > s.early) {
		return s.tok, nil
	}
	return s.refreshLocked(ctx)
}

// Invalidate reports that the CRM rejected access token stale and returns
// a fresh one. If another caller already replaced it, that token is
// returned without minting again.
func (s *Session) Invalidate(ctx context.Context, stale string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken != stale && s.tok.AccessToken != "" {
		return s.tok, nil
	}
	return s.refreshLocked(ctx)
}

// TokenSource adapts the session to oauth2.TokenSource (using ctx).
func (s *Session) TokenSource(ctx context.Context) oauth2.TokenSource {
	return tokenSourceFunc(func() (*oauth2.Token, error) { return s.Token(ctx) })
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

func (s *Session) refreshLocked(ctx context.Context) (*oauth2.Token, error) {
	if s.mint == nil {
		return nil, &TokenError{Revoked: true, Code: "STATIC_TOKEN_REJECTED", Description: "the access token was rejected and cannot be refreshed"}
	}
	nt, err := s.mint(ctx, s.tok)
	if err != nil {
		return nil, ClassifyTokenError(err)
	}
	if nt == nil || nt.AccessToken == "" {
		return nil, &TokenError{Code: "EMPTY_TOKEN", Description: "token endpoint returned no access token"}
	}
	if nt.RefreshToken == "" && s.tok != nil && s.tok.RefreshToken != "" {
		cp := *nt
		cp.RefreshToken = s.tok.RefreshToken
		nt = &cp
	}
	if s.save != nil {
		if err := s.save(ctx, nt); err != nil {
			return nil, fmt.Errorf("persist refreshed token: %w", err)
		}
	}
	s.tok = nt
	return nt, nil
}

// TokenError is a failure to obtain a token. Revoked means the grant itself
// was refused (invalid_grant, BAD_REFRESH_TOKEN, a rejected static token):
// only a new login helps. Its message never includes the response body.
type TokenError struct {
	Status      int
	Code        string
	Description string
	Revoked     bool
	Err         error
}

func (e *TokenError) Error() string {
	msg := "obtain access token"
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil && e.Code == "" {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *TokenError) Unwrap() error { return e.Err }

// ClassifyTokenError turns a token endpoint failure into a *TokenError:
// RFC 6749 errors (Salesforce) and HubSpot-style bodies alike. 400, 401 and
// 403 answers are revocations; 429, 5xx and network errors are not.
func ClassifyTokenError(err error) error {
	var te *TokenError
	if errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return &TokenError{Err: err}
	}
	out := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
	if re.Response != nil {
		out.Status = re.Response.StatusCode
	}
	if out.Code == "" {
		var hs struct {
			Status, Message, Category, Error string
		}
		if json.Unmarshal(re.Body, &hs) == nil {
			out.Code = firstNonEmpty(hs.Error, hs.Status, hs.Category)
			if out.Description == "" {
				out.Description = hs.Message
			}
		}
	}
	switch out.Status {
	case 400, 401, 403:
		out.Revoked = true
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" && v != "error" {
			return v
		}
	}
	return ""
}

// AuthTransport sets the session's bearer token on each request. When the
// CRM answers 401 and Expired agrees (nil: any 401), it invalidates the
// token, obtains a new one and retries the request once. It replaces any
// Authorization header the caller set.
type AuthTransport struct {
	Session *Session
	Base    http.RoundTripper
	Expired func(status int, body []byte) bool
}

// RoundTrip implements http.RoundTripper.
func (t *AuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.Session.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(ctx)
	tok.SetAuthHeader(r)
	resp, err := t.Base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if t.Expired != nil && !t.Expired(resp.StatusCode, body) {
		return resp, nil
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // cannot replay the body
	}
	nt, err := t.Session.Invalidate(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	r2 := req.Clone(ctx)
	if req.GetBody != nil {
		if r2.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	nt.SetAuthHeader(r2)
	return t.Base.RoundTrip(r2)
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}
