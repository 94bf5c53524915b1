package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/chaos"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/secrets"
	"github.com/crmpulse/crmpulse/internal/server"
	"github.com/crmpulse/crmpulse/writeback"
)

// tokenRecorder is an HTTP transport that notes every OAuth token crossing
// it: bearer tokens sent and tokens in token endpoint responses.
type tokenRecorder struct {
	mu     gosync.Mutex
	tokens map[string]bool
}

func (r *tokenRecorder) note(s string) {
	if len(s) < 8 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokens == nil {
		r.tokens = map[string]bool{}
	}
	r.tokens[s] = true
}

func (r *tokenRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.tokens))
	for t := range r.tokens {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if v, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.note(v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "token") {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	var tok struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &tok) == nil {
		r.note(tok.Access)
		r.note(tok.Refresh)
	}
	return resp, nil
}

// hex48 matches the random part of every token the sandbox issues.
var hex48 = regexp.MustCompile(`[0-9a-f]{48}`)

// sandboxTokens returns the sandbox-issued tokens (access, refresh, codes)
// found in text, whatever their prefix.
func sandboxTokens(sb *sandbox.Sandbox, text string) []string {
	prefixes := []string{"", "na1-", "CN", "5Aep861"}
	if len(sb.OrgID) >= 15 {
		prefixes = append(prefixes, sb.OrgID[:15]+"!AR")
	}
	var found []string
	for _, h := range hex48.FindAllString(text, -1) {
		for _, p := range prefixes {
			if _, ok, _ := sb.Tokens.Lookup(p + h); ok {
				found = append(found, p+h)
			}
		}
	}
	return found
}

// dumpRedis returns every key and value of rdb's database as text.
func dumpRedis(t *testing.T, rdb *redis.Client) (string, int) {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	n := 0
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		n++
		b.WriteString(key + "\n")
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, key).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, key).Result()
		case "set":
			v, err = rdb.SMembers(ctx, key).Result()
		case "list":
			v, err = rdb.LRange(ctx, key, 0, -1).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, key, "-", "+").Result()
		case "vectorset":
			// Elements are chunk ids and their attributes (slugs); both
			// are kept in the chunk hashes dumped above.
			v, err = rdb.Do(ctx, "VINFO", key).Result()
		default:
			v = "(type " + typ + ")"
		}
		if err != nil {
			t.Fatalf("read %s (%s): %v", key, typ, err)
		}
		fmt.Fprintf(&b, "%v\n", v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String(), n
}

