// Package sandbox is an offline CRM: one Salesforce org and one HubSpot
// portal, populated with synthetic (or imported) customers, served over HTTP
// in the real Salesforce REST and HubSpot v3 wire formats by the subpackages
// salesforce and hubspot, composed by sandboxsrv.
//
// The package itself holds the state both dialects share: the two table
// stores, the clock, the recorded truth of the synthetic customers, API call
// counters, fault switches and OAuth tokens.
//
// # Generative model
//
// New generates Options.Accounts accounts. Account i draws everything from
// its own PCG stream seeded by (Seed, i), so the same seed gives identical
// data and a smaller base is a prefix of a larger one. Each account has an
// industry (10, weighted), a size band (1-50 … 5000+), a language (Japanese
// with probability JapaneseShare, else English) and a name in that language.
//
// Purchases follow a BG/NBD-like latent process: a rate λ ~ Gamma(3, 0.45)
// purchases per year (times a size-band factor) and, after every purchase, a
// drop-out with probability p ~ Beta(1.5, 10). The first purchase falls in
// the History window (25% of customers predate it and were migrated into the
// CRM in one batch; 12% of accounts are prospects that never buy). A
// drop-out becomes effective 60-300 days after the purchase that triggered
// it (the subscription runs out); that instant is the account's churn date,
// caused by one or two drivers (budget_cut, competitor, champion_left,
// complaints, low_usage). Each purchase is a Closed Won opportunity (New
// Business, Upgrade to a product chosen by the account's latent product
// affinity, or Renewal); lost pipeline (about 1.6 per purchase, with loss
// reasons and named competitors), the lapsed renewal of churned accounts and
// open pipeline of live accounts complete the opportunities. Amounts are
// list prices scaled by size band with log-normal noise.
//
// Activities (emails, calls, meetings, notes, tasks; Salesforce Task/Event,
// HubSpot engagements) arrive as a Poisson process (about 7 per year times a
// size-band factor times ActivityScale) plus a few per opportunity. Their
// text reflects the account's situation: over the 120 days before drop-out
// the rate decays to 30% and the share of activities about the churn
// drivers rises from 25% to 90% (予算削減, competitor evaluations, 担当者退職
// with the champion contact marked as having left, complaints, low usage);
// after drop-out only unanswered follow-ups remain. Healthy accounts talk
// about routine business, happy usage or expansion plans (拡大), with some
// noise (the odd complaint or competitor mention).
//
// # Truth and backtests
//
// The truth (Sandbox.Truth, written by WriteTruth; never served by the CRM
// APIs) records per account the latent λ and p, the drop-out instant, the
// drivers, the products owned and the cross-sell fit (products not owned
// whose latent affinity is at least 0.6, plus whatever the account buys
// after Horizon). Horizon is the sandbox "now" and Cutoff = Horizon - Holdout
// (180 days by default). Backtest: fit on data stamped up to Cutoff, score
// the accounts with AliveAtCutoff, compare with Churned (drop-out in
// (Cutoff, Horizon]). Forward check at Horizon: ChurnsSoon (drop-out within
// Holdout after Horizon), whose decline already shows in the CRM.
//
// # Time steps
//
// Step(days) advances the clock and mutates both tenants deterministically
// (seed and step number): new deals and emails, stage moves and amount
// edits, a bulk edit whose records share one stamp, soft deletes, undeletes,
// purges and the churn events of accounts whose drop-out falls in the step.
// Faults.MutateOnPage makes records change while a client pages (the
// dialects call OnPage).
//
// # Storage and scale
//
// Each tenant is a Store that keeps its tables column-wise: typed slices per
// field (numbers, booleans and times as machine words, repeated strings such
// as picklist values and parent ids as codes into one dictionary per store),
// history only for fields written after the insert, the id and stamp fields
// derived from the row's own stamps, generated ids found by sequence number,
// and associations as small per-record lists. The generator reuses one field
// map, lays activity texts out so that both tenants share the same bytes and
// reserves table room once the first 500 accounts show the table sizes.
// Get and Scan hand out copies; ScanView reads in place and ScanFrom pages
// in id order from a cursor without touching the rows before it.
//
// Measured on a shared 2-core machine (BenchmarkGenerate2k/100k): 2,000
// accounts (169k rows over both tenants) build in about 0.6 s with a 51 MB
// live heap; 100,000 accounts (8.4M rows) in about 1.5 min wall clock
// (35-50 s of CPU time) with a 2.5 GB live heap and a 4.6 GB peak resident
// set.
//
// # Import
//
// With Options.ImportDir the customer base is read from accounts, contacts,
// opportunities and activities files (CSV or JSON); the columns are
// documented in testdata/import-example/README.md:
//
//	accounts:      key*, name*, industry, employees, annual_revenue, country, city, website, phone, language, created, description
//	contacts:      account_key*, last_name*, first_name, email, title, phone, champion
//	opportunities: account_key*, product*, stage*, close_date*, name, type, amount, created, loss_reason, competitor
//	activities:    account_key*, kind*, timestamp*, subject, body, contact_email, direction
//
// Bad rows are skipped, logged and listed in Sandbox.Import with file and line.
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Options configure a sandbox. Zero values mean the documented defaults.
type Options struct {
	Accounts     int           // synthetic accounts (default 2000)
	Seed         int64         // generator seed (default 1)
	Now          time.Time     // sandbox clock start (default: real now)
	ClientID     string        // OAuth client id accepted by both dialects (default "crmpulse-sandbox")
	ClientSecret string        // OAuth client secret (default "sandbox-secret")
	HubSpotToken string        // private-app token accepted by HubSpot (default "pat-sandbox-0000")
	Username     string        // Salesforce user for password/JWT grants (default "integration@sandbox.example")
	Password     string        // Salesforce password grant password (default "sandbox-password")
	TokenTTL     time.Duration // Salesforce session timeout (default 2h); HubSpot OAuth tokens last 30 min
	ImportDir    string        // load customers from CSV/JSON files here instead of generating
	Empty        bool          // start with no customers (tests that seed their own rows)

	// History is how far back the generated CRM history reaches (default 3 years).
	History time.Duration
	// Holdout is the length of the backtest window: the calibration cutoff
	// is Now-Holdout and the truth judges churn in (cutoff, Now] (default 180 days).
	Holdout time.Duration
	// ActivityScale multiplies the number of generated activities (default
	// 1: about 25 per account; 4 gives about 100, i.e. 200k for 2000 accounts).
	ActivityScale float64
	// JapaneseShare is the share of Japanese-speaking accounts (default 0.4;
	// negative means none).
	JapaneseShare float64
	// Log receives import problems and step summaries (default: discarded).
	Log *slog.Logger
}

