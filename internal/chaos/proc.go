package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/redistest"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

// EnvChild makes the test binary run as a child process (see ChildMain)
// instead of running tests. Its value names the job: "sync".
const EnvChild = "CRMPULSE_CHAOS_CHILD"

// exitNotBuilt is crmpulse's exit status for a command not in the build.
const exitNotBuilt = 4

var (
	buildOnce gosync.Once
	buildDir  string
)

// Main is the TestMain of chaos test packages: it runs ChildMain when the
// binary was started as a child, else a private Redis and the tests, and
// removes the crmpulse binary built for them.
func Main(m *testing.M) int {
	if os.Getenv(EnvChild) != "" {
		return ChildMain()
	}
	code := redistest.Main(m)
	All.Write(os.Stdout)
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	return code
}

// ChildMain runs one job in a child process with the configuration named by
// CRMPULSE_CONFIG, the same wiring as the crmpulse commands: "sync" opens the
// App and runs the sync engine once. It logs to stderr and returns the exit
// status.
func ChildMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if os.Getenv("CRMPULSE_CHAOS_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	job := os.Getenv(EnvChild)
	if job != "sync" {
		fmt.Fprintf(os.Stderr, "chaos child: unknown job %q\n", job)
		return 2
	}
	cfg, err := app.LoadConfig(os.Getenv("CRMPULSE_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos child: configuration:", err)
		return 3
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos child: open:", err)
		return 1
	}
	defer a.Close()
	sum, err := SyncApp(ctx, a, &crmsync.Options{Progress: func(p crmsync.Progress) {
		log.Info("sync progress", "connection", p.Conn, "object", p.Object, "phase", p.Phase, "done", p.Done)
	}})
	if sum != nil {
		t := sum.Totals()
		fmt.Printf("sync: %d new, %d changed, %d deleted\n", t.New, t.Changed(), t.Deleted)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos child: sync:", err)
		return 1
	}
	return 0
}

// Binary is the crmpulse binary built for the suite.
type Binary struct {
	Path string
	// SyncBuilt reports whether its sync command is in the build; when not,
	// sync jobs run in the test binary as a child (ChildMain).
	SyncBuilt bool
}

var (
	bin    Binary
	binErr error
)

// Build builds cmd/crmpulse once per test binary into a temporary folder.
func Build(t testing.TB) Binary {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crmpulse-chaos-")
		if err != nil {
			binErr = err
			return
		}
		buildDir = dir
		bin.Path = filepath.Join(dir, "crmpulse")
		cmd := exec.Command("go", "build", "-o", bin.Path, "github.com/crmpulse/crmpulse/cmd/crmpulse")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		// An unknown flag: usage error when sync is built, "not available"
		// when it is not; nothing is synced either way.
		probe := exec.Command(bin.Path, "sync", "--chaos-probe")
		_ = probe.Run()
		bin.SyncBuilt = probe.ProcessState != nil && probe.ProcessState.ExitCode() != exitNotBuilt
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bin
}

// Proc is a running subprocess with its output captured.
type Proc struct {
	Cmd   *exec.Cmd
	out   lockedBuffer
	done  chan struct{}
	err   error
	Start time.Time
}

type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartSync starts a sync of every connection as a subprocess: crmpulse
// sync when built, else the test binary as a child.
func (r *Rig) StartSync(extraEnv ...string) *Proc {
	r.T.Helper()
	b := Build(r.T)
	var cmd *exec.Cmd
	if b.SyncBuilt {
		cmd = exec.Command(b.Path, "--config", r.ConfigFile(), "sync")
	} else {
		self, err := os.Executable()
		if err != nil {
			r.T.Fatal(err)
		}
		cmd = exec.Command(self, "-test.run=^$")
		extraEnv = append(extraEnv, EnvChild+"=sync", "CRMPULSE_CONFIG="+r.ConfigFile())
	}
	return r.start(cmd, extraEnv)
}

// StartCrmpulse starts the crmpulse binary with the rig's configuration.
func (r *Rig) StartCrmpulse(args ...string) *Proc {
	r.T.Helper()
	b := Build(r.T)
	cmd := exec.Command(b.Path, append([]string{"--config", r.ConfigFile()}, args...)...)
	return r.start(cmd, nil)
}

func (r *Rig) start(cmd *exec.Cmd, extraEnv []string) *Proc {
	r.T.Helper()
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	cmd.Env = append(r.Env(), extraEnv...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	p.Start = time.Now()
	if err := cmd.Start(); err != nil {
		r.T.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	r.T.Cleanup(func() { p.Kill() })
	return p
}

// Kill sends SIGKILL (if still running) and waits for the process to end.
// It reports whether the process was still running.
func (p *Proc) Kill() bool {
	select {
	case <-p.done:
		return false
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	return true
}

// Wait waits for the process to end, at most d, and returns its error.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.Kill()
		return fmt.Errorf("%s did not finish within %s", p.Cmd.Path, d)
	}
}

// Done is closed when the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status (-1 when killed or still running).
func (p *Proc) ExitCode() int {
	select {
	case <-p.done:
	default:
		return -1
	}
	var ee *exec.ExitError
	if p.err == nil {
		return 0
	}
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Output is what the process wrote to stdout and stderr so far.
func (p *Proc) Output() string { return p.out.String() }
