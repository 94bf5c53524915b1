package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/crmpulse/crmpulse/insights/llm"
	crmsync "github.com/crmpulse/crmpulse/sync"
)

// llmServer is an OpenAI-compatible chat completions endpoint that answers
// every request, after Latency, with a JSON object satisfying the request's
// response_format schema and citing only ids present in the user message.
// It stands in for a model server so that the bench measures crmpulse's side
// of an analysis (retrieval, prompt, validation, storage, concurrency) at a
// chosen model latency.
type llmServer struct {
	Latency  time.Duration
	srv      *httptest.Server
	requests atomic.Int64
	answered atomic.Int64
	bad      atomic.Int64 // requests without a schema or unreadable
}

func newLLMServer(latency time.Duration) *llmServer {
	s := &llmServer{Latency: latency}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.complete)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the base URL to configure (…/v1).
func (s *llmServer) URL() string { return s.srv.URL + "/v1" }

func (s *llmServer) Close() { s.srv.Close() }

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string         `json:"name"`
			Schema map[string]any `json:"schema"`
			Strict bool           `json:"strict"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

var idRE = regexp.MustCompile(`"(?:id|record)":\s*"([^"]+)"`)

func (s *llmServer) complete(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.bad.Add(1)
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.ResponseFormat == nil || req.ResponseFormat.JSONSchema == nil || req.ResponseFormat.JSONSchema.Schema == nil {
		s.bad.Add(1)
		http.Error(w, "response_format json_schema required", http.StatusBadRequest)
		return
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range req.Messages {
		if m.Role != "user" {
			continue
		}
		for _, g := range idRE.FindAllStringSubmatch(m.Content, -1) {
			if !seen[g[1]] {
				seen[g[1]] = true
				ids = append(ids, g[1])
			}
		}
	}
	content, err := json.Marshal(answer(req.ResponseFormat.JSONSchema.Schema, "", ids, new(int)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s.Latency > 0 {
		t := time.NewTimer(s.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	resp := map[string]any{
		"id": fmt.Sprintf("bench-%d", s.requests.Load()), "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": string(content)}}},
		"usage": map[string]any{"prompt_tokens": 1500, "completion_tokens": 400, "total_tokens": 1900},
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(resp); err == nil {
		s.answered.Add(1)
	}
}

// answer builds a value satisfying schema s (the strict subset the analyses
// use). Arrays of objects get two items (within their bounds), other arrays
// their minimum; citations cite the next id of ids in turn.
func answer(s map[string]any, key string, ids []string, n *int) any {
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[len(e)/2]
	}
	typ, _ := s["type"].(string)
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := map[string]any{}
		for _, k := range keys {
			ps, _ := props[k].(map[string]any)
			out[k] = answer(ps, k, ids, n)
		}
		return out
	case "array":
		lo, hi := intOf(s["minItems"], 0), intOf(s["maxItems"], 4)
		items, _ := s["items"].(map[string]any)
		if key == "citations" {
			if len(ids) == 0 {
				return []any{}
			}
			cnt := max(lo, 1)
			out := make([]any, 0, cnt)
			for range cnt {
				out = append(out, ids[*n%len(ids)])
				*n++
			}
			return out
		}
		cnt := min(max(lo, 2), hi)
		if t, _ := items["type"].(string); t != "object" {
			// Free strings in an array (a plan's precedents) are checked
			// against the context by the analyses; give only what is required.
			cnt = lo
		}
		out := make([]any, 0, cnt)
		for range cnt {
			out = append(out, answer(items, key, ids, n))
		}
		return out
	case "string":
		lo, hi := intOf(s["minLength"], 0), intOf(s["maxLength"], 400)
		*n++
		t := fmt.Sprintf("Finding %d on %s: engagement and purchase history point the same way; see the cited records.", *n, strings.ReplaceAll(key, "_", " "))
		for len([]rune(t)) < lo {
			t += " More detail follows from the records."
		}
		if r := []rune(t); len(r) > hi {
			t = string(r[:hi])
		}
		return t
	case "integer":
		return intOf(s["minimum"], 0)
	case "number":
		if v, ok := s["minimum"].(float64); ok {
			return v
		}
		return 0.5
	case "boolean":
		return false
	}
	return nil
}

func intOf(v any, def int) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	return def
}

