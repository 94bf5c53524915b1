package chaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/hubspot"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

// EnvMode selects the suite size: "full" runs at least FullTrials trials of
// every kind (make chaos); anything else runs the quick subset.
const EnvMode = "CRMPULSE_CHAOS"

// EnvTrials overrides the number of trials per kind.
const EnvTrials = "CRMPULSE_CHAOS_TRIALS"

// Trial counts per kind.
const (
	QuickTrials = 3
	FullTrials  = 20
)

// Full reports whether the full suite runs (CRMPULSE_CHAOS=full).
func Full() bool { return os.Getenv(EnvMode) == "full" }

// Trials is the number of trials per kind: EnvTrials when set, else
// FullTrials in full mode and QuickTrials otherwise.
func Trials() int {
	if n, err := strconv.Atoi(os.Getenv(EnvTrials)); err == nil && n > 0 {
		return n
	}
	if Full() {
		return FullTrials
	}
	return QuickTrials
}

// Epoch is the sandbox clock start of every rig.
var Epoch = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

// Conns are the two sandbox connections every rig configures.
var Conns = []string{app.SandboxSalesforce, app.SandboxHubSpot}

// RigOptions configure a Rig. Zero values mean the defaults shown.
type RigOptions struct {
	// Sandbox options (default 20 accounts, 10 with half the activities in
	// the quick suite; seed 7; clock at Epoch).
	Sandbox sandbox.Options
	// PageSize of the connectors (default 200).
	PageSize int
	// AuthCode makes both connections use authorization_code (the sandbox
	// approves the login by itself); default client_credentials (Salesforce)
	// and a private-app token (HubSpot).
	AuthCode bool
	// TokenKey, when set, is the base64 AES key tokens are encrypted with in
	// Redis (security.token_key_env).
	TokenKey string
	// Logger of in-process runs (default: discarded).
	Logger *slog.Logger
	// HTTP adjusts the in-process connections' HTTP chain (retries, waits).
	HTTP httpx.Options
	// LLMURL, when set, enables LLM analyses against this OpenAI-compatible
	// base URL (no retries, no API key).
	LLMURL string
}

// Rig is a sandbox served over HTTP, a Redis database of its own and the
// configuration pointing at both, usable in-process (Open, Sync) and by a
// subprocess (ConfigFile).
type Rig struct {
	T        testing.TB
	SB       *sandbox.Sandbox
	Srv      *httptest.Server
	Rdb      *redis.Client
	RedisURL string
	Opt      RigOptions

	cfgFile string
}

// TokenKeyEnv is the environment variable rigs name in security.token_key_env.
const TokenKeyEnv = "CRMPULSE_CHAOS_TOKEN_KEY"

