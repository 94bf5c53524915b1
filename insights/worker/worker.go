// Package worker consumes the analysis queue, a Redis Stream to which the
// sync engine appends one entry per changed account, with a consumer group
// so that any number of processes share the work.
//
// # Delivery
//
// Each worker reads with XREADGROUP under its own consumer name and
// acknowledges (XACK, then XDEL) an entry only after its handler returned
// nil, i.e. after the result is stored. Entries a worker read but did not
// acknowledge (it crashed, was killed, or its handler failed) stay pending;
// every worker periodically claims entries idle longer than the visibility
// timeout with XAUTOCLAIM and processes them, so no entry is lost. A
// handler error counts an attempt (hash <stream>:attempts); after
// MaxAttempts the entry is moved to the dead-letter stream <stream>:dead
// with the last error and acknowledged.
//
// # Duplicates
//
// Entries of one account read in the same batch are handled once. While a
// worker handles an account it holds <stream>:lock:<conn>:<account> (SET NX
// with the visibility timeout as TTL); an entry of an account locked by
// another worker is re-appended to the stream and acknowledged, so it is
// handled after the current run, never concurrently. Handlers skip accounts
// whose inputs did not change since their last result (see
// insights/engine.Fingerprint): an account queued twice is analysed once
// per change.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry fields, as the sync engine writes them.
const (
	FieldConn    = "conn"
	FieldAccount = "account"
	FieldDeleted = "deleted"
)

// Item is one queued account.
type Item struct {
	ID      string // stream entry id
	Conn    string
	Account string
	Deleted bool // the account no longer exists
	// Deliveries is 1 on first delivery, more when claimed again.
	Claimed bool
}

// Handler processes one item; nil means done (the entry is acknowledged).
type Handler func(ctx context.Context, it Item) error

// ErrSkip may be returned (wrapped) by a handler that decided the item
// needs no work; it is acknowledged and counted as skipped.
var ErrSkip = errors.New("nothing to do")

// Options configure a worker; zero values mean the defaults shown.
type Options struct {
	Stream            string        // stream key (required)
	Group             string        // consumer group (default "insights")
	Consumer          string        // consumer name (default host-pid-random)
	Concurrency       int           // items handled at once (default 4)
	Batch             int           // entries read per call, at most Concurrency (default Concurrency)
	VisibilityTimeout time.Duration // pending entries idle this long are claimed (default 5m)
	Block             time.Duration // XREADGROUP block time (default 1s)
	MaxAttempts       int           // handler failures before dead-lettering (default 5)
	Logger            *slog.Logger
}

// Stats count what a worker did.
type Stats struct {
	Processed, Skipped, Failed, Dead, Claimed, Duplicates, Requeued int64
}

// Worker is one consumer.
type Worker struct {
	rdb redis.UniversalClient
	opt Options
	h   Handler

	processed, skipped, failed, dead, claimed, dups, requeued atomic.Int64
	inflight                                                  sync.WaitGroup
}

// New returns a worker; call Run or Drain.
func New(rdb redis.UniversalClient, opt Options, h Handler) (*Worker, error) {
	if opt.Stream == "" {
		return nil, errors.New("worker: stream key is empty")
	}
	if opt.Group == "" {
		opt.Group = "insights"
	}
	if opt.Consumer == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		opt.Consumer = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.Batch <= 0 || opt.Batch > opt.Concurrency {
		opt.Batch = opt.Concurrency
	}
	if opt.VisibilityTimeout <= 0 {
		opt.VisibilityTimeout = 5 * time.Minute
	}
	if opt.Block <= 0 {
		opt.Block = time.Second
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 5
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{rdb: rdb, opt: opt, h: h}, nil
}

// Consumer returns the consumer name.
func (w *Worker) Consumer() string { return w.opt.Consumer }

// Stats returns the counters so far.
func (w *Worker) Stats() Stats {
	return Stats{w.processed.Load(), w.skipped.Load(), w.failed.Load(), w.dead.Load(), w.claimed.Load(), w.dups.Load(), w.requeued.Load()}
}

// Enqueue appends accounts of a connection to the stream.
func Enqueue(ctx context.Context, rdb redis.UniversalClient, stream, conn string, accounts ...string) error {
	p := rdb.Pipeline()
	for _, a := range accounts {
		p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []string{FieldConn, conn, FieldAccount, a}})
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("enqueue %d accounts of %s: %w", len(accounts), conn, err)
	}
	return nil
}