// llm measures LLM analyses against the test endpoint.
func (r *runner) llm(ctx context.Context, env *scaleEnv, c crm) error {
	fail := func(err error) error {
		r.skipLLM(err.Error())
		return err
	}
	a, err := env.app(ctx, r, c.conn)
	if err != nil {
		return fail(err)
	}
	ids, err := crmsync.Accounts(ctx, env.st, c.conn)
	if err != nil {
		return fail(err)
	}
	srv := newLLMServer(r.opt.LLMLatency)
	defer srv.Close()
	r.note("LLM figures use an in-process OpenAI-compatible endpoint that answers after %s with a valid, cited JSON object: they measure crmpulse's side (retrieval, prompt, validation, storage) at that model latency.", r.opt.LLMLatency)
	lat := r.opt.LLMLatency.String()

	// One runner and one base for every level: only the analyst changes.
	run := r.engineRunner(a, env)
	if _, err := run.Base(ctx, c.conn); err != nil {
		return fail(fmt.Errorf("prepare base: %w", err))
	}
	setAnalyst := func(conc int) error {
		client, err := llm.New(llm.Config{
			BaseURL: srv.URL(), Model: "bench-model", Language: env.cfg.LLM.Language,
			Timeout: r.opt.LLMLatency + 30*time.Second, MaxRetries: 1, Concurrency: conc, Backoff: 100 * time.Millisecond,
		})
		if err != nil {
			return err
		}
		run.Analyst = &llm.Analyst{Client: client, Retriever: &llm.Retriever{Store: env.st, Embedder: a.Embedder,
			TopK: env.cfg.Retrieval.TopK, Threshold: env.cfg.Retrieval.SimilarityThreshold}}
		run.LLMOK.Store(0)
		run.LLMFailed.Store(0)
		return nil
	}

	var single []time.Duration
	for _, conc := range r.opt.LLMConcurrency {
		scale := fmt.Sprintf("concurrency %d, latency %s", conc, lat)
		n := min(len(ids), max(4*conc, 4))
		if r.opt.Quick {
			n = min(len(ids), max(2*conc, 2))
		}
		if err := setAnalyst(conc); err != nil {
			r.skip(GroupLLM, "LLM analyses per second", scale, "analyses/s", "", err.Error())
			continue
		}
		var mu gosync.Mutex
		var lats []time.Duration
		before := srv.answered.Load()
		start := time.Now()
		err := handleAll(ctx, run, c.conn, ids[:n], conc, func(d time.Duration) {
			mu.Lock()
			lats = append(lats, d)
			mu.Unlock()
		})
		elapsed := time.Since(start)
		if err != nil {
			r.skip(GroupLLM, "LLM analyses per second", scale, "analyses/s", "", err.Error())
			continue
		}
		answered := srv.answered.Load() - before
		ok, failed := run.LLMOK.Load(), run.LLMFailed.Load()
		r.progress("llm: concurrency %d: %d answers for %d accounts in %s (%d valid analyses, %d rejected)", conc, answered, n, elapsed.Round(time.Millisecond), ok, failed)
		verdict := fmt.Sprintf("%d analyses for %d accounts in %s", ok, n, elapsed.Round(100*time.Millisecond))
		if failed > 0 {
			verdict += fmt.Sprintf("; %d rejected by validation", failed)
		}
		r.add(GroupLLM, "LLM analyses per second", scale, round(float64(ok)/elapsed.Seconds(), 2), "analyses/s", "", verdict)
		if conc == 1 || single == nil {
			single = slices.Clone(lats)
		}
	}
	if len(single) > 0 {
		slices.Sort(single)
		p50 := percentile(single, 0.5)
		r.add(GroupLLM, "one account, LLM analysis (p50)", "latency "+lat, round(p50.Seconds(), 2), "s", "< 5 min",
			below(p50.Seconds(), 300)+fmt.Sprintf("; %d accounts, account insight plus win-back plan where due", len(single)))
	} else {
		r.skip(GroupLLM, "one account, LLM analysis (p50)", "latency "+lat, "s", "< 5 min", "no concurrency level ran")
	}

	// 1000 accounts at once with the LLM: every account in flight, the
	// client's concurrency at the highest level measured.
	conc := slices.Max(r.opt.LLMConcurrency)
	at := ids[:min(len(ids), 1000)]
	scale := fmt.Sprintf("%d accounts, concurrency %d, latency %s", len(at), conc, lat)
	if r.opt.Quick {
		r.skip(GroupLLM, "1000 accounts at once, LLM", scale, "s", "1000 accounts at once", "--quick")
		return nil
	}
	if err := setAnalyst(conc); err != nil {
		r.skip(GroupLLM, "1000 accounts at once, LLM", scale, "s", "1000 accounts at once", err.Error())
		return nil
	}
	r.progress("llm: %d accounts at once (concurrency %d, latency %s)", len(at), conc, lat)
	start := time.Now()
	if err := handleAll(ctx, run, c.conn, at, len(at), nil); err != nil {
		r.skip(GroupLLM, "1000 accounts at once, LLM", scale, "s", "1000 accounts at once", err.Error())
		return nil
	}
	elapsed := time.Since(start)
	verdict := fmt.Sprintf("done; %d valid analyses", run.LLMOK.Load())
	if f := run.LLMFailed.Load(); f > 0 {
		verdict += fmt.Sprintf(", %d rejected", f)
	}
	r.add(GroupLLM, "1000 accounts at once, LLM", scale, round(elapsed.Seconds(), 1), "s", "1000 accounts at once", verdict)
	return nil
}

func (r *runner) skipLLM(reason string) {
	lat := r.opt.LLMLatency.String()
	for _, conc := range r.opt.LLMConcurrency {
		r.skip(GroupLLM, "LLM analyses per second", fmt.Sprintf("concurrency %d, latency %s", conc, lat), "analyses/s", "", reason)
	}
	r.skip(GroupLLM, "one account, LLM analysis (p50)", "latency "+lat, "s", "< 5 min", reason)
	r.skip(GroupLLM, "1000 accounts at once, LLM", "1000 accounts", "s", "1000 accounts at once", reason)
}
