// Package pipeline runs crmpulse's full cycle for a connection:
//
//		sync → insights → segments → writeback → lists
//
//	  - sync: the incremental sync engine (crmsync) reads the connection's
//	    change feeds into the store and queues changed accounts for analysis;
//	  - insights: the analysis queue is drained by insight workers (statistics,
//	    plus the LLM analyses when llm.enabled); results are stored per account;
//	  - segments: RFM/B2B segmentation of the connection's accounts, with the
//	    migration rules applied against the previous run and recorded;
//	  - writeback: stored insights and segment labels become field changes in
//	    the outbox and are written in batches, only where values changed;
//	  - lists: one CRM-native list per segment (HubSpot dynamic list, Salesforce
//	    list view or report) is created or updated in place.
//
// Each stage is a server.Stage, so the daemon (crmpulse serve) schedules the
// same cycle that crmpulse run and crmpulse demo run once. A stage's figures
// go into its server.StageSummary: records read/changed/deleted per object,
// counts (fields written, dead-lettered, lists created …) and the API calls
// made during it, per endpoint.
//
// The analysis queue is shared by all connections: the insights stage drains
// it whole, so a cycle also analyses accounts another connection queued.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/insights/engine"
	"github.com/crmpulse/crmpulse/insights/llm"
	"github.com/crmpulse/crmpulse/insights/result"
	"github.com/crmpulse/crmpulse/insights/worker"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/server"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/lists"
	crmsync "github.com/crmpulse/crmpulse/sync"
	"github.com/crmpulse/crmpulse/writeback"
)

// Options configure a Pipeline. Zero values mean the defaults.
type Options struct {
	Logger *slog.Logger
	// Stages to run, by name (server.StageSync …); empty means all five.
	Stages []string
	// Provision creates missing mapped CRM fields before the first write-back
	// (crmpulse fields provision); without it a missing field stops the
	// write-back stage with an error naming it. Sandbox connections are
	// always provisioned; real CRMs only on request.
	Provision bool
	// NoLLM disables the LLM analyses even when llm.enabled.
	NoLLM bool
	// AsOf is the analysis date (zero: now, per cycle).
	AsOf time.Time
	// Workers is the number of insight workers (default insights.workers).
	Workers int
}

// Pipeline holds the per-connection engines of a wired app.
type Pipeline struct {
	app     *app.App
	opt     Options
	log     *slog.Logger
	engines map[string]*crmsync.Engine
	tracker *segments.Tracker
	analyst *llm.Analyst
	// provisioned records the connections whose fields were provisioned.
	provisioned map[string]bool
}

// AllStages lists the stage names in cycle order.
var AllStages = []string{server.StageSync, server.StageInsights, server.StageSegments, server.StageWriteback, server.StageLists}

// New builds the pipeline for every connection of a.
func New(a *app.App, opt *Options) (*Pipeline, error) {
	p := &Pipeline{app: a, engines: map[string]*crmsync.Engine{}, provisioned: map[string]bool{}}
	if opt != nil {
		p.opt = *opt
	}
	p.log = p.opt.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range p.opt.Stages {
		if !contains(AllStages, s) {
			return nil, fmt.Errorf("unknown stage %q (stages: %v)", s, AllStages)
		}
	}
	cfg := a.Config
	sopt := SyncOptions(cfg, p.log)
	for _, c := range a.Conns {
		src, err := SyncSource(a, c)
		if err != nil {
			return nil, err
		}
		eng, err := crmsync.New(a.Store, a.Embedder, []crmsync.Source{src}, &sopt)
		if err != nil {
			return nil, fmt.Errorf("sync engine for %s: %w", c.Name(), err)
		}
		p.engines[c.Name()] = eng
	}
	p.tracker = segments.NewTracker(a.Store.Client(), a.Store.Namespace())
	if cfg.LLM.Enabled && !p.opt.NoLLM {
		lc, err := llm.FromConfig(cfg.LLM, os.LookupEnv)
		if err != nil {
			return nil, fmt.Errorf("llm: %w", err)
		}
		client, err := llm.New(lc)
		if err != nil {
			return nil, fmt.Errorf("llm: %w", err)
		}
		p.analyst = &llm.Analyst{Client: client, Retriever: &llm.Retriever{Store: a.Store, Embedder: a.Embedder,
			TopK: cfg.Retrieval.TopK, Threshold: cfg.Retrieval.SimilarityThreshold}}
	}
	return p, nil
}

