package flavour_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/flavour"
)

// Opening the index a server supports at start-up, and re-indexing the
// stored chunks once when the flavour differs from the one recorded.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	st, err := store.New(rdb, nil)
	if err != nil {
		log.Fatal(err)
	}

	idx, err := flavour.Open(ctx, rdb, st.Key("idx", "crm"), flavour.Options{Flavour: flavour.Auto})
	if err != nil {
		log.Fatal(err) // e.g. flavour.ErrUnsupported on a Redis 7 without modules
	}
	if c, ok := idx.(io.Closer); ok {
		defer c.Close()
	}

	meta := store.IndexMeta{Embedder: "local-hash-v1", Dimension: 384}
	chunks := func(yield func(store.Item) error) error { return st.ScanChunks(ctx, yield) }
	res, err := flavour.Switch(ctx, rdb, st.Key("idx", "crm", "flavour"), idx, meta, chunks)
	if err != nil {
		log.Fatal(err)
	}
	if res.Rebuilt {
		fmt.Printf("index flavour %q -> %q: re-indexed %d chunks\n", res.From, res.To, res.Items)
	}
	// Chunk writes from now on go to idx.
	st = st.WithIndex(idx)
	fmt.Println("serving from the", st.Index().Flavour(), "index")
}
