// Package config defines crmpulse's configuration: its types, documented
// defaults, a YAML parser with ${ENV} expansion and line-accurate errors, and
// validation that names the offending field and value.
//
// Typical use:
//
//	cfg, err := config.Load("config.yaml") // Parse + Validate
//
// or, without a file:
//
//	cfg, err := config.Parse(r, os.LookupEnv)
//	if err == nil {
//		err = cfg.Validate()
//	}
//
// Anything omitted from the YAML keeps the value from Default. Secrets never
// appear in the file: options ending in _env name the environment variable
// that holds the secret, and string values may use ${VAR} or ${VAR:-default}.
//
// # Errors
//
// Parse and Validate report problems as a *ValidationError, a list of
// FieldError values each naming the field path (e.g.
// "connections[1].auth.mode"), the offending value, the YAML line when known
// and a message. Each FieldError wraps one of the sentinel errors below so
// callers can branch with errors.Is.
package config

import (
	"time"
)

// Connection kinds.
const (
	KindSalesforce = "salesforce"
	KindHubSpot    = "hubspot"
)

// Authentication modes.
const (
	AuthAuthorizationCode = "authorization_code" // OAuth web flow; refresh token kept encrypted in Redis
	AuthJWTBearer         = "jwt_bearer"         // Salesforce JWT bearer flow (server-to-server)
	AuthClientCredentials = "client_credentials" // Salesforce client-credentials flow
	AuthPrivateApp        = "private_app"        // HubSpot private-app access token
)

// Objects a connection can sync.
const (
	ObjectAccounts      = "accounts"
	ObjectContacts      = "contacts"
	ObjectOpportunities = "opportunities"
	ObjectActivities    = "activities"
)

// Vector index flavours.
const (
	IndexAuto      = "auto"      // vector sets when the server has them, else the query engine
	IndexVectorSet = "vectorset" // Redis 8 vector sets (VADD/VSIM)
	IndexQuerying  = "querying"  // Redis query engine (FT.CREATE ... VECTOR)
)

// Vector quantisation.
const (
	QuantNone = "noquant" // full FP32
	QuantQ8   = "q8"      // 8-bit
	QuantBin  = "bin"     // binary
)

// Embedder kinds.
const (
	EmbedLocal  = "local"  // feature-hashing embedder, no network
	EmbedOpenAI = "openai" // any OpenAI-compatible /v1/embeddings endpoint
)

// Segmentation methods.
const (
	SegmentQuintiles = "quintiles" // RFM scores 1..5 by quintile of the population
	SegmentCutoffs   = "cutoffs"   // RFM scores 1..5 by fixed thresholds
)

// Write-back outputs: the values crmpulse can write into CRM fields.
const (
	OutChurnScore     = "churn_score"      // churn probability, 0..100
	OutRiskBand       = "risk_band"        // low|medium|high
	OutTopDrivers     = "top_drivers"      // the main churn drivers, as text
	OutNextAction     = "next_action"      // next best action, as text
	OutNextActionDue  = "next_action_due"  // due date of the next action
	OutCrossSell      = "cross_sell"       // recommended products
	OutSegment        = "segment"          // RFM/B2B segment name
	OutInsightSummary = "insight_summary"  // LLM or rule-based summary
	OutLastAnalyzedAt = "last_analyzed_at" // when the account was last analysed
)

// Outputs lists every write-back output name.
var Outputs = []string{
	OutChurnScore, OutRiskBand, OutTopDrivers, OutNextAction, OutNextActionDue,
	OutCrossSell, OutSegment, OutInsightSummary, OutLastAnalyzedAt,
}

// CRM field types for write-back mappings (Salesforce and HubSpot spellings).
var FieldTypes = []string{"number", "text", "textarea", "date", "datetime", "picklist", "enumeration"}

// Behaviour when a human edited a written field since crmpulse last wrote it.
const (
	HumanEditOverwrite = "overwrite"
	HumanEditKeep      = "keep"
)

// DefaultRedisURL is used when neither redis.url nor REDIS_URL is set.
const DefaultRedisURL = "redis://127.0.0.1:6390/0"

