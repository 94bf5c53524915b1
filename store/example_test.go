package store_test

import (
	"context"
	"fmt"
	"log"

	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// A sync pass: store a page of records with its checkpoint, chunk and embed
// the records that need it, then search an account's chunks.
func Example() {
	ctx := context.Background()
	st, err := store.Open(ctx, "redis://127.0.0.1:6379/0", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	idx := vectorset.New(st.Client(), st.Key("vs", "crm"), nil)
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: "demo", Dimension: 2}); err != nil {
		log.Fatal(err)
	}
	st = st.WithIndex(idx)

	recs := []store.Record{{
		Ref:       store.Ref{Connection: "sf", Object: store.TypeActivity, ID: "00T1"},
		AccountID: "001A",
		Fields:    map[string]any{"subject": "Renewal call"},
	}}
	cp := store.Checkpoint{Connection: "sf", Object: store.TypeActivity, Data: []byte(`{"since":"2025-01-01T00:00:00Z"}`)}
	need, err := st.PutRecordsWithCheckpoint(ctx, recs, cp)
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range recs {
		if !need[i] {
			continue
		}
		chunks := []store.Chunk{{Text: "Renewal call", Vector: []float32{0.9, 0.1},
			Attrs: store.Attrs{Account: r.AccountID, Kind: store.Slug("Call")}}}
		if err := st.ReplaceChunks(ctx, r.Ref, r.Hash, chunks); err != nil {
			log.Fatal(err)
		}
	}

	hits, err := idx.Search(ctx, store.Query{Vector: []float32{1, 0}, K: 5,
		Filter: store.Filter{Equals: map[string][]string{"account": {"001A"}}}})
	if err != nil {
		log.Fatal(err)
	}
	chunks, err := st.GetChunks(ctx, []string{hits[0].ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(hits[0].ID, chunks[0].Text)
}
