package salesforce

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Grant types.
const (
	grantCode     = "authorization_code"
	grantRefresh  = "refresh_token"
	grantJWT      = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantClient   = "client_credentials"
	grantPassword = "password"
)

// JWT audiences Salesforce accepts besides the sandbox's own base URL.
var jwtAudiences = []string{"https://login.salesforce.com", "https://test.salesforce.com"}

// maxJWTLifetime is how far in the future a JWT bearer assertion may expire.
const maxJWTLifetime = 3 * time.Minute

type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func writeOAuthErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, status, oauthError{Error: code, ErrorDescription: desc})
}

// integrationUser returns the id of the org's API user (Options.Username),
// creating the User row when the org has none.
func (h *handler) integrationUser() string {
	h.mu.Lock()
	if h.userID != "" {
		defer h.mu.Unlock()
		return h.userID
	}
	h.mu.Unlock()
	if h.sb.IntegrationUserID != "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.userID = h.sb.IntegrationUserID
		return h.userID
	}
	username := h.sb.Opt.Username
	var id string
	_ = h.sb.SF.Scan(sandbox.SFUser, func(r sandbox.Row) bool {
		if u, _ := r.Fields["Username"].(string); strings.EqualFold(u, username) && !r.Deleted {
			id = r.ID
			return false
		}
		return true
	})
	if id == "" {
		if _, ok := h.sb.SF.Schema(sandbox.SFUser); ok {
			row, err := h.sb.SF.Insert(sandbox.SFUser, map[string]any{
				"Username": username, "LastName": "Integration", "FirstName": "API",
				"Name": "API Integration", "Email": username, "IsActive": true,
			}, "system")
			if err == nil {
				id = row.ID
			}
		}
		if id == "" {
			id = sandbox.SalesforceID(sandbox.PrefixUser, 1)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.userID == "" {
		h.userID = id
	}
	return h.userID
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (h *handler) redirectAllowed(u string) bool {
	if len(h.opt.RedirectURIs) > 0 {
		return contains(h.opt.RedirectURIs, u)
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// authorize auto-approves: it redirects straight back with a code.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != h.sb.Opt.ClientID {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	redirect := q.Get("redirect_uri")
	if !h.redirectAllowed(redirect) {
		writeOAuthErr(w, http.StatusBadRequest, "redirect_uri_mismatch", "redirect_uri must match configuration")
		return
	}
	target, _ := url.Parse(redirect)
	back := target.Query()
	if s := q.Get("state"); s != "" {
		back.Set("state", s)
	}
	if q.Get("response_type") != "code" {
		back.Set("error", "unsupported_response_type")
		back.Set("error_description", "response type not supported")
		target.RawQuery = back.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
		return
	}
	if m := q.Get("code_challenge_method"); m != "" && m != "S256" {
		back.Set("error", "invalid_request")
		back.Set("error_description", "invalid code_challenge_method")
		target.RawQuery = back.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
		return
	}
	// Real codes end in "==" and arrive URL-encoded (%3D%3D).
	code := "aPrx" + randomHex(24) + "=="
	now := h.sb.Clock.Now()
	h.sb.Tokens.Put(sandbox.Token{
		Value: code, Dialect: dialect, Kind: "code", Subject: h.integrationUser(), ClientID: h.sb.Opt.ClientID,
		Scopes: grantedScopes(q.Get("scope")), IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute),
		Extra: map[string]string{"redirect_uri": redirect, "code_challenge": q.Get("code_challenge")},
	})
	back.Set("code", code)
	target.RawQuery = back.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// grantedScopes returns the scopes granted for a requested scope string;
// none requested means the app's defaults.
func grantedScopes(req string) []string {
	f := strings.Fields(req)
	if len(f) == 0 {
		return []string{"api", "refresh_token"}
	}
	return f
}

func hasRefreshScope(scopes []string) bool {
	return contains(scopes, "refresh_token") || contains(scopes, "offline_access") || contains(scopes, "full")
}

// clientCredentials reads client_id/client_secret from the form or Basic auth.
func clientCredentials(r *http.Request) (id, secret string) {
	id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		if id == "" {
			id, _ = url.QueryUnescape(u)
		}
		if secret == "" {
			secret, _ = url.QueryUnescape(p)
		}
	}
	return id, secret
}

func (h *handler) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "invalid request body")
		return
	}
	grant := r.PostForm.Get("grant_type")
	id, secret := clientCredentials(r)
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(h.sb.Opt.ClientSecret)) == 1
	checkClient := func(secretRequired bool) bool {
		if id != h.sb.Opt.ClientID {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
			return false
		}
		if (secretRequired || secret != "") && !secretOK {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return false
		}
		return true
	}
	switch grant {
	case "":
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "grant type not supported")
	case grantCode:
		verifier := r.PostForm.Get("code_verifier")
		if !checkClient(verifier == "") {
			return
		}
		code, ok := h.sb.Tokens.Consume(r.PostForm.Get("code"))
		if !ok || code.Kind != "code" || code.Dialect != dialect {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
			return
		}
		if !h.sb.Clock.Now().Before(code.ExpiresAt) {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "expired authorization code")
			return
		}
		if code.Extra["redirect_uri"] != r.PostForm.Get("redirect_uri") {
			writeOAuthErr(w, http.StatusBadRequest, "redirect_uri_mismatch", "redirect_uri must match configuration")
			return
		}
		if ch := code.Extra["code_challenge"]; ch != "" || verifier != "" {
			sum := sha256.Sum256([]byte(verifier))
			if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
				writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid code verifier")
				return
			}
		}
		h.issue(w, r, code.Subject, code.Scopes, hasRefreshScope(code.Scopes), "")
	case grantRefresh:
		if !checkClient(true) {
			return
		}
		rt, ok, _ := h.sb.Tokens.Lookup(r.PostForm.Get("refresh_token"))
		if !ok || rt.Revoked || rt.Kind != "refresh" || rt.Dialect != dialect {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
		h.issue(w, r, rt.Subject, rt.Scopes, false, rt.Value)
	case grantJWT:
		h.jwtGrant(w, r)
	case grantClient:
		if !checkClient(true) {
			return
		}
		h.issue(w, r, h.integrationUser(), []string{"api"}, false, "")
	case grantPassword:
		if !checkClient(true) {
			return
		}
		if !strings.EqualFold(r.PostForm.Get("username"), h.sb.Opt.Username) || r.PostForm.Get("password") != h.sb.Opt.Password {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
		h.issue(w, r, h.integrationUser(), []string{"api"}, false, "")
	default:
		writeOAuthErr(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	}
}

// issue mints an access token (and a refresh token when asked) and writes
// the token response. parentRefresh links the access token to the refresh
// token it came from, so revoking that refresh token revokes it too.
func (h *handler) issue(w http.ResponseWriter, r *http.Request, user string, scopes []string, withRefresh bool, parentRefresh string) {
	base := baseURL(r)
	org := h.opt.OrgID
	at := h.sb.Tokens.Issue(org[:15]+"!AR", sandbox.Token{Dialect: dialect, Kind: "access", Subject: user,
		ClientID: h.sb.Opt.ClientID, Scopes: scopes}, h.sb.Opt.TokenTTL)
	idURL := base + "/id/" + org + "/" + user
	issued := strconv.FormatInt(at.IssuedAt.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(h.sb.Opt.ClientSecret))
	mac.Write([]byte(idURL + issued))
	out := newObj().set("access_token", at.Value)
	if withRefresh {
		rt := h.sb.Tokens.Issue("5Aep861", sandbox.Token{Dialect: dialect, Kind: "refresh", Subject: user,
			ClientID: h.sb.Opt.ClientID, Scopes: scopes}, 0)
		out.set("refresh_token", rt.Value)
		parentRefresh = rt.Value
	}
	if parentRefresh != "" {
		h.mu.Lock()
		h.children[parentRefresh] = append(h.children[parentRefresh], at.Value)
		h.mu.Unlock()
	}
	out.set("signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))).
		set("scope", strings.Join(scopes, " ")).
		set("instance_url", base).
		set("id", idURL).
		set("token_type", "Bearer").
		set("issued_at", issued)
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, http.StatusOK, out)
}

type jwtClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp int64           `json:"exp"`
}

