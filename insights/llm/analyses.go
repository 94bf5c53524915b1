package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/store"
)

// Analyst runs the three analyses.
type Analyst struct {
	Client    *Client
	Retriever *Retriever
}

// Context is what an analysis sent: the passages retrieved and every id
// the answer was allowed to cite.
type Context struct {
	Passages []Passage
	Allowed  map[string]bool
}

func (c *Context) allow(ids ...string) {
	for _, id := range ids {
		if id != "" {
			c.Allowed[id] = true
		}
	}
}

func newContext(ps []Passage) *Context {
	c := &Context{Passages: ps, Allowed: map[string]bool{}}
	for _, p := range ps {
		c.allow(p.ID, p.Record)
		if r, err := store.ParseRef(p.Record); err == nil {
			c.allow(r.ID)
		}
	}
	return c
}

// citationCheck rejects citations not in the context.
func (c *Context) citationCheck(v map[string]any) []SchemaError {
	var errs []SchemaError
	var walk func(x any, path string)
	walk = func(x any, path string) {
		switch t := x.(type) {
		case map[string]any:
			for k, y := range t {
				if k == "citations" {
					if arr, ok := y.([]any); ok {
						for i, id := range arr {
							if s, _ := id.(string); !c.Allowed[s] {
								errs = append(errs, SchemaError{Path: fmt.Sprintf("%s.citations[%d]", path, i), Msg: fmt.Sprintf("unknown citation %q: cite only ids given in the context", s)})
							}
						}
					}
					continue
				}
				walk(y, path+"."+k)
			}
		case []any:
			for i, y := range t {
				walk(y, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(v, "$")
	return errs
}

func (a *Analyst) redactor(names []string) *Redactor {
	if !a.Client.cfg.RedactNames {
		names = nil
	}
	return NewRedactor(names)
}

func jsonBlock(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func systemPrompt(lang, task string) string {
	if lang == "en" {
		return "You are a B2B customer-success analyst. " + task +
			" Use only the facts in the user message: the statistics, the evidence records and the context passages. " +
			"Every statement cites the ids (evidence record ids, passage ids or passage record refs) it rests on; never invent ids. " +
			"Placeholders such as [PERSON_1] or [EMAIL_1] stand for redacted personal data: keep them as they are. " +
			"Write in English. Answer with one JSON object that satisfies the given schema."
	}
	return "あなたはB2Bカスタマーサクセスのアナリストです。" + task +
		"ユーザーメッセージ内の事実（統計、根拠レコード、コンテキスト文書）のみを使ってください。" +
		"各記述には根拠となるID（根拠レコードID、文書ID、文書のレコード参照）を引用し、IDを創作してはいけません。" +
		"[PERSON_1] や [EMAIL_1] のようなプレースホルダーは伏せられた個人情報です。そのまま残してください。" +
		"日本語で記述し、指定されたスキーマを満たすJSONオブジェクト1つで回答してください。"
}

// AccountInput is what the account insight reads.
type AccountInput struct {
	Insight *result.Result // the statistical insight of the account
	// Contacts are the account's contact names (redacted when configured).
	Contacts []string
	// Neighbours are similar accounts; NeighbourWonDeals their won deal ids.
	Neighbours        []string
	NeighbourWonDeals map[string]bool
	Industry          string // industry slug for the document search
}

// AccountScopes are the places the account insight searches: the account's
// own records, similar accounts' won deals, industry reports and competitor
// profiles.
func AccountScopes(conn, account string, neighbours []string, wonDeals map[string]bool) []Scope {
	scopes := []Scope{{Name: "account", Filter: store.Filter{Equals: map[string][]string{"conn": {conn}, "account": {account}}}}}
	if len(neighbours) > 0 {
		scopes = append(scopes, Scope{
			Name:   "similar_deal",
			Filter: store.Filter{Equals: map[string][]string{"conn": {conn}, "type": {store.TypeOpportunity}, "account": neighbours}},
			Keep:   func(h store.Hit) bool { return wonDeals[h.Attrs.Record] },
		})
	}
	scopes = append(scopes,
		Scope{Name: "industry_report", Filter: store.Filter{Equals: map[string][]string{"type": {store.TypeDocument}, "kind": {KindIndustryReport}}}},
		Scope{Name: "competitor", Filter: store.Filter{Equals: map[string][]string{"type": {store.TypeDocument}, "kind": {KindCompetitor}}}},
	)
	return scopes
}

// statFacts is the statistical insight as shown to the model.
func statFacts(r *result.Result) map[string]any {
	type drv struct {
		Factor   string   `json:"factor"`
		Value    float64  `json:"value"`
		Typical  float64  `json:"typical"`
		Phrases  []string `json:"phrases,omitempty"`
		Evidence []string `json:"evidence"`
	}
	var ds []drv
	for _, d := range r.Drivers {
		ds = append(ds, drv{d.Label, d.Value, d.Typical, d.Phrases, d.Evidence})
	}
	type act struct {
		Action   string   `json:"action"`
		Due      string   `json:"due"`
		Reason   string   `json:"reason"`
		Evidence []string `json:"evidence"`
	}
	var as []act
	for _, a := range r.Actions {
		as = append(as, act{a.Title, a.Due.Format("2006-01-02"), a.Reason, a.Evidence})
	}
	return map[string]any{
		"account":              r.Account,
		"account_name":         r.AccountName,
		"industry":             r.Industry,
		"size_band":            r.SizeBand,
		"as_of":                r.AsOf.Format("2006-01-02"),
		"churn_probability":    r.Churn,
		"risk_band":            r.Band,
		"churn_model":          r.Model,
		"drivers":              ds,
		"recommended":          as,
		"cross_sell":           r.CrossSell,
		"competitors":          r.Competitors,
		"purchases_by_quarter": r.Quarters,
	}
}

// Account runs the account insight. It returns the validated analysis (with
// placeholders restored) and the context sent.
func (a *Analyst) Account(ctx context.Context, in AccountInput) (*result.Analysis, *Context, error) {
	r := in.Insight
	lang := a.Client.cfg.Language
	query := fmt.Sprintf("%s %s challenges needs purchase decision churn risk competitors next actions", r.AccountName, r.Industry)
	for _, d := range r.Drivers {
		query += " " + d.Label + " " + strings.Join(d.Phrases, " ")
	}
	ps, err := a.Retriever.Retrieve(ctx, query, AccountScopes(r.Connection, r.Account, in.Neighbours, in.NeighbourWonDeals))
	if err != nil {
		return nil, nil, fmt.Errorf("account insight %s: retrieve: %w", r.Account, err)
	}
	c := newContext(ps)
	for _, e := range r.Evidence {
		c.allow(e.ID)
	}
	red := a.redactor(in.Contacts)
	task := tr(lang,
		"Analyse the account: current challenges and needs, purchase pattern and decision process, cross-sell and upsell opportunities, churn risk and its factors, relationship with competitors, and recommended next actions.",
		"この取引先を分析してください: 現在の課題とニーズ、購買パターンと意思決定プロセス、クロスセル・アップセルの機会、解約リスクとその要因、競合との関係、推奨される次のアクション。")
	user := red.Redact("STATISTICS:\n" + jsonBlock(statFacts(r)) +
		"\n\nEVIDENCE RECORDS:\n" + jsonBlock(r.Evidence) +
		"\n\nCONTEXT PASSAGES:\n" + jsonBlock(ps))
	raw, err := a.Client.do(ctx, call{analysis: "account_insight", schema: AccountSchema, system: systemPrompt(lang, task), user: user, red: red, check: c.citationCheck})
	if err != nil {
		return nil, c, fmt.Errorf("account insight %s/%s: %w", r.Connection, r.Account, err)
	}
	var out result.Analysis
	if err := json.Unmarshal([]byte(red.Restore(string(raw))), &out); err != nil {
		return nil, c, fmt.Errorf("account insight %s/%s: decode: %w", r.Connection, r.Account, err)
	}
	return &out, c, nil
}

func tr(lang, en, ja string) string {
	if lang == "en" {
		return en
	}
	return ja
}

// WinbackInput is what the win-back plan reads.
type WinbackInput struct {
	Insight  *result.Result
	Contacts []string
	// Statistical is the rule-based plan (months since purchase, risk,
	// precedents); Precedents describe the past recoveries it found.
	Statistical *result.WinbackPlan
	Precedents  []Precedent
}

// Precedent is a similar account that came back after a long gap.
type Precedent struct {
	Account    string   `json:"account"`
	Industry   string   `json:"industry"`
	SizeBand   string   `json:"size_band"`
	GapMonths  float64  `json:"gap_months"`
	ReturnDeal string   `json:"return_deal"`
	Products   []string `json:"products"`
	Touches    []string `json:"touches_before_return"`
}

// Winback writes the win-back plan of an account with no recent purchase
// from its insight and similar past recoveries.
func (a *Analyst) Winback(ctx context.Context, in WinbackInput) (*result.WinbackPlan, *Context, error) {
	r := in.Insight
	lang := a.Client.cfg.Language
	var accts []string
	for _, p := range in.Precedents {
		accts = append(accts, p.Account)
	}
	scopes := []Scope{{Name: "account", Filter: store.Filter{Equals: map[string][]string{"conn": {r.Connection}, "account": {r.Account}}}}}
	if len(accts) > 0 {
		scopes = append(scopes, Scope{Name: "recovery", Filter: store.Filter{Equals: map[string][]string{"conn": {r.Connection}, "account": accts}}})
	}
	scopes = append(scopes, Scope{Name: "industry_report", Filter: store.Filter{Equals: map[string][]string{"type": {store.TypeDocument}, "kind": {KindIndustryReport, KindCompetitor}}}})
	ps, err := a.Retriever.Retrieve(ctx, fmt.Sprintf("%s %s win back re-engagement after no purchase reorder 再購入 休眠", r.AccountName, r.Industry), scopes)
	if err != nil {
		return nil, nil, fmt.Errorf("win-back %s: retrieve: %w", r.Account, err)
	}
	c := newContext(ps)
	for _, e := range r.Evidence {
		c.allow(e.ID)
	}
	for _, p := range in.Precedents {
		c.allow(p.Account, p.ReturnDeal)
		c.allow(p.Touches...)
	}
	known := map[string]bool{}
	for _, p := range accts {
		known[p] = true
	}
	check := func(v map[string]any) []SchemaError {
		errs := c.citationCheck(v)
		if arr, ok := v["precedents"].([]any); ok {
			for i, x := range arr {
				if s, _ := x.(string); !known[s] {
					errs = append(errs, SchemaError{Path: fmt.Sprintf("$.precedents[%d]", i), Msg: fmt.Sprintf("unknown precedent account %q", s)})
				}
			}
		}
		return errs
	}
	red := a.redactor(in.Contacts)
	task := tr(lang,
		fmt.Sprintf("The account has not bought for %.1f months. Assess the risk of losing it for good and write a win-back action plan based on how similar accounts were won back (PRECEDENTS).", in.Statistical.MonthsSince),
		fmt.Sprintf("この取引先は%.1fか月購入がありません。完全に失うリスクを評価し、類似企業が再購入に至った経緯（PRECEDENTS）に基づいて再獲得のアクションプランを作成してください。", in.Statistical.MonthsSince))
	user := red.Redact("STATISTICS:\n" + jsonBlock(statFacts(r)) +
		"\n\nRULE-BASED PLAN:\n" + jsonBlock(in.Statistical) +
		"\n\nPRECEDENTS:\n" + jsonBlock(in.Precedents) +
		"\n\nEVIDENCE RECORDS:\n" + jsonBlock(r.Evidence) +
		"\n\nCONTEXT PASSAGES:\n" + jsonBlock(ps))
	raw, err := a.Client.do(ctx, call{analysis: "winback_plan", schema: WinbackSchema, system: systemPrompt(lang, task), user: user, red: red, check: check})
	if err != nil {
		return nil, c, fmt.Errorf("win-back %s/%s: %w", r.Connection, r.Account, err)
	}
	var out struct {
		Risk       string         `json:"risk"`
		Assessment result.Point   `json:"assessment"`
		Steps      []result.Point `json:"steps"`
		Precedents []string       `json:"precedents"`
	}
	if err := json.Unmarshal([]byte(red.Restore(string(raw))), &out); err != nil {
		return nil, c, fmt.Errorf("win-back %s/%s: decode: %w", r.Connection, r.Account, err)
	}
	return &result.WinbackPlan{
		Account: r.Account, Connection: r.Connection, MonthsSince: in.Statistical.MonthsSince,
		Risk: out.Risk, Assessment: out.Assessment, Steps: out.Steps, Precedents: out.Precedents,
		Source: result.SourceLLM, Model: a.Client.Model(), PromptVersion: PromptVersion, AnalysedAt: time.Now().UTC(),
	}, c, nil
}

// SegmentInput is one segment with its rule-based strategy.
type SegmentInput struct {
	Key, Name, Definition string
	Accounts              []string
	Statistical           *result.SegmentStrategy
}

// Segments writes a strategy for each segment: shared needs, buying
// behaviour, effective approach and risks.
func (a *Analyst) Segments(ctx context.Context, conn string, segs []SegmentInput) ([]*result.SegmentStrategy, *Context, error) {
	lang := a.Client.cfg.Language
	var names []string
	keys := map[string]bool{}
	var accts []string
	for _, s := range segs {
		names = append(names, s.Name)
		keys[s.Key] = true
		for i, id := range s.Accounts {
			if i == 10 {
				break
			}
			accts = append(accts, id)
		}
	}
	scopes := []Scope{{Name: "industry_report", Filter: store.Filter{Equals: map[string][]string{"type": {store.TypeDocument}, "kind": {KindIndustryReport, KindCompetitor}}}}}
	if len(accts) > 0 {
		scopes = append(scopes, Scope{Name: "segment_account", Filter: store.Filter{Equals: map[string][]string{"conn": {conn}, "type": {store.TypeAccount}, "account": accts}}})
	}
	ps, err := a.Retriever.Retrieve(ctx, "customer segments needs buying behaviour approach risks "+strings.Join(names, " "), scopes)
	if err != nil {
		return nil, nil, fmt.Errorf("segment strategy: retrieve: %w", err)
	}
	c := newContext(ps)
	type segFacts struct {
		Key, Name, Definition string
		Accounts              int
		Sample                []string
		Statistics            *result.SegmentStrategy
	}
	var facts []segFacts
	for _, s := range segs {
		c.allow(s.Accounts...)
		if s.Statistical != nil {
			for _, ps := range [][]result.Point{s.Statistical.Needs, s.Statistical.Behaviour, s.Statistical.Approach, s.Statistical.Risks} {
				for _, p := range ps {
					c.allow(p.Citations...)
				}
			}
		}
		sample := s.Accounts
		if len(sample) > 10 {
			sample = sample[:10]
		}
		facts = append(facts, segFacts{s.Key, s.Name, s.Definition, len(s.Accounts), sample, s.Statistical})
	}
	check := func(v map[string]any) []SchemaError {
		errs := c.citationCheck(v)
		if arr, ok := v["segments"].([]any); ok {
			for i, x := range arr {
				m, _ := x.(map[string]any)
				if k, _ := m["segment"].(string); !keys[k] {
					errs = append(errs, SchemaError{Path: fmt.Sprintf("$.segments[%d].segment", i), Msg: fmt.Sprintf("unknown segment %q", k)})
				}
			}
		}
		return errs
	}
	red := a.redactor(nil)
	task := tr(lang,
		"For each segment (identified by its Key), describe the needs its accounts share, their buying behaviour, the approach that works and the risks.",
		"各セグメント（Keyで識別）について、共通するニーズ、購買行動、効果的なアプローチ、リスクを記述してください。")
	user := red.Redact("SEGMENTS:\n" + jsonBlock(facts) + "\n\nCONTEXT PASSAGES:\n" + jsonBlock(ps))
	raw, err := a.Client.do(ctx, call{analysis: "segment_strategy", schema: SegmentSchema, system: systemPrompt(lang, task), user: user, red: red, check: check})
	if err != nil {
		return nil, c, fmt.Errorf("segment strategy: %w", err)
	}
	var out struct {
		Segments []struct {
			Segment   string         `json:"segment"`
			Needs     []result.Point `json:"needs"`
			Behaviour []result.Point `json:"behaviour"`
			Approach  []result.Point `json:"approach"`
			Risks     []result.Point `json:"risks"`
		} `json:"segments"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, c, fmt.Errorf("segment strategy: decode: %w", err)
	}
	size := map[string]int{}
	for _, s := range segs {
		size[s.Key] = len(s.Accounts)
	}
	now := time.Now().UTC()
	var res []*result.SegmentStrategy
	for _, s := range out.Segments {
		res = append(res, &result.SegmentStrategy{
			Segment: s.Segment, Connection: conn, Accounts: size[s.Segment], Needs: s.Needs, Behaviour: s.Behaviour,
			Approach: s.Approach, Risks: s.Risks, Source: result.SourceLLM, Model: a.Client.Model(), PromptVersion: PromptVersion, AnalysedAt: now,
		})
	}
	return res, c, nil
}