// Defaults fills zero fields with the documented defaults.
func (o Options) Defaults() Options {
	if o.Accounts == 0 {
		o.Accounts = 2000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.ClientID == "" {
		o.ClientID = "crmpulse-sandbox"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "sandbox-secret"
	}
	if o.HubSpotToken == "" {
		o.HubSpotToken = "pat-sandbox-0000"
	}
	if o.Username == "" {
		o.Username = "integration@sandbox.example"
	}
	if o.Password == "" {
		o.Password = "sandbox-password"
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = 2 * time.Hour
	}
	if o.History == 0 {
		o.History = 3 * 365 * 24 * time.Hour
	}
	if o.Holdout == 0 {
		o.Holdout = 180 * 24 * time.Hour
	}
	if o.ActivityScale == 0 {
		o.ActivityScale = 1
	}
	if o.JapaneseShare == 0 {
		o.JapaneseShare = 0.4
	} else if o.JapaneseShare < 0 {
		o.JapaneseShare = 0
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Sandbox is the shared state of both dialects.
type Sandbox struct {
	Opt      Options
	Clock    *Clock
	SF       *Store // the Salesforce org
	HS       *Store // the HubSpot portal
	Counters *Counters
	Faults   *Faults
	Tokens   *Tokens
	Truth    *Truth // recorded truth of synthetic customers (never served by the APIs)

	OrgID             string // Salesforce organization id (00D...)
	IntegrationUserID string // Salesforce User id of Opt.Username, the API user
	HubID             int64  // HubSpot portal (hub) id
	Owners            []Owner
	// Import is the outcome of loading Opt.ImportDir (nil when generated).
	Import *ImportReport

	mu    sync.Mutex // serialises Step and page-time mutations
	steps int        // Step calls so far
	pages int        // OnPage mutations so far
	gen   *genState  // latent state of generated customers, for Step
}

// New builds a sandbox: both tenants' schemas, the users and permission
// sets of the org, and unless opts.Empty the customer base, generated from
// opts.Seed or loaded from opts.ImportDir. The clock starts at opts.Now
// (truncated to the second).
func New(opts Options) (*Sandbox, error) {
	opts = opts.Defaults()
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	opts.Now = opts.Now.UTC().Truncate(time.Second)
	clock := NewClock(opts.Now)
	sb := &Sandbox{
		Opt:      opts,
		Clock:    clock,
		SF:       NewStore(clock, salesforceStoreOptions()),
		HS:       NewStore(clock, hubSpotStoreOptions()),
		Counters: &Counters{},
		Faults:   &Faults{},
		Tokens:   NewTokens(clock),
		Truth:    &Truth{Accounts: map[string]AccountTruth{}},
		OrgID:    SalesforceID(PrefixOrganization, 1),
		HubID:    24681357,
	}
	for _, sc := range SalesforceSchemas() {
		sb.SF.Define(sc)
	}
	for _, sc := range HubSpotSchemas() {
		sb.HS.Define(sc)
	}
	if err := sb.seedOrg(); err != nil {
		return nil, fmt.Errorf("seed org: %w", err)
	}
	switch {
	case opts.Empty:
	case opts.ImportDir != "":
		rep, err := sb.importDir(opts.ImportDir)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", opts.ImportDir, err)
		}
		sb.Import = rep
	default:
		if err := sb.generate(); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}
	return sb, nil
}

// Truth is filled by the generator; see generate.go.

// Counters count API calls per dialect and endpoint. Safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]int64
}

// Inc counts one call of dialect ("salesforce"/"hubspot") and endpoint (a
// route pattern such as "GET /query" or "POST /crm/v3/objects/{type}/search").
func (c *Counters) Inc(dialect, endpoint string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[dialect+" "+endpoint]++
}

// Snapshot returns a copy of the counters keyed "dialect METHOD route".
func (c *Counters) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Keys returns the counter keys, sorted.
func (c *Counters) Keys() []string {
	s := c.Snapshot()
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Reset zeroes all counters.
func (c *Counters) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// Faults are switches tests and benchmarks flip to make the sandbox misbehave
// like a real CRM under load. Safe for concurrent use; the dialects consult
// Decide before serving each data request.
type Faults struct {
	mu sync.Mutex
	// RateLimit: at most RateLimit requests per RateWindow per dialect; excess
	// requests get the dialect's 429 (HubSpot) or 403 REQUEST_LIMIT_EXCEEDED /
	// 503 (Salesforce) with the real headers. 0 disables.
	RateLimit  int
	RateWindow time.Duration
	// Fail5xx: the next Fail5xx data requests answer 503 (then succeed).
	Fail5xx int
	// Fail429: the next Fail429 data requests answer 429 with Retry-After.
	Fail429 int
	// Latency is added to every request.
	Latency time.Duration
	// DailyLimit caps API calls per day (Salesforce Sforce-Limit-Info max,
	// HubSpot daily); 0 means the dialect default.
	DailyLimit int
	// MutateOnPage makes records change under a client that is paging: each
	// time a dialect serves a follow-up page (Sandbox.OnPage), MutateOnPage
	// live records of the paged table are updated (their modification stamp
	// moves to now) and one is soft-deleted. 0 disables.
	MutateOnPage int
	// DropIDs makes the next DropIDs records served in query, list or search
	// pages go out without their id (Salesforce: Id null; HubSpot: id ""),
	// as a malformed payload would. 0 disables.
	DropIDs int

	window map[string][]time.Time
}

// TakeDropID consumes one DropIDs fault: true when the record about to be
// served must go out without its id.
func (f *Faults) TakeDropID() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.DropIDs > 0 {
		f.DropIDs--
		return true
	}
	return false
}

// Decision is what a dialect must do with a request.
type Decision struct {
	Delay      time.Duration
	Status     int           // 0: serve normally; 429 or 503: answer with that
	RetryAfter time.Duration // for 429/503
	Reason     string        // "rate-limit", "injected-429", "injected-5xx"
}

// Decide consumes fault budgets for one request of dialect.
func (f *Faults) Decide(dialect string, now time.Time) Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := Decision{Delay: f.Latency}
	switch {
	case f.Fail429 > 0:
		f.Fail429--
		d.Status, d.RetryAfter, d.Reason = 429, time.Second, "injected-429"
		return d
	case f.Fail5xx > 0:
		f.Fail5xx--
		d.Status, d.RetryAfter, d.Reason = 503, 0, "injected-5xx"
		return d
	}
	if f.RateLimit > 0 {
		win := f.RateWindow
		if win == 0 {
			win = 10 * time.Second
		}
		if f.window == nil {
			f.window = map[string][]time.Time{}
		}
		w := f.window[dialect]
		cut := 0
		for cut < len(w) && now.Sub(w[cut]) >= win {
			cut++
		}
		w = w[cut:]
		if len(w) >= f.RateLimit {
			d.Status, d.RetryAfter, d.Reason = 429, win-now.Sub(w[0]), "rate-limit"
			f.window[dialect] = w
			return d
		}
		f.window[dialect] = append(w, now)
	}
	return d
}

