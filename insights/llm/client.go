// Package llm runs the retrieval-augmented analyses of crmpulse against any
// OpenAI-compatible chat completions endpoint: the account insight, the
// win-back plan and the segment strategy.
//
// # Requests
//
// Every request carries a JSON schema as response_format (strict structured
// output) and its answer is checked locally: it must be JSON, satisfy the
// schema (required fields, types, enums, lengths) and cite only record and
// chunk ids present in the context sent. An invalid answer is retried with
// the validation error fed back (MaxAttempts in all); if it stays invalid,
// the analysis fails with an error wrapping ErrInvalidOutput and nothing is
// stored. Transport failures (timeouts, 429, 5xx) are retried MaxRetries
// times with backoff, then fail with ErrUnavailable.
//
// # Limits
//
// At most Concurrency requests are in flight per Client (a semaphore); a
// token budget per Client (one run) stops further calls once spent, with
// ErrBudgetExhausted, and the caller falls back to the statistical text.
//
// # Personal data
//
// Before anything leaves the process, email addresses, phone numbers
// (Japanese and international formats, full-width digits included) and,
// with RedactNames, the names of the account's contacts are replaced by
// placeholders; every message is checked again just before each request
// and a request that still holds personal data is refused with
// ErrRedaction. Placeholders in the answer are restored locally.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/crmpulse/crmpulse/internal/config"
)

// PromptVersion identifies the prompts and schemas of this package; it is
// stored with every result they produce.
const PromptVersion = "v1"

var (
	// ErrBudgetExhausted: the run's token budget is spent; no more calls.
	ErrBudgetExhausted = errors.New("LLM token budget exhausted")
	// ErrUnavailable: the endpoint kept failing (timeouts, 429, 5xx).
	ErrUnavailable = errors.New("LLM endpoint unavailable")
	// ErrInvalidOutput: the answers stayed invalid after every attempt.
	ErrInvalidOutput = errors.New("LLM answer invalid")
	// ErrNotConfigured: no LLM is configured.
	ErrNotConfigured = errors.New("LLM not configured")
)

// InvalidOutputError details ErrInvalidOutput.
type InvalidOutputError struct {
	Analysis string
	Attempts int
	Problem  string // the last attempt's problem
}

func (e *InvalidOutputError) Error() string {
	return fmt.Sprintf("%s: answer invalid after %d attempts: %s", e.Analysis, e.Attempts, e.Problem)
}

// Unwrap returns ErrInvalidOutput.
func (e *InvalidOutputError) Unwrap() error { return ErrInvalidOutput }

// Config configures a Client. Zero values mean the defaults shown.
type Config struct {
	BaseURL     string
	Model       string
	APIKey      string
	Language    string        // "ja" (default) or "en"
	Timeout     time.Duration // per request (default 60s)
	MaxRetries  int           // transport retries (default 3; <0: none)
	Concurrency int           // requests in flight (default 4)
	TokenBudget int64         // per Client; 0 = unlimited
	RedactNames bool          // replace contact names
	// MaxAttempts is the number of answers asked for before an invalid
	// output is given up (default 3).
	MaxAttempts int
	// Backoff is the first transport retry delay, doubled each time
	// (default 1s).
	Backoff time.Duration
	// HTTPClient overrides the HTTP client (default: a plain client; the
	// per-request timeout is applied through the context).
	HTTPClient *http.Client
}

// FromConfig builds a Config from the llm section; the API key is read
// from the variable it names (it may be unset for local servers).
func FromConfig(c config.LLM, lookupEnv func(string) (string, bool)) (Config, error) {
	if !c.Enabled {
		return Config{}, ErrNotConfigured
	}
	key := ""
	if c.APIKeyEnv != "" && lookupEnv != nil {
		key, _ = lookupEnv(c.APIKeyEnv)
	}
	if key == "" && strings.Contains(c.BaseURL, "api.openai.com") {
		return Config{}, fmt.Errorf("llm.api_key_env: %s is not set", c.APIKeyEnv)
	}
	return Config{
		BaseURL: c.BaseURL, Model: c.Model, APIKey: key, Language: c.Language, Timeout: c.Timeout,
		MaxRetries: c.MaxRetries, Concurrency: c.Concurrency, TokenBudget: int64(c.TokenBudget),
		RedactNames: c.RedactPersonNames,
	}, nil
}

// Client calls the chat completions endpoint. Safe for concurrent use.
type Client struct {
	cfg      Config
	api      *openai.Client
	sem      chan struct{}
	tokens   atomic.Int64
	requests atomic.Int64
	refused  atomic.Int64
}

