package hubspot

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Token lifetimes on the sandbox clock.
const (
	AccessTokenTTL = 30 * time.Minute
	authCodeTTL    = 10 * time.Minute
)

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	TokenType    string   `json:"token_type"`
	RefreshToken string   `json:"refresh_token"`
	AccessToken  string   `json:"access_token"`
	ExpiresIn    int      `json:"expires_in"`
	HubID        int64    `json:"hub_id"`
	UserID       int64    `json:"user_id"`
	Scopes       []string `json:"scopes"`
}

// sandboxUserID is the HubSpot user that installs the app.
const sandboxUserID = 7001

// oauthError is a token endpoint failure. The legacy endpoint answers
// {status: reason, message}; /oauth/v3/token and the date-versioned path
// answer the standard body with category VALIDATION_ERROR and the reason as
// subCategory.
type oauthError struct {
	reason, message string
}

func (h *Handler) writeOAuthError(w http.ResponseWriter, r *http.Request, e oauthError) {
	cid := correlationID(r.Context())
	if strings.HasPrefix(r.URL.Path, "/oauth/v1/") {
		writeJSON(w, http.StatusBadRequest, v1Error{Status: e.reason, Message: e.message, CorrelationID: cid, RequestID: cid})
		return
	}
	writeJSON(w, http.StatusBadRequest, &apiError{Status: "error", Message: e.message, CorrelationID: cid,
		Category: catValidation, SubCategory: e.reason})
}

// validRedirect reports whether uri may receive authorization codes.
func (h *Handler) validRedirect(uri string) bool {
	if len(h.opt.RedirectURIs) > 0 {
		return slices.Contains(h.opt.RedirectURIs, uri)
	}
	u, err := url.Parse(uri)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// authorize serves GET /oauth/authorize: the user is taken to have
// consented, so it redirects at once with a code.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	q := r.URL.Query()
	if q.Get("client_id") != h.sb.Opt.ClientID {
		h.writeOAuthError(w, withV1(r), oauthError{"BAD_CLIENT_ID", "missing or unknown client id"})
		return nil
	}
	redirect := q.Get("redirect_uri")
	if !h.validRedirect(redirect) {
		h.writeOAuthError(w, withV1(r), oauthError{"BAD_REDIRECT_URI", "redirect_uri is missing or not registered for this app"})
		return nil
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method == "" {
		method = "plain"
	}
	if method != "" && method != "S256" && method != "plain" {
		h.writeOAuthError(w, withV1(r), oauthError{"BAD_CODE_CHALLENGE_METHOD", "code_challenge_method must be S256"})
		return nil
	}
	scopes := append(strings.Fields(q.Get("scope")), strings.Fields(q.Get("optional_scope"))...)
	if !slices.Contains(scopes, "oauth") {
		scopes = append([]string{"oauth"}, scopes...)
	}
	code := h.sb.Tokens.Issue("", sandbox.Token{Dialect: Dialect, Kind: "code", ClientID: h.sb.Opt.ClientID,
		Subject: h.hubIDString(), Scopes: dedupe(scopes),
		Extra: map[string]string{"redirect_uri": redirect, "code_challenge": q.Get("code_challenge"), "code_challenge_method": method}},
		authCodeTTL)
	u, _ := url.Parse(redirect)
	rq := u.Query()
	rq.Set("code", code.Value)
	if s := q.Get("state"); s != "" {
		rq.Set("state", s)
	}
	u.RawQuery = rq.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
	return nil
}

// withV1 makes authorize errors use the legacy body.
func withV1(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/oauth/v1/authorize"
	return r2
}

func dedupe(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// token serves the token endpoints.
func (h *Handler) token(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	v1 := strings.HasPrefix(r.URL.Path, "/oauth/v1/")
	if !v1 && r.URL.RawQuery != "" {
		h.writeOAuthError(w, r, oauthError{"INVALID_REQUEST", "token request parameters must be sent in the form-encoded body, not the query string"})
		return nil
	}
	if err := r.ParseForm(); err != nil {
		h.writeOAuthError(w, r, oauthError{"INVALID_REQUEST", "malformed form body"})
		return nil
	}
	form := r.Form
	if !v1 {
		form = r.PostForm
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, secret = u, p
	}
	if clientID != h.sb.Opt.ClientID {
		h.writeOAuthError(w, r, oauthError{"BAD_CLIENT_ID", "missing or unknown client id"})
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(h.sb.Opt.ClientSecret)) != 1 {
		h.writeOAuthError(w, r, oauthError{"BAD_CLIENT_SECRET", "missing or invalid client secret"})
		return nil
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		h.codeGrant(w, r, form)
	case "refresh_token":
		h.refreshGrant(w, r, form)
	default:
		h.writeOAuthError(w, r, oauthError{"BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token"})
	}
	return nil
}

func (h *Handler) codeGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	value := form.Get("code")
	code, ok := h.sb.Tokens.Consume(value)
	if !ok || code.Dialect != Dialect || code.Kind != "code" {
		h.writeOAuthError(w, r, oauthError{"BAD_AUTH_CODE", "missing or unknown auth code"})
		return
	}
	if !h.now().Before(code.ExpiresAt) {
		h.writeOAuthError(w, r, oauthError{"EXPIRED_AUTH_CODE", "auth code is expired"})
		return
	}
	if form.Get("redirect_uri") != code.Extra["redirect_uri"] {
		h.writeOAuthError(w, r, oauthError{"BAD_REDIRECT_URI", "redirect_uri does not match the one used to request the auth code"})
		return
	}
	if ch := code.Extra["code_challenge"]; ch != "" {
		verifier := form.Get("code_verifier")
		got := verifier
		if code.Extra["code_challenge_method"] == "S256" {
			sum := sha256.Sum256([]byte(verifier))
			got = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if verifier == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ch)) != 1 {
			h.writeOAuthError(w, r, oauthError{"BAD_AUTH_CODE", "code_verifier does not match the code_challenge of the auth code"})
			return
		}
	}
	refresh := h.sb.Tokens.Issue("na1-", sandbox.Token{Dialect: Dialect, Kind: "refresh", ClientID: code.ClientID,
		Subject: code.Subject, Scopes: code.Scopes}, 0)
	h.issueAccess(w, refresh)
}

