package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// Truth is the recorded ground truth of the synthetic customers. The APIs
// never serve it; tests and `insights eval` read it to measure quality.
//
// Backtest protocol: fit on CRM data stamped at or before Cutoff; the
// population is the accounts with AliveAtCutoff; the label is Churned (the
// account dropped out in (Cutoff, Horizon]). Horizon is the sandbox "now"
// at generation, so the whole label window is present in the CRM history.
// Forward evaluation at Horizon uses ChurnsSoon (drop-out within the next
// Holdout after Horizon, whose warning signs already show in the CRM).
type Truth struct {
	Cutoff   time.Time               // calibration date: Horizon - Holdout
	Horizon  time.Time               // churn is judged at this date
	Accounts map[string]AccountTruth // by account external key (see generator)

	bySF, byHS map[string]string // tenant id -> key
}

// AccountTruth is one account's latent state.
type AccountTruth struct {
	Churned      bool // dropped out in (Cutoff, Horizon] after being alive at Cutoff
	ChurnedAt    time.Time
	Drivers      []string // e.g. "budget_cut", "competitor", "champion_left", "complaints"
	CrossSellFit []string // products the account would buy if offered

	Key          string `json:",omitempty"` // external key ("A000042")
	SalesforceID string `json:",omitempty"` // Account id in the org
	HubSpotID    string `json:",omitempty"` // company id in the portal
	Name         string `json:",omitempty"`
	Industry     string `json:",omitempty"` // Salesforce picklist value
	SizeBand     string `json:",omitempty"` // "1-50", "51-200", "201-1000", "1001-5000", "5000+"
	Language     string `json:",omitempty"` // "ja" | "en"

	Customer      bool      // ever bought
	AliveAtCutoff bool      // a customer that had not dropped out by Cutoff
	DroppedOutAt  time.Time // latent drop-out instant (zero: none within the simulated span)
	ChurnsSoon    bool      // drops out in (Horizon, Horizon+Holdout]
	// Lambda is the latent purchase rate (purchases per year); DropoutP the
	// probability of dropping out after each purchase.
	Lambda   float64
	DropoutP float64
	Products []string // products owned at Horizon
	// Situation is the account's narrative at Horizon: "happy",
	// "expansion", "neutral", "at_risk" (drivers active), "churned".
	Situation string `json:",omitempty"`
}

// Register adds an account's truth and indexes it by both tenant ids.
func (t *Truth) Register(a AccountTruth) {
	if t.Accounts == nil {
		t.Accounts = map[string]AccountTruth{}
	}
	t.Accounts[a.Key] = a
	t.index(a)
}

func (t *Truth) index(a AccountTruth) {
	if t.bySF == nil {
		t.bySF, t.byHS = map[string]string{}, map[string]string{}
	}
	if a.SalesforceID != "" {
		t.bySF[a.SalesforceID] = a.Key
	}
	if a.HubSpotID != "" {
		t.byHS[a.HubSpotID] = a.Key
	}
}

// BySalesforceID returns the truth of the account with that org id.
func (t *Truth) BySalesforceID(id string) (AccountTruth, bool) {
	a, ok := t.Accounts[t.bySF[CaseSafeID(id)]]
	return a, ok
}

// ByHubSpotID returns the truth of the company with that portal id.
func (t *Truth) ByHubSpotID(id string) (AccountTruth, bool) {
	a, ok := t.Accounts[t.byHS[id]]
	return a, ok
}

// Keys returns the account keys, sorted.
func (t *Truth) Keys() []string { return sortedKeys(t.Accounts) }

type truthJSON struct {
	Cutoff   time.Time      `json:"cutoff"`
	Horizon  time.Time      `json:"horizon"`
	Accounts []AccountTruth `json:"accounts"`
}

// WriteTruth writes the truth as indented JSON, accounts sorted by key.
func (t *Truth) WriteTruth(w io.Writer) error {
	out := truthJSON{Cutoff: t.Cutoff, Horizon: t.Horizon, Accounts: make([]AccountTruth, 0, len(t.Accounts))}
	for _, k := range t.Keys() {
		out.Accounts = append(out.Accounts, t.Accounts[k])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// ReadTruth parses what WriteTruth wrote.
func ReadTruth(r io.Reader) (*Truth, error) {
	var in truthJSON
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	t := &Truth{Cutoff: in.Cutoff, Horizon: in.Horizon, Accounts: make(map[string]AccountTruth, len(in.Accounts))}
	for _, a := range in.Accounts {
		if a.Key == "" {
			return nil, fmt.Errorf("read truth: account without key")
		}
		t.Register(a)
	}
	return t, nil
}

// WriteTruth writes the sandbox's truth (see Truth.WriteTruth).
func (sb *Sandbox) WriteTruth(w io.Writer) error { return sb.Truth.WriteTruth(w) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
