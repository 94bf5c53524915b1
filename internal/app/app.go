// Package app wires crmpulse's parts together from a configuration: the Redis
// store, the vector index of the flavour the server supports, the embedder
// (cached in Redis) and one connectors.Conn per configured CRM connection.
//
// Commands and the daemon call Open once and Close at the end:
//
//	a, err := app.Open(ctx, cfg, &app.Options{Logger: log})
//	if err != nil { ... }
//	defer a.Close()
//	conn, _ := a.Conn("sandbox-sf")
//
// # Sandbox connections
//
// A connection with sandbox: true talks to the offline sandbox. When its
// base_url is empty, Open starts the sandbox in-process on a loopback port
// (one sandbox shared by every such connection: its Salesforce org and its
// HubSpot portal) and authenticates with the sandbox's built-in credentials,
// so DefaultConfig works with nothing but a local Redis (scripts/redis.sh
// start). With a base_url (crmpulse sandbox serve elsewhere) the built-in
// credentials are used for whatever secret is not configured.
//
// # Authentication
//
//	salesforce client_credentials  client id + secret from client_secret_env
//	salesforce jwt_bearer          client id, username, private_key_file
//	salesforce/hubspot authorization_code
//	                               the refresh token saved by crmpulse auth
//	                               login, encrypted in Redis (internal/secrets);
//	                               a refreshed token is saved before it is used
//	hubspot private_app            the token in token_env
//
// Tokens are minted lazily, on a connection's first request: Open itself
// sends nothing to a CRM.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	sbhubspot "github.com/crmpulse/crmpulse/internal/sandbox/hubspot"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/flavour"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// Names of the connections DefaultConfig adds.
const (
	SandboxSalesforce = "sandbox-sf"
	SandboxHubSpot    = "sandbox-hs"
)

// IndexName is the base name of the CRM vector index (under the namespace):
// the vector-set flavour lives at <ns>:idx:crm:vs, the query-engine flavour
// at <ns>:idx:crm:qe, and the active flavour is recorded at
// <ns>:idx:crm:flavour.
const IndexName = "idx:crm"

// ErrUnknownConnection: no configured connection has the name asked for.
var ErrUnknownConnection = errors.New("unknown connection")

// DefaultConfig is config.Default plus two sandbox connections, one per CRM
// dialect, served by an in-process sandbox: `crmpulse sync` with no
// configuration file syncs synthetic data into the local Redis.
func DefaultConfig() *config.Config {
	cfg := config.Default()
	if u := os.Getenv("REDIS_URL"); u != "" {
		cfg.Redis.URL = u
	}
	sf := config.DefaultConnection(SandboxSalesforce, config.KindSalesforce)
	sf.Sandbox, sf.LoginURL, sf.Auth.Mode = true, "", config.AuthClientCredentials
	hs := config.DefaultConnection(SandboxHubSpot, config.KindHubSpot)
	hs.Sandbox, hs.BaseURL, hs.Auth.Mode = true, "", config.AuthPrivateApp
	// The sandbox serves everything locally: no daily allowance to save, and
	// no reason to throttle below its own limits.
	for _, c := range []*config.Connection{&sf, &hs} {
		c.DailyBudgetFraction = 1
		c.RateLimit = config.RateLimit{RequestsPerSecond: 1000, Burst: 200}
	}
	cfg.Connections = []config.Connection{sf, hs}
	// Each CRM caps the page size at its own maximum (HubSpot 200), so ask
	// for Salesforce's: fewer calls.
	cfg.Sync.PageSize = 2000
	return cfg
}

// LoadConfig reads and validates the file at path, or returns DefaultConfig
// when path is empty.
func LoadConfig(path string) (*config.Config, error) {
	if path == "" {
		cfg := DefaultConfig()
		return cfg, cfg.Validate()
	}
	return config.Load(path)
}

// Options adjust Open; nil means the defaults.
type Options struct {
	// Logger receives operational logs (default: slog.Default()).
	Logger *slog.Logger
	// LookupEnv resolves secrets named by *_env options (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Connections restricts which connections are opened (default all).
	// Unknown names fail Open with ErrUnknownConnection.
	Connections []string
	// NoConnections opens only Redis, the index and the embedder.
	NoConnections bool
	// NoIndex skips the vector index and the embedder (commands that only
	// read records).
	NoIndex bool
	// Sandbox configures the in-process sandbox started for sandbox
	// connections without base_url (default: sandbox.Options defaults,
	// 2000 accounts, generated once per Open).
	Sandbox *sandbox.Options
	// HTTP is the base of every connection's HTTP chain options (rate limit,
	// retry policy, Wait hook in tests). Name, Counters and the limiter are
	// set per connection.
	HTTP httpx.Options
	// PageSize overrides sync.page_size for the connectors (0: config).
	PageSize int
	// Store overrides the Redis store (tests: a store on a redistest client).
	// It is not closed by App.Close.
	Store *store.Store
}

// App is a wired crmpulse: store, index, embedder and connections.
type App struct {
	Config   *config.Config
	Logger   *slog.Logger
	Store    *store.Store       // with Index attached (when opened)
	Index    store.VectorIndex  // nil with Options.NoIndex
	Embedder embed.Embedder     // cached in Redis; nil with Options.NoIndex
	Conns    []*connectors.Conn // in configuration order
	// Sandbox is the in-process sandbox and SandboxURL its address, when one
	// was started (sandbox connections without base_url).
	Sandbox    *sandbox.Sandbox
	SandboxURL string

	byName    map[string]*connectors.Conn
	cfgByName map[string]config.Connection
	closers   []func() error
}