// NewRig starts a sandbox and takes a fresh Redis database.
func NewRig(t testing.TB, opt RigOptions) *Rig {
	t.Helper()
	so := opt.Sandbox
	if so.Accounts == 0 && !so.Empty {
		so.Accounts = 20
		if !Full() {
			so.Accounts, so.ActivityScale = 10, 0.5
		}
	}
	if so.Seed == 0 {
		so.Seed = 7
	}
	if so.Now.IsZero() {
		so.Now = Epoch
	}
	if opt.PageSize == 0 {
		opt.PageSize = 200
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opt.Sandbox = so
	if opt.TokenKey != "" {
		t.Setenv(TokenKeyEnv, opt.TokenKey) // secrets.CipherFromEnv reads the process environment
	}
	// The consistency trials run a reference sync beside the process under
	// test; HubSpot's 5 searches/s limit shared by both would only add
	// flakiness. Rate limits are exercised by the 429-storm trials through
	// explicit fault injection.
	sb, srv := sandboxsrv.StartTestWithOptions(t, so, sandboxsrv.Options{HubSpot: hubspot.Options{SearchPerSecond: -1}})
	r := &Rig{T: t, SB: sb, Srv: srv, Opt: opt}
	r.NewDatabase()
	return r
}

// NewDatabase switches the rig to a fresh, empty Redis database (a new
// ConfigFile follows).
func (r *Rig) NewDatabase() {
	r.T.Helper()
	r.Rdb = redistest.Client(r.T)
	o := r.Rdb.Options()
	r.RedisURL = fmt.Sprintf("redis://%s/%d", o.Addr, o.DB)
	r.cfgFile = ""
}

// Config is the configuration of the rig: both sandbox connections at the
// rig's server, its Redis database, write-back to both with the default
// mappings.
func (r *Rig) Config() *config.Config {
	cfg := app.DefaultConfig()
	cfg.Redis.URL = r.RedisURL
	for i := range cfg.Connections {
		c := &cfg.Connections[i]
		c.BaseURL = r.Srv.URL
		if r.Opt.AuthCode {
			c.Auth.Mode = config.AuthAuthorizationCode
		}
	}
	cfg.Sync.PageSize = r.Opt.PageSize
	// Reconcile ids on every run: the sandbox purges records without a trace.
	cfg.Sync.ReconcileEvery = time.Millisecond
	cfg.Writeback.Connections = []config.WritebackConnection{{Connection: app.SandboxSalesforce}, {Connection: app.SandboxHubSpot}}
	if r.Opt.TokenKey != "" {
		cfg.Security.TokenKeyEnv = TokenKeyEnv
	}
	return cfg
}

// ConfigFile writes the rig's configuration as YAML for a subprocess and
// returns its path.
func (r *Rig) ConfigFile() string {
	r.T.Helper()
	if r.cfgFile != "" {
		return r.cfgFile
	}
	mode := func(kind string) string {
		switch {
		case r.Opt.AuthCode:
			return "authorization_code"
		case kind == config.KindSalesforce:
			return "client_credentials"
		}
		return "private_app"
	}
	var b strings.Builder
	b.WriteString("connections:\n")
	for _, c := range []struct{ name, kind string }{{app.SandboxSalesforce, config.KindSalesforce}, {app.SandboxHubSpot, config.KindHubSpot}} {
		fmt.Fprintf(&b, `  - name: %s
    kind: %s
    sandbox: true
    base_url: %s
    auth:
      mode: %s
    daily_budget_fraction: 1
    rate_limit:
      requests_per_second: 1000
      burst: 200
`, c.name, c.kind, r.Srv.URL, mode(c.kind))
	}
	fmt.Fprintf(&b, "redis:\n  url: %s\n", r.RedisURL)
	fmt.Fprintf(&b, "sync:\n  page_size: %d\n  reconcile_every: 1ms\n", r.Opt.PageSize)
	b.WriteString("writeback:\n  connections:\n    - connection: " + app.SandboxSalesforce + "\n    - connection: " + app.SandboxHubSpot + "\n")
	if r.Opt.TokenKey != "" {
		b.WriteString("security:\n  token_key_env: " + TokenKeyEnv + "\n")
	}
	if r.Opt.LLMURL != "" {
		fmt.Fprintf(&b, "llm:\n  enabled: true\n  base_url: %s\n  api_key_env: CRMPULSE_CHAOS_NO_KEY\n  max_retries: 0\n  timeout: 10s\n  language: en\n", r.Opt.LLMURL)
	}
	path := filepath.Join(r.T.TempDir(), "crmpulse.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		r.T.Fatal(err)
	}
	if _, err := config.Load(path); err != nil {
		r.T.Fatalf("rig configuration does not load: %v", err)
	}
	r.cfgFile = path
	return path
}

// Env is the environment of subprocesses and in-process opens.
func (r *Rig) Env() []string {
	env := os.Environ()
	if r.Opt.TokenKey != "" {
		env = append(env, TokenKeyEnv+"="+r.Opt.TokenKey)
	}
	return env
}

func (r *Rig) lookupEnv(name string) (string, bool) {
	if name == TokenKeyEnv && r.Opt.TokenKey != "" {
		return r.Opt.TokenKey, true
	}
	return os.LookupEnv(name)
}

// Open wires an App on the rig's database (closed when the test ends).
func (r *Rig) Open(ctx context.Context, log *slog.Logger) (*app.App, error) {
	return r.OpenOn(ctx, r.Rdb, log)
}

// OpenOn wires an App on rdb with the rig's configuration.
func (r *Rig) OpenOn(ctx context.Context, rdb *redis.Client, log *slog.Logger) (*app.App, error) {
	if log == nil {
		log = r.Opt.Logger
	}
	st, err := store.New(rdb, nil)
	if err != nil {
		return nil, err
	}
	hopt := r.Opt.HTTP
	if hopt.Wait == nil {
		hopt.Wait = func(int, time.Duration) time.Duration { return 0 }
	}
	a, err := app.Open(ctx, r.Config(), &app.Options{Store: st, HTTP: hopt, Logger: log, LookupEnv: r.lookupEnv})
	if err != nil {
		return nil, err
	}
	r.T.Cleanup(func() { _ = a.Close() })
	return a, nil
}

// Sync runs one in-process sync over a fresh App on the rig's database.
func (r *Rig) Sync(ctx context.Context, opt *crmsync.Options) (*crmsync.Summary, error) {
	a, err := r.Open(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return SyncApp(ctx, a, opt)
}

// SyncApp runs one sync of every connection of a.
func SyncApp(ctx context.Context, a *app.App, opt *crmsync.Options) (*crmsync.Summary, error) {
	o := crmsync.Options{Logger: a.Logger}
	if opt != nil {
		o = *opt
		if o.Logger == nil {
			o.Logger = a.Logger
		}
	}
	e, err := crmsync.FromApp(a, &o)
	if err != nil {
		return nil, err
	}
	return e.Run(ctx)
}

// Advance moves the sandbox clock past the connectors' lag so that the next
// run sees every change made so far.
func (r *Rig) Advance() { r.SB.Clock.Advance(time.Minute) }

// BreakLocks removes the sync run locks of every connection. Only for a
// holder known to be dead (a killed process, a returned run whose release
// could not reach Redis): a live run keeps refreshing its lock, and the lock
// otherwise expires 30 s after its holder stops.
func (r *Rig) BreakLocks(ctx context.Context) {
	st, _ := store.New(r.Rdb, nil)
	for _, c := range Conns {
		_ = r.Rdb.Del(ctx, st.Key("lock", "sync", c)).Err()
	}
}

// Tenant returns the sandbox store behind a connection.
func (r *Rig) Tenant(conn string) *sandbox.Store {
	if conn == app.SandboxHubSpot {
		return r.SB.HS
	}
	return r.SB.SF
}
