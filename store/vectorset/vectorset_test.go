package vectorset_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// TestContract runs the index contract without per-account sets, the
// setting crmpulse uses.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, _ store.IndexMeta) store.VectorIndex {
		return vectorset.New(redistest.Client(t), "crmpulse:vs:test", &vectorset.Options{NoAccountSets: true})
	})
}

func TestContractWithAccountSets(t *testing.T) {
	if testing.Short() {
		t.Skip("the full suite already ran without account sets")
	}
	storetest.Run(t, func(t *testing.T, _ store.IndexMeta) store.VectorIndex {
		return vectorset.New(redistest.Client(t), "crmpulse:vs:test", nil)
	})
}

// TestStoreContract runs the store-layer contract (exact account-scoped
// Store.Search, batched chunk writes) over vector sets with and without
// per-account sets.
func TestStoreContract(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *vectorset.Options
	}{{"NoAccountSets", &vectorset.Options{NoAccountSets: true}}, {"AccountSets", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunStore(t, func(t *testing.T) *store.Store {
				rdb := redistest.Client(t)
				st, err := store.New(rdb, nil)
				if err != nil {
					t.Fatal(err)
				}
				return st.WithIndex(vectorset.New(rdb, st.Key("vs", "test"), tc.opts))
			})
		})
	}
}

// TestAccountSetsSetting switches an index between keeping per-account sets
// and not: dropping them is automatic, enabling them on a filled index that
// did not keep them is refused.
func TestAccountSetsSetting(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	meta := store.IndexMeta{Embedder: "e", Dimension: 16}
	items := storetest.NewDataset(storetest.DatasetOptions{N: 40, Dim: 16, Accounts: 4, Seed: 3}).Items
	with := vectorset.New(rdb, "vs:s", nil)
	if err := with.Ensure(ctx, meta); err != nil {
		t.Fatal(err)
	}
	if err := with.Upsert(ctx, items); err != nil {
		t.Fatal(err)
	}
	// An index written before the setting was recorded kept account sets.
	if err := rdb.HDel(ctx, "vs:s:meta", "acctsets").Err(); err != nil {
		t.Fatal(err)
	}
	acctKey := "vs:s:acct:" + items[0].Attrs.Account
	if n := rdb.Exists(ctx, acctKey, "vs:s:accts").Val(); n != 2 {
		t.Fatalf("account sets not written (%d of 2 keys)", n)
	}
	without := vectorset.New(rdb, "vs:s", &vectorset.Options{NoAccountSets: true})
	if err := without.Ensure(ctx, meta); err != nil {
		t.Fatalf("Ensure without account sets: %v", err)
	}
	if keys := rdb.Keys(ctx, "vs:s:acct*").Val(); len(keys) != 0 {
		t.Fatalf("account sets left after switching them off: %v", keys)
	}
	if n, _ := without.Count(ctx); n != int64(len(items)) {
		t.Fatalf("Count after dropping account sets = %d, want %d", n, len(items))
	}
	err := with.Ensure(ctx, meta)
	var se *vectorset.SettingsMismatchError
	if !errors.Is(err, store.ErrIndexMismatch) || !errors.As(err, &se) || se.HaveAccountSets || !se.WantAccountSets {
		t.Fatalf("Ensure with account sets on a filled index without them: %v", err)
	}
	if err := without.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := without.Ensure(ctx, meta); err != nil {
		t.Fatal(err)
	}
	if err := with.Ensure(ctx, meta); err != nil {
		t.Fatalf("Ensure with account sets on an empty index without them: %v", err)
	}
	if v := rdb.HGet(ctx, "vs:s:meta", "acctsets").Val(); v != "1" {
		t.Fatalf("meta acctsets = %q, want 1", v)
	}
}