// EnsureGroup creates the consumer group (and the stream) if missing; new
// groups start at the beginning of the stream.
func EnsureGroup(ctx context.Context, rdb redis.UniversalClient, stream, group string) error {
	err := rdb.XGroupCreateMkStream(ctx, stream, group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on %s: %w", group, stream, err)
	}
	return nil
}

// Backlog returns the entries not yet delivered to the group plus those
// delivered but not acknowledged.
func Backlog(ctx context.Context, rdb redis.UniversalClient, stream, group string) (int64, error) {
	gs, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, err
	}
	for _, g := range gs {
		if g.Name == group {
			return g.Lag + g.Pending, nil
		}
	}
	return rdb.XLen(ctx, stream).Result()
}

// Run consumes until ctx is done, then waits for the items in hand. Items
// whose handler was interrupted stay pending for another worker.
func (w *Worker) Run(ctx context.Context) error {
	return w.loop(ctx, false)
}

// Drain consumes until the group has nothing left: no undelivered entry
// and no pending one (entries pending with another consumer are waited for
// and claimed once idle past the visibility timeout).
func (w *Worker) Drain(ctx context.Context) error {
	return w.loop(ctx, true)
}

func (w *Worker) loop(ctx context.Context, drain bool) error {
	if err := EnsureGroup(ctx, w.rdb, w.opt.Stream, w.opt.Group); err != nil {
		return err
	}
	sem := make(chan struct{}, w.opt.Concurrency)
	defer w.inflight.Wait()
	lastClaim := time.Time{}
	for {
		if ctx.Err() != nil {
			return nil
		}
		// Take the free slots first, so no more is read than can be handled:
		// entries read stay with this consumer until acknowledged.
		slots := 0
		select {
		case sem <- struct{}{}:
			slots = 1
		case <-ctx.Done():
			return nil
		}
	fill:
		for slots < w.opt.Batch {
			select {
			case sem <- struct{}{}:
				slots++
			default:
				break fill
			}
		}
		release := func(n int) {
			for range n {
				<-sem
			}
		}
		var msgs []redis.XMessage
		claimed := false
		if time.Since(lastClaim) >= w.opt.VisibilityTimeout/4 || drain {
			lastClaim = time.Now()
			ms, _, err := w.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: w.opt.Stream, Group: w.opt.Group, Consumer: w.opt.Consumer,
				MinIdle: w.opt.VisibilityTimeout, Start: "0-0", Count: int64(slots),
			}).Result()
			if err != nil && ctx.Err() == nil {
				release(slots)
				return fmt.Errorf("claim from %s: %w", w.opt.Stream, err)
			}
			msgs, claimed = ms, len(ms) > 0
			w.claimed.Add(int64(len(ms)))
		}
		if len(msgs) == 0 {
			block := w.opt.Block
			if drain {
				block = min(block, 200*time.Millisecond)
			}
			res, err := w.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: w.opt.Group, Consumer: w.opt.Consumer, Streams: []string{w.opt.Stream, ">"},
				Count: int64(slots), Block: block,
			}).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				release(slots)
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("read from %s: %w", w.opt.Stream, err)
			}
			for _, s := range res {
				msgs = append(msgs, s.Messages...)
			}
		}
		if len(msgs) == 0 {
			release(slots)
			if drain {
				w.inflight.Wait()
				n, err := w.pending(ctx)
				if err != nil {
					return err
				}
				if n == 0 {
					return nil
				}
				// Entries pending with others: wait for them to finish or time out.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(min(w.opt.VisibilityTimeout/4, 250*time.Millisecond)):
				}
			}
			continue
		}
		w.dispatch(ctx, msgs, claimed, sem, slots)
	}
}

func (w *Worker) pending(ctx context.Context) (int64, error) {
	n, err := Backlog(ctx, w.rdb, w.opt.Stream, w.opt.Group)
	if err != nil {
		return 0, fmt.Errorf("pending of %s: %w", w.opt.Stream, err)
	}
	return n, nil
}

