package sync

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
)

func TestMigrateAnalysisQueue(t *testing.T) {
	rdb := redistest.Client(t)
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := MigrateAnalysisQueue(ctx, st); err != nil || n != 0 {
		t.Fatalf("nothing to migrate: moved %d, %v", n, err)
	}
	legacy := st.Key(QueueAnalysis)
	add := func(vals ...string) {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: legacy, Values: vals}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// 1200 entries (more than one read), two connections, one deleted
	// account, one entry without a connection; some read and unacknowledged.
	for i := range 600 {
		add(QueueFieldConn, "sf", QueueFieldAccount, "a"+string(rune('0'+i%10)))
		add(QueueFieldConn, "hs", QueueFieldAccount, "b"+string(rune('0'+i%10)), QueueFieldDeleted, "1")
	}
	add(QueueFieldAccount, "orphan")
	if err := rdb.XGroupCreate(ctx, legacy, "insights", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "insights", Consumer: "c", Streams: []string{legacy, ">"}, Count: 7}).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := MigrateAnalysisQueue(ctx, st)
	if err != nil || n != 1201 {
		t.Fatalf("moved %d, %v; want 1201", n, err)
	}
	if e, _ := rdb.Exists(ctx, legacy).Result(); e != 0 {
		t.Error("the shared stream still exists after migration")
	}
	sf, _ := rdb.XRange(ctx, AnalysisQueue(st, "sf"), "-", "+").Result()
	hs, _ := rdb.XRange(ctx, AnalysisQueue(st, "hs"), "-", "+").Result()
	dead, _ := rdb.XRange(ctx, legacy+":dead", "-", "+").Result()
	if len(sf) != 600 || len(hs) != 600 || len(dead) != 1 {
		t.Fatalf("sf %d, hs %d, dead %d entries; want 600, 600, 1", len(sf), len(hs), len(dead))
	}
	if sf[0].Values[QueueFieldAccount] != "a0" || sf[1].Values[QueueFieldAccount] != "a1" || hs[0].Values[QueueFieldDeleted] != "1" {
		t.Errorf("entries changed or reordered: %v %v %v", sf[0].Values, sf[1].Values, hs[0].Values)
	}
	for _, m := range sf {
		if m.Values[QueueFieldConn] != "sf" {
			t.Fatalf("an entry of %v reached the sf queue", m.Values[QueueFieldConn])
		}
	}
	if n, err := MigrateAnalysisQueue(ctx, st); err != nil || n != 0 {
		t.Fatalf("second migration moved %d, %v", n, err)
	}
}
