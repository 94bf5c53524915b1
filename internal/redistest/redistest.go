// Package redistest starts a private, real Redis server (>= 8, with vector
// sets) for a test package and hands out isolated databases on it.
//
// The server binary comes from scripts/redis.sh, which uses a redis-server >= 8
// on PATH or provisions Debian's Redis 8 into the repository's .cache folder.
// Each test package gets its own server on a free loopback port with its data
// directory in a temporary folder; it is stopped and removed when the package's
// tests end.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		rdb := redistest.Client(t) // a flushed database of its own
//		...
//	}
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by the test binary.
type Server struct {
	Port int
	Dir  string

	mu   sync.Mutex
	argv []string
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	shared   *Server
	startErr error
	nextDB   atomic.Int32
)

const databases = 1024

// Main starts the package's server, runs the tests and removes the server.
func Main(m *testing.M) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	shared = s
	code := m.Run()
	s.Stop()
	return code
}

// Shared returns the package's server started by Main.
func Shared(t testing.TB) *Server {
	t.Helper()
	if shared == nil {
		t.Fatal("redistest: no server; call redistest.Main from TestMain")
	}
	return shared
}

// Client returns a client on a fresh, empty database of the package's server,
// closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	s := Shared(t)
	db := int(nextDB.Add(1)) % databases
	// Generous timeouts: bulk pipelines on a loaded test machine can take
	// seconds (the go-redis default read timeout is 3 s).
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), DB: db, Protocol: 2, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: flush db %d: %v", db, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// URL returns a redis:// URL for a fresh, empty database of the package's server.
func URL(t testing.TB) string {
	t.Helper()
	c := Client(t)
	return fmt.Sprintf("redis://%s/%d", c.Options().Addr, c.Options().DB)
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// Start launches a new server on a free port with its own data directory and
// AOF persistence, and waits until it answers.
func Start() (*Server, error) {
	bin, err := serverCommand()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "crmpulse-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Port: port, Dir: dir}
	s.argv = append(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--databases", fmt.Sprint(databases),
		"--protected-mode", "yes", "--logfile", filepath.Join(dir, "redis.log"))
	if err := s.launch(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 2, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %s %s", stderr.String(), tail(string(log)))
		default:
		}
		if err := c.Ping(context.Background()).Err(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("redis-server did not answer within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server abruptly (SIGKILL), keeping its data directory.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart kills the server and starts it again on the same port and data
// directory; data written with AOF (appendfsync always) survives.
func (s *Server) Restart() error {
	s.Kill()
	return s.launch()
}

// Stop terminates the server and removes its data directory.
func (s *Server) Stop() {
	s.Kill()
	if s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	binOnce sync.Once
	binArgs []string
	binErr  error
)

// serverCommand asks scripts/redis.sh for the redis-server command prefix.
func serverCommand() ([]string, error) {
	binOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			binErr = err
			return
		}
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "redis.sh"), "bin")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			binErr = fmt.Errorf("scripts/redis.sh bin: %v: %s", err, stderr.String())
			return
		}
		binArgs = strings.Fields(strings.TrimSpace(string(out)))
		if len(binArgs) == 0 {
			binErr = errors.New("scripts/redis.sh bin printed nothing")
		}
	})
	return binArgs, binErr
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "redis.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/redis.sh not found above the working directory")
		}
		dir = parent
	}
}