// SyncOptions are the sync engine options a configuration implies.
func SyncOptions(cfg *config.Config, log *slog.Logger) crmsync.Options {
	return crmsync.Options{
		Workers:        cfg.Sync.Workers,
		EmbedBatch:     cfg.Sync.EmbedBatch,
		ChunkSize:      cfg.Retrieval.ChunkSize,
		ChunkOverlap:   cfg.Retrieval.ChunkOverlap,
		ReconcileEvery: cfg.Sync.ReconcileEvery,
		Logger:         log,
	}
}

// SyncSource is the sync source of connection c as configured.
func SyncSource(a *app.App, c *connectors.Conn) (crmsync.Source, error) {
	cc, ok := a.ConnConfig(c.Name())
	if !ok {
		return crmsync.Source{}, fmt.Errorf("connection %s is not configured", c.Name())
	}
	src := crmsync.Source{Conn: c, WritebackFields: crmsync.WritebackFields(a.Config, cc)}
	for _, ob := range cc.Objects {
		src.Objects = append(src.Objects, connectors.Object(ob))
	}
	return src, nil
}

// Runner returns the cycle runner (for the daemon and crmpulse run).
func (p *Pipeline) Runner() *server.StageRunner {
	return &server.StageRunner{
		Stages: p.Stages(),
		APICalls: func(conn string) map[string]int64 {
			c, err := p.app.Conn(conn)
			if err != nil {
				return nil
			}
			return c.Usage().Calls
		},
	}
}

