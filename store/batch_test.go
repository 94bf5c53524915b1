package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// owners returns n document owners of connection conn over 7 accounts,
// owner i with 1 + i%3 chunks.
func owners(n int, conn string) []store.OwnerChunks {
	out := make([]store.OwnerChunks, n)
	for i := range out {
		texts := make([]string, 1+i%3)
		for j := range texts {
			texts[j] = fmt.Sprintf("owner %d part %d", i, j)
		}
		out[i] = store.OwnerChunks{
			Ref:    store.Ref{Connection: conn, Object: store.TypeDocument, ID: fmt.Sprintf("doc-%04d", i)},
			Chunks: chunksFor(fmt.Sprintf("001A%d", i%7), texts...),
		}
	}
	return out
}

// chunkState lists every chunk hash, every registered chunk id and the
// vector count.
func chunkState(t *testing.T, s *store.Store, rdb *redis.Client) (hashes, registered []string, vectors int64) {
	t.Helper()
	ctx := context.Background()
	if err := s.ScanChunks(ctx, func(it store.Item) error {
		hashes = append(hashes, it.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "crmpulse:rchunks:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		registered = append(registered, rdb.SMembers(ctx, k).Val()...)
	}
	slices.Sort(hashes)
	slices.Sort(registered)
	n, err := s.Index().Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return hashes, registered, n
}

func wantIDs(os []store.OwnerChunks) []string {
	var ids []string
	for _, o := range os {
		for i := range o.Chunks {
			ids = append(ids, store.ChunkID(o.Ref, i))
		}
	}
	slices.Sort(ids)
	return ids
}

func TestReplaceChunksBatch(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t)
	first := owners(1200, "sf") // more owners and chunks than one round trip carries
	if err := s.ReplaceChunksBatch(ctx, first); err != nil {
		t.Fatal(err)
	}
	hashes, registered, n := chunkState(t, s, rdb)
	want := wantIDs(first)
	if !slices.Equal(hashes, want) || !slices.Equal(registered, want) || n != int64(len(want)) {
		t.Fatalf("after the first batch: %d hashes, %d registered ids, %d vectors; want %d of each", len(hashes), len(registered), n, len(want))
	}
	for _, o := range first[:5] {
		refs, _ := s.AccountRecords(ctx, "sf", o.Chunks[0].Attrs.Account)
		if !slices.Contains(refs, o.Ref) {
			t.Fatalf("owner %s missing from the index of account %s", o.Ref, o.Chunks[0].Attrs.Account)
		}
	}

	// Shrink some owners, grow others, empty a few: stale chunks go.
	second := owners(1200, "sf")
	for i := range second {
		switch i % 4 {
		case 0:
			second[i].Chunks = second[i].Chunks[:1]
		case 1:
			second[i].Chunks = append(second[i].Chunks, chunksFor("001A1", "extra")...)
		case 2:
			second[i].Chunks = nil
		}
	}
	if err := s.ReplaceChunksBatch(ctx, second); err != nil {
		t.Fatal(err)
	}
	hashes, registered, n = chunkState(t, s, rdb)
	want = wantIDs(second)
	if !slices.Equal(hashes, want) || !slices.Equal(registered, want) || n != int64(len(want)) {
		t.Fatalf("after the second batch: %d hashes, %d registered ids, %d vectors; want %d of each", len(hashes), len(registered), n, len(want))
	}
	got, err := s.GetChunks(ctx, []string{store.ChunkID(second[1].Ref, 2)})
	if err != nil || len(got) != 1 || got[0].Text != "extra" {
		t.Fatalf("grown owner's new chunk = %+v, %v", got, err)
	}
}

func TestReplaceChunksBatchRefusesBeforeWriting(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t)
	dup := owners(3, "sf")
	dup[2].Ref = dup[0].Ref
	if err := s.ReplaceChunksBatch(ctx, dup); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("owner listed twice: %v", err)
	}
	bad := owners(3, "sf")
	bad[1].Chunks[0].Attrs.Industry = `re"tail`
	if err := s.ReplaceChunksBatch(ctx, bad); !errors.Is(err, store.ErrInvalidAttrs) || !strings.Contains(err.Error(), "doc-0001") {
		t.Fatalf("invalid attribute: %v", err)
	}
	short := owners(3, "sf")
	short[2].Chunks[0].Vector = short[2].Chunks[0].Vector[:dim-1]
	if err := s.ReplaceChunksBatch(ctx, short); !errors.Is(err, store.ErrDimension) {
		t.Fatalf("short vector: %v", err)
	}
	badRef := owners(2, "sf")
	badRef[1].Ref.Connection = "s:f"
	if err := s.ReplaceChunksBatch(ctx, badRef); err == nil {
		t.Fatal("invalid ref accepted")
	}
	if hashes, _, n := chunkState(t, s, rdb); len(hashes) != 0 || n != 0 {
		t.Fatalf("refused batches wrote %d chunk hashes and %d vectors", len(hashes), n)
	}
}

