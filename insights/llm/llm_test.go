package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// Personal data planted in the fixture; none of it may reach the server.
var secrets = []string{"Taro Yamada", "Yamada", "山田 太郎", "山田太郎", "taro.yamada@example.co.jp", "03-1234-5678", "+81 90 1234 5678", "hanako@example.com"}

// Chunks of the fixture.
const (
	chProfile  = "sf:account:001A#0"
	chEmail    = "sf:activity:00T1#0"
	chMeeting  = "sf:activity:00T2#0"
	chWonDeal  = "sf:opportunity:006N1#0"
	chLostDeal = "sf:opportunity:006N2#0"
	chReport   = "docs:document:trend-mfg#0"
	chProfileC = "docs:document:dataforge#0"
)

type fixture struct {
	st  *store.Store
	emb embed.Embedder
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Client(t)
	emb, err := embed.NewLocal(embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := vectorset.New(rdb, st.Key("idx", "test"), &vectorset.Options{NoAccountSets: true}) // as crmpulse wires it
	if err := idx.Ensure(ctx, store.IndexMeta{Embedder: emb.Name(), Dimension: emb.Dimension()}); err != nil {
		t.Fatal(err)
	}
	st = st.WithIndex(idx)
	put := func(chunkID, text string, a store.Attrs) {
		ref, _, err := store.ParseChunkID(chunkID)
		if err != nil {
			t.Fatal(err)
		}
		vs, _ := emb.Embed(ctx, []string{text})
		if err := st.ReplaceChunks(ctx, ref, "", []store.Chunk{{Text: text, Vector: vs[0], Attrs: a}}); err != nil {
			t.Fatal(err)
		}
	}
	put(chProfile, "Acme Manufacturing, industry Manufacturing, 201-1000 employees, owns Data Platform.", store.Attrs{Account: "001A", Industry: "manufacturing", SizeBand: "201_1000"})
	put(chEmail, "Email from Taro Yamada (taro.yamada@example.co.jp, 03-1234-5678, mobile +81 90 1234 5678): budget cut next year, we are evaluating DataForge as a cheaper option. 山田 太郎より: 予算削減のため他社を比較検討しています。", store.Attrs{Account: "001A", Kind: "email"})
	put(chMeeting, "Meeting note: complaints about slow support and open defects; Hanako (hanako@example.com) asked for an escalation.", store.Attrs{Account: "001A", Kind: "meeting"})
	put(chWonDeal, "Closed Won: Analytics Suite for a manufacturing customer; churn risk reduced after adding analytics.", store.Attrs{Account: "001B", Stage: "closed_won"})
	put(chLostDeal, "Closed Lost: Security Add-on lost to DataForge on price.", store.Attrs{Account: "001B", Stage: "closed_lost"})
	put(chReport, "Manufacturing trend report: budget cut pressure, analytics needs, churn risk where competitors offer cheaper options.", store.Attrs{Kind: KindIndustryReport})
	put(chProfileC, "Competitor profile DataForge: cheaper option, weaker support; evaluating DataForge often follows budget cut.", store.Attrs{Kind: KindCompetitor})
	return &fixture{st: st, emb: emb}
}

func insight() *result.Result {
	return &result.Result{
		Account: "001A", AccountName: "Acme Manufacturing", Connection: "sf", Industry: "Manufacturing", SizeBand: "201-1000",
		AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Churn: 0.62, Band: "high", Model: "logistic",
		Drivers:  []result.Driver{{Feature: "cue_budget_cut", Label: "budget cuts mentioned", Group: "text", Value: 1, Contribution: 0.8, Evidence: []string{"00T1"}, Phrases: []string{"budget cut"}}},
		Actions:  []result.Action{{Kind: "roi_review", Title: "Offer a right-sized plan and an ROI review", Due: time.Date(2025, 6, 5, 0, 0, 0, 0, time.UTC), Contact: "003A", Name: "Taro Yamada", Evidence: []string{"00T1"}}},
		Evidence: []result.Citation{{ID: "00T1", Title: "2025-05-20 email: budget from Taro Yamada"}, {ID: "00T2", Title: "meeting"}},
	}
}

// fakeLLM is an OpenAI-compatible chat completions server that checks every
// request it receives.
type fakeLLM struct {
	t     testing.TB
	reply func(n int, user string) (content string, delay time.Duration)

	mu       sync.Mutex
	requests []openai.ChatCompletionRequest
	problems []string

	inflight, maxInflight atomic.Int64
}

var piiRE = []*regexp.Regexp{emailRE, regexp.MustCompile(`\d{2,4}-\d{3,4}-\d{4}`), regexp.MustCompile(`\+\d{2} ?\d{2}`)}

func (f *fakeLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInflight.Load()
		if n <= m || f.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	var req openai.ChatCompletionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	idx := len(f.requests)
	f.requests = append(f.requests, req)
	bad := func(format string, a ...any) {
		f.problems = append(f.problems, fmt.Sprintf("request %d: ", idx)+fmt.Sprintf(format, a...))
	}
	if req.ResponseFormat == nil || req.ResponseFormat.Type != openai.ChatCompletionResponseFormatTypeJSONSchema ||
		req.ResponseFormat.JSONSchema == nil || req.ResponseFormat.JSONSchema.Schema == nil || !req.ResponseFormat.JSONSchema.Strict {
		bad("no strict json_schema response_format")
	}
	var user string
	for i, m := range req.Messages {
		for _, s := range secrets {
			if strings.Contains(m.Content, s) {
				bad("message %d contains %q", i, s)
			}
		}
		for _, re := range piiRE {
			if loc := re.FindString(m.Content); loc != "" {
				bad("message %d contains personal data %q", i, loc)
			}
		}
		if m.Role == openai.ChatMessageRoleUser && user == "" {
			user = m.Content
		}
	}
	f.mu.Unlock()
	content, delay := f.reply(idx, user)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	resp := openai.ChatCompletionResponse{
		ID: fmt.Sprintf("c%d", idx), Object: "chat.completion", Model: req.Model,
		Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: content}, FinishReason: "stop"}},
		Usage:   openai.Usage{PromptTokens: 100, CompletionTokens: 50, TotalTokens: 150},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeLLM) check() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		f.t.Error(p)
	}
}

