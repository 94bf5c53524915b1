package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func mustParse(t *testing.T, y string, lookup func(string) (string, bool)) *Config {
	t.Helper()
	cfg, err := Parse(strings.NewReader(y), lookup)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg
}

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestExampleParsesAndValidates(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connections) != 3 {
		t.Fatalf("%d connections", len(cfg.Connections))
	}
	sf := cfg.Connection("acme-sf")
	if sf == nil || sf.Auth.Mode != AuthJWTBearer || sf.Lookback != 2*time.Minute || sf.Lag != 15*time.Second {
		t.Errorf("acme-sf: %+v", sf)
	}
	hs := cfg.Connection("acme-hs")
	if hs.DailyBudgetFraction != 0.5 || hs.APIVersion != "" || hs.BaseURL != "https://api.hubapi.com" || hs.RateLimit.SearchPerSecond != 4 || hs.InitialRead != "search" {
		t.Errorf("acme-hs defaults: %+v", hs)
	}
	wb, ok := cfg.WritebackFor("acme-sf")
	if !ok || len(wb.Mappings) != 3 || wb.BatchSize != 200 {
		t.Fatalf("writeback acme-sf: %+v", wb)
	}
	if m := wb.Mappings[1]; m.Object != "account" || m.OnHumanEdit != HumanEditKeep || m.MaxLength != 1000 {
		t.Errorf("mapping defaults: %+v", m)
	}
	hw, ok := cfg.WritebackFor("acme-hs")
	if !ok || len(hw.Mappings) != len(Outputs) || hw.Mappings[0].Field != "crmpulse_churn_score" {
		t.Errorf("writeback acme-hs defaults: %+v", hw)
	}
	if _, ok := cfg.WritebackFor("sandbox-sf"); ok {
		t.Error("sandbox-sf has no writeback")
	}
	// The example documents the defaults: apart from connections and
	// writeback, parsing it must yield Default.
	def := Default()
	if os.Getenv("REDIS_URL") != "" {
		def.Redis.URL = os.Getenv("REDIS_URL")
	}
	cfg.Connections, cfg.Writeback.Connections, cfg.Segments.Overrides = nil, nil, nil
	cfg.source, cfg.lines = "", nil
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("example differs from Default:\n got %+v\nwant %+v", cfg, def)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, y := range []string{"", "\n# only a comment\n", "---\n", "~"} {
		cfg := mustParse(t, y, nil)
		cfg.lines = nil
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("%q: not the default", y)
		}
	}
}

func TestParseKeepsDefaultsForOmittedFields(t *testing.T) {
	cfg := mustParse(t, `
retrieval:
  top_k: 5
connections:
  - name: a
    kind: salesforce
    objects: [accounts]
`, nil)
	if cfg.Retrieval.TopK != 5 || cfg.Retrieval.ChunkSize != 1000 || cfg.Retrieval.SimilarityThreshold != 0.70 {
		t.Errorf("retrieval: %+v", cfg.Retrieval)
	}
	c := cfg.Connections[0]
	want := DefaultConnection("a", KindSalesforce)
	want.Objects = []string{ObjectAccounts}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("connection:\n got %+v\nwant %+v", c, want)
	}
	if c.APIVersion != "v61.0" || c.LoginURL != "https://login.salesforce.com" || c.RateLimit.Burst != 20 {
		t.Errorf("salesforce defaults: %+v", c)
	}
}

