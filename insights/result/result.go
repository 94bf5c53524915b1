// Package result defines what an insight run produces for one account and
// how it is kept in Redis, so that write-back, segments, reports and the CLI
// read it without depending on the engine that computed it.
//
// # Redis layout
//
// Every key starts with the store namespace <ns> (store.Store.Key):
//
//	<ns>:insight:<conn>:<account>        string  latest Result (JSON)
//	<ns>:insighthist:<conn>:<account>    list    earlier Results, newest first
//	                                             (JSON, at most HistoryLimit)
//	<ns>:insights:<conn>                 zset    account ids scored by the unix
//	                                             time of their latest analysis
//	<ns>:winback:<conn>:<account>        string  latest WinbackPlan (JSON)
//	<ns>:segstrategy:<conn>:<segment>    string  latest SegmentStrategy (JSON)
//
// Save writes the latest result, pushes it onto the history and updates the
// listing in one MULTI/EXEC transaction: a reader never sees a result that
// is missing from the listing. Only validated results are ever saved; an LLM
// answer that failed validation is reported by the caller and not stored.
package result

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
)

// Sources of a result's narrative.
const (
	SourceStatistical = "statistical" // rule-based text from the statistics
	SourceLLM         = "llm"         // validated LLM analysis with citations
)

// Risk bands.
const (
	BandLow    = "low"
	BandMedium = "medium"
	BandHigh   = "high"
)

// Band thresholds on the churn probability: below LowBelow is low, at or
// above HighFrom is high, medium in between. HighFrom matches the
// probability from which next-action deadlines are halved.
const (
	LowBelow = 0.2
	HighFrom = 0.5
)

// BandOf returns the risk band of a churn probability.
func BandOf(p float64) string {
	switch {
	case p >= HighFrom:
		return BandHigh
	case p < LowBelow:
		return BandLow
	default:
		return BandMedium
	}
}

// Lift thresholds of BandFor: a churn probability at least HighLift times
// the account base's churn rate is high, at least MediumLift times medium.
const (
	HighLift   = 3.0
	MediumLift = 1.5
)

// BandFor returns the risk band of churn probability p on an account base
// whose churn rate over the same horizon is base (0 when unknown: BandOf).
//
// A calibrated probability is small for almost every account of a base that
// rarely churns (B2B bases often lose 5–10 % of accounts a year), so the
// absolute thresholds alone would call nearly every account low risk. The
// band therefore also rises with the lift over the base rate: high from
// HighLift × base, medium from MediumLift × base, never later than the
// absolute thresholds LowBelow and HighFrom.
func BandFor(p, base float64) string {
	if !(base > 0 && base < 1) {
		return BandOf(p)
	}
	high := min(HighFrom, HighLift*base)
	medium := min(LowBelow, MediumLift*base)
	switch {
	case p >= high:
		return BandHigh
	case p >= medium:
		return BandMedium
	default:
		return BandLow
	}
}

// HistoryLimit is how many earlier results are kept per account.
const HistoryLimit = 20

// ErrNotFound: nothing is stored for that account or segment.
var ErrNotFound = errors.New("insight not found")

// Driver is one reason behind the churn probability.
type Driver struct {
	Feature      string   `json:"feature"`
	Label        string   `json:"label"`
	Group        string   `json:"group"`
	Value        float64  `json:"value"`
	Typical      float64  `json:"typical"`
	Contribution float64  `json:"contribution"` // log-odds
	Evidence     []string `json:"evidence,omitempty"`
	// Phrases are the text cues found in the evidence, when any.
	Phrases []string `json:"phrases,omitempty"`
}

// Action is a recommended next step.
type Action struct {
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	TitleJA  string    `json:"title_ja,omitempty"`
	Contact  string    `json:"contact,omitempty"`      // contact id
	Name     string    `json:"contact_name,omitempty"` // contact name (never sent to an LLM)
	Owner    string    `json:"owner,omitempty"`
	Due      time.Time `json:"due"`
	Priority float64   `json:"priority"`
	Reason   string    `json:"reason"`
	Evidence []string  `json:"evidence,omitempty"`
}

