// Package churn scores B2B accounts by their probability of churning within
// a horizon, and explains each score.
//
// # Inputs
//
// An [AccountHistory] holds what the CRM knows about one account: purchases
// (orders or won deals), opportunities, activities (emails, meeting notes,
// calls) and contacts. Every computation takes an as-of date and ignores
// records dated after it, so the same code builds features for today and for
// a past cutoff in a backtest.
//
// # Features
//
// [Extract] turns a history into a [Features] vector in five groups (see
// [FeatureDefs]): BG/NBD purchase-process features from a fit on the whole
// account base (P(alive) and P(no purchase within the horizon)), RFM
// (recency, frequency, monetary), engagement (activity recency, last 90 days
// versus the prior 90, weekly slope), text cues found in recent
// communications by the English and Japanese lexicons of lexicon.go, and the
// deal pipeline (lost and stalled deals, open pipeline).
//
// P(alive) alone ranks one-time buyers as the safest accounts (it is 1 for
// them under BG/NBD); P(no purchase within the horizon) does not have that
// flaw, and the model uses both next to recency.
//
// # Model
//
// [Train] fits an L2-regularised logistic regression by iteratively
// reweighted least squares on standardised features: deterministic, and its
// probabilities are calibrated on the training population by construction
// of the likelihood. Without labelled history, [PriorModel] gives documented
// hand-set weights. Each [Score] lists its top drivers: the features with
// the largest positive contributions coef·(x − mean)/sd, named for people,
// with the record ids behind each text cue.
//
// # Evaluation
//
// [Backtest] builds features as of a training cutoff with labels from
// (cutoff, cutoff+horizon], trains, then scores a later cutoff (or a held-out
// split of accounts) and reports AUC, Brier score and a calibration table;
// [Ablation] repeats it without each feature group.
package churn

import "time"

// Purchase is an order or a won deal: money received on a date.
type Purchase struct {
	ID       string
	Date     time.Time
	Amount   float64
	Products []string
}

// Opportunity is a deal in the CRM pipeline.
type Opportunity struct {
	ID         string
	Name       string
	Stage      string
	Amount     float64
	Created    time.Time
	Closed     time.Time // zero while open
	Won, Lost  bool
	LossReason string
	Competitor string // competitor named on the deal, if any
	Products   []string
}

// Open reports whether the opportunity was still open at t.
func (o Opportunity) Open(t time.Time) bool {
	return !o.Created.After(t) && (o.Closed.IsZero() || o.Closed.After(t))
}

// Activity is an email, meeting note, call log or task.
type Activity struct {
	ID        string
	Date      time.Time
	Kind      string // "email", "meeting", "call", "note", …
	Subject   string
	Text      string
	ContactID string
}

// Contact is a person at the account.
type Contact struct {
	ID       string
	Name     string
	Title    string
	Role     string // e.g. "champion", "decision maker", "economic buyer", "user"
	Email    string
	Champion bool
	Left     time.Time // when the person left the account; zero if still there
}

// AccountHistory is everything the scorer reads about one account.
type AccountHistory struct {
	ID        string
	Name      string
	Industry  string
	Employees int
	FirstSeen time.Time // account creation or first purchase
	Renewal   time.Time // next contract renewal, if known
	// ChurnedAt is when the account was recorded as lost (contract ended,
	// marked churned). Zero when unknown; labels then fall back to "no
	// purchase in the window" (see [Label]).
	ChurnedAt     time.Time
	Owner         string // account owner (sales rep), for actions
	Purchases     []Purchase
	Opportunities []Opportunity
	Activities    []Activity
	Contacts      []Contact
}