// failingIndex fails the nth Upsert or Delete call (counting both), as a
// crash or a lost connection at that step would.
type failingIndex struct {
	store.VectorIndex
	calls, failAt int
}

var errInjected = errors.New("injected failure")

func (f *failingIndex) step() error {
	f.calls++
	if f.calls == f.failAt {
		return errInjected
	}
	return nil
}

func (f *failingIndex) Upsert(ctx context.Context, items []store.Item) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.VectorIndex.Upsert(ctx, items)
}

func (f *failingIndex) Delete(ctx context.Context, ids ...string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.VectorIndex.Delete(ctx, ids...)
}

// TestReplaceChunksBatchConvergesAfterFailure interrupts a batch at the
// vector write and at the stale-vector delete: nothing is left untracked
// (every hash and vector has a registered id), and the retry converges.
func TestReplaceChunksBatchConvergesAfterFailure(t *testing.T) {
	ctx := context.Background()
	for _, failAt := range []int{1, 2} {
		t.Run(fmt.Sprint("fail call ", failAt), func(t *testing.T) {
			s, rdb := newStore(t)
			before := owners(300, "sf")
			if err := s.ReplaceChunksBatch(ctx, before); err != nil {
				t.Fatal(err)
			}
			after := owners(300, "sf")
			for i := range after {
				if i%2 == 0 {
					after[i].Chunks = after[i].Chunks[:1]
				} else {
					after[i].Chunks = append(after[i].Chunks, chunksFor("001A3", "more")...)
				}
			}
			fi := &failingIndex{VectorIndex: s.Index(), failAt: failAt}
			if err := s.WithIndex(fi).ReplaceChunksBatch(ctx, after); !errors.Is(err, errInjected) {
				t.Fatalf("interrupted batch: %v", err)
			}
			hashes, registered, n := chunkState(t, s, rdb)
			for _, h := range hashes {
				if _, ok := slices.BinarySearch(registered, h); !ok {
					t.Fatalf("chunk hash %s left untracked", h)
				}
			}
			vecs := rdb.VRandMemberCount(ctx, s.Key("vs", "crm"), int(n)).Val()
			for _, v := range vecs {
				if _, ok := slices.BinarySearch(registered, v); !ok {
					t.Fatalf("vector %s left untracked", v)
				}
			}
			if len(vecs) != int(n) {
				t.Fatalf("listed %d of %d vectors", len(vecs), n)
			}
			if err := s.ReplaceChunksBatch(ctx, nil); err != nil {
				t.Fatalf("empty batch: %v", err)
			}
			// The retry (fresh chunk values, as a caller would rebuild them).
			retry := owners(300, "sf")
			for i := range retry {
				retry[i].Chunks = after[i].Chunks
			}
			if err := s.ReplaceChunksBatch(ctx, retry); err != nil {
				t.Fatal(err)
			}
			hashes, registered, n = chunkState(t, s, rdb)
			want := wantIDs(retry)
			if !slices.Equal(hashes, want) || !slices.Equal(registered, want) || n != int64(len(want)) {
				t.Fatalf("after the retry: %d hashes, %d registered ids, %d vectors; want %d of each", len(hashes), len(registered), n, len(want))
			}
		})
	}
}