// New returns a client.
func New(c Config) (*Client, error) {
	if c.BaseURL == "" {
		return nil, fmt.Errorf("llm: base_url is empty")
	}
	if c.Model == "" {
		return nil, fmt.Errorf("llm: model is empty")
	}
	if c.Language != "en" {
		c.Language = "ja"
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	oc := openai.DefaultConfig(c.APIKey)
	oc.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.HTTPClient != nil {
		oc.HTTPClient = c.HTTPClient
	}
	return &Client{cfg: c, api: openai.NewClientWithConfig(oc), sem: make(chan struct{}, c.Concurrency)}, nil
}

// Model returns the model name.
func (c *Client) Model() string { return c.cfg.Model }

// Language returns the output language.
func (c *Client) Language() string { return c.cfg.Language }

// Usage returns the requests sent and the tokens spent so far.
func (c *Client) Usage() (requests, tokens int64) { return c.requests.Load(), c.tokens.Load() }

// Exhausted reports whether the token budget is spent.
func (c *Client) Exhausted() bool {
	return c.cfg.TokenBudget > 0 && c.tokens.Load() >= c.cfg.TokenBudget
}

// call is one structured request.
type call struct {
	analysis string // schema name
	schema   Schema
	system   string
	user     string
	red      *Redactor
	// check validates the decoded answer beyond the schema (citations).
	check func(v map[string]any) []SchemaError
}

// do sends the call until a valid answer arrives and returns it decoded.
func (c *Client) do(ctx context.Context, k call) ([]byte, error) {
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: k.system},
		{Role: openai.ChatMessageRoleUser, Content: k.user},
	}
	var problem string
	for attempt := 1; attempt <= c.cfg.MaxAttempts; attempt++ {
		content, err := c.send(ctx, k, msgs)
		if err != nil {
			return nil, err
		}
		raw, errs := c.parse(content, k)
		if len(errs) == 0 {
			return raw, nil
		}
		problem = joinErrors(errs)
		msgs = append(msgs,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: k.red.Redact(truncate(content, 4000))},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: retryPrompt(c.cfg.Language, problem)},
		)
	}
	return nil, &InvalidOutputError{Analysis: k.analysis, Attempts: c.cfg.MaxAttempts, Problem: problem}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func retryPrompt(lang, problem string) string {
	if lang == "en" {
		return "Your answer was rejected: " + problem + ". Answer again with one JSON object that satisfies the schema and cites only ids given in the context."
	}
	return "回答は不正なため却下されました: " + problem + "。スキーマを満たし、コンテキストに含まれるIDのみを引用したJSONオブジェクト1つで回答し直してください。"
}

func (c *Client) parse(content string, k call) ([]byte, []SchemaError) {
	s := strings.TrimSpace(content)
	s = strings.TrimPrefix(s, "```json")
	s = strings.TrimPrefix(s, "```")
	s = strings.TrimSuffix(s, "```")
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, []SchemaError{{Path: "$", Msg: "not valid JSON: " + err.Error()}}
	}
	if errs := k.schema.Validate(v); len(errs) > 0 {
		return nil, errs
	}
	obj := v.(map[string]any)
	if k.check != nil {
		if errs := k.check(obj); len(errs) > 0 {
			return nil, errs
		}
	}
	return []byte(s), nil
}

// send makes one request with transport retries.
func (c *Client) send(ctx context.Context, k call, msgs []openai.ChatCompletionMessage) (string, error) {
	for i, m := range msgs {
		if err := k.red.Check(m.Content); err != nil {
			c.refused.Add(1)
			return "", fmt.Errorf("%s: message %d: %w", k.analysis, i, err)
		}
	}
	req := openai.ChatCompletionRequest{
		Model:       c.cfg.Model,
		Messages:    msgs,
		Temperature: 0.2,
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: k.analysis, Schema: k.schema, Strict: true},
		},
	}
	delay := c.cfg.Backoff
	var last error
	for try := 0; try <= c.cfg.MaxRetries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(delay):
			}
			delay *= 2
		}
		if c.Exhausted() {
			return "", fmt.Errorf("%s: %w (%d tokens spent of %d)", k.analysis, ErrBudgetExhausted, c.tokens.Load(), c.cfg.TokenBudget)
		}
		content, err := c.once(ctx, req)
		if err == nil {
			return content, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !retryable(err) {
			return "", fmt.Errorf("%s: %w", k.analysis, err)
		}
		last = err
	}
	return "", fmt.Errorf("%s: %w after %d attempts: %v", k.analysis, ErrUnavailable, c.cfg.MaxRetries+1, last)
}

func (c *Client) once(ctx context.Context, req openai.ChatCompletionRequest) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.sem }()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	c.requests.Add(1)
	resp, err := c.api.CreateChatCompletion(rctx, req)
	if err != nil {
		if rctx.Err() != nil && ctx.Err() == nil {
			return "", fmt.Errorf("request timed out after %v: %w", c.cfg.Timeout, context.DeadlineExceeded)
		}
		return "", err
	}
	used := int64(resp.Usage.TotalTokens)
	if used == 0 { // servers that do not report usage: about 4 bytes a token
		n := 0
		for _, m := range req.Messages {
			n += len(m.Content)
		}
		if len(resp.Choices) > 0 {
			n += len(resp.Choices[0].Message.Content)
		}
		used = int64(n/4 + 1)
	}
	c.tokens.Add(used)
	if len(resp.Choices) == 0 {
		return "", errors.New("answer without choices")
	}
	return resp.Choices[0].Message.Content, nil
}

func retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ae *openai.APIError
	if errors.As(err, &ae) {
		return ae.HTTPStatusCode == 429 || ae.HTTPStatusCode >= 500 || ae.HTTPStatusCode == 408
	}
	var re *openai.RequestError
	if errors.As(err, &re) {
		return re.HTTPStatusCode == 429 || re.HTTPStatusCode >= 500 || re.HTTPStatusCode == 408
	}
	var ne net.Error
	return errors.As(err, &ne)
}