// Config is the whole configuration.
type Config struct {
	Connections []Connection `yaml:"connections"`
	Redis       Redis        `yaml:"redis"`
	Embedder    Embedder     `yaml:"embedder"`
	LLM         LLM          `yaml:"llm"`
	Retrieval   Retrieval    `yaml:"retrieval"`
	Sync        Sync         `yaml:"sync"`
	Insights    Insights     `yaml:"insights"`
	Segments    Segments     `yaml:"segments"`
	Writeback   Writeback    `yaml:"writeback"`
	Serve       Serve        `yaml:"serve"`
	Log         Log          `yaml:"log"`
	Security    Security     `yaml:"security"`

	// source names the file for error messages; lines maps field paths to
	// the YAML line they were read from.
	source string
	lines  map[string]int
}

// Connection is one CRM org or portal.
type Connection struct {
	// Name is a unique slug ([a-z0-9_-], starting with a letter or digit)
	// used in keys, metrics and write-back mappings.
	Name string `yaml:"name"`
	// Kind is salesforce or hubspot.
	Kind string `yaml:"kind"`
	// Sandbox points the connection at the offline sandbox (crmpulse sandbox
	// serve) instead of the vendor; the wire format is the same. Secrets are
	// optional: the sandbox's built-in credentials are used when unset.
	Sandbox bool `yaml:"sandbox"`
	// BaseURL is the API root: HubSpot's API host, or the sandbox address.
	// Default https://api.hubapi.com for HubSpot; empty otherwise.
	BaseURL string `yaml:"base_url"`
	// LoginURL is Salesforce's OAuth host (https://login.salesforce.com or
	// https://test.salesforce.com for sandboxes orgs).
	LoginURL string `yaml:"login_url"`
	// InstanceURL pins the Salesforce instance; normally taken from the
	// token response.
	InstanceURL string `yaml:"instance_url"`
	// APIVersion is the Salesforce REST version (default v61.0).
	APIVersion string `yaml:"api_version"`
	// Auth says how to obtain access tokens.
	Auth Auth `yaml:"auth"`
	// Objects lists what to sync (default all: accounts, contacts,
	// opportunities, activities).
	Objects []string `yaml:"objects"`
	// RateLimit caps outgoing API requests.
	RateLimit RateLimit `yaml:"rate_limit"`
	// InitialRead is how HubSpot's first sync of an object reads it:
	// search (default; 200 records a page under the search limit) or list
	// (the object list endpoint: 100 a page under the general limit).
	// Later syncs always search. Salesforce ignores it.
	InitialRead string `yaml:"initial_read"`
	// DailyBudgetFraction stops syncing once this fraction of the CRM's
	// daily API allowance is used (default 0.5), in (0,1].
	DailyBudgetFraction float64 `yaml:"daily_budget_fraction"`
	// Lookback is the overlap subtracted from the saved cursor on each
	// incremental sync (default 2m).
	Lookback time.Duration `yaml:"lookback"`
	// Lag is the upper bound of each incremental window, now minus Lag
	// (default 15s), leaving room for in-flight commits.
	Lag time.Duration `yaml:"lag"`
}

// Auth configures a connection's authentication.
type Auth struct {
	// Mode is authorization_code, jwt_bearer, client_credentials (Salesforce)
	// or private_app (HubSpot).
	Mode string `yaml:"mode"`
	// ClientID is the OAuth client (consumer key).
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the env var with the OAuth client secret.
	ClientSecretEnv string `yaml:"client_secret_env"`
	// PrivateKeyFile is the PEM key signing JWT bearer assertions.
	PrivateKeyFile string `yaml:"private_key_file"`
	// Username is the Salesforce user a JWT bearer token is issued for.
	Username string `yaml:"username"`
	// TokenEnv names the env var with a HubSpot private-app token.
	TokenEnv string `yaml:"token_env"`
	// RedirectURL is the OAuth callback for authorization_code.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes requested in the authorization_code flow.
	Scopes []string `yaml:"scopes"`
}