func (f *fakeLLM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func startLLM(t testing.TB, reply func(n int, user string) (string, time.Duration)) (*fakeLLM, string) {
	f := &fakeLLM{t: t, reply: reply}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/v1"
}

func validAccount(cite ...string) string {
	if len(cite) == 0 {
		cite = []string{chEmail}
	}
	p := map[string]any{"text": "Budget cut and DataForge evaluation by [PERSON_1].", "citations": cite}
	v := map[string]any{
		"summary":          "High churn risk: budget cut and competitor evaluation.",
		"challenges":       []any{p},
		"needs":            []any{map[string]any{"text": "Lower cost analytics", "citations": []string{chReport}}},
		"purchase_pattern": map[string]any{"text": "Annual purchases", "citations": []string{}},
		"decision_process": map[string]any{"text": "Economic buyer decides", "citations": []string{}},
		"cross_sell":       []any{map[string]any{"text": "Analytics Suite like similar accounts", "citations": []string{chWonDeal}}},
		"churn_risk":       map[string]any{"level": "high", "factors": []any{p}},
		"competitors":      []any{map[string]any{"text": "DataForge", "citations": []string{chProfileC, "00T1"}}},
		"next_actions":     []any{map[string]any{"text": "ROI review with [PERSON_1]", "citations": []string{"00T1"}}},
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func newAnalyst(t testing.TB, fx *fixture, url string, mod func(*Config)) *Analyst {
	t.Helper()
	cfg := Config{BaseURL: url, Model: "test-model", Language: "en", Timeout: 5 * time.Second, MaxRetries: 1, Concurrency: 4, RedactNames: true, Backoff: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Analyst{Client: c, Retriever: &Retriever{Store: fx.st, Embedder: fx.emb, TopK: 10, Threshold: 0.01}}
}

func accountInput() AccountInput {
	return AccountInput{
		Insight: insight(), Contacts: []string{"Taro Yamada", "山田 太郎", "Hanako Suzuki"},
		Neighbours: []string{"001B"}, NeighbourWonDeals: map[string]bool{"006N1": true},
	}
}

func TestAccountInsightValid(t *testing.T) {
	fx := newFixture(t)
	var user string
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) { user = u; return validAccount(), 0 })
	a := newAnalyst(t, fx, url, nil)
	out, c, err := a.Account(context.Background(), accountInput())
	if err != nil {
		t.Fatal(err)
	}
	f.check()
	if f.count() != 1 {
		t.Errorf("%d requests, want 1", f.count())
	}
	// The context holds the account's records, the similar account's won
	// deal and both documents, never the lost deal.
	for _, id := range []string{chEmail, chMeeting, chWonDeal, chReport, chProfileC} {
		if !strings.Contains(user, `"id": "`+id+`"`) || !c.Allowed[id] {
			t.Errorf("context lacks chunk %s", id)
		}
	}
	if strings.Contains(user, chLostDeal) {
		t.Errorf("lost deal of a similar account in the context")
	}
	if !strings.Contains(user, "[EMAIL_1]") || !strings.Contains(user, "[PHONE_") || !strings.Contains(user, "[PERSON_") {
		t.Errorf("placeholders missing from the request")
	}
	if out.ChurnRisk.Level != "high" || len(out.NextActions) != 1 {
		t.Errorf("analysis %+v", out)
	}
	// Placeholders are restored locally.
	if !strings.Contains(out.Challenges[0].Text, "Taro Yamada") && !strings.Contains(out.Challenges[0].Text, "山田") {
		t.Errorf("placeholder not restored: %q", out.Challenges[0].Text)
	}
	if req, tok := a.Client.Usage(); req != 1 || tok != 150 {
		t.Errorf("usage %d requests %d tokens", req, tok)
	}
}

func TestAccountInsightInvalidAnswersRetriedThenReported(t *testing.T) {
	fx := newFixture(t)
	schemaBad := strings.Replace(validAccount(), `"level":"high"`, `"level":"severe"`, 1)
	answers := []string{`{"summary": "unterminated`, schemaBad, validAccount("sf:activity:00T999#0")}
	var users []string
	var mu sync.Mutex
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) {
		mu.Lock()
		users = append(users, u)
		mu.Unlock()
		return answers[n%len(answers)], 0
	})
	a := newAnalyst(t, fx, url, nil)
	_, _, err := a.Account(context.Background(), accountInput())
	var ie *InvalidOutputError
	if !errors.Is(err, ErrInvalidOutput) || !errors.As(err, &ie) {
		t.Fatalf("err = %v, want ErrInvalidOutput", err)
	}
	if ie.Attempts != 3 || !strings.Contains(ie.Problem, "unknown citation") {
		t.Errorf("error %+v", ie)
	}
	f.check()
	if f.count() != 3 {
		t.Fatalf("%d requests, want 3", f.count())
	}
	// The second and third requests carry the previous validation error.
	f.mu.Lock()
	defer f.mu.Unlock()
	last := func(i int) string { m := f.requests[i].Messages; return m[len(m)-1].Content }
	if !strings.Contains(last(1), "not valid JSON") {
		t.Errorf("retry 1 lacks the JSON error: %q", last(1))
	}
	if !strings.Contains(last(2), "churn_risk.level") {
		t.Errorf("retry 2 lacks the schema error: %q", last(2))
	}
}