// jwtGrant handles the JWT bearer flow. Expiry is checked against wall-clock
// time: assertions are signed by clients on real time, not sandbox time.
func (h *handler) jwtGrant(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	hdrJSON, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	claimJSON, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	var hdr struct {
		Alg string `json:"alg"`
	}
	var cl jwtClaims
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hdrJSON, &hdr) != nil || json.Unmarshal(claimJSON, &cl) != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	if hdr.Alg != "RS256" {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	if h.opt.JWTPublicKey != nil {
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(h.opt.JWTPublicKey, crypto.SHA256, sum[:], sig) != nil {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
			return
		}
	}
	if cl.Iss != h.sb.Opt.ClientID {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	var auds []string
	var one string
	if json.Unmarshal(cl.Aud, &one) == nil {
		auds = []string{one}
	} else {
		_ = json.Unmarshal(cl.Aud, &auds)
	}
	audOK := false
	for _, a := range auds {
		a = strings.TrimSuffix(a, "/")
		if contains(jwtAudiences, a) || a == baseURL(r) {
			audOK = true
		}
	}
	if !audOK {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "audience is invalid")
		return
	}
	now := time.Now()
	exp := time.Unix(cl.Exp, 0)
	if cl.Exp == 0 || !exp.After(now) || exp.After(now.Add(maxJWTLifetime+5*time.Second)) {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	if !strings.EqualFold(cl.Sub, h.sb.Opt.Username) {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "user hasn't approved this consumer")
		return
	}
	h.issue(w, r, h.integrationUser(), []string{"api"}, false, "")
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "invalid request body")
		return
	}
	v := r.Form.Get("token")
	tok, ok, _ := h.sb.Tokens.Lookup(v)
	if !ok || tok.Dialect != dialect {
		writeOAuthErr(w, http.StatusBadRequest, "unsupported_token_type", "this token type is not supported")
		return
	}
	h.sb.Tokens.Revoke(v)
	if tok.Kind == "refresh" {
		h.mu.Lock()
		kids := h.children[v]
		h.mu.Unlock()
		for _, k := range kids {
			h.sb.Tokens.Revoke(k)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// identity serves GET /id/{orgId}/{userId}.
func (h *handler) identity(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/id/"), "/"), "/")
	user, ok := h.authenticate(r)
	if !ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Bad_OAuth_Token"))
		return
	}
	if len(parts) != 2 || parts[0] != h.opt.OrgID || parts[1] != user {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Bad_Id"))
		return
	}
	h.writeIdentity(w, r, user, true)
}

func (h *handler) userinfo(w http.ResponseWriter, r *http.Request) {
	user, ok := h.authenticate(r)
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Bad_OAuth_Token"))
		return
	}
	h.writeIdentity(w, r, user, false)
}

