// Package engine computes the statistical insight of an account: churn
// probability and risk band, drivers with evidence, next best actions,
// cross-sell from similar accounts and competitor signals, plus rule-based
// win-back plans and segment strategies. The LLM analyses (insights/llm)
// start from its output; without an LLM its text is what users read.
//
// # Model
//
// [Engine.Prepare] loads every account of a connection and fits BG/NBD on
// the base as of the analysis date. When the connection's own history holds
// enough outcomes (at least MinLabels churned and MinLabels retained accounts
// at the cutoff asOf − horizon, a churn being no purchase within the horizon
// or a recorded churn date), a logistic model is trained on features as of
// that cutoff with the outcomes of (cutoff, asOf], and validated by the same
// procedure one horizon earlier (train at asOf − 2·horizon, test at asOf −
// horizon): a time-based split, nothing after a cutoff is seen by its
// features. Otherwise the documented prior model of insights/churn is used.
//
// # Risk bands
//
// low below 0.2, medium from 0.2 to below 0.5, high from 0.5 (see
// insights/result.BandOf).
//
// # Similar accounts
//
// Neighbours are found by an exact cosine scan of the base's account
// profile vectors (the vector of each account record's first chunk, read
// once per base), same industry and size band first, then the same industry
// in other bands when that group is too small (see [Profiles]).
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/crmpulse/crmpulse/insights/actions"
	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/crosssell"
	"github.com/crmpulse/crmpulse/insights/eval"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/store"
)

// Options tune the engine; zero values mean the defaults shown.
type Options struct {
	Horizon       time.Duration // churn horizon (default 90 days)
	WinbackMonths int           // no purchase for this long makes a win-back target (default 6)
	Language      string        // "ja" (default) or "en": language of generated text
	Neighbours    int           // similar accounts searched (default 10)
	MinLabels     int           // outcomes of each class needed to train (default 20)
	PriorBaseRate float64       // churn rate assumed by the prior model (default 0.15)
	Drivers       int           // drivers kept (default 5)
	Concurrency   int           // histories loaded in parallel (default 16)
	// Exclude leaves feature groups out of the model (ablation).
	Exclude []churn.Group
	// ForcePrior skips training (evaluation of the prior model).
	ForcePrior bool
}