// RateLimit is a token bucket.
type RateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"` // default 10
	Burst             int     `yaml:"burst"`               // default 20
	// SearchPerSecond caps HubSpot CRM search requests, which HubSpot
	// limits separately (5 per second per portal, no rate-limit headers).
	// 0 means the connector's default, 4; Salesforce ignores it.
	SearchPerSecond float64 `yaml:"search_per_second"`
}

// Redis configures storage.
type Redis struct {
	// URL is a redis:// or rediss:// URL. Default: $REDIS_URL, else
	// redis://127.0.0.1:6390/0.
	URL string `yaml:"url"`
	// Namespace prefixes every key (default "crmpulse").
	Namespace string `yaml:"namespace"`
	// Index is the vector index flavour: auto, vectorset or querying.
	Index string `yaml:"index"`
	// Quantization of stored vectors: noquant, q8 (default) or bin.
	Quantization string `yaml:"quantization"`
}

// Embedder configures text embeddings.
type Embedder struct {
	// Kind is local (default) or openai.
	Kind   string      `yaml:"kind"`
	Local  LocalEmbed  `yaml:"local"`
	OpenAI OpenAIEmbed `yaml:"openai"`
}

// LocalEmbed configures the feature-hashing embedder.
type LocalEmbed struct {
	// Dimension of the vectors (default 384).
	Dimension int `yaml:"dimension"`
	// WordNgrams is the longest word n-gram for Latin text: 1 (unigrams) or
	// 2 (plus bigrams, default).
	WordNgrams int `yaml:"word_ngrams"`
	// CharNgrams are the character n-gram lengths taken inside Latin words
	// (default [3, 4]); empty disables them.
	CharNgrams []int `yaml:"char_ngrams"`
	// CJKNgrams are the character n-gram lengths taken over runs of CJK
	// text (default [2, 3]).
	CJKNgrams []int `yaml:"cjk_ngrams"`
	// StopWords drops common English function words (default true).
	StopWords bool `yaml:"stop_words"`
}

// OpenAIEmbed configures an OpenAI-compatible embeddings endpoint.
type OpenAIEmbed struct {
	// BaseURL of the API, including /v1 (default https://api.openai.com/v1).
	BaseURL string `yaml:"base_url"`
	// Model name (default text-embedding-3-small).
	Model string `yaml:"model"`
	// APIKeyEnv names the env var with the API key (default OPENAI_API_KEY).
	// The key may be empty for local servers that need none.
	APIKeyEnv string `yaml:"api_key_env"`
	// BatchSize is the most inputs per request (default 256).
	BatchSize int `yaml:"batch_size"`
	// MaxBatchTokens caps the estimated tokens per request (default 250000).
	MaxBatchTokens int `yaml:"max_batch_tokens"`
	// Dimension of the returned vectors. 0 means the model's native size,
	// known for OpenAI's text-embedding-3-small/-large and ada-002 models;
	// other models need it set.
	Dimension int `yaml:"dimension"`
	// SendDimension passes Dimension in the request ("dimensions"), asking
	// the server to shorten vectors (text-embedding-3 models).
	SendDimension bool `yaml:"send_dimension"`
	// Timeout per request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries on 429 and 5xx responses (default 4).
	MaxRetries int `yaml:"max_retries"`
}

// LLM configures optional retrieval-augmented analysis.
type LLM struct {
	Enabled bool `yaml:"enabled"`
	// BaseURL of an OpenAI-compatible API (default https://api.openai.com/v1).
	BaseURL string `yaml:"base_url"`
	// Model name (default gpt-4o-mini).
	Model string `yaml:"model"`
	// APIKeyEnv names the env var with the API key (default OPENAI_API_KEY).
	APIKeyEnv string `yaml:"api_key_env"`
	// Language of generated text: ja (default) or en.
	Language string `yaml:"language"`
	// Timeout per request (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries on 429 and 5xx responses (default 3).
	MaxRetries int `yaml:"max_retries"`
	// Concurrency is the most requests in flight (default 4).
	Concurrency int `yaml:"concurrency"`
	// TokenBudget caps the tokens spent per run (default 200000; 0 = unlimited).
	TokenBudget int `yaml:"token_budget"`
	// RedactPersonNames replaces contact names before text leaves the
	// process (default true).
	RedactPersonNames bool `yaml:"redact_person_names"`
}