// dispatch handles a batch: one handler call per account, every entry of
// the account acknowledged with it.
func (w *Worker) dispatch(ctx context.Context, msgs []redis.XMessage, claimed bool, sem chan struct{}, slots int) {
	type group struct {
		item Item
		ids  []string
	}
	var order []string
	groups := map[string]*group{}
	for _, m := range msgs {
		it := Item{ID: m.ID, Claimed: claimed}
		it.Conn, _ = m.Values[FieldConn].(string)
		it.Account, _ = m.Values[FieldAccount].(string)
		d, _ := m.Values[FieldDeleted].(string)
		it.Deleted = d == "1" || d == "true"
		if it.Conn == "" || it.Account == "" {
			w.opt.Logger.Warn("malformed queue entry dead-lettered", "stream", w.opt.Stream, "id", m.ID)
			w.deadLetter(ctx, m.ID, it, errors.New("entry lacks conn or account"))
			continue
		}
		k := it.Conn + "\x00" + it.Account
		if g, ok := groups[k]; ok {
			g.ids = append(g.ids, m.ID)
			g.item.Deleted = it.Deleted // the latest entry wins
			w.dups.Add(1)
			continue
		}
		groups[k] = &group{item: it, ids: []string{m.ID}}
		order = append(order, k)
	}
	// Every group uses one of the slots taken before reading; the rest go back.
	for range slots - len(order) {
		<-sem
	}
	for _, k := range order {
		g := groups[k]
		w.inflight.Add(1)
		go func() {
			defer func() { <-sem; w.inflight.Done() }()
			w.handle(ctx, g.item, g.ids)
		}()
	}
}

func (w *Worker) lockKey(it Item) string {
	return w.opt.Stream + ":lock:" + it.Conn + ":" + it.Account
}

func (w *Worker) handle(ctx context.Context, it Item, ids []string) {
	lk := w.lockKey(it)
	ok, err := w.rdb.SetNX(ctx, lk, w.opt.Consumer, w.opt.VisibilityTimeout).Result()
	if err != nil {
		return // Redis trouble: the entries stay pending and are claimed later
	}
	if !ok {
		// Another worker is on this account: handle the entry after it.
		_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			vals := []string{FieldConn, it.Conn, FieldAccount, it.Account}
			if it.Deleted {
				vals = append(vals, FieldDeleted, "1")
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: w.opt.Stream, Values: vals})
			p.XAck(ctx, w.opt.Stream, w.opt.Group, ids...)
			p.XDel(ctx, w.opt.Stream, ids...)
			return nil
		})
		if err == nil {
			w.requeued.Add(1)
		}
		return
	}
	defer w.unlock(lk)
	herr := w.h(ctx, it)
	switch {
	case herr == nil || errors.Is(herr, ErrSkip):
		if herr != nil {
			w.skipped.Add(1)
		} else {
			w.processed.Add(1)
		}
		w.ack(ids, it)
	default:
		if ctx.Err() != nil {
			return // interrupted: leave pending for another worker
		}
		w.failed.Add(1)
		n, err := w.rdb.HIncrBy(context.WithoutCancel(ctx), w.opt.Stream+":attempts", it.Conn+":"+it.Account, 1).Result()
		w.opt.Logger.Warn("analysis failed", "conn", it.Conn, "account", it.Account, "attempt", n, "err", herr)
		if err == nil && n >= int64(w.opt.MaxAttempts) {
			for _, id := range ids {
				w.deadLetter(ctx, id, it, herr)
			}
		}
	}
}

func (w *Worker) unlock(key string) {
	// Release only our own lock.
	const script = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`
	_ = w.rdb.Eval(context.Background(), script, []string{key}, w.opt.Consumer).Err()
}

func (w *Worker) ack(ids []string, it Item) {
	ctx := context.Background() // the result is stored: always acknowledge
	_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, w.opt.Stream, w.opt.Group, ids...)
		p.XDel(ctx, w.opt.Stream, ids...)
		p.HDel(ctx, w.opt.Stream+":attempts", it.Conn+":"+it.Account)
		return nil
	})
	if err != nil {
		w.opt.Logger.Warn("ack failed; the entry will be claimed and skipped as unchanged", "id", ids, "err", err)
	}
}

func (w *Worker) deadLetter(ctx context.Context, id string, it Item, cause error) {
	ctx = context.WithoutCancel(ctx)
	_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: w.opt.Stream + ":dead", Values: []string{
			FieldConn, it.Conn, FieldAccount, it.Account, "entry", id, "error", cause.Error(), "at", time.Now().UTC().Format(time.RFC3339),
		}})
		p.XAck(ctx, w.opt.Stream, w.opt.Group, id)
		p.XDel(ctx, w.opt.Stream, id)
		p.HDel(ctx, w.opt.Stream+":attempts", it.Conn+":"+it.Account)
		return nil
	})
	if err == nil {
		w.dead.Add(1)
	}
}
