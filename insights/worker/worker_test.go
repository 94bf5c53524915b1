package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

type tally struct {
	mu   sync.Mutex
	seen map[string]int
	by   map[string]int // per consumer
}

func newTally() *tally { return &tally{seen: map[string]int{}, by: map[string]int{}} }

func (t *tally) handler(consumer string) Handler {
	return func(ctx context.Context, it Item) error {
		time.Sleep(2 * time.Millisecond)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.seen[it.Account]++
		t.by[consumer]++
		return nil
	}
}

func accounts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("001%04d", i)
	}
	return out
}

func TestTwoWorkersShareQueue(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	const stream = "crmpulse:queue:analysis"
	ids := accounts(60)
	if err := Enqueue(ctx, rdb, stream, "sf", ids...); err != nil {
		t.Fatal(err)
	}
	tl := newTally()
	var wg sync.WaitGroup
	var ws []*Worker
	for _, name := range []string{"w1", "w2"} {
		w, err := New(rdb, Options{Stream: stream, Consumer: name, Concurrency: 2, Batch: 2}, tl.handler(name))
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Drain(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if tl.seen[id] != 1 {
			t.Errorf("account %s handled %d times", id, tl.seen[id])
		}
	}
	if tl.by["w1"] == 0 || tl.by["w2"] == 0 {
		t.Errorf("work not shared: %v", tl.by)
	}
	if n, _ := Backlog(ctx, rdb, stream, "insights"); n != 0 {
		t.Errorf("backlog %d after drain", n)
	}
	if l := rdb.XLen(ctx, stream).Val(); l != 0 {
		t.Errorf("stream holds %d acknowledged entries", l)
	}
	t.Logf("w1 %+v, w2 %+v", ws[0].Stats(), ws[1].Stats())
}

func TestCrashedWorkerItemsClaimedByAnother(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	const stream = "q"
	ids := accounts(10)
	if err := Enqueue(ctx, rdb, stream, "sf", ids...); err != nil {
		t.Fatal(err)
	}
	// The first worker reads items and dies in the middle of them: its
	// handler blocks until the worker is killed and never returns nil.
	started := make(chan struct{}, 10)
	dying, kill := context.WithCancel(ctx)
	w1, _ := New(rdb, Options{Stream: stream, Consumer: "dies", Concurrency: 4, Batch: 4, VisibilityTimeout: 300 * time.Millisecond}, func(ctx context.Context, it Item) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	done := make(chan struct{})
	go func() { _ = w1.Run(dying); close(done) }()
	for range 4 {
		<-started
	}
	kill()
	<-done
	if n, _ := Backlog(ctx, rdb, stream, "insights"); n != 10 {
		t.Fatalf("backlog %d after the crash, want 10 (4 pending, 6 new)", n)
	}
	// Another worker drains everything, the dead worker's items included.
	tl := newTally()
	w2, _ := New(rdb, Options{Stream: stream, Consumer: "survivor", Concurrency: 2, VisibilityTimeout: 300 * time.Millisecond}, tl.handler("survivor"))
	if err := w2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if tl.seen[id] != 1 {
			t.Errorf("account %s handled %d times", id, tl.seen[id])
		}
	}
	if st := w2.Stats(); st.Claimed != 4 || st.Processed != 10 {
		t.Errorf("stats %+v, want 4 claimed and 10 processed", st)
	}
}

func TestDuplicatesHandledOnceAndFailuresDeadLettered(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	const stream = "q"
	if err := Enqueue(ctx, rdb, stream, "sf", "A", "A", "B", "A", "BAD"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := map[string]int{}
	w, _ := New(rdb, Options{Stream: stream, Consumer: "w", Batch: 10, MaxAttempts: 2, VisibilityTimeout: 100 * time.Millisecond}, func(ctx context.Context, it Item) error {
		mu.Lock()
		calls[it.Account]++
		mu.Unlock()
		if it.Account == "BAD" {
			return errors.New("cannot analyse")
		}
		return nil
	})
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if calls["A"] != 1 || calls["B"] != 1 || calls["BAD"] != 2 {
		t.Errorf("calls %v", calls)
	}
	dead := rdb.XRange(ctx, stream+":dead", "-", "+").Val()
	if len(dead) != 1 || dead[0].Values["account"] != "BAD" || dead[0].Values["error"] != "cannot analyse" {
		t.Errorf("dead letters %+v", dead)
	}
	if st := w.Stats(); st.Duplicates != 2 || st.Dead != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestLockedAccountRequeued(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	const stream = "q"
	// Another worker holds the account's lock for a moment.
	rdb.Set(ctx, stream+":lock:sf:A", "other", 300*time.Millisecond)
	if err := Enqueue(ctx, rdb, stream, "sf", "A"); err != nil {
		t.Fatal(err)
	}
	tl := newTally()
	w, _ := New(rdb, Options{Stream: stream, Consumer: "w"}, tl.handler("w"))
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if tl.seen["A"] != 1 || w.Stats().Requeued == 0 {
		t.Errorf("seen %v stats %+v", tl.seen, w.Stats())
	}
}