func TestAccountInsightRecoversAfterOneBadAnswer(t *testing.T) {
	fx := newFixture(t)
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) {
		if n == 0 {
			return `not json at all`, 0
		}
		return validAccount(), 0
	})
	a := newAnalyst(t, fx, url, nil)
	if _, _, err := a.Account(context.Background(), accountInput()); err != nil {
		t.Fatal(err)
	}
	f.check()
	if f.count() != 2 {
		t.Errorf("%d requests, want 2", f.count())
	}
}

func TestSlowAnswersTimeOutRetryAndGiveUp(t *testing.T) {
	fx := newFixture(t)
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) { return validAccount(), 5 * time.Second })
	a := newAnalyst(t, fx, url, func(c *Config) { c.Timeout = 100 * time.Millisecond; c.MaxRetries = 2 })
	_, _, err := a.Account(context.Background(), accountInput())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if f.count() != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", f.count())
	}
}

func TestConcurrencyLimitRespected(t *testing.T) {
	fx := newFixture(t)
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) { return validAccount(), 40 * time.Millisecond })
	a := newAnalyst(t, fx, url, func(c *Config) { c.Concurrency = 3 })
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := a.Account(context.Background(), accountInput())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	f.check()
	if m := f.maxInflight.Load(); m > 3 || m < 1 {
		t.Errorf("server saw %d concurrent requests, limit 3", m)
	}
	if f.count() != 12 {
		t.Errorf("%d requests", f.count())
	}
}

