package salesforce

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testNow is the frozen sandbox time of every test.
var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

const apiVersion = "v60.0"

type env struct {
	t   *testing.T
	sb  *sandbox.Sandbox
	srv *httptest.Server
	tok string
}

// newEnv starts an empty org (users and permission sets only) behind an
// httptest server, with a frozen clock and an access token.
func newEnv(t *testing.T, opt Options) *env {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{Empty: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sb.Clock.Freeze(testNow)
	srv := httptest.NewServer(NewWithOptions(sb, opt))
	t.Cleanup(srv.Close)
	e := &env{t: t, sb: sb, srv: srv}
	e.tok = e.passwordToken()
	return e
}

func (e *env) passwordToken() string {
	e.t.Helper()
	resp, err := http.PostForm(e.srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {e.sb.Opt.ClientID}, "client_secret": {e.sb.Opt.ClientSecret},
		"username": {e.sb.Opt.Username}, "password": {e.sb.Opt.Password},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil || out.AccessToken == "" {
		e.t.Fatalf("password grant: status %d", resp.StatusCode)
	}
	return out.AccessToken
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends an authenticated request; path is relative to /services/data/v60.0
// unless it starts with "/".
func (e *env) do(method, path string, body any, hdr ...string) response {
	e.t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = "/services/data/" + apiVersion + "/" + path
	}
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, err := json.Marshal(b)
			if err != nil {
				e.t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tok)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) query(q string, hdr ...string) response {
	e.t.Helper()
	return e.do("GET", "query?q="+url.QueryEscape(q), nil, hdr...)
}

// errorCode returns the errorCode of a REST error array, failing on any
// other shape (including the empty array).
func errorCode(t *testing.T, r response) string {
	t.Helper()
	var errs []apiError
	if err := json.Unmarshal(r.body, &errs); err != nil || len(errs) == 0 || errs[0].Message == "" {
		t.Fatalf("not a Salesforce error array: %s", r.body)
	}
	return errs[0].ErrorCode
}

// seedAccounts inserts n accounts; every block of `tie` consecutive ones
// shares a SystemModstamp.
func seedAccounts(t *testing.T, sb *sandbox.Sandbox, n, tie int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		at := testNow.Add(-48 * time.Hour).Add(time.Duration(i/tie) * time.Second)
		id, err := sb.SF.Seed(sandbox.SFAccount, map[string]any{
			"Name": fmt.Sprintf("Account %05d", i), "Industry": sandbox.SalesforceIndustries[i%len(sandbox.SalesforceIndustries)],
			"NumberOfEmployees": float64(10 + i%500), "AnnualRevenue": float64(i) * 1000.5,
			"OwnerId": sb.IntegrationUserID, "CreatedById": sb.IntegrationUserID, "LastModifiedById": sb.IntegrationUserID,
		}, "user", at, at)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

var (
	volatileKeys = regexp.MustCompile(`"(access_token|refresh_token|signature|issued_at)":"[^"]*"`)
	volatileIDs  = regexp.MustCompile(`\b(01g|00N|00B|00O)8d[0-9A-Za-z]{13}\b`)
)

// golden compares a response body (normalised: tokens, the server URL and
// minted ids replaced) with testdata/<name>.json.
func (e *env) golden(name string, body []byte) {
	e.t.Helper()
	s := strings.ReplaceAll(string(body), e.srv.URL, "http://sandbox.test")
	s = volatileKeys.ReplaceAllString(s, `"$1":"<$1>"`)
	s = volatileIDs.ReplaceAllString(s, "<$1-id>")
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		e.t.Fatalf("indent %s: %v", s, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		e.t.Errorf("%s mismatch:\n--- got\n%s\n--- want\n%s", path, buf.Bytes(), want)
	}
}
