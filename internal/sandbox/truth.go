package sandbox

import "time"

// Truth is the recorded ground truth of the synthetic customers. The APIs
// never serve it; tests and `insights eval` read it to measure quality.
type Truth struct {
	Horizon  time.Time               // churn is judged at this date
	Accounts map[string]AccountTruth // by account external key (see generator)
}

// AccountTruth is one account's latent state.
type AccountTruth struct {
	Churned      bool // dropped out before Horizon
	ChurnedAt    time.Time
	Drivers      []string // e.g. "budget_cut", "competitor", "champion_left", "complaints"
	CrossSellFit []string // products the account would buy if offered
}