// Open wires everything cfg describes. ctx bounds the start-up (Redis ping,
// index detection, sandbox start); the returned App outlives it.
func Open(ctx context.Context, cfg *config.Config, opts *Options) (_ *App, err error) {
	if cfg == nil {
		return nil, errors.New("app: nil configuration")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	a := &App{Config: cfg, Logger: o.Logger, byName: map[string]*connectors.Conn{}, cfgByName: map[string]config.Connection{}}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	st := o.Store
	if st == nil {
		st, err = store.Open(ctx, cfg.Redis.URL, &store.Options{Namespace: cfg.Redis.Namespace})
		if err != nil {
			return nil, fmt.Errorf("open redis: %w", err)
		}
		a.closers = append(a.closers, st.Close)
	}
	a.Store = st

	if !o.NoIndex {
		if err := a.openIndex(ctx); err != nil {
			return nil, err
		}
	}
	if !o.NoConnections {
		if err := a.openConns(ctx, o); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *App) openIndex(ctx context.Context) error {
	cfg := a.Config
	inner, err := embed.New(cfg.Embedder)
	if err != nil {
		return fmt.Errorf("embedder: %w", err)
	}
	a.Embedder = embed.Cached(inner, a.Store.Client(), a.Store.Namespace())
	idx, err := flavour.Open(ctx, a.Store.Client(), a.Store.Key(IndexName), flavour.Options{
		Flavour: cfg.Redis.Index,
		// No per-account copies: account-scoped searches go through
		// store.Store.Search, which is exact from the chunk hashes.
		VectorSet: &vectorset.Options{Quant: cfg.Redis.Quantization, NoAccountSets: true},
	})
	if err != nil {
		return fmt.Errorf("open vector index: %w", err)
	}
	if c, ok := idx.(io.Closer); ok {
		a.closers = append(a.closers, c.Close)
	}
	meta := store.IndexMeta{Embedder: a.Embedder.Name(), Dimension: a.Embedder.Dimension()}
	st := a.Store
	src := func(yield func(store.Item) error) error { return st.ScanChunks(ctx, yield) }
	res, err := flavour.Switch(ctx, a.Store.Client(), a.Store.Key(IndexName, "flavour"), idx, meta, src)
	if err != nil {
		if errors.Is(err, store.ErrIndexMismatch) {
			return fmt.Errorf("vector index %s: %w (the embedder changed; drop the index and sync again)", a.Store.Key(IndexName), err)
		}
		return fmt.Errorf("vector index: %w", err)
	}
	if res.Rebuilt && res.Items > 0 {
		a.Logger.Info("vector index re-indexed from stored chunks", "from", res.From, "to", res.To, "items", res.Items)
	}
	a.Index = idx
	a.Store = a.Store.WithIndex(idx)
	return nil
}

func (a *App) openConns(ctx context.Context, o Options) error {
	want := map[string]bool{}
	for _, n := range o.Connections {
		if a.Config.Connection(n) == nil {
			return fmt.Errorf("%w %q (configured: %v)", ErrUnknownConnection, n, a.connNames())
		}
		want[n] = true
	}
	for _, cc := range a.Config.Connections {
		if len(want) > 0 && !want[cc.Name] {
			continue
		}
		base := cc.BaseURL
		if cc.Sandbox && base == "" {
			u, err := a.startSandbox(ctx, o)
			if err != nil {
				return err
			}
			base = u
		}
		conn, err := a.newConn(ctx, cc, base, o)
		if err != nil {
			return fmt.Errorf("connection %q: %w", cc.Name, err)
		}
		a.Conns = append(a.Conns, conn)
		a.byName[cc.Name] = conn
		a.cfgByName[cc.Name] = cc
	}
	return nil
}

func (a *App) connNames() []string {
	var out []string
	for _, c := range a.Config.Connections {
		out = append(out, c.Name)
	}
	return out
}

// startSandbox starts the shared in-process sandbox once and returns its URL.
func (a *App) startSandbox(ctx context.Context, o Options) (string, error) {
	if a.SandboxURL != "" {
		return a.SandboxURL, nil
	}
	var sopt sandbox.Options
	if o.Sandbox != nil {
		sopt = *o.Sandbox
	}
	start := time.Now()
	sb, err := sandbox.New(sopt)
	if err != nil {
		return "", fmt.Errorf("start sandbox: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("start sandbox: %w", err)
	}
	// Nothing to protect locally: the HubSpot dialect's search limiter is
	// off, and the connections it serves search unthrottled (newConn).
	h := sandboxsrv.NewWithOptions(sb, sandboxsrv.Options{HubSpot: sbhubspot.Options{SearchPerSecond: -1}})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.closers = append(a.closers, func() error {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(c)
	})
	a.Sandbox = sb
	a.SandboxURL = "http://" + ln.Addr().String()
	a.Logger.Info("in-process sandbox started", "url", a.SandboxURL,
		"accounts", sb.SF.Count(sandbox.SFAccount), "elapsed", time.Since(start).Round(time.Millisecond))
	return a.SandboxURL, nil
}

// Conn returns the named connection; the error wraps ErrUnknownConnection.
func (a *App) Conn(name string) (*connectors.Conn, error) {
	if c, ok := a.byName[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w %q (opened: %v)", ErrUnknownConnection, name, a.ConnNames())
}

// ConnConfig returns the configuration of an opened connection.
func (a *App) ConnConfig(name string) (config.Connection, bool) {
	c, ok := a.cfgByName[name]
	return c, ok
}

// ConnNames lists the opened connections in configuration order.
func (a *App) ConnNames() []string {
	out := make([]string, 0, len(a.Conns))
	for _, c := range a.Conns {
		out = append(out, c.Name())
	}
	return out
}

// Close stops the in-process sandbox and closes what Open opened, in
// reverse order. It is safe to call more than once.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}