// Retrieval configures chunking and vector search.
type Retrieval struct {
	ChunkSize           int     `yaml:"chunk_size"`           // characters per chunk (default 1000)
	ChunkOverlap        int     `yaml:"chunk_overlap"`        // characters shared by neighbours (default 150)
	TopK                int     `yaml:"top_k"`                // hits per query (default 10)
	SimilarityThreshold float64 `yaml:"similarity_threshold"` // minimum score in [0,1] (default 0.70)
}

// Sync configures the incremental sync engine.
type Sync struct {
	// Interval between incremental syncs (default 15m).
	Interval time.Duration `yaml:"interval"`
	// Workers syncing objects in parallel (default 4).
	Workers int `yaml:"workers"`
	// ReconcileEvery is how often a full id scan detects deletions missed
	// by incremental syncs (default 24h).
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// PageSize is the records requested per API page (default 200).
	PageSize int `yaml:"page_size"`
	// EmbedBatch is the texts per embedder call (default 64).
	EmbedBatch int `yaml:"embed_batch"`
	// UpsertBatch is the vectors per index write (default 256).
	UpsertBatch int `yaml:"upsert_batch"`
}

// Insights configures scoring.
type Insights struct {
	HorizonDays   int    `yaml:"horizon_days"`   // churn prediction horizon (default 90)
	WinbackMonths int    `yaml:"winback_months"` // inactivity before win-back (default 6)
	Workers       int    `yaml:"workers"`        // accounts scored in parallel (default 4)
	PromptVersion string `yaml:"prompt_version"` // LLM prompt version (default "v1")
}

// Segments configures RFM and B2B segmentation.
type Segments struct {
	// Method is quintiles (default) or cutoffs.
	Method string `yaml:"method"`
	// Cutoffs are used when Method is cutoffs.
	Cutoffs Cutoffs `yaml:"cutoffs"`
	// Currency of monetary values, ISO 4217 (default JPY).
	Currency string `yaml:"currency"`
	// B2B toggles the extra B2B axes.
	B2B B2BAxes `yaml:"b2b"`
	// Overrides rename segments or replace their strategy text, keyed by
	// segment id (e.g. vip, at_risk).
	Overrides map[string]SegmentOverride `yaml:"overrides"`
}

// Cutoffs are four ascending thresholds per RFM axis separating scores 1..5.
// Recency is scored in reverse: fewer days is better.
type Cutoffs struct {
	RecencyDays []float64 `yaml:"recency_days"`
	Frequency   []float64 `yaml:"frequency"`
	Monetary    []float64 `yaml:"monetary"`
}

// B2BAxes toggles B2B segmentation axes (all default true).
type B2BAxes struct {
	Industry   bool `yaml:"industry"`
	Size       bool `yaml:"size"`
	Engagement bool `yaml:"engagement"`
	Renewal    bool `yaml:"renewal"`
}

// SegmentOverride changes how one segment is presented.
type SegmentOverride struct {
	Name     string `yaml:"name"`
	Strategy string `yaml:"strategy"`
}

// Writeback configures writing results into CRM fields.
type Writeback struct {
	// DryRun computes and logs changes without writing (default false).
	DryRun bool `yaml:"dry_run"`
	// BatchSize is the records per CRM write call (default 200).
	BatchSize int `yaml:"batch_size"`
	// Connections lists the connections written to; a connection not listed
	// is never written to.
	Connections []WritebackConnection `yaml:"connections"`
}

// WritebackConnection is write-back for one connection.
type WritebackConnection struct {
	// Connection is the name of an entry in connections.
	Connection string `yaml:"connection"`
	// BatchSize overrides writeback.batch_size (0 = inherit).
	BatchSize int `yaml:"batch_size"`
	// Mappings from outputs to CRM fields. Empty means DefaultMappings for
	// the connection's kind.
	Mappings []Mapping `yaml:"mappings"`
}

