package sync

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// MigrateAnalysisQueue moves the entries left in the analysis stream that
// all connections once shared (<ns>:queue:analysis) into each connection's
// own queue (AnalysisQueue), oldest first, and deletes the shared stream
// once it is empty. Entries read but not acknowledged there are moved too:
// analysis is idempotent, so one delivered twice costs only time. It
// returns how many entries were moved; a namespace without the old stream
// costs one EXISTS. Entries without a connection cannot be routed and are
// moved to <ns>:queue:analysis:dead, where the old dead letters already
// live.
func MigrateAnalysisQueue(ctx context.Context, st *store.Store) (int, error) {
	rdb := st.Client()
	legacy := st.Key(QueueAnalysis)
	n, err := rdb.Exists(ctx, legacy).Result()
	if err != nil || n == 0 {
		return 0, err
	}
	moved := 0
	for {
		msgs, err := rdb.XRangeN(ctx, legacy, "-", "+", 500).Result()
		if err != nil {
			return moved, fmt.Errorf("migrate analysis queue: %w", err)
		}
		if len(msgs) == 0 {
			break
		}
		pipe := rdb.TxPipeline()
		for _, m := range msgs {
			dest := legacy + ":dead"
			if c, ok := m.Values[QueueFieldConn].(string); ok && c != "" {
				dest = AnalysisQueue(st, c)
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: dest, Values: m.Values})
			pipe.XDel(ctx, legacy, m.ID)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return moved, fmt.Errorf("migrate analysis queue: %w", err)
		}
		moved += len(msgs)
	}
	// Delete the stream only if nothing was appended since the last read.
	if err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		if l, err := tx.XLen(ctx, legacy).Result(); err != nil || l > 0 {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, legacy)
			return nil
		})
		return err
	}, legacy); err != nil && err != redis.TxFailedErr {
		return moved, fmt.Errorf("migrate analysis queue: %w", err)
	}
	return moved, nil
}
