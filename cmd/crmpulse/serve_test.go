package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
)

func serveConfig(t *testing.T, extra string) string {
	t.Helper()
	_, srv := sandboxsrv.StartTest(t, sandbox.Options{Accounts: 60, Seed: 3,
		Now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC), ActivityScale: 0.2})
	return sandboxConfig(t, t.TempDir(), srv.URL, extra)
}

// sandboxConfig writes dir/config.yaml: a private Redis and one Salesforce
// connection to the sandbox at url, then extra, and returns its path.
func sandboxConfig(t *testing.T, dir, url, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf(`redis:
  url: %s
connections:
  - name: sandbox-sf
    kind: salesforce
    sandbox: true
    base_url: %s
    auth:
      mode: client_credentials
%s`, redistest.URL(t), url, extra)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeOnce runs one real cycle (sync against the sandbox) and prints
// its summary.
func TestServeOnce(t *testing.T) {
	cfg := serveConfig(t, "")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"--config", cfg, "serve", "--once"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "sandbox-sf") || !strings.Contains(lines[1], " ok ") {
		t.Fatalf("summary:\n%s", out.String())
	}
	if f := strings.Fields(lines[1]); f[len(f)-3] == "0" {
		t.Fatalf("first sync read nothing:\n%s", out.String())
	}
}

func TestServeFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--max-concurrent", "0"}, &out, &errb); code != exitUsage {
		t.Fatalf("--max-concurrent 0: exit %d, want %d", code, exitUsage)
	}
	if code := run(t.Context(), []string{"serve", "extra"}, &out, &errb); code != exitUsage {
		t.Fatalf("extra argument: exit %d, want %d", code, exitUsage)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("serve:\n  addr: [1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(t.Context(), []string{"--config", bad, "serve"}, &out, &errb); code != exitConfig {
		t.Fatalf("bad config: exit %d, want %d\n%s", code, exitConfig, errb.String())
	}
}

// TestServeDaemon starts the daemon on a loopback port, checks health and
// the admin API with the token from the environment, and stops it as a
// signal would.
func TestServeDaemon(t *testing.T) {
	const token = "daemon-test-token-5e1"
	t.Setenv("CRMPULSE_TEST_ADMIN_TOKEN", token)
	cfg := serveConfig(t, "serve:\n  admin_token_env: CRMPULSE_TEST_ADMIN_TOKEN\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, stop := context.WithCancel(t.Context())
	var out, errb syncWriter
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfg, "serve", "--addr", addr, "--jitter", "0"}, &out, &errb)
	}()
	base := "http://" + addr
	get := func(path, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for {
		if code, _ := get("/healthz", ""); code == http.StatusOK {
			break
		}
		select {
		case c := <-done:
			t.Fatalf("serve exited %d before answering:\n%s", c, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code, _ := get("/api/status", ""); code != http.StatusUnauthorized {
		t.Fatalf("/api/status without token: %d", code)
	}
	// Wait for the first scheduled cycle to finish.
	var st struct {
		Connections []struct {
			Name      string
			LastCycle *struct {
				Outcome string `json:"outcome"`
			} `json:"last_cycle"`
		} `json:"connections"`
	}
	for {
		code, body := get("/api/status", token)
		if code != http.StatusOK {
			t.Fatalf("/api/status: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		if lc := st.Connections[0].LastCycle; lc != nil {
			if lc.Outcome != "ok" {
				t.Fatalf("first cycle: %s\n%s", body, errb.String())
			}
			break
		}
		select {
		case <-t.Context().Done():
			t.Fatal("no cycle finished")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code, body := get("/metrics", ""); code != http.StatusOK ||
		!strings.Contains(body, `crmpulse_cycles_total{connection="sandbox-sf",outcome="ok"} 1`) ||
		!strings.Contains(body, `crmpulse_queue_length{queue="analysis:sandbox-sf"}`) {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	stop()
	if c := <-done; c != exitOK {
		t.Fatalf("exit %d after the stop signal\n%s", c, errb.String())
	}
	if strings.Contains(errb.String(), token) {
		t.Fatal("logs contain the admin token")
	}
}

// syncWriter is a buffer the daemon's goroutines may write to.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