func TestParseExpandsEnvironment(t *testing.T) {
	cfg := mustParse(t, `
redis:
  namespace: ${NS}
  index: ${INDEX:-vectorset}
retrieval:
  top_k: ${TOPK}
  similarity_threshold: ${SIM:-0.5}
sync:
  interval: ${EVERY:-5m}
llm:
  enabled: ${LLM_ON}
  model: "m-$${literal}-${EMPTY:-fallback}-${UNSET}"
`, env(map[string]string{"NS": "acme", "TOPK": "7", "LLM_ON": "true", "EMPTY": "", "REDIS_URL": "redis://env:1/2"}))
	if cfg.Redis.Namespace != "acme" || cfg.Redis.Index != "vectorset" {
		t.Errorf("redis: %+v", cfg.Redis)
	}
	if cfg.Redis.URL != "redis://env:1/2" {
		t.Errorf("REDIS_URL not used: %q", cfg.Redis.URL)
	}
	if cfg.Retrieval.TopK != 7 || cfg.Retrieval.SimilarityThreshold != 0.5 {
		t.Errorf("retrieval: %+v", cfg.Retrieval)
	}
	if cfg.Sync.Interval != 5*time.Minute || !cfg.LLM.Enabled {
		t.Errorf("sync %v llm %v", cfg.Sync.Interval, cfg.LLM.Enabled)
	}
	if cfg.LLM.Model != "m-${literal}-fallback-" {
		t.Errorf("model %q", cfg.LLM.Model)
	}
	// An explicit redis.url wins over REDIS_URL.
	cfg = mustParse(t, "redis:\n  url: redis://file:1/0\n", env(map[string]string{"REDIS_URL": "redis://env:1/2"}))
	if cfg.Redis.URL != "redis://file:1/0" {
		t.Errorf("redis.url %q", cfg.Redis.URL)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml    string
		field, value  string
		line          int
		err           error
		msgContains   string
		envIsRequired bool
	}{
		{name: "unknown top-level key", yaml: "redis: {}\nredsi:\n  url: x\n", field: "redsi", line: 2, err: ErrUnknownField, msgContains: "known fields"},
		{name: "unknown nested key", yaml: "connections:\n  - name: a\n    kind: hubspot\n    auth:\n      mode: private_app\n      tokn_env: X\n", field: "connections[0].auth.tokn_env", line: 6, err: ErrUnknownField},
		{name: "bad duration", yaml: "sync:\n  interval: 15 minutes\n", field: "sync.interval", value: "15 minutes", line: 2, err: ErrInvalid, msgContains: "duration"},
		{name: "number as duration", yaml: "sync:\n  interval: 900\n", field: "sync.interval", value: "900", line: 2, err: ErrInvalid},
		{name: "string as int", yaml: "retrieval:\n  top_k: ten\n", field: "retrieval.top_k", value: "ten", line: 2, err: ErrType, msgContains: "integer"},
		{name: "list as string", yaml: "log:\n  level: [info]\n", field: "log.level", value: "[...]", line: 2, err: ErrType},
		{name: "scalar as list", yaml: "connections: none\n", field: "connections", value: "none", line: 1, err: ErrType, msgContains: "list"},
		{name: "scalar as section", yaml: "redis: localhost\n", field: "redis", value: "localhost", line: 1, err: ErrType},
		{name: "duplicate key", yaml: "log:\n  level: info\n  level: debug\n", field: "log.level", line: 3, err: ErrDuplicate},
		{name: "unterminated env", yaml: "llm:\n  model: ${OOPS\n", field: "llm.model", value: "${OOPS", line: 2, err: ErrInvalid, msgContains: "unterminated"},
		{name: "bad env name", yaml: "llm:\n  model: ${1X}\n", field: "llm.model", line: 2, err: ErrInvalid},
		{name: "env gives wrong type", yaml: "sync:\n  workers: ${W}\n", field: "sync.workers", value: "many", line: 2, err: ErrType},
		{name: "syntax", yaml: "log:\n  level: info\n  format: @json\n", line: 3, err: ErrSyntax, msgContains: "cannot start any token"},
		{name: "unknown anchor", yaml: "log:\n  level: *lvl\n", err: ErrSyntax, msgContains: "unknown anchor"},
		{name: "top level list", yaml: "- a\n- b\n", field: "", value: "[...]", line: 1, err: ErrType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.yaml), env(map[string]string{"W": "many"}))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T), want *ValidationError", err, err)
			}
			fe := ve.Errors[0]
			if fe.Field != tc.field || fe.Line != tc.line || !errors.Is(fe, tc.err) {
				t.Errorf("got field %q line %d err %v; want %q line %d %v (%v)", fe.Field, fe.Line, fe.Err, tc.field, tc.line, tc.err, err)
			}
			if tc.value != "" && fe.Value != tc.value {
				t.Errorf("value %q, want %q", fe.Value, tc.value)
			}
			if !strings.Contains(fe.Msg, tc.msgContains) {
				t.Errorf("message %q lacks %q", fe.Msg, tc.msgContains)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("errors.Is(err, %v) false through ValidationError", tc.err)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	_, err := Parse(strings.NewReader("a: 1\nb: 2\nsync:\n  interval: x\n"), nil)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}

