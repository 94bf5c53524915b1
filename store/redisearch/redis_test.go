package redisearch

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
)

// The package's tests get a real Redis 8 from redistest. It has vector sets
// and no Query Engine: these tests cover what such a server can show (the
// refusal, the pool's connection settings); the contract suite runs on a
// server with FT.* when REDIS_STACK_URL names one.
func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestEnsureWithoutQueryEngine(t *testing.T) {
	rdb := redistest.Client(t)
	x, err := New(rdb, "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	err = x.Ensure(ctx, store.IndexMeta{Embedder: "minilm", Dimension: 384})
	if !errors.Is(err, ErrNoQueryEngine) {
		t.Fatalf("Ensure on a server without FT.*: %v, want ErrNoQueryEngine", err)
	}
	if !strings.Contains(err.Error(), "FT.CREATE") {
		t.Errorf("error %q does not show the refused command", err)
	}
	// Nothing is recorded for an index that could not be created.
	if _, err := x.Meta(ctx); !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("Meta after failed Ensure: %v, want ErrNoIndex", err)
	}
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("keys after failed Ensure: %d, %v", n, err)
	}
	if n, err := x.Count(ctx); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want 0 for a missing index", n, err)
	}
	if _, err := x.Search(ctx, store.Query{Vector: make([]float32, 384)}); !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("Search: %v, want ErrNoIndex", err)
	}
}

// TestPoolFollowsGoRedisOptions checks that redisearch-go's redigo pool
// reaches the go-redis client's server and database as the same ACL user.
func TestPoolFollowsGoRedisOptions(t *testing.T) {
	admin := redistest.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "qe-test", "on", ">s3cret pass", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", "qe-test") })
	o := *admin.Options()
	o.Username, o.Password, o.ClientName = "qe-test", "s3cret pass", "crmpulse-qe"
	rdb := redis.NewClient(&o)
	defer rdb.Close()

	x, err := New(rdb, "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	conn, err := x.pool.GetContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	who, err := redigo.String(redigo.DoContext(conn, ctx, "ACL", "WHOAMI"))
	if err != nil || who != "qe-test" {
		t.Fatalf("ACL WHOAMI = %q, %v; want qe-test", who, err)
	}
	// A key written through go-redis is visible through the pool: same
	// server, same database.
	if err := rdb.Set(ctx, "probe", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := redigo.String(redigo.DoContext(conn, ctx, "GET", "probe"))
	if err != nil || got != "v" {
		t.Fatalf("GET through the pool = %q, %v (db %d)", got, err, o.DB)
	}
	info, err := redigo.String(redigo.DoContext(conn, ctx, "CLIENT", "INFO"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, " name=crmpulse-qe ") {
		t.Errorf("CLIENT INFO %q lacks the client name", info)
	}

	o.Password = "wrong"
	bad := redis.NewClient(&o)
	defer bad.Close()
	y, err := New(bad, "qe:crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if _, err := y.pool.GetContext(ctx); err == nil {
		t.Fatal("pool dialled with a wrong password")
	}
}

func TestNewRefusesBadNames(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, name := range []string{"", "a b", "tab\there", "x\n", "nul\x00"} {
		if _, err := New(rdb, name, nil); err == nil {
			t.Errorf("New(%q) accepted", name)
		}
	}
}