func (h *handler) writeIdentity(w http.ResponseWriter, r *http.Request, user string, idDoc bool) {
	base := baseURL(r)
	row, _ := h.sb.SF.Get(sandbox.SFUser, user)
	str := func(k, def string) string {
		if v, ok := row.Fields[k].(string); ok && v != "" {
			return v
		}
		return def
	}
	username := str("Username", h.sb.Opt.Username)
	ver := "{version}"
	urls := newObj()
	for _, k := range []string{"enterprise", "metadata", "partner", "rest", "sobjects", "search", "query", "recent", "tooling_soap", "tooling_rest", "profile"} {
		var u string
		switch k {
		case "enterprise":
			u = base + "/services/Soap/c/" + ver + "/" + h.opt.OrgID[:15]
		case "metadata":
			u = base + "/services/Soap/m/" + ver + "/" + h.opt.OrgID[:15]
		case "partner":
			u = base + "/services/Soap/u/" + ver + "/" + h.opt.OrgID[:15]
		case "rest":
			u = base + "/services/data/v" + ver + "/"
		case "sobjects", "search", "query", "recent":
			u = base + "/services/data/v" + ver + "/" + k + "/"
		case "tooling_soap":
			u = base + "/services/Soap/T/" + ver + "/" + h.opt.OrgID[:15]
		case "tooling_rest":
			u = base + "/services/data/v" + ver + "/tooling/"
		case "profile":
			u = base + "/" + user
		}
		urls.set(k, u)
	}
	out := newObj()
	if idDoc {
		out.set("id", base+"/id/"+h.opt.OrgID+"/"+user).
			set("asserted_user", true).
			set("user_id", user).
			set("organization_id", h.opt.OrgID).
			set("username", username).
			set("nick_name", strings.SplitN(username, "@", 2)[0]).
			set("display_name", str("Name", "API Integration"))
	} else {
		out.set("sub", base+"/id/"+h.opt.OrgID+"/"+user).
			set("user_id", user).
			set("organization_id", h.opt.OrgID).
			set("preferred_username", username).
			set("name", str("Name", "API Integration"))
	}
	out.set("email", str("Email", username)).
		set("email_verified", true).
		set("first_name", str("FirstName", "API")).
		set("last_name", str("LastName", "Integration")).
		set("timezone", str("TimeZoneSidKey", "America/Los_Angeles")).
		set("active", true).
		set("user_type", "STANDARD").
		set("language", str("LanguageLocaleKey", "en_US")).
		set("locale", "en_US").
		set("utcOffset", 0).
		set("last_modified_date", formatDateTime(row.ModifiedAt)).
		set("is_app_installed", true).
		set("urls", urls)
	writeJSON(w, http.StatusOK, out)
}