const validBase = `
connections:
  - name: sf
    kind: salesforce
    auth:
      mode: client_credentials
      client_id: cid
      client_secret_env: SF_SECRET
  - name: hs
    kind: hubspot
    auth:
      mode: private_app
      token_env: HS_TOKEN
writeback:
  connections:
    - connection: sf
      mappings:
        - output: churn_score
          field: AI_Churn_Score__c
`

func TestValidBaseValidates(t *testing.T) {
	if err := mustParse(t, validBase, nil).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string // replaces the matching text in validBase, or is appended
		old   string
		field string
		value string
		line  int
		err   error
		msg   string
	}{
		{name: "unknown kind", old: "kind: hubspot", yaml: "kind: pipedrive", field: "connections[1].kind", value: "pipedrive", line: 10, err: ErrInvalid, msg: "must be one of salesforce, hubspot"},
		{name: "unknown auth mode", old: "mode: private_app", yaml: "mode: oauth3", field: "connections[1].auth.mode", value: "oauth3", line: 12, err: ErrInvalid,
			msg: "must be one of authorization_code, jwt_bearer, client_credentials, private_app"},
		{name: "mode of the other CRM", old: "mode: private_app", yaml: "mode: jwt_bearer", field: "connections[1].auth.mode", value: "jwt_bearer", line: 12, err: ErrInvalid, msg: "not supported by hubspot"},
		{name: "duplicate name", old: "name: hs", yaml: "name: sf", field: "connections[1].name", value: "sf", line: 9, err: ErrDuplicate, msg: "connections[0]"},
		{name: "name not a slug", old: "name: hs", yaml: "name: Acme HS", field: "connections[1].name", value: "Acme HS", line: 9, err: ErrInvalid},
		{name: "missing secret env", old: "      client_secret_env: SF_SECRET\n", yaml: "", field: "connections[0].auth.client_secret_env", line: 5, err: ErrRequired, msg: "client_credentials"},
		{name: "missing private-app token", old: "      token_env: HS_TOKEN\n", yaml: "", field: "connections[1].auth.token_env", line: 11, err: ErrRequired},
		{name: "jwt needs key and user", old: "mode: client_credentials", yaml: "mode: jwt_bearer", field: "connections[0].auth.username", line: 5, err: ErrRequired},
		{name: "mapping to missing connection", old: "connection: sf", yaml: "connection: nope", field: "writeback.connections[0].connection", value: "nope", line: 16, err: ErrReference},
		{name: "unknown output", old: "output: churn_score", yaml: "output: churn_odds", field: "writeback.connections[0].mappings[0].output", value: "churn_odds", line: 18, err: ErrInvalid, msg: "churn_score"},
		{name: "bad field name", old: "field: AI_Churn_Score__c", yaml: "field: AI Churn Score", field: "writeback.connections[0].mappings[0].field", value: "AI Churn Score", line: 19, err: ErrInvalid},
		{name: "bad human edit", old: "field: AI_Churn_Score__c", yaml: "field: AI_Churn_Score__c\n          on_human_edit: merge", field: "writeback.connections[0].mappings[0].on_human_edit", value: "merge", line: 20, err: ErrInvalid},
		{name: "threshold above 1", yaml: "retrieval:\n  similarity_threshold: 1.5\n", field: "retrieval.similarity_threshold", value: "1.5", line: 22, err: ErrInvalid},
		{name: "threshold negative", yaml: "retrieval:\n  similarity_threshold: -0.1\n", field: "retrieval.similarity_threshold", value: "-0.1", line: 22, err: ErrInvalid},
		{name: "overlap not below size", yaml: "retrieval:\n  chunk_size: 500\n  chunk_overlap: 500\n", field: "retrieval.chunk_overlap", value: "500", line: 23, err: ErrInvalid, msg: "less than retrieval.chunk_size (500)"},
		{name: "negative lookback", old: "token_env: HS_TOKEN", yaml: "token_env: HS_TOKEN\n    lookback: -1m", field: "connections[1].lookback", value: "-1m0s", line: 14, err: ErrInvalid},
		{name: "zero interval", yaml: "sync:\n  interval: 0s\n", field: "sync.interval", value: "0s", line: 22, err: ErrInvalid},
		{name: "negative search rate", old: "token_env: HS_TOKEN", yaml: "token_env: HS_TOKEN\n    rate_limit:\n      requests_per_second: 10\n      burst: 20\n      search_per_second: -2", field: "connections[1].rate_limit.search_per_second", value: "-2", line: 17, err: ErrInvalid, msg: "positive"},
		{name: "initial read", old: "token_env: HS_TOKEN", yaml: "token_env: HS_TOKEN\n    initial_read: scan", field: "connections[1].initial_read", value: "scan", line: 14, err: ErrInvalid, msg: "search, list"},
		{name: "budget fraction", old: "token_env: HS_TOKEN", yaml: "token_env: HS_TOKEN\n    daily_budget_fraction: 1.2", field: "connections[1].daily_budget_fraction", value: "1.2", line: 14, err: ErrInvalid},
		{name: "unknown object", old: "token_env: HS_TOKEN", yaml: "token_env: HS_TOKEN\n    objects: [accounts, leads]", field: "connections[1].objects[1]", value: "leads", line: 14, err: ErrInvalid},
		{name: "embedder kind", yaml: "embedder:\n  kind: bert\n", field: "embedder.kind", value: "bert", line: 22, err: ErrInvalid},
		{name: "unknown openai model needs dimension", yaml: "embedder:\n  kind: openai\n  openai:\n    model: nomic-embed-text\n", field: "embedder.openai.dimension", line: 23, err: ErrRequired, msg: "nomic-embed-text"},
		{name: "language", yaml: "llm:\n  language: fr\n", field: "llm.language", value: "fr", line: 22, err: ErrInvalid},
		{name: "index flavour", yaml: "redis:\n  index: faiss\n", field: "redis.index", value: "faiss", line: 22, err: ErrInvalid},
		{name: "redis url scheme", yaml: "redis:\n  url: http://pw:secret@h:1\n", field: "redis.url", value: "http://pw:xxxxx@h:1", line: 22, err: ErrInvalid},
		{name: "cutoffs not ascending", yaml: "segments:\n  cutoffs:\n    frequency: [1, 5, 3, 9]\n", field: "segments.cutoffs.frequency[2]", value: "3", line: 23, err: ErrInvalid},
		{name: "cutoffs count", yaml: "segments:\n  cutoffs:\n    monetary: [1, 2]\n", field: "segments.cutoffs.monetary", line: 23, err: ErrInvalid},
		{name: "serve addr", yaml: "serve:\n  addr: localhost\n", field: "serve.addr", value: "localhost", line: 22, err: ErrInvalid},
		{name: "log format", yaml: "log:\n  format: xml\n", field: "log.format", value: "xml", line: 22, err: ErrInvalid},
		{name: "env var name", yaml: "security:\n  token_key_env: not-a-name\n", field: "security.token_key_env", value: "not-a-name", line: 22, err: ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := validBase
			if tc.old != "" {
				if !strings.Contains(y, tc.old) {
					t.Fatalf("base lacks %q", tc.old)
				}
				y = strings.Replace(y, tc.old, tc.yaml, 1)
			} else {
				y += "\n" + tc.yaml
			}
			err := mustParse(t, y, nil).Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v, want *ValidationError", err)
			}
			fe, ok := ve.Field(tc.field)
			if !ok {
				t.Fatalf("no error for %s; got:\n%v", tc.field, err)
			}
			if tc.value != "" && fe.Value != tc.value {
				t.Errorf("value %q, want %q", fe.Value, tc.value)
			}
			if fe.Line != tc.line {
				t.Errorf("line %d, want %d", fe.Line, tc.line)
			}
			if !errors.Is(fe, tc.err) {
				t.Errorf("sentinel %v, want %v", fe.Err, tc.err)
			}
			if !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("message %q lacks %q", fe.Msg, tc.msg)
			}
		})
	}
}