// Mapping writes one output into one CRM field.
type Mapping struct {
	Output string `yaml:"output"` // one of Outputs
	Object string `yaml:"object"` // CRM object; only account is supported
	Field  string `yaml:"field"`  // CRM API name (AI_Churn_Score__c, crmpulse_churn_score)
	// Type of the field, when it must be created or checked: number, text,
	// textarea, date, datetime, picklist (Salesforce) or enumeration (HubSpot).
	Type string `yaml:"type"`
	// MaxLength truncates text values (0 = the field's own limit).
	MaxLength int `yaml:"max_length"`
	// OnHumanEdit: keep (default) leaves a value a person changed since
	// crmpulse last wrote it; overwrite replaces it.
	OnHumanEdit string `yaml:"on_human_edit"`
}

// Serve configures the HTTP server.
type Serve struct {
	Addr          string `yaml:"addr"`            // listen address (default 127.0.0.1:8080)
	AdminTokenEnv string `yaml:"admin_token_env"` // env var with the admin bearer token (default CRMPULSE_ADMIN_TOKEN)
	Metrics       bool   `yaml:"metrics"`         // expose /metrics (default true)
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// Security configures secrets at rest.
type Security struct {
	// TokenKeyEnv names the env var holding the base64 AES-256-GCM key
	// (32 bytes) that encrypts OAuth tokens stored in Redis (default
	// CRMPULSE_TOKEN_KEY).
	TokenKeyEnv string `yaml:"token_key_env"`
}

// Default returns the configuration used for anything not set: no
// connections, local Redis and the local embedder.
func Default() *Config {
	return &Config{
		Redis: Redis{
			URL:          DefaultRedisURL,
			Namespace:    "crmpulse",
			Index:        IndexAuto,
			Quantization: QuantQ8,
		},
		Embedder: Embedder{
			Kind: EmbedLocal,
			Local: LocalEmbed{
				Dimension:  384,
				WordNgrams: 2,
				CharNgrams: []int{3, 4},
				CJKNgrams:  []int{2, 3},
				StopWords:  true,
			},
			OpenAI: OpenAIEmbed{
				BaseURL:        "https://api.openai.com/v1",
				Model:          "text-embedding-3-small",
				APIKeyEnv:      "OPENAI_API_KEY",
				BatchSize:      256,
				MaxBatchTokens: 250000,
				Timeout:        30 * time.Second,
				MaxRetries:     4,
			},
		},
		LLM: LLM{
			BaseURL:           "https://api.openai.com/v1",
			Model:             "gpt-4o-mini",
			APIKeyEnv:         "OPENAI_API_KEY",
			Language:          "ja",
			Timeout:           60 * time.Second,
			MaxRetries:        3,
			Concurrency:       4,
			TokenBudget:       200000,
			RedactPersonNames: true,
		},
		Retrieval: Retrieval{ChunkSize: 1000, ChunkOverlap: 150, TopK: 10, SimilarityThreshold: 0.70},
		Sync: Sync{
			Interval:       15 * time.Minute,
			Workers:        4,
			ReconcileEvery: 24 * time.Hour,
			PageSize:       200,
			EmbedBatch:     64,
			UpsertBatch:    256,
		},
		Insights: Insights{HorizonDays: 90, WinbackMonths: 6, Workers: 4, PromptVersion: "v1"},
		Segments: Segments{
			Method: SegmentQuintiles,
			Cutoffs: Cutoffs{
				RecencyDays: []float64{30, 90, 180, 365},
				Frequency:   []float64{2, 5, 10, 20},
				Monetary:    []float64{100000, 1000000, 5000000, 20000000},
			},
			Currency: "JPY",
			B2B:      B2BAxes{Industry: true, Size: true, Engagement: true, Renewal: true},
		},
		Writeback: Writeback{BatchSize: 200},
		Serve:     Serve{Addr: "127.0.0.1:8080", AdminTokenEnv: "CRMPULSE_ADMIN_TOKEN", Metrics: true},
		Log:       Log{Level: "info", Format: "text"},
		Security:  Security{TokenKeyEnv: "CRMPULSE_TOKEN_KEY"},
	}
}

// DefaultConnection returns a connection with every default filled in for
// the given name and kind; Parse starts each connections entry from it.
func DefaultConnection(name, kind string) Connection {
	c := Connection{
		Name:                name,
		Kind:                kind,
		Objects:             []string{ObjectAccounts, ObjectContacts, ObjectOpportunities, ObjectActivities},
		RateLimit:           RateLimit{RequestsPerSecond: 10, Burst: 20},
		DailyBudgetFraction: 0.5,
		Lookback:            2 * time.Minute,
		Lag:                 15 * time.Second,
	}
	c.fillKindDefaults()
	return c
}

// fillKindDefaults sets defaults that depend on the kind.
func (c *Connection) fillKindDefaults() {
	switch c.Kind {
	case KindSalesforce:
		if c.APIVersion == "" {
			c.APIVersion = "v61.0"
		}
		if c.LoginURL == "" && !c.Sandbox {
			c.LoginURL = "https://login.salesforce.com"
		}
		if c.Auth.Mode == "" {
			c.Auth.Mode = AuthClientCredentials
		}
	case KindHubSpot:
		if c.BaseURL == "" && !c.Sandbox {
			c.BaseURL = "https://api.hubapi.com"
		}
		if c.Auth.Mode == "" {
			c.Auth.Mode = AuthPrivateApp
		}
	}
}

// DefaultMappings returns the write-back mappings used for a connection of
// the given kind when none are configured: every output onto a field named
// AI_<Output>__c (Salesforce) or crmpulse_<output> (HubSpot) on accounts.
func DefaultMappings(kind string) []Mapping {
	type spec struct {
		out, sf, typ string
		max          int
	}
	specs := []spec{
		{OutChurnScore, "AI_Churn_Score__c", "number", 0},
		{OutRiskBand, "AI_Risk_Band__c", "text", 20},
		{OutTopDrivers, "AI_Top_Drivers__c", "textarea", 1000},
		{OutNextAction, "AI_Next_Action__c", "textarea", 1000},
		{OutNextActionDue, "AI_Next_Action_Due__c", "date", 0},
		{OutCrossSell, "AI_Cross_Sell__c", "textarea", 1000},
		{OutSegment, "AI_Segment__c", "text", 80},
		{OutInsightSummary, "AI_Insight_Summary__c", "textarea", 4000},
		{OutLastAnalyzedAt, "AI_Last_Analyzed_At__c", "datetime", 0},
	}
	var out []Mapping
	for _, s := range specs {
		m := Mapping{Output: s.out, Object: "account", Type: s.typ, MaxLength: s.max, OnHumanEdit: HumanEditKeep}
		switch kind {
		case KindHubSpot:
			m.Field = "crmpulse_" + s.out
		default:
			m.Field = s.sf
		}
		out = append(out, m)
	}
	return out
}

// Connection returns the named connection, or nil.
func (c *Config) Connection(name string) *Connection {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			return &c.Connections[i]
		}
	}
	return nil
}

// WritebackFor returns the write-back settings of the named connection with
// defaults resolved (mappings and batch size), and false when the connection
// has no write-back.
func (c *Config) WritebackFor(name string) (WritebackConnection, bool) {
	for _, w := range c.Writeback.Connections {
		if w.Connection != name {
			continue
		}
		if w.BatchSize == 0 {
			w.BatchSize = c.Writeback.BatchSize
		}
		if len(w.Mappings) == 0 {
			kind := ""
			if conn := c.Connection(name); conn != nil {
				kind = conn.Kind
			}
			w.Mappings = DefaultMappings(kind)
		}
		return w, true
	}
	return WritebackConnection{}, false
}

// Source returns the file name the configuration was loaded from, if any.
func (c *Config) Source() string { return c.source }