// Set changes the switches under the lock.
func (f *Faults) Set(fn func(f *Faults)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Token is an issued OAuth access or refresh token.
type Token struct {
	Value     string
	Dialect   string // "salesforce" | "hubspot"
	Kind      string // "access" | "refresh" | "code" | "static"
	Subject   string // user id / hub id
	ClientID  string
	Scopes    []string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: no expiry
	Revoked   bool
	// Extra holds grant-specific data (PKCE challenge, redirect_uri for codes).
	Extra map[string]string
}

// Tokens is the token registry of both dialects. Safe for concurrent use.
type Tokens struct {
	mu    sync.Mutex
	clock *Clock
	m     map[string]*Token
}

// NewTokens returns an empty registry on clock.
func NewTokens(c *Clock) *Tokens { return &Tokens{clock: c, m: map[string]*Token{}} }

// Issue creates a token with a random value prefixed by prefix.
func (t *Tokens) Issue(prefix string, tok Token, ttl time.Duration) Token {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok.Value = prefix + hex.EncodeToString(b[:])
	tok.IssuedAt = t.clock.Now()
	if ttl > 0 {
		tok.ExpiresAt = tok.IssuedAt.Add(ttl)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := tok
	t.m[c.Value] = &c
	return c
}

// Put registers a token with a fixed value (static private-app tokens).
func (t *Tokens) Put(tok Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := tok
	t.m[c.Value] = &c
}

// Lookup returns a token and whether it is usable now: ok is false for an
// unknown value; expired and revoked tokens are returned with their flags so
// the dialect can answer with the right error.
func (t *Tokens) Lookup(value string) (tok Token, ok bool, expired bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.m[value]
	if !ok {
		return Token{}, false, false
	}
	exp := !p.ExpiresAt.IsZero() && !t.clock.Now().Before(p.ExpiresAt)
	return *p, true, exp
}

// Consume returns and deletes a one-time token (authorization codes).
func (t *Tokens) Consume(value string) (Token, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.m[value]
	if ok {
		delete(t.m, value)
		return *p, true
	}
	return Token{}, false
}

// Revoke marks a token revoked; RevokeAll revokes every token of a dialect
// (a fault switch: "the admin revoked the connected app").
func (t *Tokens) Revoke(value string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.m[value]
	if ok {
		p.Revoked = true
	}
	return ok
}

// RevokeAll revokes every token of dialect, access and refresh alike.
func (t *Tokens) RevokeAll(dialect string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.m {
		if p.Dialect == dialect && !p.Revoked {
			p.Revoked = true
			n++
		}
	}
	return n
}

// ExpireAll makes every access token of dialect expired now.
func (t *Tokens) ExpireAll(dialect string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	for _, p := range t.m {
		if p.Dialect == dialect && p.Kind == "access" {
			p.ExpiresAt = now
		}
	}
}
