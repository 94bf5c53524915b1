package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/llm"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/store"
)

// ErrUnchanged: the account's inputs did not change since its last result.
var ErrUnchanged = errors.New("account unchanged since its last analysis")

// Runner analyses queued accounts: statistics first, then the LLM analyses
// when an Analyst is set, and stores the results. Safe for concurrent use.
type Runner struct {
	Engine  *Engine
	Analyst *llm.Analyst // nil: statistical analyses only
	AsOf    time.Time    // zero: now
	Force   bool         // analyse even unchanged accounts
	Logger  *slog.Logger

	mu    sync.Mutex
	bases map[string]*baseOnce

	LLMOK, LLMFailed, LLMSkipped, Winbacks atomic.Int64
	budgetNoted                            atomic.Bool
}

type baseOnce struct {
	once sync.Once
	b    *Base
	err  error
}

// Base returns the connection's base, prepared once per runner.
func (r *Runner) Base(ctx context.Context, conn string) (*Base, error) {
	r.mu.Lock()
	if r.bases == nil {
		r.bases = map[string]*baseOnce{}
	}
	bo := r.bases[conn]
	if bo == nil {
		bo = &baseOnce{}
		r.bases[conn] = bo
	}
	r.mu.Unlock()
	bo.once.Do(func() {
		asOf := r.AsOf
		if asOf.IsZero() {
			asOf = time.Now().UTC()
		}
		bo.b, bo.err = r.Engine.Prepare(ctx, conn, asOf)
	})
	return bo.b, bo.err
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runner) modelTag(b *Base) string {
	tag := b.Model.Kind
	if r.Analyst != nil {
		tag += "+" + r.Analyst.Client.Model() + "@" + llm.PromptVersion
	}
	return tag
}

// Handle analyses one account and stores its result (and win-back plan).
// A deleted account has its results removed. An account whose inputs did
// not change since its stored result returns ErrUnchanged (unless Force).
func (r *Runner) Handle(ctx context.Context, conn, account string, deleted bool) error {
	st := r.Engine.Store
	if deleted {
		return result.Delete(ctx, st, conn, account)
	}
	b, err := r.Base(ctx, conn)
	if err != nil {
		return err
	}
	hv, err := r.Engine.Source.History(ctx, conn, account)
	if errors.Is(err, store.ErrNotFound) {
		return result.Delete(ctx, st, conn, account)
	}
	if err != nil {
		return err
	}
	h := &hv
	fp := Fingerprint(h, r.modelTag(b))
	if !r.Force {
		if old, err := result.LoadResult(ctx, st, conn, account); err == nil && old.Fingerprint == fp {
			return ErrUnchanged
		}
	}
	res, err := r.Engine.AnalyzeHistory(ctx, b, h)
	if err != nil {
		return err
	}
	res.Fingerprint = fp
	contacts := contactNames(h)
	if r.Analyst != nil {
		r.llmAccount(ctx, b, h, res, contacts)
	}
	if r.Engine.IsWinbackTarget(h, b.AsOf) {
		plan := r.winback(ctx, b, h, res, contacts)
		if err := result.SaveWinback(ctx, st, plan); err != nil {
			return err
		}
		r.Winbacks.Add(1)
	}
	res.AnalysedAt = time.Now().UTC()
	return result.Save(ctx, st, res)
}

func contactNames(h *churn.AccountHistory) []string {
	var out []string
	for _, c := range h.Contacts {
		if c.Name != "" {
			out = append(out, c.Name)
		}
	}
	return out
}

func (r *Runner) llmFailed(res *result.Result, what string, err error) {
	if errors.Is(err, llm.ErrBudgetExhausted) {
		r.LLMSkipped.Add(1)
		if r.budgetNoted.CompareAndSwap(false, true) {
			r.logger().Warn("LLM token budget exhausted: remaining accounts get the statistical analysis", "err", err)
		}
		res.Warnings = append(res.Warnings, what+": LLM token budget exhausted, statistical analysis kept")
		return
	}
	r.LLMFailed.Add(1)
	r.logger().Warn("LLM analysis rejected; statistical analysis kept", "what", what, "conn", res.Connection, "account", res.Account, "err", err)
	res.Warnings = append(res.Warnings, fmt.Sprintf("%s: LLM analysis not used: %v", what, err))
}

func (r *Runner) llmAccount(ctx context.Context, b *Base, h *churn.AccountHistory, res *result.Result, contacts []string) {
	neigh, _ := r.Engine.Neighbours(ctx, b, h)
	var ids []string
	won := map[string]bool{}
	for _, n := range neigh {
		ids = append(ids, n.AccountID)
		for _, d := range n.Deals {
			won[d.ID] = true
		}
	}
	out, _, err := r.Analyst.Account(ctx, llm.AccountInput{Insight: res, Contacts: contacts, Neighbours: ids, NeighbourWonDeals: won})
	if err != nil {
		r.llmFailed(res, "account insight", err)
		return
	}
	r.LLMOK.Add(1)
	res.Analysis = out
	res.Summary = out.Summary
	res.Source = result.SourceLLM
	res.Model = b.Model.Kind + "+" + r.Analyst.Client.Model()
	res.PromptVersion = llm.PromptVersion
	res.Language = r.Analyst.Client.Language()
}

func (r *Runner) winback(ctx context.Context, b *Base, h *churn.AccountHistory, res *result.Result, contacts []string) *result.WinbackPlan {
	recs := r.Engine.Recoveries(b, h, 5)
	plan := r.Engine.StatisticalWinback(b, h, res, recs)
	if r.Analyst == nil {
		return plan
	}
	var ps []llm.Precedent
	for _, rc := range recs {
		ps = append(ps, llm.Precedent{Account: rc.Account, Industry: rc.Industry, SizeBand: rc.SizeBand, GapMonths: rc.GapMonths, ReturnDeal: rc.ReturnDeal, Products: rc.Products, Touches: rc.Touches})
	}
	out, _, err := r.Analyst.Winback(ctx, llm.WinbackInput{Insight: res, Contacts: contacts, Statistical: plan, Precedents: ps})
	if err != nil {
		r.llmFailed(res, "win-back plan", err)
		return plan
	}
	r.LLMOK.Add(1)
	out.Model = b.Model.Kind + "+" + out.Model
	return out
}
