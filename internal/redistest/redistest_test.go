package redistest

import (
	"context"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestServerHasVectorSetsAndSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	c := Client(t)
	mods, err := c.Do(ctx, "MODULE", "LIST").Slice()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range mods {
		if v, ok := m.([]any); ok {
			for i := 0; i+1 < len(v); i += 2 {
				if v[i] == "name" && v[i+1] == "vectorset" {
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatalf("MODULE LIST has no vectorset: %v", mods)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := Shared(t).Restart(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after restart got %q, %v", got, err)
	}
	c2 := Client(t)
	if n, _ := c2.DBSize(ctx).Result(); n != 0 {
		t.Fatalf("fresh database has %d keys", n)
	}
}