// Stages returns the selected stages in cycle order.
func (p *Pipeline) Stages() []server.Stage {
	all := []server.Stage{
		{Name: server.StageSync, Run: p.sync},
		{Name: server.StageInsights, Run: p.insights},
		{Name: server.StageSegments, Run: p.segments},
		{Name: server.StageWriteback, Run: p.writeback},
		{Name: server.StageLists, Run: p.lists},
	}
	if len(p.opt.Stages) == 0 {
		return all
	}
	var out []server.Stage
	for _, s := range all {
		if contains(p.opt.Stages, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

func (p *Pipeline) sync(ctx context.Context, conn string, sum *server.StageSummary) error {
	eng, ok := p.engines[conn]
	if !ok {
		return fmt.Errorf("no sync engine for connection %q", conn)
	}
	s, err := eng.Run(ctx)
	if s != nil {
		FillSyncSummary(sum, s)
	}
	return err
}

// FillSyncSummary copies a sync run's figures into a stage summary.
func FillSyncSummary(sum *server.StageSummary, s *crmsync.Summary) {
	var quarantined int64
	for _, o := range s.Objects {
		sum.Records = append(sum.Records, server.RecordCount{Object: o.Object, Read: int64(o.Read),
			Changed: int64(o.Changed()), Deleted: int64(o.Deleted + o.Purged)})
		quarantined += int64(o.Quarantined)
	}
	if quarantined > 0 {
		sum.Errors = map[string]int64{"quarantined": quarantined}
	}
	sum.Counts = map[string]int64{}
	for _, c := range s.Conns {
		sum.Counts["accounts_rebuilt"] += int64(c.Accounts)
		sum.Counts["chunks_written"] += int64(c.Chunks)
		sum.Counts["embedded"] += int64(c.Embedded)
		sum.Counts["queued_for_analysis"] += int64(c.Queued)
	}
	for _, o := range s.Objects {
		sum.Counts["echo_skipped"] += int64(o.Echo)
	}
}

func (p *Pipeline) insights(ctx context.Context, conn string, sum *server.StageSummary) error {
	cfg := p.app.Config
	st := p.app.Store
	// A runner per stage run: its BG/NBD base is fitted on the data as synced now.
	runner := &engine.Runner{Engine: engine.New(st, p.app.Embedder, nil, EngineOptions(cfg)), AsOf: p.opt.AsOf,
		Analyst: p.analyst, Logger: p.log}
	if moved, err := crmsync.MigrateAnalysisQueue(ctx, st); err != nil {
		return err
	} else if moved > 0 {
		p.log.Info("moved entries of the shared analysis queue to the per-connection queues", "entries", moved)
	}
	stream := crmsync.AnalysisQueue(st, conn)
	n := p.opt.Workers
	if n <= 0 {
		n = cfg.Insights.Workers
	}
	if n <= 0 {
		n = 4
	}
	var bands [3]int64
	handle := func(ctx context.Context, it worker.Item) error {
		err := runner.Handle(ctx, it.Conn, it.Account, it.Deleted)
		if errors.Is(err, engine.ErrUnchanged) {
			return fmt.Errorf("%w: %v", worker.ErrSkip, err)
		}
		return err
	}
	w, err := worker.New(st.Client(), worker.Options{Stream: stream, Consumer: fmt.Sprintf("cycle-%d-%s", os.Getpid(), conn),
		Concurrency: n, Logger: p.log}, handle)
	if err != nil {
		return err
	}
	err = w.Drain(ctx)
	ws := w.Stats()
	sum.Counts = map[string]int64{"analysed": ws.Processed, "unchanged": ws.Skipped, "duplicates": ws.Duplicates,
		"failed_attempts": ws.Failed, "dead_lettered": ws.Dead, "winback_plans": runner.Winbacks.Load()}
	if p.analyst != nil {
		sum.Counts["llm_analyses"] = runner.LLMOK.Load()
		sum.Counts["llm_rejected"] = runner.LLMFailed.Load()
		sum.Counts["llm_skipped_budget"] = runner.LLMSkipped.Load()
	}
	if ids, lerr := result.Accounts(ctx, st, conn); lerr == nil {
		for _, id := range ids {
			r, err := result.LoadResult(ctx, st, conn, id)
			if err != nil {
				continue
			}
			switch r.Band {
			case result.BandHigh:
				bands[0]++
			case result.BandMedium:
				bands[1]++
			case result.BandLow:
				bands[2]++
			}
		}
		sum.Counts["risk_high"], sum.Counts["risk_medium"], sum.Counts["risk_low"] = bands[0], bands[1], bands[2]
	}
	if err != nil {
		return err
	}
	if ws.Dead > 0 {
		return fmt.Errorf("%d accounts could not be analysed (see %s:dead)", ws.Dead, stream)
	}
	return nil
}

// EngineOptions are the insight engine options a configuration implies.
func EngineOptions(cfg *config.Config) engine.Options {
	return engine.Options{
		Horizon:       time.Duration(cfg.Insights.HorizonDays) * 24 * time.Hour,
		WinbackMonths: cfg.Insights.WinbackMonths,
		Language:      cfg.LLM.Language,
	}
}

func (p *Pipeline) segments(ctx context.Context, conn string, sum *server.StageSummary) error {
	st := p.app.Store
	ids, err := crmsync.Accounts(ctx, st, conn)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		sum.Counts = map[string]int64{"accounts": 0}
		return nil
	}
	// The same account histories the insights stage reads.
	byID, err := (&engine.StoreSource{Store: st}).Histories(ctx, conn, ids)
	if err != nil {
		return err
	}
	hs := make([]churn.AccountHistory, 0, len(ids))
	for _, id := range ids {
		if h, ok := byID[id]; ok {
			hs = append(hs, h)
		}
	}
	asOf := p.opt.AsOf
	if asOf.IsZero() {
		asOf = time.Now().UTC()
	}
	seg, err := segments.Design(ctx, hs, asOf, p.app.Config, &segments.DesignOptions{Logger: p.log})
	if err != nil {
		return err
	}
	run, err := p.tracker.Record(ctx, conn, seg)
	if err != nil {
		return err
	}
	sum.Counts = map[string]int64{"accounts": int64(len(seg.Accounts)), "segments": int64(len(seg.Segments))}
	sum.Counts["moved_up"] = int64(run.Upgrades)
	sum.Counts["moved_down"] = int64(run.Downgrades)
	sum.Counts["held"] = int64(run.Held)
	return nil
}

func (p *Pipeline) writeback(ctx context.Context, conn string, sum *server.StageSummary) error {
	cfg := p.app.Config
	st := p.app.Store
	mappings, ok := writeback.Mappings(cfg, conn)
	if !ok {
		sum.Counts = map[string]int64{"not_written_to": 1}
		return nil
	}
	c, err := p.app.Conn(conn)
	if err != nil {
		return err
	}
	cc, _ := p.app.ConnConfig(conn)
	if (p.opt.Provision || cc.Sandbox) && !p.provisioned[conn] {
		prov, err := writeback.ProvisionFields(ctx, c, mappings, false)
		if err != nil {
			return fmt.Errorf("provision fields: %w", err)
		}
		created := 0
		for _, pr := range prov {
			if pr.Action == writeback.ProvisionCreated {
				created++
			}
		}
		p.provisioned[conn] = true
		if sum.Counts == nil {
			sum.Counts = map[string]int64{}
		}
		sum.Counts["fields_created"] = int64(created)
	}
	target, err := writeback.LoadTarget(ctx, c, mappings)
	if err != nil {
		return err
	}
	ins, err := writeback.LoadInsights(ctx, st, conn)
	if err != nil {
		return err
	}
	changes, err := writeback.Changes(target, ins)
	if err != nil {
		return err
	}
	if err := writeback.Enqueue(ctx, st, conn, changes); err != nil {
		return err
	}
	w := writeback.NewWriter(st, c, target, &writeback.Options{Logger: p.log})
	ws, err := w.RunOnce(ctx)
	if sum.Counts == nil {
		sum.Counts = map[string]int64{}
	}
	sum.Counts["records_considered"] = int64(ws.Records)
	sum.Counts["records_written"] = int64(ws.Written)
	sum.Counts["fields_written"] = int64(ws.Fields)
	sum.Counts["unchanged"] = int64(ws.Unchanged)
	sum.Counts["human_edits_kept"] = int64(ws.Kept)
	sum.Counts["dead_lettered"] = int64(ws.Dead)
	sum.Counts["write_calls"] = int64(ws.WriteCalls)
	sum.Counts["pending"] = int64(ws.Pending)
	return err
}

func (p *Pipeline) lists(ctx context.Context, conn string, sum *server.StageSummary) error {
	seg, err := p.tracker.Latest(ctx, conn)
	if errors.Is(err, segments.ErrNoRun) {
		sum.Counts = map[string]int64{"lists": 0}
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := writeback.Mappings(p.app.Config, conn); !ok {
		sum.Counts = map[string]int64{"not_written_to": 1}
		return nil
	}
	f, err := lists.FieldFor(p.app.Config, conn)
	if err != nil {
		return err
	}
	c, err := p.app.Conn(conn)
	if err != nil {
		return err
	}
	res, err := lists.Apply(ctx, c, p.tracker, seg, f)
	sum.Counts = map[string]int64{"lists": int64(len(res))}
	for _, r := range res {
		switch {
		case r.Created:
			sum.Counts["created"]++
		case r.Renamed:
			sum.Counts["renamed"]++
		default:
			sum.Counts["updated"]++
		}
	}
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