func (h *Handler) refreshGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	refresh, ok, _ := h.sb.Tokens.Lookup(form.Get("refresh_token"))
	if !ok || refresh.Dialect != Dialect || refresh.Kind != "refresh" || refresh.Revoked {
		h.writeOAuthError(w, r, oauthError{"BAD_REFRESH_TOKEN", "missing or unknown refresh token"})
		return
	}
	h.issueAccess(w, refresh)
}

// issueAccess mints an access token for refresh and writes the response;
// the refresh token is returned unchanged (HubSpot does not rotate them).
func (h *Handler) issueAccess(w http.ResponseWriter, refresh sandbox.Token) {
	access := h.sb.Tokens.Issue("CN", sandbox.Token{Dialect: Dialect, Kind: "access", ClientID: refresh.ClientID,
		Subject: refresh.Subject, Scopes: refresh.Scopes, Extra: map[string]string{"refresh_token": refresh.Value}},
		AccessTokenTTL)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{TokenType: "bearer", RefreshToken: refresh.Value, AccessToken: access.Value,
		ExpiresIn: int(AccessTokenTTL / time.Second), HubID: h.opt.HubID, UserID: sandboxUserID, Scopes: refresh.Scopes})
}

// accessTokenInfo serves GET /oauth/v1/access-tokens/{token}.
func (h *Handler) accessTokenInfo(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	tok, ok, expired := h.sb.Tokens.Lookup(r.PathValue("token"))
	if !ok || tok.Dialect != Dialect || tok.Kind != "access" || tok.Revoked || expired {
		cid := correlationID(r.Context())
		writeJSON(w, http.StatusNotFound, v1Error{Status: "BAD_ACCESS_TOKEN", Message: "missing, unknown or expired access token", CorrelationID: cid, RequestID: cid})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok.Value, "user": h.sb.Opt.Username, "hub_domain": "sandbox-" + h.hubIDString() + ".hubspot.com",
		"scopes": tok.Scopes, "hub_id": h.opt.HubID, "app_id": h.appIDNumber(), "user_id": sandboxUserID,
		"expires_in": int(tok.ExpiresAt.Sub(h.now()) / time.Second), "token_type": "access",
	})
	return nil
}

// refreshTokenInfo serves GET and DELETE /oauth/v1/refresh-tokens/{token}.
func (h *Handler) refreshTokenInfo(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	tok, ok, _ := h.sb.Tokens.Lookup(r.PathValue("token"))
	if !ok || tok.Dialect != Dialect || tok.Kind != "refresh" || tok.Revoked {
		cid := correlationID(r.Context())
		writeJSON(w, http.StatusNotFound, v1Error{Status: "BAD_REFRESH_TOKEN", Message: "missing or unknown refresh token", CorrelationID: cid, RequestID: cid})
		return nil
	}
	if r.Method == http.MethodDelete {
		h.sb.Tokens.Revoke(tok.Value)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok.Value, "user": h.sb.Opt.Username, "hub_domain": "sandbox-" + h.hubIDString() + ".hubspot.com",
		"scopes": tok.Scopes, "hub_id": h.opt.HubID, "client_id": tok.ClientID, "user_id": sandboxUserID, "token_type": "refresh",
	})
	return nil
}

func (h *Handler) appIDNumber() any {
	if n, err := parseInt(h.opt.AppID); err == nil {
		return n
	}
	return h.opt.AppID
}