func TestSandboxNeedsNoSecrets(t *testing.T) {
	cfg := mustParse(t, "connections:\n  - name: sb\n    kind: hubspot\n    sandbox: true\n    base_url: http://127.0.0.1:8787\n", nil)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Connections[0].Auth.Mode != AuthPrivateApp || cfg.Connections[0].BaseURL != "http://127.0.0.1:8787" {
		t.Errorf("%+v", cfg.Connections[0])
	}
	if err := cfg.CheckSecrets(env(nil)); err != nil {
		t.Errorf("sandbox secrets: %v", err)
	}
}

func TestLoadErrorFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	y := strings.Replace(validBase, "mode: private_app", "mode: oauth3", 1)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:12: connections[1].auth.mode: "oauth3": must be one of authorization_code, jwt_bearer, client_credentials, private_app`
	if err == nil || err.Error() != want {
		t.Errorf("error\n %v\nwant\n %s", err, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	fe := FieldError{Field: "sync.workers", Err: ErrRequired, Msg: "required"}
	if fe.Error() != "config: sync.workers: required" {
		t.Errorf("%q", fe.Error())
	}
}

func TestCheckSecrets(t *testing.T) {
	y := `
connections:
  - name: sf
    kind: salesforce
    auth:
      mode: client_credentials
      client_id: cid
      client_secret_env: SF_SECRET
  - name: hs
    kind: hubspot
    auth:
      mode: private_app
      token_env: HS_TOKEN
  - name: web
    kind: salesforce
    auth:
      mode: authorization_code
      client_id: x
      client_secret_env: WEB_SECRET
      redirect_url: http://127.0.0.1:8080/oauth/callback
