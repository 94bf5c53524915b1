package flavour

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// Source yields stored items, for instance the chunks of a store.Store with
// their stored embeddings:
//
//	src := func(yield func(store.Item) error) error { return st.ScanChunks(ctx, yield) }
//
// It stops and returns the first error yield returns.
type Source func(yield func(store.Item) error) error

// rebuildBatch is how many items Rebuild sends per Upsert.
const rebuildBatch = 256

// Rebuild upserts every item src yields into dst, which the caller has
// Ensured with the embedder and dimension the items were made with, in
// batches of 256. It returns how many items were written; on error, the
// items of earlier batches are in dst.
func Rebuild(ctx context.Context, src Source, dst store.VectorIndex) (n int, err error) {
	batch := make([]store.Item, 0, rebuildBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.Upsert(ctx, batch); err != nil {
			return fmt.Errorf("rebuild %s index: %w", dst.Flavour(), err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err = src(func(it store.Item) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, it)
		if len(batch) == rebuildBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, flush()
}

// SwitchResult reports what Switch did.
type SwitchResult struct {
	From    string // flavour recorded before ("" when none was)
	To      string // flavour now recorded (dst's)
	Rebuilt bool   // the items of src were re-indexed into dst
	Items   int    // how many
}

// Switch makes dst the active index of name and records its flavour under
// key (e.g. store.Key("idx", "crm", "flavour")). It Ensures dst with meta;
// when the recorded flavour differs from dst's, or none is recorded and dst
// is empty, it re-indexes src into dst with Rebuild before recording the new
// flavour, so an interrupted switch is retried by the next call. The index of
// the former flavour is left as it is: the caller drops it once dst serves.
func Switch(ctx context.Context, rdb redis.UniversalClient, key string, dst store.VectorIndex, meta store.IndexMeta, src Source) (SwitchResult, error) {
	res := SwitchResult{To: dst.Flavour()}
	from, err := rdb.Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return res, fmt.Errorf("switch index flavour: read %s: %w", key, err)
	default:
		res.From = from
	}
	if err := dst.Ensure(ctx, meta); err != nil {
		return res, fmt.Errorf("switch index flavour to %s: %w", res.To, err)
	}
	rebuild := res.From != res.To
	if res.From == "" {
		n, err := dst.Count(ctx)
		if err != nil {
			return res, fmt.Errorf("switch index flavour to %s: %w", res.To, err)
		}
		rebuild = n == 0
	}
	if rebuild {
		n, err := Rebuild(ctx, src, dst)
		res.Items = n
		if err != nil {
			return res, fmt.Errorf("switch index flavour from %q to %s after %d items: %w", res.From, res.To, n, err)
		}
		res.Rebuilt = true
	}
	if res.From != res.To {
		if err := rdb.Set(ctx, key, res.To, 0).Err(); err != nil {
			return res, fmt.Errorf("switch index flavour: record %s: %w", key, err)
		}
	}
	return res, nil
}
