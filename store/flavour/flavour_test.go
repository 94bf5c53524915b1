package flavour

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/redisearch"
	"github.com/crmpulse/crmpulse/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestDetectRedis8(t *testing.T) {
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		o := *redistest.Client(t).Options()
		o.Protocol = proto
		rdb := redis.NewClient(&o)
		defer rdb.Close()
		c, err := Detect(ctx, rdb)
		if err != nil {
			t.Fatalf("RESP%d: %v", proto, err)
		}
		if !c.VectorSets || c.QueryEngine || !strings.HasPrefix(c.Version, "8.") {
			t.Errorf("RESP%d: Detect = %+v, want vector sets, no Query Engine, version 8.x", proto, c)
		}
	}
}

// TestDetectFallsBackToModuleList runs detection as a user that may not call
// COMMAND, as on services that block it.
func TestDetectFallsBackToModuleList(t *testing.T) {
	admin := redistest.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "no-command", "on", ">pw", "~*", "&*", "+@all", "-command").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", "no-command") })
	for _, proto := range []int{2, 3} {
		o := *admin.Options()
		o.Username, o.Password, o.Protocol = "no-command", "pw", proto
		rdb := redis.NewClient(&o)
		defer rdb.Close()
		if err := rdb.Do(ctx, "COMMAND", "INFO", "VSIM").Err(); err == nil {
			t.Fatal("COMMAND allowed; the test user should not have it")
		}
		c, err := Detect(ctx, rdb)
		if err != nil {
			t.Fatalf("RESP%d: %v", proto, err)
		}
		if !c.VectorSets || c.QueryEngine {
			t.Errorf("RESP%d: Detect through MODULE LIST = %+v, want vector sets only", proto, c)
		}
	}
}

func TestChoose(t *testing.T) {
	both := Capabilities{VectorSets: true, QueryEngine: true, Version: "8.2.1"}
	vs := Capabilities{VectorSets: true, Version: "8.0.2"}
	qe := Capabilities{QueryEngine: true, Version: "7.4.2"}
	none := Capabilities{Version: "7.0.15"}
	cases := []struct {
		want string
		caps Capabilities
		got  string
		err  error
	}{
		{Auto, both, VectorSet, nil},
		{"", vs, VectorSet, nil},
		{Auto, qe, Querying, nil},
		{Auto, none, "", ErrUnsupported},
		{VectorSet, both, VectorSet, nil},
		{VectorSet, qe, "", ErrUnsupported},
		{Querying, both, Querying, nil},
		{Querying, qe, Querying, nil},
		{Querying, vs, "", ErrUnsupported},
		{"redisearch", both, "", nil},
	}
	for _, c := range cases {
		got, err := Choose(c.want, c.caps)
		if got != c.got {
			t.Errorf("Choose(%q, %+v) = %q, want %q", c.want, c.caps, got, c.got)
		}
		switch {
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("Choose(%q, %+v) error %v, want %v", c.want, c.caps, err, c.err)
		case c.err == nil && c.got != "" && err != nil:
			t.Errorf("Choose(%q, %+v) error %v", c.want, c.caps, err)
		case c.got == "" && err == nil:
			t.Errorf("Choose(%q, %+v) gave no error", c.want, c.caps)
		}
	}
}

func TestOpenAutoPicksVectorSet(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	idx, err := Open(ctx, rdb, "crmpulse:idx:crm", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Flavour() != VectorSet {
		t.Fatalf("auto picked %q on Redis 8 with vector sets only", idx.Flavour())
	}
	meta := store.IndexMeta{Embedder: "e", Dimension: 8}
	if err := idx.Ensure(ctx, meta); err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDataset(storetest.DatasetOptions{N: 5, Dim: 8})
	if err := idx.Upsert(ctx, d.Items); err != nil {
		t.Fatal(err)
	}
	// The index lives under the name IndexName gives it.
	if n, err := rdb.VCard(ctx, IndexName("crmpulse:idx:crm", VectorSet)).Result(); err != nil || n != 5 {
		t.Fatalf("VCARD %s = %d, %v", IndexName("crmpulse:idx:crm", VectorSet), n, err)
	}
}

func TestOpenForcedQueryingOnRedis8(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	_, err := Open(ctx, rdb, "crm", Options{Flavour: Querying})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("forced querying on a server without FT.*: %v, want ErrUnsupported", err)
	}
	for _, s := range []string{"Query Engine", "8.", VectorSet} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if _, err := Open(ctx, rdb, "crm", Options{Flavour: "qe"}); err == nil || !strings.Contains(err.Error(), "unknown index flavour") {
		t.Errorf("unknown flavour: %v", err)
	}
}

// TestOpenQueryingWhenDetected opens the Query Engine flavour as a server
// reporting FT.* would, then shows that this server refuses its first FT
// command with a clear error.
func TestOpenQueryingWhenDetected(t *testing.T) {
	ctx := context.Background()
	qe := &Capabilities{QueryEngine: true, VectorSets: true, Version: "8.2.1"}
	_, err := Open(ctx, redistest.Client(t), "crm", Options{Flavour: Querying, Detected: qe})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "database 0") {
		t.Fatalf("querying on database != 0: %v", err)
	}
	o := *redistest.Client(t).Options()
	o.DB = 0
	rdb := redis.NewClient(&o)
	defer rdb.Close()
	idx, err := Open(ctx, rdb, "crmpulse:idx:probe", Options{Flavour: Querying, Detected: qe})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := idx.(io.Closer); !ok {
		t.Fatalf("%T does not implement io.Closer", idx)
	} else {
		defer c.Close()
	}
	if idx.Flavour() != Querying {
		t.Fatalf("Flavour() = %q", idx.Flavour())
	}
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: "e", Dimension: 8}); !errors.Is(err, redisearch.ErrNoQueryEngine) {
		t.Fatalf("Ensure on Redis 8 without FT.*: %v, want ErrNoQueryEngine", err)
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{o.Addr}})
	defer cluster.Close()
	if _, err := Open(ctx, cluster, "crm", Options{Flavour: Querying, Detected: qe}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("querying on a cluster client: %v", err)
	}
}
