package redisearch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// wireRecorder is a RESP2 listener that records every command its clients
// send, byte for byte, and answers each one from a canned-reply function.
//
// It is a wire recorder for pinning the arguments this package puts on the
// wire (go-redis and redisearch-go alike) where no server with FT.* is
// available. It stores nothing and evaluates no command, so it is not a
// stand-in for Redis: behaviour is tested against real servers (the Redis 8
// of this machine, and a Redis Stack when REDIS_STACK_URL is set).
//
// Connection set-up commands (HELLO, CLIENT, SELECT, PING) are answered
// without being recorded; HELLO is refused so go-redis settles on RESP2, the
// protocol redisearch-go speaks. MULTI/EXEC are answered generically: queued
// commands get +QUEUED and EXEC returns their canned replies.
type wireRecorder struct {
	t     testing.TB
	ln    net.Listener
	reply func(cmd []string) string // raw RESP; "" means +OK

	mu   sync.Mutex
	cmds [][]string
	wg   sync.WaitGroup
}

func newWireRecorder(t testing.TB, reply func(cmd []string) string) *wireRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wireRecorder{t: t, ln: ln, reply: reply}
	w.wg.Add(1)
	go w.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		w.wg.Wait()
	})
	return w
}

func (w *wireRecorder) Addr() string { return w.ln.Addr().String() }

// client returns a go-redis client on the recorder, closed with the test.
func (w *wireRecorder) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: w.Addr(), Protocol: 2, MaxRetries: -1, DisableIdentity: true})
	w.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Commands returns the recorded commands, optionally only those whose name
// starts with one of the prefixes (case-insensitive).
func (w *wireRecorder) Commands(prefixes ...string) [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]string
	for _, c := range w.cmds {
		if len(prefixes) == 0 || slices.ContainsFunc(prefixes, func(p string) bool {
			return strings.HasPrefix(strings.ToUpper(c[0]), strings.ToUpper(p))
		}) {
			out = append(out, slices.Clone(c))
		}
	}
	return out
}

// Reset forgets the recorded commands.
func (w *wireRecorder) Reset() {
	w.mu.Lock()
	w.cmds = nil
	w.mu.Unlock()
}

func (w *wireRecorder) accept() {
	defer w.wg.Done()
	for {
		conn, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer conn.Close()
			w.serve(conn)
		}()
	}
}

func (w *wireRecorder) serve(conn net.Conn) {
	r := bufio.NewReader(conn)
	var queued []string // replies of commands queued by MULTI; nil outside
	inMulti := false
	for {
		cmd, err := readCommand(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				w.t.Errorf("wire recorder: %v", err)
			}
			return
		}
		var out string
		switch strings.ToUpper(cmd[0]) {
		case "HELLO":
			out = "-ERR unknown command 'HELLO'\r\n"
		case "CLIENT", "SELECT":
			out = "+OK\r\n"
		case "PING":
			out = "+PONG\r\n"
		case "MULTI":
			w.record(cmd)
			inMulti, queued, out = true, []string{}, "+OK\r\n"
		case "EXEC":
			w.record(cmd)
			out = fmt.Sprintf("*%d\r\n%s", len(queued), strings.Join(queued, ""))
			inMulti, queued = false, nil
		default:
			w.record(cmd)
			out = w.reply(cmd)
			if out == "" {
				out = "+OK\r\n"
			}
			if inMulti {
				queued = append(queued, out)
				out = "+QUEUED\r\n"
			}
		}
		if _, err := io.WriteString(conn, out); err != nil {
			return
		}
	}
}

func (w *wireRecorder) record(cmd []string) {
	w.mu.Lock()
	w.cmds = append(w.cmds, cmd)
	w.mu.Unlock()
}

// readCommand reads one RESP array of bulk strings, the form every client
// sends commands in.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[0] != '*' {
		return nil, fmt.Errorf("expected an array, got %q", line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad array header %q", line)
	}
	cmd := make([]string, n)
	for i := range cmd {
		h, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if len(h) < 2 || h[0] != '$' {
			return nil, fmt.Errorf("expected a bulk string, got %q", h)
		}
		size, err := strconv.Atoi(h[1:])
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad bulk header %q", h)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if string(buf[size:]) != "\r\n" {
			return nil, fmt.Errorf("bulk string of %d bytes not terminated by CRLF", size)
		}
		cmd[i] = string(buf[:size])
	}
	return cmd, nil
}

func readLine(r *bufio.Reader) (string, error) {
	s, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(s, "\r\n") {
		return "", fmt.Errorf("line %q not terminated by CRLF", s)
	}
	return s[:len(s)-2], nil
}

// RESP2 reply builders for canned answers.

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func integer(n int) string { return fmt.Sprintf(":%d\r\n", n) }

func array(items ...string) string {
	return fmt.Sprintf("*%d\r\n%s", len(items), strings.Join(items, ""))
}

func bulks(ss ...string) string {
	items := make([]string, len(ss))
	for i, s := range ss {
		items[i] = bulk(s)
	}
	return array(items...)
}

const nilBulk = "$-1\r\n"