func TestTokenBudgetStopsCalls(t *testing.T) {
	fx := newFixture(t)
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) { return validAccount(), 0 })
	a := newAnalyst(t, fx, url, func(c *Config) { c.TokenBudget = 200; c.Concurrency = 1 })
	ctx := context.Background()
	if _, _, err := a.Account(ctx, accountInput()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Account(ctx, accountInput()); err != nil {
		t.Fatal(err) // 150 spent of 200: one more call allowed
	}
	_, _, err := a.Account(ctx, accountInput())
	if !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("err = %v, want ErrBudgetExhausted", err)
	}
	if f.count() != 2 || !a.Client.Exhausted() {
		t.Errorf("%d requests, exhausted %v", f.count(), a.Client.Exhausted())
	}
}

func TestWinbackAndSegments(t *testing.T) {
	fx := newFixture(t)
	f, url := startLLM(t, func(n int, u string) (string, time.Duration) {
		if strings.Contains(u, "PRECEDENTS") {
			return fmt.Sprintf(`{"risk":"medium","assessment":{"text":"Gap of 8 months","citations":["00T1"]},"steps":[{"text":"Offer Analytics Suite","citations":["006R1"]}],"precedents":["001C"]}`), 0
		}
		return `{"segments":[{"segment":"at_risk","needs":[{"text":"cost","citations":["001A"]}],"behaviour":[{"text":"lapsing","citations":["001A"]}],"approach":[{"text":"ROI review","citations":["` + chReport + `"]}],"risks":[{"text":"competitors","citations":["` + chProfileC + `"]}]}]}`, 0
	})
	a := newAnalyst(t, fx, url, nil)
	ctx := context.Background()
	plan, _, err := a.Winback(ctx, WinbackInput{
		Insight: insight(), Contacts: accountInput().Contacts,
		Statistical: &result.WinbackPlan{MonthsSince: 8},
		Precedents:  []Precedent{{Account: "001C", ReturnDeal: "006R1", GapMonths: 9}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Source != result.SourceLLM || plan.PromptVersion != PromptVersion || plan.Risk != "medium" || plan.Precedents[0] != "001C" {
		t.Errorf("plan %+v", plan)
	}
	ss, _, err := a.Segments(ctx, "sf", []SegmentInput{{Key: "at_risk", Name: "At Risk", Definition: "lapsing", Accounts: []string{"001A"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].Segment != "at_risk" || ss[0].Accounts != 1 {
		t.Errorf("strategies %+v", ss)
	}
	f.check()
}

func TestRetrievalThreshold(t *testing.T) {
	fx := newFixture(t)
	r := &Retriever{Store: fx.st, Embedder: fx.emb, TopK: 10, Threshold: 0.70}
	text := "Competitor profile DataForge: cheaper option, weaker support; evaluating DataForge often follows budget cut."
	ps, err := r.Retrieve(context.Background(), text, AccountScopes("sf", "001A", nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 || ps[0].ID != chProfileC || ps[0].Score < 0.99 {
		t.Fatalf("passages %+v", ps)
	}
	for _, p := range ps {
		if p.Score < 0.70 {
			t.Errorf("passage %s below threshold: %v", p.ID, p.Score)
		}
	}
	r.TopK = 1
	if ps, _ := r.Retrieve(context.Background(), text, AccountScopes("sf", "001A", nil, nil)); len(ps) != 1 {
		t.Errorf("top_k 1 gave %d passages", len(ps))
	}
}