// syncAndWriteback runs a sync and a write-back of a few queued values in
// process on rig, logging to log.
func syncAndWriteback(t *testing.T, rig *chaos.Rig, log *slog.Logger) {
	t.Helper()
	ctx := context.Background()
	a, err := rig.Open(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chaos.SyncApp(ctx, a, nil); err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, name := range chaos.Conns {
		conn, err := a.Conn(name)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := writeback.Mappings(a.Config, name)
		if _, err := writeback.ProvisionFields(ctx, conn, ms, false); err != nil {
			t.Fatal(err)
		}
		target, err := writeback.LoadTarget(ctx, conn, ms)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := conn.ListIDs(ctx, connectors.Accounts)
		if err != nil || len(ids) == 0 {
			t.Fatalf("list accounts: %d, %v", len(ids), err)
		}
		var field string
		for _, m := range ms {
			if m.Output == "next_action" {
				field = m.Field
			}
		}
		changes := []writeback.Change{{Object: "account", ID: ids[0], At: time.Now(), Fields: map[string]string{field: "Call the champion"}}}
		if err := writeback.Enqueue(ctx, a.Store, name, changes); err != nil {
			t.Fatal(err)
		}
		sum, err := writeback.NewWriter(a.Store, conn, target, &writeback.Options{Logger: log}).RunOnce(ctx)
		if err != nil || sum.Written != 1 {
			t.Fatalf("write-back %s: %+v, %v", name, sum, err)
		}
	}
}

// TestSecurityTokensEncryptedAtRest logs in to both CRMs with the
// authorization-code flow (tokens saved in Redis under an encryption key),
// syncs and writes back, then reads every key and value of the database:
// no access or refresh token appears in it.
func TestSecurityTokensEncryptedAtRest(t *testing.T) {
	rec := &tokenRecorder{}
	rig := chaos.NewRig(t, chaos.RigOptions{AuthCode: true, TokenKey: secrets.GenerateKey(),
		HTTP: httpx.Options{Base: rec}})
	syncAndWriteback(t, rig, nil)
	dump, keys := dumpRedis(t, rig.Rdb)
	tokens := rec.list()
	if len(tokens) < 4 {
		t.Fatalf("recorded only %d tokens; the test would prove nothing", len(tokens))
	}
	for _, tok := range tokens {
		if strings.Contains(dump, tok) {
			t.Errorf("token %s… stored in Redis in clear", tok[:8])
		}
	}
	if found := sandboxTokens(rig.SB, dump); len(found) > 0 {
		t.Errorf("%d sandbox-issued tokens stored in Redis in clear", len(found))
	}
	if !strings.Contains(dump, ":token") && !strings.Contains(dump, "secret") {
		t.Logf("note: no key named like a token store found among %d keys", keys)
	}
	t.Logf("%d keys scanned for %d tokens seen on the wire: none in clear", keys, len(tokens))
}

// TestSecurityTokensNeverLogged captures the logs of a full sync and
// write-back at debug level, in process and as crmpulse subprocesses: no
// token, client secret or private-app token appears in them.
func TestSecurityTokensNeverLogged(t *testing.T) {
	rec := &tokenRecorder{}
	var logs lockedBuf
	debug := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rig := chaos.NewRig(t, chaos.RigOptions{AuthCode: true, HTTP: httpx.Options{Base: rec}})
	syncAndWriteback(t, rig, debug)
	if logs.Len() == 0 {
		t.Fatal("no debug logs captured")
	}
	for _, tok := range rec.list() {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("token %s… logged", tok[:8])
		}
	}
	secretsSeen := []string{rig.SB.Opt.ClientSecret, rig.SB.Opt.HubSpotToken, rig.SB.Opt.Password}
	check := func(what, text string) {
		t.Helper()
		if found := sandboxTokens(rig.SB, text); len(found) > 0 {
			t.Errorf("%s: %d sandbox-issued tokens in the output", what, len(found))
		}
		for _, s := range secretsSeen {
			if strings.Contains(text, s) {
				t.Errorf("%s: secret %q in the output", what, s)
			}
		}
	}
	check("in-process debug logs", logs.String())

	// The binary at debug and default levels, with client credentials and a
	// private-app token (the secrets it must not print).
	sub := chaos.NewRig(t, chaos.RigOptions{})
	levels := []string{"debug"}
	if chaos.Full() {
		levels = append(levels, "info")
	}
	for _, level := range levels {
		for _, args := range [][]string{{"sync"}, {"fields", "provision"}, {"writeback"}} {
			p := sub.StartCrmpulse(append([]string{"--log-level", level}, args...)...)
			err := p.Wait(3 * time.Minute)
			what := fmt.Sprintf("crmpulse --log-level %s %s", level, strings.Join(args, " "))
			if err != nil && args[0] == "sync" {
				t.Fatalf("%s: %v\n%s", what, err, p.Output())
			}
			check(what, p.Output())
		}
	}
	t.Logf("%d bytes of in-process debug logs and the subprocess outputs checked for %d tokens", logs.Len(), len(rec.list()))
}

type lockedBuf struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
func (l *lockedBuf) Len() int       { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Len() }

