package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Stream names a Redis stream whose depth the daemon reports.
type Stream struct {
	// Name is the queue label in metrics and status ("analysis", "outbox").
	Name string
	// Key is the stream's Redis key.
	Key string
	// Group is the consumer group whose pending entries count; empty for
	// none.
	Group string
}

// StreamDepths returns a DepthFunc reading XLEN and, for streams with a
// group, XPENDING of each stream in one pipeline. A stream or group that does
// not exist yet has depth zero.
func StreamDepths(rdb redis.UniversalClient, streams ...Stream) DepthFunc {
	return func(ctx context.Context) ([]QueueDepth, error) {
		if len(streams) == 0 {
			return nil, nil
		}
		pipe := rdb.Pipeline()
		lens := make([]*redis.IntCmd, len(streams))
		pend := make([]*redis.XPendingCmd, len(streams))
		for i, s := range streams {
			lens[i] = pipe.XLen(ctx, s.Key)
			if s.Group != "" {
				pend[i] = pipe.XPending(ctx, s.Key, s.Group)
			}
		}
		_, _ = pipe.Exec(ctx) // errors are read per command below
		out := make([]QueueDepth, 0, len(streams))
		for i, s := range streams {
			n, err := lens[i].Result()
			if err != nil {
				return out, fmt.Errorf("XLEN %s: %w", s.Key, err)
			}
			q := QueueDepth{Name: s.Name, Length: n}
			if pend[i] != nil {
				p, err := pend[i].Result()
				switch {
				case err == nil:
					q.Pending = p.Count
				case isNoGroup(err):
					// the stream or its group is created by the first producer
					// or consumer; nothing is pending before that.
				default:
					return out, fmt.Errorf("XPENDING %s %s: %w", s.Key, s.Group, err)
				}
			}
			out = append(out, q)
		}
		return out, nil
	}
}

func isNoGroup(err error) bool {
	return strings.HasPrefix(err.Error(), "NOGROUP")
}