llm:
  enabled: true
`
	cfg := mustParse(t, y, nil)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	err := cfg.CheckSecrets(env(map[string]string{"SF_SECRET": "s", "CRMPULSE_TOKEN_KEY": "short"}))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v", err)
	}
	for _, f := range []string{"connections[1].auth.token_env", "connections[2].auth.client_secret_env", "security.token_key_env", "llm.api_key_env"} {
		if _, ok := ve.Field(f); !ok {
			t.Errorf("no error for %s in\n%v", f, err)
		}
	}
	if _, ok := ve.Field("connections[0].auth.client_secret_env"); ok {
		t.Error("set secret reported missing")
	}
	ok := env(map[string]string{"SF_SECRET": "s", "HS_TOKEN": "t", "WEB_SECRET": "w", "OPENAI_API_KEY": "k",
		"CRMPULSE_TOKEN_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err := cfg.CheckSecrets(ok); err != nil {
		t.Errorf("all secrets set: %v", err)
	}
}

func TestValidateWithoutParse(t *testing.T) {
	cfg := Default()
	cfg.Connections = []Connection{DefaultConnection("sb", KindSalesforce)}
	cfg.Connections[0].Sandbox = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Connections[0].Kind = "zoho"
	err := cfg.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Line != 0 || ve.Errors[0].Field != "connections[0].kind" {
		t.Fatalf("error %v", err)
	}
	if !strings.HasPrefix(err.Error(), `config: connections[0].kind: "zoho": `) {
		t.Errorf("format %q", err.Error())
	}
}