// TestSecurityAdminAPIRequiresToken starts the daemon's HTTP server with an
// admin token: the admin page and API answer 401 without it or with a wrong
// one (and never log the token offered), and work with it.
func TestSecurityAdminAPIRequiresToken(t *testing.T) {
	const token = "chaos-admin-token-3f9c2e7a"
	var logs lockedBuf
	runs := make(chan string, 10)
	srv := server.New(server.Options{
		Runner: server.RunnerFunc(func(ctx context.Context, conn string) (server.CycleSummary, error) {
			runs <- conn
			return server.CycleSummary{}, nil
		}),
		Connections: []string{"sandbox-sf"}, Interval: time.Hour, Addr: "127.0.0.1:0", AdminToken: token,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ctx := context.Background()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	<-runs // the first scheduled cycle
	base := "http://" + srv.Addr()
	do := func(method, path, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	endpoints := []struct{ method, path string }{
		{"GET", "/admin"}, {"GET", "/api/status"}, {"POST", "/api/run?connection=sandbox-sf"},
	}
	wrong := []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + token[:len(token)-1], "Bearer " + token + "x",
		"bearer" + token, "Basic " + token, token, "Bearer " + strings.ToUpper(token)}
	for _, ep := range endpoints {
		for _, auth := range wrong {
			if code := do(ep.method, ep.path, auth); code != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d, want 401", ep.method, ep.path, auth, code)
			}
		}
	}
	select {
	case c := <-runs:
		t.Fatalf("an unauthorised request started a cycle of %s", c)
	case <-time.After(100 * time.Millisecond):
	}
	if code := do("GET", "/api/status", "Bearer "+token); code != http.StatusOK {
		t.Errorf("status with the token: %d", code)
	}
	if code := do("POST", "/api/run?connection=sandbox-sf", "Bearer "+token); code != http.StatusAccepted {
		t.Errorf("run with the token: %d", code)
	}
	if strings.Contains(logs.String(), token[:12]) {
		t.Errorf("the admin token (or a near miss of it) was logged")
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := do("GET", p, ""); code == http.StatusUnauthorized {
			t.Errorf("%s needs no token, got 401", p)
		}
	}
}

// TestSecurityHostileFilterValues builds CRM segments whose filter value is
// hostile (quotes, backslashes, newlines, SOQL and filter injection,
// unicode) through the real connectors against the sandbox: each segment
// holds exactly the accounts whose city equals the value literally, never
// the decoys a broadened filter would also match.
func TestSecurityHostileFilterValues(t *testing.T) {
	ctx := context.Background()
	rig := chaos.NewRig(t, chaos.RigOptions{Sandbox: sandbox.Options{Empty: true}})
	hostile := []string{
		`O'Brien & Sons`, `back\slash`, `x' OR Id != '`, `x\' OR Name != \'`, "line1\nline2", `"double"`,
		`日本語 'テスト' 株式会社`, `%_wild*`, `') OR (Name != '`, `a' AND Name LIKE '%`, "tab\there", `\`, `'`,
	}
	decoys := []string{"x", "O", "line1", "日本語", "a", "", "Other Corp"}
	a, err := rig.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, conn := range chaos.Conns {
		// The city field carries the hostile values (a segment on Name
		// would select Name twice among the list view's columns).
		table, nameField := sandbox.SFAccount, "BillingCity"
		if conn == app.SandboxHubSpot {
			table, nameField = sandbox.HSCompanies, "city"
		}
		want := map[string][]string{}
		for _, name := range append(append([]string{}, hostile...), decoys...) {
			for range 2 {
				row, err := rig.Tenant(conn).Insert(table, map[string]any{nameField: name}, sandbox.ActorUser)
				if err != nil {
					t.Fatal(err)
				}
				want[name] = append(want[name], row.ID)
			}
		}
		rig.Advance()
		c, err := a.Conn(conn)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range hostile {
			seg, err := c.EnsureSegment(ctx, connectors.SegmentSpec{Object: connectors.Accounts,
				Name: fmt.Sprintf("Chaos hostile %d", i), Field: nameField, Value: v})
			if err != nil {
				if errors := err.Error(); strings.Contains(errors, "unsafe") || strings.Contains(errors, "control character") {
					t.Logf("%s: value %q refused: %v", conn, v, err)
					continue
				}
				t.Fatalf("%s: segment for %q: %v", conn, v, err)
			}
			got, err := c.SegmentMembers(ctx, seg)
			if err != nil {
				t.Fatalf("%s: members of %q: %v", conn, v, err)
			}
			slices.Sort(got)
			exp := slices.Sorted(slices.Values(want[v]))
			if !slices.Equal(got, exp) {
				t.Errorf("%s: segment for %q holds %v, want exactly %v", conn, v, got, exp)
			}
		}
	}
}