func (o Options) withDefaults() Options {
	if o.Horizon <= 0 {
		o.Horizon = 90 * 24 * time.Hour
	}
	if o.WinbackMonths <= 0 {
		o.WinbackMonths = 6
	}
	if o.Language != "en" {
		o.Language = "ja"
	}
	if o.Neighbours <= 0 {
		o.Neighbours = 10
	}
	if o.MinLabels <= 0 {
		o.MinLabels = 20
	}
	if !(o.PriorBaseRate > 0 && o.PriorBaseRate < 1) {
		o.PriorBaseRate = 0.15
	}
	if o.Drivers <= 0 {
		o.Drivers = 5
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	return o
}

// Engine computes insights. It is safe for concurrent use once built.
type Engine struct {
	Store    *store.Store   // records, chunks and the attached vector index
	Embedder embed.Embedder // embeds a profile whose vector is not stored; may be nil
	Source   Source         // histories; nil means a StoreSource over Store
	Opt      Options
}

// New returns an engine over st with the given source (nil: StoreSource).
func New(st *store.Store, emb embed.Embedder, src Source, opt Options) *Engine {
	if src == nil {
		src = &StoreSource{Store: st, Concurrency: opt.Concurrency}
	}
	return &Engine{Store: st, Embedder: emb, Source: src, Opt: opt.withDefaults()}
}

// ModelInfo says which churn model a base uses and how it was validated.
type ModelInfo struct {
	Kind           string    // "logistic" or "prior"
	TrainCutoff    time.Time // features as of this date, outcomes up to AsOf
	Train          int       // labelled accounts
	TrainPositives int
	// Validation of the same procedure one horizon earlier (zero when not
	// enough outcomes existed then).
	ValidationAUC, ValidationBrier float64
	ValidationN                    int
	Reason                         string // why the prior model was used
}

// Base is a connection's account base prepared for scoring as of a date.
type Base struct {
	Conn        string
	AsOf        time.Time
	IDs         []string
	Histories   map[string]*churn.AccountHistory
	Extractor   *churn.Extractor
	Model       *churn.Model
	Info        ModelInfo
	Competitors []string // competitor names seen on the connection's deals

	priorRate float64 // the prior model's assumed churn rate (prior bases)

	mu       sync.Mutex
	features map[string]churn.Features

	profMu sync.Mutex
	prof   *Profiles

	recMu     sync.Mutex
	recs      []Recovery // the base's past win-backs (Recoveries)
	recMonths int        // the win-back gap recs was computed for
}

// BaseRate is the churn rate over the horizon that the base's model was
// built on: the share of churned accounts among the trained model's labels,
// or the prior model's assumed rate. Risk bands are read against it
// (result.BandFor).
func (b *Base) BaseRate() float64 {
	if b.Info.Train > 0 && b.Info.TrainPositives > 0 {
		return float64(b.Info.TrainPositives) / float64(b.Info.Train)
	}
	return b.priorRate
}

// Features returns the features of an account as of the base date.
func (b *Base) Features(id string) (churn.Features, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.features[id]; ok {
		return f, true
	}
	h := b.Histories[id]
	if h == nil {
		return churn.Features{}, false
	}
	f := b.Extractor.Extract(h)
	b.features[id] = f
	return f, true
}

// LoadHistories loads every account of a connection: in batches of
// historyBatch accounts, Concurrency/4 batches at a time, when the source
// is a BatchSource; account by account otherwise.
func (e *Engine) LoadHistories(ctx context.Context, conn string) ([]string, map[string]*churn.AccountHistory, error) {
	ids, err := e.Source.Accounts(ctx, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("list accounts of %s: %w", conn, err)
	}
	hs := make([]*churn.AccountHistory, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	if bs, ok := e.Source.(BatchSource); ok {
		g.SetLimit(max(e.Opt.Concurrency/4, 1))
		for start := 0; start < len(ids); start += historyBatch {
			end := min(start+historyBatch, len(ids))
			g.Go(func() error {
				got, err := bs.Histories(gctx, conn, ids[start:end])
				if err != nil {
					return err
				}
				for i := start; i < end; i++ {
					if h, ok := got[ids[i]]; ok {
						hs[i] = &h
					}
				}
				return nil
			})
		}
	} else {
		g.SetLimit(e.Opt.Concurrency)
		for i, id := range ids {
			g.Go(func() error {
				h, err := e.Source.History(gctx, conn, id)
				if errors.Is(err, store.ErrNotFound) {
					return nil // deleted meanwhile
				}
				if err != nil {
					return err
				}
				hs[i] = &h
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	out := map[string]*churn.AccountHistory{}
	var kept []string
	for i, h := range hs {
		if h != nil {
			out[ids[i]] = h
			kept = append(kept, ids[i])
		}
	}
	sort.Strings(kept)
	return kept, out, nil
}

// Prepare loads the connection's accounts and builds the base as of asOf.
func (e *Engine) Prepare(ctx context.Context, conn string, asOf time.Time) (*Base, error) {
	ids, hs, err := e.LoadHistories(ctx, conn)
	if err != nil {
		return nil, err
	}
	b, err := e.PrepareFrom(conn, asOf, ids, hs)
	if err != nil {
		return nil, err
	}
	// The profile vectors of similar-account search, read once for the
	// whole base.
	if e.Store != nil {
		if _, err := b.profiles(ctx, e); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", conn, err)
		}
	}
	return b, nil
}

// PrepareFrom builds a base from histories already loaded.
func (e *Engine) PrepareFrom(conn string, asOf time.Time, ids []string, hs map[string]*churn.AccountHistory) (*Base, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("prepare %s: no accounts stored (run crmpulse sync first)", conn)
	}
	list := make([]churn.AccountHistory, len(ids))
	for i, id := range ids {
		list[i] = *hs[id]
	}
	// The BG/NBD fits of the base and of the training cutoffs are independent:
	// run them side by side.
	type trained struct {
		m    *churn.Model
		info ModelInfo
		err  error
	}
	tc := make(chan trained, 1)
	go func() {
		if e.Opt.ForcePrior {
			tc <- trained{err: errors.New("prior model requested")}
			return
		}
		m, info, err := e.train(list, asOf)
		tc <- trained{m, info, err}
	}()
	ex, err := churn.NewExtractor(list, asOf, e.Opt.Horizon)
	tr := <-tc
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", conn, err)
	}
	b := &Base{Conn: conn, AsOf: asOf, IDs: ids, Histories: hs, Extractor: ex, features: map[string]churn.Features{}}
	comp := map[string]bool{}
	for _, h := range list {
		for _, o := range h.Opportunities {
			if c := strings.TrimSpace(o.Competitor); c != "" && !o.Created.After(asOf) {
				comp[c] = true
			}
		}
	}
	for c := range comp {
		b.Competitors = append(b.Competitors, c)
	}
	sort.Strings(b.Competitors)

	if tr.err == nil {
		b.Model, b.Info = tr.m, tr.info
		return b, nil
	}
	b.Info.Reason = tr.err.Error()
	cur := make([]churn.Features, len(ids))
	for i, id := range ids {
		cur[i], _ = b.Features(id)
	}
	m, err := churn.PriorModel(cur, e.Opt.PriorBaseRate)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", conn, err)
	}
	b.Model = m
	b.Info.Kind = m.Kind
	b.priorRate = e.Opt.PriorBaseRate
	return b, nil
}

// errFewLabels: not enough outcomes to train.
var errFewLabels = errors.New("not enough labelled history")

// labelled builds features as of cutoff with outcomes of (cutoff,
// cutoff+horizon]; it needs MinLabels of each class.
func (e *Engine) labelled(list []churn.AccountHistory, cutoff time.Time) ([]churn.Features, []bool, error) {
	fs, _, err := churn.ExtractAll(list, cutoff, e.Opt.Horizon)
	if err != nil {
		return nil, nil, err
	}
	var xs []churn.Features
	var ys []bool
	pos := 0
	// When the connection records churn (lost renewals), an account without
	// a recorded churn is retained; otherwise churn is the absence of a
	// purchase within the horizon.
	recorded := false
	for i := range list {
		if !list[i].ChurnedAt.IsZero() {
			recorded = true
			break
		}
	}
	for i := range list {
		// Accounts that never bought by the cutoff are prospects, not churn candidates.
		if !boughtBy(&list[i], cutoff) {
			continue
		}
		y, ok := label(&list[i], cutoff, e.Opt.Horizon, recorded)
		if !ok {
			continue
		}
		xs = append(xs, fs[i])
		ys = append(ys, y)
		if y {
			pos++
		}
	}
	if pos < e.Opt.MinLabels || len(ys)-pos < e.Opt.MinLabels {
		return nil, nil, fmt.Errorf("%w at %s: %d churned and %d retained accounts, %d of each needed",
			errFewLabels, cutoff.Format("2006-01-02"), pos, len(ys)-pos, e.Opt.MinLabels)
	}
	return xs, ys, nil
}

func label(h *churn.AccountHistory, cutoff time.Time, horizon time.Duration, recorded bool) (churned, eligible bool) {
	if !recorded || !h.ChurnedAt.IsZero() {
		return churn.Label(h, cutoff, horizon)
	}
	if !h.FirstSeen.IsZero() && h.FirstSeen.After(cutoff) {
		return false, false
	}
	return false, true
}

func boughtBy(h *churn.AccountHistory, t time.Time) bool {
	for _, p := range h.Purchases {
		if !p.Date.After(t) {
			return true
		}
	}
	return false
}

func (e *Engine) train(list []churn.AccountHistory, asOf time.Time) (*churn.Model, ModelInfo, error) {
	cut := asOf.Add(-e.Opt.Horizon)
	type lab struct {
		xs  []churn.Features
		ys  []bool
		err error
	}
	vc := make(chan lab, 1)
	go func() {
		vx, vy, err := e.labelled(list, cut.Add(-e.Opt.Horizon))
		vc <- lab{vx, vy, err}
	}()
	xs, ys, err := e.labelled(list, cut)
	v := <-vc
	if err != nil {
		return nil, ModelInfo{}, err
	}
	opts := &churn.TrainOptions{Exclude: e.Opt.Exclude}
	m, err := churn.Train(xs, ys, opts)
	if err != nil {
		return nil, ModelInfo{}, err
	}
	info := ModelInfo{Kind: m.Kind, TrainCutoff: cut, Train: len(ys)}
	for _, y := range ys {
		if y {
			info.TrainPositives++
		}
	}
	// Validate the procedure one horizon earlier.
	if v.err == nil {
		if vm, err := churn.Train(v.xs, v.ys, opts); err == nil {
			probs := make([]float64, len(xs))
			for i, f := range xs {
				probs[i] = vm.Predict(f)
			}
			info.ValidationAUC, _ = eval.AUC(probs, ys)
			info.ValidationBrier, _ = eval.Brier(probs, ys)
			info.ValidationN = len(ys)
		}
	}
	return m, info, nil
}

// Analyze computes the statistical insight of one account of the base.
func (e *Engine) Analyze(ctx context.Context, b *Base, id string) (*result.Result, error) {
	h := b.Histories[id]
	if h == nil {
		return nil, fmt.Errorf("analyse %s/%s: %w", b.Conn, id, store.ErrNotFound)
	}
	f, _ := b.Features(id)
	return e.analyze(ctx, b, h, f)
}

// AnalyzeHistory analyses an account from a history loaded after the base
// was prepared (the model and the BG/NBD fit of the base are used).
func (e *Engine) AnalyzeHistory(ctx context.Context, b *Base, h *churn.AccountHistory) (*result.Result, error) {
	return e.analyze(ctx, b, h, b.Extractor.Extract(h))
}

func (e *Engine) analyze(ctx context.Context, b *Base, h *churn.AccountHistory, f churn.Features) (*result.Result, error) {
	id := h.ID
	score := b.Model.Score(f, e.Opt.Drivers)
	r := &result.Result{
		Account: id, AccountName: h.Name, Connection: b.Conn, Industry: h.Industry,
		SizeBand: SizeBand(h.Employees), Owner: h.Owner, AsOf: b.AsOf,
		Churn: score.Probability, Band: result.BandFor(score.Probability, b.BaseRate()),
		Model: b.Model.Kind, Source: result.SourceStatistical, Language: e.Opt.Language,
		LastPurchase: f.LastPurchase,
	}
	for _, d := range score.Drivers {
		rd := result.Driver{Feature: d.Feature, Label: d.Label, Group: string(d.Group), Value: finite(d.Value), Typical: finite(d.Typical), Contribution: d.Contribution}
		seen := map[string]bool{}
		for _, hit := range d.Evidence {
			rd.Evidence = appendUnique(rd.Evidence, hit.RecordID)
			if !seen[hit.Phrase] {
				seen[hit.Phrase] = true
				rd.Phrases = append(rd.Phrases, hit.Phrase)
			}
		}
		switch d.Feature {
		case "lost_deals_180", "stalled_deals":
			for _, o := range h.Opportunities {
				if (d.Feature == "lost_deals_180" && o.Lost && !o.Closed.After(b.AsOf) && b.AsOf.Sub(o.Closed) <= 180*24*time.Hour) ||
					(d.Feature == "stalled_deals" && o.Open(b.AsOf) && b.AsOf.Sub(o.Created) > 120*24*time.Hour) {
					rd.Evidence = appendUnique(rd.Evidence, o.ID)
				}
			}
		case "recency_days", "p_no_purchase", "p_alive", "frequency_365", "monetary_365":
			if id := lastPurchaseID(h, b.AsOf); id != "" {
				rd.Evidence = appendUnique(rd.Evidence, id)
			}
		case "days_since_activity", "activities_90", "activity_trend", "activity_slope":
			if id := lastActivityID(h, b.AsOf); id != "" {
				rd.Evidence = appendUnique(rd.Evidence, id)
			}
		}
		r.Drivers = append(r.Drivers, rd)
	}

	// Cross-sell from similar accounts, upsell from expansion cues.
	neigh, warn := e.Neighbours(ctx, b, h)
	if warn != "" {
		r.Warnings = append(r.Warnings, warn)
	}
	recs := crosssell.Recommend(ownedProducts(h, b.AsOf), neigh, &crosssell.Options{Limit: 5})
	for _, rc := range recs {
		cs := result.CrossSell{Product: rc.Product, Score: rc.Score}
		for _, s := range rc.Accounts {
			cs.Accounts = append(cs.Accounts, s.AccountID)
			cs.Evidence = append(cs.Evidence, s.DealIDs...)
			cs.Similarity = math.Max(cs.Similarity, s.Similarity)
		}
		cs.Reason = fmt.Sprintf("%d similar accounts own it", len(rc.Accounts))
		r.CrossSell = append(r.CrossSell, cs)
	}
	for _, u := range crosssell.UpsellCues(f) {
		r.CrossSell = append(r.CrossSell, result.CrossSell{Product: "expansion: " + u.Phrase, Upsell: true, Evidence: u.RecordIDs, Reason: "expansion signal in communications"})
	}

	acts := actions.Recommend(actions.Input{Account: h, Score: score, AsOf: b.AsOf, CrossSell: recs})
	for _, a := range acts {
		r.Actions = append(r.Actions, result.Action{
			Kind: a.Kind, Title: a.Title, TitleJA: a.TitleJA, Contact: a.With.ContactID, Name: a.With.Name,
			Owner: a.Owner, Due: a.Due, Priority: a.Priority, Reason: a.Reason, Evidence: a.Evidence,
		})
	}
	r.Competitors = Competitors(h, b.Competitors, f, b.AsOf)
	r.Quarters = Quarters(h, b.AsOf, 8)
	r.Evidence = evidence(h, r)
	r.Analysis = StatisticalAnalysis(h, r, e.Opt.Language)
	r.Summary = r.Analysis.Summary
	r.Fingerprint = Fingerprint(h, b.Model.Kind)
	r.AnalysedAt = time.Now().UTC()
	return r, nil
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func appendUnique(xs []string, s string) []string {
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}

func lastPurchaseID(h *churn.AccountHistory, asOf time.Time) string {
	var id string
	var t time.Time
	for _, p := range h.Purchases {
		if !p.Date.After(asOf) && !p.Date.Before(t) {
			id, t = p.ID, p.Date
		}
	}
	return id
}

func lastActivityID(h *churn.AccountHistory, asOf time.Time) string {
	var id string
	var t time.Time
	for _, a := range h.Activities {
		if !a.Date.After(asOf) && !a.Date.Before(t) {
			id, t = a.ID, a.Date
		}
	}
	return id
}

func ownedProducts(h *churn.AccountHistory, asOf time.Time) []string {
	var out []string
	for _, p := range h.Purchases {
		if !p.Date.After(asOf) {
			out = append(out, p.Products...)
		}
	}
	return out
}

// Fingerprint hashes what an analysis depends on: the account's history and
// the model kind. An account whose fingerprint did not change since its last
// result needs no new analysis.
func Fingerprint(h *churn.AccountHistory, model string) string {
	b, _ := json.Marshal(h)
	s := sha256.New()
	s.Write(b)
	s.Write([]byte{0})
	s.Write([]byte(model))
	return hex.EncodeToString(s.Sum(nil))[:32]
}

// ProfileText is the text an account profile chunk is made of when the
// engine has to embed it itself.
func ProfileText(h *churn.AccountHistory) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\nindustry: %s\nemployees: %d\n", h.Name, h.Industry, h.Employees)
	prods := map[string]bool{}
	for _, p := range h.Purchases {
		for _, x := range p.Products {
			prods[x] = true
		}
	}
	var ps []string
	for p := range prods {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	fmt.Fprintf(&sb, "products: %s\n", strings.Join(ps, ", "))
	return sb.String()
}

func (e *Engine) profileVector(ctx context.Context, conn string, h *churn.AccountHistory) ([]float32, error) {
	id := store.ChunkID(store.Ref{Connection: conn, Object: store.TypeAccount, ID: h.ID}, 0)
	raw, err := e.Store.Client().HGet(ctx, e.Store.Key("chunk", id), "vec").Bytes()
	if err == nil && len(raw) > 0 {
		return store.DecodeFP32(raw)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	if e.Embedder == nil {
		return nil, errors.New("profile not embedded and no embedder configured")
	}
	vs, err := e.Embedder.Embed(ctx, []string{ProfileText(h)})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}
