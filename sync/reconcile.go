package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// reconcileDue reports whether this run reconciles ids: forced, a deletion
// list was unavailable, or ReconcileEvery passed since the last time.
func (c *connRun) reconcileDue(ctx context.Context) (bool, error) {
	c.mu.Lock()
	forced := c.forceReconcile
	c.mu.Unlock()
	if c.e.opt.Reconcile || forced {
		return true, nil
	}
	if c.e.opt.ReconcileEvery <= 0 {
		return false, nil
	}
	s, err := c.e.st.Client().Get(ctx, reconciledKey(c.e.st, c.name())).Result()
	if errors.Is(err, redis.Nil) {
		// Never reconciled: the first full sync has just read every id, so
		// start the cadence now.
		if c.e.opt.DryRun {
			return false, nil
		}
		return false, c.e.st.Client().Set(ctx, reconciledKey(c.e.st, c.name()), c.e.opt.Now().UTC().Format(time.RFC3339), 0).Err()
	}
	if err != nil {
		return false, fmt.Errorf("read reconciliation time: %w", err)
	}
	last, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return true, nil
	}
	return c.e.opt.Now().Sub(last) >= c.e.opt.ReconcileEvery, nil
}

// reconcile deletes stored records whose ids the CRM no longer lists.
func (c *connRun) reconcile(ctx context.Context, objs []ObjectSummary) error {
	for i, obj := range c.src.Objects {
		typ := storeType(obj)
		live, err := c.src.Conn.ListIDs(ctx, obj)
		if err != nil {
			return fmt.Errorf("%s: %w", obj, err)
		}
		liveSet := make(map[string]bool, len(live))
		for _, id := range live {
			liveSet[id] = true
		}
		have, err := c.e.st.RecordIDs(ctx, c.name(), typ)
		if err != nil {
			return err
		}
		var gone []store.Ref
		for _, id := range have {
			if !liveSet[id] {
				gone = append(gone, store.Ref{Connection: c.name(), Object: typ, ID: id})
			}
		}
		c.e.progress(Progress{Conn: c.name(), Object: string(obj), Phase: PhaseReconcile, Done: int64(len(have)), Total: int64(len(have))})
		if len(gone) > 0 {
			c.e.log.Info("records purged from the CRM", "connection", c.name(), "object", obj, "records", len(gone))
		}
		if err := c.deleteRefs(ctx, gone, &objs[i].Purged); err != nil {
			return err
		}
	}
	if c.e.opt.DryRun {
		return nil
	}
	return c.e.st.Client().Set(ctx, reconciledKey(c.e.st, c.name()), c.e.opt.Now().UTC().Format(time.RFC3339), 0).Err()
}
