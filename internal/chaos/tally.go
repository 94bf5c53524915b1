package chaos

import (
	"fmt"
	"io"
	"slices"
	gosync "sync"
)

// Tally counts trials and their losses and duplicates per kind, for the
// summary line the suite prints at the end.
type Tally struct {
	mu    gosync.Mutex
	kinds map[string]*KindTally
}

// KindTally is the count of one kind of trial.
type KindTally struct {
	Trials, Lost, Duplicated int
}

// Add records one trial of kind with its losses and duplicates.
func (t *Tally) Add(kind string, lost, duplicated int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.kinds == nil {
		t.kinds = map[string]*KindTally{}
	}
	k := t.kinds[kind]
	if k == nil {
		k = &KindTally{}
		t.kinds[kind] = k
	}
	k.Trials++
	k.Lost += lost
	k.Duplicated += duplicated
}

// Write prints one line per kind and the summary line
// "chaos: N trials, L lost, D duplicated". It writes nothing when no trial ran.
func (t *Tally) Write(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.kinds) == 0 {
		return
	}
	names := make([]string, 0, len(t.kinds))
	for k := range t.kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	var total KindTally
	for _, n := range names {
		k := t.kinds[n]
		fmt.Fprintf(w, "chaos: %-28s %3d trials, %d lost, %d duplicated\n", n, k.Trials, k.Lost, k.Duplicated)
		total.Trials += k.Trials
		total.Lost += k.Lost
		total.Duplicated += k.Duplicated
	}
	fmt.Fprintf(w, "chaos: %d trials, %d lost, %d duplicated\n", total.Trials, total.Lost, total.Duplicated)
}

// All is the suite-wide tally Main prints after the tests.
var All Tally
