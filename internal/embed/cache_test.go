package embed

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crmpulse/crmpulse/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// counting wraps an embedder and records every text it is asked to embed.
type counting struct {
	Embedder
	mu    sync.Mutex
	calls int
	texts []string
	err   error
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.calls++
	c.texts = append(c.texts, texts...)
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c.Embedder.Embed(ctx, texts)
}

func (c *counting) reset() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	texts, calls := c.texts, c.calls
	c.texts, c.calls = nil, 0
	return texts, calls
}

func TestCachedEmbedsEachTextOnce(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	inner := &counting{Embedder: newLocal(t)}
	e := Cached(inner, rdb, "crmpulse")
	if e.Name() != inner.Name() || e.Dimension() != inner.Dimension() {
		t.Fatal("cache changes name or dimension")
	}

	first := []string{"契約更新を見直したい", "renewal at risk", "契約更新を見直したい", ""}
	got, err := e.Embed(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	texts, calls := inner.reset()
	if calls != 1 || !slices.Equal(texts, []string{"契約更新を見直したい", "renewal at risk", ""}) {
		t.Fatalf("first call: %d inner calls with %q; want one call with each distinct text", calls, texts)
	}
	for i, s := range first {
		if !slices.Equal(got[i], newLocal(t).Vector(s)) {
			t.Errorf("text %d: vector differs from the inner embedder's", i)
		}
	}

	second := []string{"renewal at risk", "新しいテキスト", "契約更新を見直したい", ""}
	got2, err := e.Embed(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	texts, calls = inner.reset()
	if calls != 1 || !slices.Equal(texts, []string{"新しいテキスト"}) {
		t.Fatalf("second call: %d inner calls with %q; want only the new text", calls, texts)
	}
	if !slices.Equal(got2[0], got[1]) || !slices.Equal(got2[2], got[0]) || !slices.Equal(got2[3], got[3]) {
		t.Error("cached vectors differ from the originals")
	}

	if _, err := e.Embed(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, calls = inner.reset(); calls != 0 {
		t.Errorf("fully cached call reached the inner embedder %d times", calls)
	}

	// Keys are namespaced, per embedder name, and expire.
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Errorf("%d keys, want 4: %q", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "crmpulse:embcache:"+inner.Name()+":") {
			t.Errorf("key %q outside the namespace", k)
		}
		if ttl := rdb.TTL(ctx, k).Val(); ttl <= 0 || ttl > CacheTTL {
			t.Errorf("key %q ttl %v", k, ttl)
		}
	}
}

func TestCachedSeparatesEmbedders(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	small, _ := NewLocal(LocalOptions{Dimension: 64, StopWords: true})
	a := &counting{Embedder: newLocal(t)}
	b := &counting{Embedder: small}
	if _, err := Cached(a, rdb, "ns").Embed(ctx, []string{"same text"}); err != nil {
		t.Fatal(err)
	}
	v, err := Cached(b, rdb, "ns").Embed(ctx, []string{"same text"})
	if err != nil {
		t.Fatal(err)
	}
	if _, calls := b.reset(); calls != 1 {
		t.Errorf("second embedder reused the first one's cache")
	}
	if len(v[0]) != 64 {
		t.Errorf("dimension %d", len(v[0]))
	}
}

func TestCachedIgnoresCorruptEntries(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	inner := &counting{Embedder: newLocal(t)}
	e := Cached(inner, rdb, "ns").(*cached)
	if err := rdb.Set(ctx, e.key("hello"), "short", 0).Err(); err != nil {
		t.Fatal(err)
	}
	v, err := e.Embed(ctx, []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, calls := inner.reset(); calls != 1 || len(v[0]) != 384 {
		t.Fatalf("corrupt entry not replaced: %d calls, len %d", calls, len(v[0]))
	}
	if n := rdb.StrLen(ctx, e.key("hello")).Val(); n != 4*384 {
		t.Errorf("stored %d bytes, want %d", n, 4*384)
	}
}

func TestCachedPropagatesErrors(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	boom := errors.New("boom")
	inner := &counting{Embedder: newLocal(t), err: boom}
	if _, err := Cached(inner, rdb, "ns").Embed(ctx, []string{"x y"}); !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if n := rdb.DBSize(ctx).Val(); n != 0 {
		t.Errorf("%d keys stored after a failure", n)
	}
	closed := redistest.Client(t)
	_ = closed.Close()
	if _, err := Cached(newLocal(t), closed, "ns").Embed(ctx, []string{"x"}); err == nil {
		t.Error("want error from a closed client")
	}
}

func TestCachedConcurrent(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	e := Cached(newLocal(t), rdb, "ns")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			texts := []string{"共通のテキスト", "shared text", strings.Repeat("g", g+1)}
			v, err := e.Embed(ctx, texts)
			if err != nil {
				t.Error(err)
				return
			}
			if len(v) != 3 || len(v[2]) != 384 {
				t.Errorf("goroutine %d: bad result", g)
			}
		})
	}
	wg.Wait()
}
