package config

import (
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	slugRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	namespaceRE  = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
	apiVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]$`)
	currencyRE   = regexp.MustCompile(`^[A-Z]{3}$`)
	sfFieldRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	hsFieldRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)
)

var (
	kinds          = []string{KindSalesforce, KindHubSpot}
	authModes      = []string{AuthAuthorizationCode, AuthJWTBearer, AuthClientCredentials, AuthPrivateApp}
	sfAuthModes    = []string{AuthAuthorizationCode, AuthJWTBearer, AuthClientCredentials}
	hsAuthModes    = []string{AuthAuthorizationCode, AuthPrivateApp}
	objects        = []string{ObjectAccounts, ObjectContacts, ObjectOpportunities, ObjectActivities}
	indexFlavours  = []string{IndexAuto, IndexVectorSet, IndexQuerying}
	quantizations  = []string{QuantNone, QuantQ8, QuantBin}
	embedKinds     = []string{EmbedLocal, EmbedOpenAI}
	languages      = []string{"ja", "en"}
	segMethods     = []string{SegmentQuintiles, SegmentCutoffs}
	humanEdits     = []string{HumanEditOverwrite, HumanEditKeep}
	logLevels      = []string{"debug", "info", "warn", "error"}
	logFormats     = []string{"text", "json"}
	mappingObjects = []string{"account"}
)

// knownEmbeddingDims are the native dimensions of well-known models.
var knownEmbeddingDims = map[string]int{
	"text-embedding-3-small": 1536,
	"text-embedding-3-large": 3072,
	"text-embedding-ada-002": 1536,
}

// NativeDimension returns the vector size of a well-known embedding model.
func NativeDimension(model string) (int, bool) {
	d, ok := knownEmbeddingDims[model]
	return d, ok
}

// EffectiveDimension is the dimension the OpenAI embedder produces: the
// configured one, else the model's native size (0 when unknown).
func (o OpenAIEmbed) EffectiveDimension() int {
	if o.Dimension > 0 {
		return o.Dimension
	}
	d, _ := NativeDimension(o.Model)
	return d
}

// validator collects field errors, attaching YAML lines when known.
type validator struct {
	lines map[string]int
	errs  []FieldError
}

func (v *validator) line(path string) int {
	for p := path; p != ""; {
		if l, ok := v.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (v *validator) add(path, value string, err error, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: path, Value: value, Line: v.line(path), Msg: fmt.Sprintf(format, args...), Err: err})
}

func (v *validator) oneOf(path, value string, allowed []string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	v.add(path, value, ErrInvalid, "must be one of %s", strings.Join(allowed, ", "))
	return false
}

func (v *validator) required(path, value, why string) bool {
	if strings.TrimSpace(value) != "" {
		return true
	}
	v.add(path, value, ErrRequired, "required%s", why)
	return false
}

func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(path, strconv.Itoa(n), ErrInvalid, "must be between %d and %d", lo, hi)
	}
}

func (v *validator) intMin(path string, n, lo int) {
	if n < lo {
		v.add(path, strconv.Itoa(n), ErrInvalid, "must be at least %d", lo)
	}
}

func (v *validator) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, d.String(), ErrInvalid, "must be a positive duration")
	}
}

func (v *validator) nonNegativeDuration(path string, d time.Duration) {
	if d < 0 {
		v.add(path, d.String(), ErrInvalid, "must not be negative")
	}
}

func (v *validator) httpURL(path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, s, ErrInvalid, "must be an absolute http or https URL")
	}
}

func (v *validator) envName(path, s string) {
	if s != "" && !envNameRE.MatchString(s) {
		v.add(path, s, ErrInvalid, "must be an environment variable name (letters, digits, underscore)")
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Validate checks every field and returns a *ValidationError listing all
// problems, or nil. Secrets are checked by name only; see CheckSecrets.
func (c *Config) Validate() error {
	v := &validator{lines: c.lines}
	c.validateConnections(v)
	c.validateRedis(v)
	c.validateEmbedder(v)
	c.validateLLM(v)
	c.validateRetrieval(v)
	c.validateSync(v)
	c.validateInsights(v)
	c.validateSegments(v)
	c.validateWriteback(v)
	c.validateRest(v)
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Source: c.source, Errors: v.errs}
}

func (c *Config) validateConnections(v *validator) {
	names := map[string]int{}
	for i, conn := range c.Connections {
		p := fmt.Sprintf("connections[%d]", i)
		if v.required(p+".name", conn.Name, "") {
			if !slugRE.MatchString(conn.Name) {
				v.add(p+".name", conn.Name, ErrInvalid, "must be a slug: lower-case letters, digits, '-' and '_', at most 63 characters")
			} else if j, dup := names[conn.Name]; dup {
				v.add(p+".name", conn.Name, ErrDuplicate, "name already used by connections[%d]", j)
			} else {
				names[conn.Name] = i
			}
		}
		kindOK := v.required(p+".kind", conn.Kind, " (salesforce or hubspot)") && v.oneOf(p+".kind", conn.Kind, kinds)
		v.httpURL(p+".base_url", conn.BaseURL)
		v.httpURL(p+".login_url", conn.LoginURL)
		v.httpURL(p+".instance_url", conn.InstanceURL)
		if conn.Kind == KindSalesforce && !apiVersionRE.MatchString(conn.APIVersion) {
			v.add(p+".api_version", conn.APIVersion, ErrInvalid, `must look like "v61.0"`)
		}
		if kindOK {
			validateAuth(v, p+".auth", conn)
		}
		if len(conn.Objects) == 0 {
			v.add(p+".objects", "", ErrRequired, "required: at least one of %s", strings.Join(objects, ", "))
		}
		seen := map[string]bool{}
		for j, o := range conn.Objects {
			op := fmt.Sprintf("%s.objects[%d]", p, j)
			if v.oneOf(op, o, objects) {
				if seen[o] {
					v.add(op, o, ErrDuplicate, "listed twice")
				}
				seen[o] = true
			}
		}
		if conn.RateLimit.RequestsPerSecond <= 0 {
			v.add(p+".rate_limit.requests_per_second", fmtFloat(conn.RateLimit.RequestsPerSecond), ErrInvalid, "must be positive")
		}
		v.intMin(p+".rate_limit.burst", conn.RateLimit.Burst, 1)
		if conn.InitialRead != "" {
			v.oneOf(p+".initial_read", conn.InitialRead, []string{"search", "list"})
		}
		if sp := conn.RateLimit.SearchPerSecond; sp < 0 || math.IsNaN(sp) || math.IsInf(sp, 0) {
			v.add(p+".rate_limit.search_per_second", fmtFloat(sp), ErrInvalid, "must be zero (the default, 4) or positive")
		}
		if !(conn.DailyBudgetFraction > 0 && conn.DailyBudgetFraction <= 1) {
			v.add(p+".daily_budget_fraction", fmtFloat(conn.DailyBudgetFraction), ErrInvalid, "must be in (0, 1]")
		}
		v.nonNegativeDuration(p+".lookback", conn.Lookback)
		v.nonNegativeDuration(p+".lag", conn.Lag)
	}
}

func validateAuth(v *validator, p string, conn Connection) {
	a := conn.Auth
	if !v.required(p+".mode", a.Mode, "") || !v.oneOf(p+".mode", a.Mode, authModes) {
		return
	}
	allowed := sfAuthModes
	if conn.Kind == KindHubSpot {
		allowed = hsAuthModes
	}
	if !slices.Contains(allowed, a.Mode) {
		v.add(p+".mode", a.Mode, ErrInvalid, "not supported by %s; use one of %s", conn.Kind, strings.Join(allowed, ", "))
		return
	}
	v.envName(p+".client_secret_env", a.ClientSecretEnv)
	v.envName(p+".token_env", a.TokenEnv)
	v.httpURL(p+".redirect_url", a.RedirectURL)
	if conn.Sandbox {
		return // the sandbox's built-in credentials fill the gaps
	}
	why := " when auth.mode is " + a.Mode
	switch a.Mode {
	case AuthAuthorizationCode:
		v.required(p+".client_id", a.ClientID, why)
		v.required(p+".client_secret_env", a.ClientSecretEnv, why)
		v.required(p+".redirect_url", a.RedirectURL, why)
	case AuthJWTBearer:
		v.required(p+".client_id", a.ClientID, why)
		v.required(p+".username", a.Username, why)
		v.required(p+".private_key_file", a.PrivateKeyFile, why)
	case AuthClientCredentials:
		v.required(p+".client_id", a.ClientID, why)
		v.required(p+".client_secret_env", a.ClientSecretEnv, why)
	case AuthPrivateApp:
		v.required(p+".token_env", a.TokenEnv, why)
	}
}

func (c *Config) validateRedis(v *validator) {
	r := c.Redis
	if v.required("redis.url", r.URL, "") {
		u, err := url.Parse(r.URL)
		if err != nil || !slices.Contains([]string{"redis", "rediss", "unix"}, u.Scheme) {
			v.add("redis.url", redactURL(r.URL), ErrInvalid, "must be a redis://, rediss:// or unix:// URL")
		}
	}
	if v.required("redis.namespace", r.Namespace, "") && !namespaceRE.MatchString(r.Namespace) {
		v.add("redis.namespace", r.Namespace, ErrInvalid, "must contain only letters, digits, '_', '.', ':' and '-'")
	}
	v.oneOf("redis.index", r.Index, indexFlavours)
	v.oneOf("redis.quantization", r.Quantization, quantizations)
}

// redactURL hides a password in a URL for error messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

func (c *Config) validateEmbedder(v *validator) {
	e := c.Embedder
	v.oneOf("embedder.kind", e.Kind, embedKinds)
	l := e.Local
	v.intRange("embedder.local.dimension", l.Dimension, 8, 8192)
	v.intRange("embedder.local.word_ngrams", l.WordNgrams, 1, 2)
	for i, n := range l.CharNgrams {
		v.intRange(fmt.Sprintf("embedder.local.char_ngrams[%d]", i), n, 2, 6)
	}
	if len(l.CJKNgrams) == 0 {
		v.add("embedder.local.cjk_ngrams", "", ErrRequired, "required: at least one n-gram length (e.g. [2, 3])")
	}
	for i, n := range l.CJKNgrams {
		v.intRange(fmt.Sprintf("embedder.local.cjk_ngrams[%d]", i), n, 1, 4)
	}
	o := e.OpenAI
	active := e.Kind == EmbedOpenAI
	if active {
		v.required("embedder.openai.base_url", o.BaseURL, " when embedder.kind is openai")
		v.required("embedder.openai.model", o.Model, " when embedder.kind is openai")
	}
	v.httpURL("embedder.openai.base_url", o.BaseURL)
	v.envName("embedder.openai.api_key_env", o.APIKeyEnv)
	v.intRange("embedder.openai.batch_size", o.BatchSize, 1, 2048)
	v.intMin("embedder.openai.max_batch_tokens", o.MaxBatchTokens, 1)
	v.intRange("embedder.openai.dimension", o.Dimension, 0, 65536)
	if active && o.Model != "" && o.EffectiveDimension() == 0 {
		v.add("embedder.openai.dimension", "0", ErrRequired, "required for model %q (its native size is not known)", o.Model)
	}
	if o.SendDimension && o.Dimension == 0 {
		v.add("embedder.openai.send_dimension", "true", ErrInvalid, "needs embedder.openai.dimension")
	}
	v.positiveDuration("embedder.openai.timeout", o.Timeout)
	v.intRange("embedder.openai.max_retries", o.MaxRetries, 0, 20)
}

func (c *Config) validateLLM(v *validator) {
	l := c.LLM
	if l.Enabled {
		v.required("llm.base_url", l.BaseURL, " when llm.enabled is true")
		v.required("llm.model", l.Model, " when llm.enabled is true")
	}
	v.httpURL("llm.base_url", l.BaseURL)
	v.envName("llm.api_key_env", l.APIKeyEnv)
	v.oneOf("llm.language", l.Language, languages)
	v.positiveDuration("llm.timeout", l.Timeout)
	v.intRange("llm.max_retries", l.MaxRetries, 0, 20)
	v.intRange("llm.concurrency", l.Concurrency, 1, 256)
	v.intMin("llm.token_budget", l.TokenBudget, 0)
}

func (c *Config) validateRetrieval(v *validator) {
	r := c.Retrieval
	v.intRange("retrieval.chunk_size", r.ChunkSize, 50, 100000)
	v.intMin("retrieval.chunk_overlap", r.ChunkOverlap, 0)
	if r.ChunkOverlap >= r.ChunkSize && r.ChunkOverlap >= 0 {
		v.add("retrieval.chunk_overlap", strconv.Itoa(r.ChunkOverlap), ErrInvalid, "must be less than retrieval.chunk_size (%d)", r.ChunkSize)
	}
	v.intRange("retrieval.top_k", r.TopK, 1, 1000)
	if !(r.SimilarityThreshold >= 0 && r.SimilarityThreshold <= 1) {
		v.add("retrieval.similarity_threshold", fmtFloat(r.SimilarityThreshold), ErrInvalid, "must be between 0 and 1")
	}
}

func (c *Config) validateSync(v *validator) {
	s := c.Sync
	v.positiveDuration("sync.interval", s.Interval)
	v.intRange("sync.workers", s.Workers, 1, 256)
	v.nonNegativeDuration("sync.reconcile_every", s.ReconcileEvery)
	v.intRange("sync.page_size", s.PageSize, 1, 2000)
	v.intRange("sync.embed_batch", s.EmbedBatch, 1, 4096)
	v.intRange("sync.upsert_batch", s.UpsertBatch, 1, 10000)
}

func (c *Config) validateInsights(v *validator) {
	in := c.Insights
	v.intRange("insights.horizon_days", in.HorizonDays, 1, 3650)
	v.intRange("insights.winback_months", in.WinbackMonths, 1, 120)
	v.intRange("insights.workers", in.Workers, 1, 256)
	v.required("insights.prompt_version", in.PromptVersion, "")
}

func (c *Config) validateSegments(v *validator) {
	s := c.Segments
	v.oneOf("segments.method", s.Method, segMethods)
	axes := []struct {
		name string
		vals []float64
	}{{"recency_days", s.Cutoffs.RecencyDays}, {"frequency", s.Cutoffs.Frequency}, {"monetary", s.Cutoffs.Monetary}}
	for _, ax := range axes {
		p := "segments.cutoffs." + ax.name
		if len(ax.vals) != 4 {
			v.add(p, fmt.Sprint(ax.vals), ErrInvalid, "must list exactly 4 thresholds (separating scores 1 to 5), got %d", len(ax.vals))
			continue
		}
		for i, x := range ax.vals {
			switch {
			case !(x >= 0):
				v.add(fmt.Sprintf("%s[%d]", p, i), fmtFloat(x), ErrInvalid, "must not be negative")
			case i > 0 && !(x > ax.vals[i-1]):
				v.add(fmt.Sprintf("%s[%d]", p, i), fmtFloat(x), ErrInvalid, "must be greater than the previous threshold (%s)", fmtFloat(ax.vals[i-1]))
			}
		}
	}
	if !currencyRE.MatchString(s.Currency) {
		v.add("segments.currency", s.Currency, ErrInvalid, "must be an ISO 4217 code such as JPY or USD")
	}
	for _, k := range sortedKeys(s.Overrides) {
		if !slugRE.MatchString(k) {
			v.add("segments.overrides."+k, k, ErrInvalid, "segment ids are slugs (lower-case letters, digits, '_' and '-')")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *Config) validateWriteback(v *validator) {
	w := c.Writeback
	v.intRange("writeback.batch_size", w.BatchSize, 1, 200)
	seen := map[string]int{}
	for i, wc := range w.Connections {
		p := fmt.Sprintf("writeback.connections[%d]", i)
		var conn *Connection
		if v.required(p+".connection", wc.Connection, " (the name of an entry in connections)") {
			conn = c.Connection(wc.Connection)
			if conn == nil {
				v.add(p+".connection", wc.Connection, ErrReference, "no connection with this name")
			}
			if j, dup := seen[wc.Connection]; dup {
				v.add(p+".connection", wc.Connection, ErrDuplicate, "already configured by writeback.connections[%d]", j)
			} else {
				seen[wc.Connection] = i
			}
		}
		v.intRange(p+".batch_size", wc.BatchSize, 0, 200)
		outs, fields := map[string]int{}, map[string]int{}
		for j, m := range wc.Mappings {
			mp := fmt.Sprintf("%s.mappings[%d]", p, j)
			if v.required(mp+".output", m.Output, "") && v.oneOf(mp+".output", m.Output, Outputs) {
				if k, dup := outs[m.Output]; dup {
					v.add(mp+".output", m.Output, ErrDuplicate, "already mapped by mappings[%d]", k)
				}
				outs[m.Output] = j
			}
			v.oneOf(mp+".object", m.Object, mappingObjects)
			if v.required(mp+".field", m.Field, " (the CRM field's API name)") {
				re, what := sfFieldRE, "a Salesforce API name such as AI_Churn_Score__c"
				if conn != nil && conn.Kind == KindHubSpot {
					re, what = hsFieldRE, "a HubSpot property name such as crmpulse_churn_score"
				}
				if !re.MatchString(m.Field) {
					v.add(mp+".field", m.Field, ErrInvalid, "must be %s", what)
				} else if k, dup := fields[m.Field]; dup {
					v.add(mp+".field", m.Field, ErrDuplicate, "already written by mappings[%d]", k)
				}
				fields[m.Field] = j
			}
			if m.Type != "" {
				v.oneOf(mp+".type", m.Type, FieldTypes)
			}
			v.intRange(mp+".max_length", m.MaxLength, 0, 131072)
			v.oneOf(mp+".on_human_edit", m.OnHumanEdit, humanEdits)
		}
	}
}

func (c *Config) validateRest(v *validator) {
	if _, port, err := net.SplitHostPort(c.Serve.Addr); err != nil {
		v.add("serve.addr", c.Serve.Addr, ErrInvalid, "must be host:port, e.g. 127.0.0.1:8080")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add("serve.addr", c.Serve.Addr, ErrInvalid, "port must be a number between 0 and 65535")
	}
	v.envName("serve.admin_token_env", c.Serve.AdminTokenEnv)
	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)
	v.envName("security.token_key_env", c.Security.TokenKeyEnv)
	for i, conn := range c.Connections {
		if conn.Auth.Mode == AuthAuthorizationCode && !conn.Sandbox {
			v.required("security.token_key_env", c.Security.TokenKeyEnv,
				fmt.Sprintf(" when connections[%d] stores refresh tokens (auth.mode authorization_code)", i))
			break
		}
	}
}

// CheckSecrets checks that the environment variables the configuration
// names are set: each connection's secrets (unless it is a sandbox), the
// token encryption key (a base64 AES-256 key) when a connection stores OAuth
// tokens, and the LLM API key when the LLM is enabled against OpenAI itself.
// Run it after Validate, at startup of commands that reach the CRMs.
func (c *Config) CheckSecrets(lookupEnv func(string) (string, bool)) error {
	v := &validator{lines: c.lines}
	has := func(name string) bool {
		s, ok := lookupEnv(name)
		return ok && s != ""
	}
	needKey := false
	for i, conn := range c.Connections {
		if conn.Sandbox {
			continue
		}
		p := fmt.Sprintf("connections[%d].auth", i)
		a := conn.Auth
		switch a.Mode {
		case AuthAuthorizationCode, AuthClientCredentials:
			if a.ClientSecretEnv != "" && !has(a.ClientSecretEnv) {
				v.add(p+".client_secret_env", a.ClientSecretEnv, ErrRequired, "environment variable %s is not set", a.ClientSecretEnv)
			}
			needKey = needKey || a.Mode == AuthAuthorizationCode
		case AuthPrivateApp:
			if a.TokenEnv != "" && !has(a.TokenEnv) {
				v.add(p+".token_env", a.TokenEnv, ErrRequired, "environment variable %s is not set", a.TokenEnv)
			}
		}
	}
	if needKey && c.Security.TokenKeyEnv != "" {
		s, _ := lookupEnv(c.Security.TokenKeyEnv)
		if key, err := base64.StdEncoding.DecodeString(s); err != nil || len(key) != 32 {
			v.add("security.token_key_env", c.Security.TokenKeyEnv, ErrInvalid,
				"environment variable %s must hold a base64-encoded 32-byte key (openssl rand -base64 32)", c.Security.TokenKeyEnv)
		}
	}
	if c.LLM.Enabled && strings.HasPrefix(c.LLM.BaseURL, "https://api.openai.com") && !has(c.LLM.APIKeyEnv) {
		v.add("llm.api_key_env", c.LLM.APIKeyEnv, ErrRequired, "environment variable %s is not set", c.LLM.APIKeyEnv)
	}
	if c.Embedder.Kind == EmbedOpenAI && strings.HasPrefix(c.Embedder.OpenAI.BaseURL, "https://api.openai.com") && !has(c.Embedder.OpenAI.APIKeyEnv) {
		v.add("embedder.openai.api_key_env", c.Embedder.OpenAI.APIKeyEnv, ErrRequired, "environment variable %s is not set", c.Embedder.OpenAI.APIKeyEnv)
	}
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Source: c.source, Errors: v.errs}
}
