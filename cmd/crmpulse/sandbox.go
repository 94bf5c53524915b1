package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
)

const sandboxUsage = `sandbox serve|stats [flags]

  serve   run the offline CRM sandbox (Salesforce + HubSpot over HTTP) until interrupted
  stats   print a distribution summary of the generated customer base

To advance the sandbox clock and mutate both tenants while it serves:
  curl -X POST 'http://ADDR/_sandbox/step?days=7'
Other admin endpoints: GET /_sandbox/stats, GET /_sandbox/counters,
POST /_sandbox/counters/reset, POST /_sandbox/faults (JSON),
POST /_sandbox/revoke?dialect=salesforce|hubspot, GET /_sandbox/truth (tests only).`

func init() {
	register(&command{name: "sandbox", summary: "run the offline CRM sandbox (serve, stats)", run: runSandbox})
}

func runSandbox(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n", sandboxUsage)
		return usagef("missing subcommand (serve or stats)")
	}
	switch args[0] {
	case "serve":
		return sandboxServe(ctx, e, args[1:])
	case "stats":
		return sandboxStats(e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n", sandboxUsage)
		return nil
	}
	return usagef("unknown subcommand %q (serve or stats)", args[0])
}

// genFlags are the flags shared by serve and stats.
type genFlags struct {
	accounts int
	seed     int64
	scale    float64
	now      string
}

func (g *genFlags) register(fs interface {
	IntVar(*int, string, int, string)
	Int64Var(*int64, string, int64, string)
	Float64Var(*float64, string, float64, string)
	StringVar(*string, string, string, string)
}) {
	fs.IntVar(&g.accounts, "accounts", 2000, "number of synthetic accounts")
	fs.Int64Var(&g.seed, "seed", 1, "generator seed (same seed, same data)")
	fs.Float64Var(&g.scale, "activity-scale", 1, "activity volume multiplier (1: about 30 per account)")
	fs.StringVar(&g.now, "now", "", "sandbox clock start, RFC 3339 (default: the current time)")
}

func (g *genFlags) options() (sandbox.Options, error) {
	if g.accounts < 1 {
		return sandbox.Options{}, usagef("--accounts must be at least 1")
	}
	if g.scale <= 0 {
		return sandbox.Options{}, usagef("--activity-scale must be positive")
	}
	o := sandbox.Options{Accounts: g.accounts, Seed: g.seed, ActivityScale: g.scale}
	if g.now != "" {
		t, err := time.Parse(time.RFC3339, g.now)
		if err != nil {
			return o, usagef("--now: %v", err)
		}
		o.Now = t
	}
	return o, nil
}

func sandboxServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sandbox serve", `sandbox serve [--addr HOST:PORT] [--accounts N] [--seed S] [--import DIR] [--docs DIR] [--truth FILE] [credential flags]`)
	var g genFlags
	g.register(fs)
	d := sandbox.Options{}.Defaults()
	addr := fs.String("addr", "127.0.0.1:8787", "listen address")
	clientID := fs.String("client-id", d.ClientID, "OAuth client id accepted by both dialects")
	secret := fs.String("client-secret", d.ClientSecret, "OAuth client secret")
	hsToken := fs.String("hubspot-token", d.HubSpotToken, "HubSpot private-app token accepted")
	username := fs.String("username", d.Username, "Salesforce integration username (password and JWT grants)")
	password := fs.String("password", d.Password, "Salesforce password for the password grant")
	importDir := fs.String("import", "", "load the customer base from CSV/JSON files in DIR instead of generating it")
	docsDir := fs.String("docs", "", "also write the knowledge documents (trend reports, competitor profiles, success stories) to DIR")
	truthFile := fs.String("truth", "", "also write the recorded truth as JSON to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.ClientID, opts.ClientSecret, opts.HubSpotToken = *clientID, *secret, *hsToken
	opts.Username, opts.Password, opts.ImportDir, opts.Log = *username, *password, *importDir, e.log
	start := time.Now()
	sb, err := sandbox.New(opts)
	if err != nil {
		return err
	}
	if sb.Import != nil && len(sb.Import.Problems) > 0 {
		e.log.Warn("import skipped bad rows", "rows", len(sb.Import.Problems))
	}
	e.log.Info("sandbox ready", "accounts", sb.SF.Count(sandbox.SFAccount), "elapsed", time.Since(start).Round(time.Millisecond))
	if *docsDir != "" {
		files, err := sandbox.WriteDocuments(*docsDir)
		if err != nil {
			return err
		}
		e.log.Info("knowledge documents written", "dir", *docsDir, "files", len(files))
	}
	if *truthFile != "" {
		if err := writeTruthFile(sb, *truthFile); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "sandbox listening on %s\n", base)
	fmt.Fprintf(e.stdout, "  salesforce: login and instance URL %s (client id %q, secret %q, user %q, password %q)\n",
		base, opts.ClientID, opts.ClientSecret, opts.Username, opts.Password)
	fmt.Fprintf(e.stdout, "  hubspot:    API base %s (private-app token %q; OAuth client id %q, secret %q)\n",
		base, opts.HubSpotToken, opts.ClientID, opts.ClientSecret)
	fmt.Fprintf(e.stdout, "  admin:      %s/_sandbox/stats, POST %s/_sandbox/step?days=N\n", base, base)
	srv := &http.Server{Handler: sandboxsrv.New(sb), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeTruthFile(sb *sandbox.Sandbox, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sb.WriteTruth(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sandboxStats(e *env, args []string) error {
	fs := newFlagSet(e, "sandbox stats", `sandbox stats [--accounts N] [--seed S] [--activity-scale X]`)
	var g genFlags
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	start := time.Now()
	sb, err := sandbox.New(opts)
	if err != nil {
		return err
	}
	st := sb.Stats()
	st.Elapsed = time.Since(start)
	return st.Write(e.stdout)
}
