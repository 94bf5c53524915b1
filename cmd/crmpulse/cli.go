package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sort"
	"strings"

	"golang.org/x/term"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1 // the command ran and failed
	exitUsage    = 2 // bad command line
	exitConfig   = 3 // bad configuration
	exitNotBuilt = 4 // the command exists but is not available in this build
)

// command is one subcommand; each lives in its own file and registers itself.
type command struct {
	name    string
	summary string
	// run executes the command; args exclude the command name. It returns an
	// error; wrap with usageError or configError to choose the exit code.
	run func(ctx context.Context, env *env, args []string) error
}

// env is what every command gets: output streams and the global options.
type env struct {
	stdout, stderr io.Writer
	configPath     string
	logJSON        bool
	logLevel       string
	log            *slog.Logger
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

var errNotBuilt = errors.New("not available in this build")

// notBuilt is the run func of a command whose feature is not implemented yet:
// it says so plainly and exits with exitNotBuilt.
func notBuilt(name, what string) func(context.Context, *env, []string) error {
	return func(context.Context, *env, []string) error {
		return fmt.Errorf("crmpulse %s: %s is %w yet", name, what, errNotBuilt)
	}
}

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("crmpulse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.configPath, "config", os.Getenv("CRMPULSE_CONFIG"), "configuration file (default: built-in defaults; env CRMPULSE_CONFIG)")
	fs.BoolVar(&e.logJSON, "log-json", false, "log as JSON instead of text")
	fs.StringVar(&e.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the command to this file (for go tool pprof)")
	fs.Usage = func() { printUsage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printUsage(stderr, fs)
		return exitUsage
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			if c, ok := commands[rest[1]]; ok {
				_ = c.run(ctx, e.withLogger(), []string{"-h"})
				return exitOK
			}
		}
		printUsage(stdout, fs)
		return exitOK
	}
	c, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "crmpulse: unknown command %q (see crmpulse --help)\n", rest[0])
		return exitUsage
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "crmpulse: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer stop()
	}
	err := c.run(ctx, e.withLogger(), rest[1:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "crmpulse %s: %v\n", c.name, err)
		return exitUsage
	case errors.As(err, new(configError)):
		fmt.Fprintf(stderr, "crmpulse %s: configuration: %v\n", c.name, err)
		return exitConfig
	case errors.Is(err, errNotBuilt):
		fmt.Fprintln(stderr, err)
		return exitNotBuilt
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "crmpulse %s: interrupted\n", c.name)
		return exitError
	default:
		fmt.Fprintf(stderr, "crmpulse %s: %v\n", c.name, err)
		return exitError
	}
}

func (e *env) withLogger() *env {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(e.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if e.logJSON {
		h = slog.NewJSONHandler(e.stderr, opts)
	} else {
		h = slog.NewTextHandler(e.stderr, opts)
	}
	e.log = slog.New(h)
	return e
}

// isTerminal reports whether w is a terminal (progress bars vs. plain logs).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newFlagSet returns a flag set for a subcommand whose -h prints its usage.
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("crmpulse "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: crmpulse %s\n\n", strings.TrimSpace(usage))
		fs.PrintDefaults()
	}
	return fs
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "crmpulse — CRM customer insights: sync, analyse, segment, write back.")
	fmt.Fprintln(w, "\nusage: crmpulse [global flags] <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nRun 'crmpulse <command> --help' for a command's flags.")
}

// startCPUProfile starts the Go CPU profiler writing to path and returns the
// function that stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