// CrossSell is a product the account does not own yet.
type CrossSell struct {
	Product    string   `json:"product"`
	Score      float64  `json:"score"`
	Accounts   []string `json:"accounts"` // similar accounts owning it
	Evidence   []string `json:"evidence,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Upsell     bool     `json:"upsell,omitempty"` // expansion of what the account owns
	Similarity float64  `json:"similarity,omitempty"`
}

// Competitor is a competitor named in the account's deals or communications.
type Competitor struct {
	Name      string    `json:"name"`
	Mentions  int       `json:"mentions"`
	LostDeals int       `json:"lost_deals"`
	Last      time.Time `json:"last"`
	Evidence  []string  `json:"evidence"`
}

// Quarter is the purchase total of one calendar quarter.
type Quarter struct {
	Label  string  `json:"label"` // "2024Q3"
	Amount float64 `json:"amount"`
	Count  int     `json:"count"`
}

// Citation is a record or chunk a statement rests on.
type Citation struct {
	ID    string `json:"id"`              // record ref "<conn>:<object>:<id>", record id or chunk id
	Title string `json:"title,omitempty"` // what it is, for people
}

// Point is one cited statement of an analysis.
type Point struct {
	Text      string   `json:"text"`
	Citations []string `json:"citations"`
}

// Analysis is the narrative part of an account insight: the six questions
// the account review answers. It comes from the LLM (validated, cited) or
// from the statistics (source "statistical").
type Analysis struct {
	Summary         string  `json:"summary"`
	Challenges      []Point `json:"challenges"`
	Needs           []Point `json:"needs"`
	PurchasePattern Point   `json:"purchase_pattern"`
	DecisionProcess Point   `json:"decision_process"`
	CrossSell       []Point `json:"cross_sell"`
	ChurnRisk       struct {
		Level   string  `json:"level"`
		Factors []Point `json:"factors"`
	} `json:"churn_risk"`
	Competitors []Point `json:"competitors"`
	NextActions []Point `json:"next_actions"`
}

// Result is one account's insight as of AnalysedAt.
type Result struct {
	Account     string       `json:"account"`
	AccountName string       `json:"account_name,omitempty"`
	Connection  string       `json:"conn"`
	Industry    string       `json:"industry,omitempty"`
	SizeBand    string       `json:"size_band,omitempty"`
	Owner       string       `json:"owner,omitempty"`
	AsOf        time.Time    `json:"as_of"`
	Churn       float64      `json:"churn"` // probability 0..1
	Band        string       `json:"band"`  // low|medium|high
	Drivers     []Driver     `json:"drivers"`
	Actions     []Action     `json:"actions"`
	CrossSell   []CrossSell  `json:"cross_sell"`
	Competitors []Competitor `json:"competitors"`
	Quarters    []Quarter    `json:"quarters,omitempty"`
	// LastPurchase is zero when the account never bought.
	LastPurchase time.Time  `json:"last_purchase,omitzero"`
	Summary      string     `json:"summary"`
	Analysis     *Analysis  `json:"analysis,omitempty"`
	Evidence     []Citation `json:"evidence"`
	// Model is the churn model ("logistic" trained on the connection's own
	// history, or "prior") and, for LLM results, the LLM model after a '+'.
	Model         string    `json:"model"`
	PromptVersion string    `json:"prompt_version,omitempty"`
	Source        string    `json:"source"` // statistical|llm
	Language      string    `json:"language,omitempty"`
	Fingerprint   string    `json:"fingerprint,omitempty"` // hash of the inputs; equal inputs, equal result
	AnalysedAt    time.Time `json:"analysed_at"`
	// Warnings say what could not be done (no vector index, LLM budget
	// exhausted, LLM answer rejected …).
	Warnings []string `json:"warnings,omitempty"`
}

// WinbackPlan is the plan for an account that stopped buying.
type WinbackPlan struct {
	Account       string    `json:"account"`
	Connection    string    `json:"conn"`
	MonthsSince   float64   `json:"months_since_purchase"`
	Risk          string    `json:"risk"` // low|medium|high: risk that the account is lost for good
	Assessment    Point     `json:"assessment"`
	Steps         []Point   `json:"steps"`
	Precedents    []string  `json:"precedents"` // accounts that came back after a similar gap
	Source        string    `json:"source"`
	Model         string    `json:"model"`
	PromptVersion string    `json:"prompt_version,omitempty"`
	AnalysedAt    time.Time `json:"analysed_at"`
}

// SegmentStrategy is the approach for one segment.
type SegmentStrategy struct {
	Segment       string    `json:"segment"`
	Connection    string    `json:"conn"`
	Accounts      int       `json:"accounts"`
	Needs         []Point   `json:"needs"`
	Behaviour     []Point   `json:"behaviour"`
	Approach      []Point   `json:"approach"`
	Risks         []Point   `json:"risks"`
	Source        string    `json:"source"`
	Model         string    `json:"model"`
	PromptVersion string    `json:"prompt_version,omitempty"`
	AnalysedAt    time.Time `json:"analysed_at"`
}

// Key returns the key of the latest result of an account.
func Key(st *store.Store, conn, account string) string {
	return st.Key("insight", conn, account)
}

// HistoryKey returns the key of an account's earlier results.
func HistoryKey(st *store.Store, conn, account string) string {
	return st.Key("insighthist", conn, account)
}

// ListKey returns the key of a connection's analysed accounts.
func ListKey(st *store.Store, conn string) string { return st.Key("insights", conn) }

func check(conn, id string) error {
	return (store.Ref{Connection: conn, Object: "insight", ID: id}).Validate()
}

// Save stores r as the latest result of its account, adds it to the
// account's history and to the connection's listing.
func Save(ctx context.Context, st *store.Store, r *Result) error {
	if err := check(r.Connection, r.Account); err != nil {
		return fmt.Errorf("save insight: %w", err)
	}
	if r.AnalysedAt.IsZero() {
		return fmt.Errorf("save insight %s/%s: analysed_at is not set", r.Connection, r.Account)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save insight %s/%s: %w", r.Connection, r.Account, err)
	}
	hk := HistoryKey(st, r.Connection, r.Account)
	_, err = st.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, Key(st, r.Connection, r.Account), b, 0)
		p.LPush(ctx, hk, b)
		p.LTrim(ctx, hk, 0, HistoryLimit-1)
		p.ZAdd(ctx, ListKey(st, r.Connection), redis.Z{Score: float64(r.AnalysedAt.Unix()), Member: r.Account})
		return nil
	})
	if err != nil {
		return fmt.Errorf("save insight %s/%s: %w", r.Connection, r.Account, err)
	}
	return nil
}

// LoadResult returns the latest result of an account, or an error wrapping
// ErrNotFound.
func LoadResult(ctx context.Context, st *store.Store, conn, account string) (*Result, error) {
	var r Result
	if err := getJSON(ctx, st, Key(st, conn, account), &r); err != nil {
		return nil, fmt.Errorf("load insight %s/%s: %w", conn, account, err)
	}
	return &r, nil
}

// History returns up to n earlier results of an account, newest first
// (n <= 0: all kept).
func History(ctx context.Context, st *store.Store, conn, account string, n int) ([]Result, error) {
	stop := int64(-1)
	if n > 0 {
		stop = int64(n - 1)
	}
	raw, err := st.Client().LRange(ctx, HistoryKey(st, conn, account), 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("insight history %s/%s: %w", conn, account, err)
	}
	out := make([]Result, 0, len(raw))
	for i, s := range raw {
		var r Result
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return nil, fmt.Errorf("insight history %s/%s entry %d: %w", conn, account, i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Accounts returns the ids of a connection's analysed accounts, most
// recently analysed first.
func Accounts(ctx context.Context, st *store.Store, conn string) ([]string, error) {
	ids, err := st.Client().ZRevRange(ctx, ListKey(st, conn), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list insights of %s: %w", conn, err)
	}
	return ids, nil
}

// LoadAll returns the latest result of every analysed account of a
// connection, in the order of Accounts. Accounts whose result vanished
// meanwhile (erased) are skipped.
func LoadAll(ctx context.Context, st *store.Store, conn string) ([]*Result, error) {
	ids, err := Accounts(ctx, st, conn)
	if err != nil {
		return nil, err
	}
	out := make([]*Result, 0, len(ids))
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		keys := make([]string, len(part))
		for k, id := range part {
			keys[k] = Key(st, conn, id)
		}
		vals, err := st.Client().MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("load insights of %s: %w", conn, err)
		}
		for k, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			var r Result
			if err := json.Unmarshal([]byte(s), &r); err != nil {
				return nil, fmt.Errorf("load insight %s/%s: %w", conn, part[k], err)
			}
			out = append(out, &r)
		}
	}
	return out, nil
}

// Delete removes everything stored about an account's insights (erasure).
func Delete(ctx context.Context, st *store.Store, conn, account string) error {
	_, err := st.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, Key(st, conn, account), HistoryKey(st, conn, account), st.Key("winback", conn, account))
		p.ZRem(ctx, ListKey(st, conn), account)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete insight %s/%s: %w", conn, account, err)
	}
	return nil
}

// SaveWinback stores the latest win-back plan of an account.
func SaveWinback(ctx context.Context, st *store.Store, p *WinbackPlan) error {
	if err := check(p.Connection, p.Account); err != nil {
		return fmt.Errorf("save win-back plan: %w", err)
	}
	return setJSON(ctx, st, st.Key("winback", p.Connection, p.Account), p)
}

// LoadWinback returns the latest win-back plan of an account.
func LoadWinback(ctx context.Context, st *store.Store, conn, account string) (*WinbackPlan, error) {
	var p WinbackPlan
	if err := getJSON(ctx, st, st.Key("winback", conn, account), &p); err != nil {
		return nil, fmt.Errorf("load win-back plan %s/%s: %w", conn, account, err)
	}
	return &p, nil
}

// SaveSegmentStrategy stores the latest strategy of a segment.
func SaveSegmentStrategy(ctx context.Context, st *store.Store, s *SegmentStrategy) error {
	if err := check(s.Connection, s.Segment); err != nil {
		return fmt.Errorf("save segment strategy: %w", err)
	}
	return setJSON(ctx, st, st.Key("segstrategy", s.Connection, s.Segment), s)
}

// LoadSegmentStrategy returns the latest strategy of a segment.
func LoadSegmentStrategy(ctx context.Context, st *store.Store, conn, segment string) (*SegmentStrategy, error) {
	var s SegmentStrategy
	if err := getJSON(ctx, st, st.Key("segstrategy", conn, segment), &s); err != nil {
		return nil, fmt.Errorf("load segment strategy %s/%s: %w", conn, segment, err)
	}
	return &s, nil
}

func setJSON(ctx context.Context, st *store.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.Client().Set(ctx, key, b, 0).Err()
}

func getJSON(ctx context.Context, st *store.Store, key string, v any) error {
	b, err := st.Client().Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
