package redisearch

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
)

// stackClient returns a client for REDIS_STACK_URL, or skips the test. The
// Query Engine indexes database 0 only, so the URL should name it (or none).
func stackClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("REDIS_STACK_URL")
	if url == "" {
		t.Skip("REDIS_STACK_URL not set: the Query Engine flavour needs a Redis Stack / Redis 8 server with FT.* (this machine's Redis 8 has vector sets only)")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_STACK_URL: %v", err)
	}
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

var contractSeq atomic.Int64

// TestContract runs the shared VectorIndex contract suite on a server with
// the Query Engine. Each subtest gets an index of its own name on the shared
// database, dropped when it ends.
func TestContract(t *testing.T) {
	rdb := stackClient(t)
	run := time.Now().UnixNano()
	storetest.Run(t, func(t *testing.T, _ store.IndexMeta) store.VectorIndex {
		name := fmt.Sprintf("crmpulse-test-%d-%d", run, contractSeq.Add(1))
		x, err := New(rdb, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := x.Drop(context.Background()); err != nil {
				t.Errorf("drop %s: %v", name, err)
			}
			_ = x.Close()
		})
		return x
	})
}

// TestStoreContract runs the store-layer contract (exact account-scoped
// Store.Search, batched chunk writes) over the Query Engine flavour, each
// subtest under a namespace of its own on the shared database.
func TestStoreContract(t *testing.T) {
	rdb := stackClient(t)
	run := time.Now().UnixNano()
	storetest.RunStore(t, func(t *testing.T) *store.Store {
		ns := fmt.Sprintf("crmpulse-test-%d-%d", run, contractSeq.Add(1))
		st, err := store.New(rdb, &store.Options{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		x, err := New(rdb, st.Key("qe"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx := context.Background()
			if err := x.Drop(ctx); err != nil {
				t.Errorf("drop %s: %v", st.Key("qe"), err)
			}
			_ = x.Close()
			iter := rdb.Scan(ctx, 0, ns+":*", 1000).Iterator()
			for iter.Next(ctx) {
				_ = rdb.Unlink(ctx, iter.Val()).Err()
			}
		})
		return st.WithIndex(x)
	})
}
