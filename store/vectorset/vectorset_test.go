package vectorset_test

import (
	"os"
	"testing"

	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/storetest"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, _ store.IndexMeta) store.VectorIndex {
		return vectorset.New(redistest.Client(t), "crmpulse:vs:test", nil)
	})
}

func TestContractWithoutAccountSets(t *testing.T) {
	if testing.Short() {
		t.Skip("the full suite already ran with account sets")
	}
	storetest.Run(t, func(t *testing.T, _ store.IndexMeta) store.VectorIndex {
		return vectorset.New(redistest.Client(t), "crmpulse:vs:test", &vectorset.Options{NoAccountSets: true})
	})
}
