package sandbox

// genState is the latent state of the generated customers that Step
// continues.
type genState struct{}

func (sb *Sandbox) generate() error { sb.gen = &genState{}; return nil }

// ImportReport is the outcome of loading a customer base from files.
type ImportReport struct{}

func (sb *Sandbox) importDir(dir string) (*ImportReport, error) { return &ImportReport{}, nil }

// OnPage is called by a dialect each time it serves a follow-up page of
// table; with Faults.MutateOnPage set it changes records under the client.
// It returns the number of records changed.
func (sb *Sandbox) OnPage(dialect, table string) int { return 0 }
