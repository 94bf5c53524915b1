package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/crmpulse/crmpulse/insights/engine"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"github.com/crmpulse/crmpulse/store"
	crmsync "github.com/crmpulse/crmpulse/sync"
	"github.com/crmpulse/crmpulse/writeback"
)

// sandboxNow is the sandbox clock's start: fixed, so every run sees the same
// customers.
var sandboxNow = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

// crm is one dialect of the sandbox as the bench drives it.
type crm struct {
	conn    string // connection name in app.DefaultConfig
	short   string // sf | hs
	dialect string // sandbox counter prefix
	kind    string // config kind
	maxPage int    // the API's largest page of records
	// edits are the tables edited by the 1% change and a text field of each.
	edits map[string]string
	// writeRoute is the counter key of write-back calls.
	writeRoute string
	batch      int // records per write-back call at the API's limit
}

var crms = []crm{
	{
		conn: app.SandboxSalesforce, short: "sf", dialect: "salesforce", kind: config.KindSalesforce, maxPage: 2000,
		edits: map[string]string{
			sandbox.SFAccount: "Description", sandbox.SFContact: "Description", sandbox.SFOpportunity: "Description",
			sandbox.SFTask: "Description", sandbox.SFEvent: "Description",
		},
		writeRoute: "salesforce PATCH /composite/sobjects", batch: 200,
	},
	{
		conn: app.SandboxHubSpot, short: "hs", dialect: "hubspot", kind: config.KindHubSpot, maxPage: 200,
		edits: map[string]string{
			sandbox.HSCompanies: "description", sandbox.HSContacts: "jobtitle", sandbox.HSDeals: "description",
			sandbox.HSCalls: "hs_call_body", sandbox.HSEmails: "hs_email_text", sandbox.HSMeetings: "hs_meeting_body",
			sandbox.HSNotes: "hs_note_body", sandbox.HSTasks: "hs_task_body",
		},
		writeRoute: "hubspot POST /crm/v3/objects/{type}/batch/update", batch: 100,
	},
}

// scaleEnv is one account scale: the sandbox served over HTTP and a store.
type scaleEnv struct {
	n     int
	label string
	sb    *sandbox.Sandbox
	url   string
	srv   *http.Server
	st    *store.Store
	cfg   *config.Config
	// apps per connection name, opened lazily.
	apps map[string]*app.App
}

func (e *scaleEnv) close() {
	for _, a := range e.apps {
		_ = a.Close()
	}
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
	}
}

// accountScale runs the sync, insights, write-back (and, on the first
// scale, LLM) scenarios over a sandbox of n accounts.
func (r *runner) accountScale(ctx context.Context, n int, first bool) {
	label := ScaleName(n) + " accounts"
	o := r.opt
	llm := first && o.want(GroupLLM)
	skipAll := func(reason string) {
		if o.want(GroupSync) {
			r.skipSync(label, reason)
		}
		if o.want(GroupInsights) {
			r.skipInsights(label, reason)
		}
		if o.want(GroupWriteback) {
			r.skipWriteback(label, reason)
		}
		if o.want(GroupCycle) {
			for _, c := range crms {
				r.skipCycle(label, c, reason)
			}
		}
		if llm {
			r.skipLLM(reason)
		}
	}
	ns := o.Namespace + ":acct"
	if err := clearPrefix(ctx, o.Redis, ns+":"); err != nil {
		skipAll(err.Error())
		return
	}
	defer func() {
		if err := clearPrefix(context.WithoutCancel(ctx), o.Redis, ns+":"); err != nil {
			r.progress("warning: %v", err)
		}
	}()

	// Generate the sandbox.
	r.progress("%s: generating the sandbox (both CRMs)", label)
	w := watchMemory()
	start := time.Now()
	sb, err := sandbox.New(sandbox.Options{Accounts: n, Now: sandboxNow})
	gen := time.Since(start)
	peaks := w.stop()
	if err != nil {
		skipAll("sandbox: " + err.Error())
		return
	}
	r.progress("%s: sandbox generated in %s", label, gen.Round(time.Millisecond))
	if o.want(GroupSync) {
		r.add(GroupSync, "sandbox generation", label, round(gen.Seconds(), 2), "s", "", "")
		r.memory("sandbox generation "+ScaleName(n), peaks)
	}
	env, err := r.serve(ctx, sb, n, ns)
	if err != nil {
		skipAll(err.Error())
		return
	}
	env.label = label
	defer env.close()

	// Sync every CRM: the other scenarios need the synced store.
	synced := map[string]bool{}
	attempted := false
	w = watchMemory()
	for _, c := range crms {
		if reason := r.tooLong(env, c); reason != "" {
			r.progress("%s %s: sync skipped: %s", label, c.short, reason)
			if o.want(GroupSync) {
				r.skipSyncCRM(label, c, reason)
			}
			continue
		}
		attempted = true
		if err := r.syncCRM(ctx, env, c); err != nil {
			r.progress("%s %s: sync failed: %v", label, c.short, err)
			if o.want(GroupSync) {
				r.skipSyncCRM(label, c, "sync failed: "+err.Error())
			}
			continue
		}
		synced[c.conn] = true
	}
	if p := w.stop(); o.want(GroupSync) && attempted {
		r.memory("sync "+ScaleName(n), p)
	}

	if o.want(GroupInsights) || o.want(GroupWriteback) || o.want(GroupCycle) || llm {
		w = watchMemory()
		for _, c := range crms {
			if !synced[c.conn] {
				r.skipInsightsCRM(label, c, "needs this scale's sync, which did not complete")
				continue
			}
			if err := r.insights(ctx, env, c); err != nil {
				r.progress("%s %s: insights failed: %v", label, c.short, err)
				r.skipInsightsCRM(label, c, "insights failed: "+err.Error())
				synced[c.conn] = false
			}
		}
		if o.want(GroupInsights) {
			r.memory("insights "+ScaleName(n), w.stop())
		} else {
			w.stop()
		}
	}
	if o.want(GroupWriteback) {
		w = watchMemory()
		for _, c := range crms {
			if !synced[c.conn] {
				r.skipWritebackCRM(label, c, "no insights to write (this scale's sync or insights did not complete)")
				continue
			}
			if err := r.writeback(ctx, env, c); err != nil {
				r.progress("%s %s: write-back failed: %v", label, c.short, err)
				r.skipWritebackCRM(label, c, err.Error())
			}
		}
		r.memory("writeback "+ScaleName(n), w.stop())
	}
	if o.want(GroupCycle) {
		w = watchMemory()
		for _, c := range crms {
			if !synced[c.conn] {
				r.skipCycle(label, c, "this scale's sync or insights did not complete")
				continue
			}
			if err := r.cycle(ctx, env, c); err != nil {
				r.progress("%s %s: cycle failed: %v", label, c.short, err)
				r.skipCycle(label, c, err.Error())
			}
		}
		r.memory("cycle "+ScaleName(n), w.stop())
	}
	if llm {
		c := crms[0]
		if !synced[c.conn] {
			r.skipLLM("this scale's sync or insights did not complete")
			return
		}
		w = watchMemory()
		if err := r.llm(ctx, env, c); err != nil {
			r.progress("llm failed: %v", err)
		}
		r.memory("llm "+ScaleName(n), w.stop())
	}
}

// serve starts the sandbox on a loopback port and prepares the store.
func (r *runner) serve(ctx context.Context, sb *sandbox.Sandbox, n int, ns string) (*scaleEnv, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox listen: %w", err)
	}
	srv := &http.Server{Handler: sandboxsrv.New(sb), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	st, err := store.New(r.opt.Redis, &store.Options{Namespace: ns})
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	cfg := app.DefaultConfig()
	url := "http://" + ln.Addr().String()
	for i := range cfg.Connections {
		cfg.Connections[i].BaseURL = url
		// Do not throttle against the local sandbox: the bench measures
		// crmpulse, not a rate limit.
		cfg.Connections[i].RateLimit = config.RateLimit{RequestsPerSecond: 100_000, Burst: 1000}
	}
	return &scaleEnv{n: n, sb: sb, url: url, srv: srv, st: st, cfg: cfg, apps: map[string]*app.App{}}, nil
}

// app returns the App of one connection over the shared store.
func (e *scaleEnv) app(ctx context.Context, r *runner, conn string) (*app.App, error) {
	if a, ok := e.apps[conn]; ok {
		return a, nil
	}
	a, err := app.Open(ctx, e.cfg, &app.Options{
		Store: e.st, Connections: []string{conn}, Logger: r.opt.Logger,
		// The largest page each API allows: the read-call minimum below
		// assumes it (Salesforce 2000, HubSpot search 200).
		PageSize: 2000,
		HTTP:     httpx.Options{Wait: func(int, time.Duration) time.Duration { return 50 * time.Millisecond }},
	})
	if err != nil {
		return nil, err
	}
	e.apps[conn] = a
	return a, nil
}

func (e *scaleEnv) tenant(c crm) *sandbox.Store {
	if c.dialect == "hubspot" {
		return e.sb.HS
	}
	return e.sb.SF
}

// readCalls counts the record-reading API calls of a dialect in a counter
// snapshot: GETs and search/query/batch-read POSTs, without OAuth, identity
// and write calls.
func readCalls(snap map[string]int64, dialect string) int64 {
	var n int64
	for k, v := range snap {
		rest, ok := strings.CutPrefix(k, dialect+" ")
		if !ok {
			continue
		}
		method, route, _ := strings.Cut(rest, " ")
		if strings.Contains(route, "oauth") || strings.Contains(route, "token") || strings.HasPrefix(route, "/id/") {
			continue
		}
		if method == http.MethodGet || method == http.MethodPost && (strings.Contains(route, "search") || strings.Contains(route, "batch/read") || strings.Contains(route, "query")) {
			n += v
		}
	}
	return n
}

func diff(after, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// syncRecords counts the live records an initial sync of c reads.
func syncRecords(env *scaleEnv, c crm) int {
	n := 0
	for t := range c.edits {
		n += env.tenant(c).Count(t)
	}
	return n
}

// tooLong says why the initial sync of c at this scale is not attempted:
// its duration, estimated from the rate measured at an earlier scale,
// exceeds Options.MaxSync. "" means go ahead.
func (r *runner) tooLong(env *scaleEnv, c crm) string {
	rate := r.syncRate[c.short]
	if rate <= 0 {
		return ""
	}
	n := syncRecords(env, c)
	est := time.Duration(float64(n) / rate * float64(time.Second))
	if est <= r.opt.MaxSync {
		return ""
	}
	return fmt.Sprintf("~%s for %s records at the %s records/s of %s, over --max-sync %s",
		shortDuration(est), FormatValue(float64(n)), FormatValue(round(rate, 0)), r.rateAt[c.short], shortDuration(r.opt.MaxSync))
}

// syncCRM runs the initial and the incremental sync of one CRM.
func (r *runner) syncCRM(ctx context.Context, env *scaleEnv, c crm) error {
	label := env.label
	a, err := env.app(ctx, r, c.conn)
	if err != nil {
		return err
	}
	env.sb.Clock.Advance(time.Minute) // everything generated is past the connectors' lag
	eng, err := crmsync.FromApp(a, &crmsync.Options{Logger: r.opt.Logger, Progress: r.syncProgress(label + " " + c.short + " initial sync")})
	if err != nil {
		return err
	}
	before := env.sb.Counters.Snapshot()
	start := time.Now()
	sum, err := eng.Run(ctx)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	calls := diff(env.sb.Counters.Snapshot(), before)
	tot := sum.Totals()
	r.syncRate[c.short] = float64(tot.Read) / elapsed.Seconds()
	r.rateAt[c.short] = label
	r.progress("%s %s: initial sync read %d records in %s (%.0f/s), %d chunks", label, c.short, tot.Read, elapsed.Round(time.Millisecond),
		float64(tot.Read)/elapsed.Seconds(), chunks(sum))
	if r.opt.want(GroupSync) {
		if c.dialect == "hubspot" {
			r.note("HubSpot allows 5 search requests per second; the connector and the sandbox honour it, so a HubSpot change feed reads at most about 1,000 records per second (200 per page).")
		}
		scale := label + ", " + c.short
		r.add(GroupSync, "initial sync throughput", scale, round(float64(tot.Read)/elapsed.Seconds(), 0), "records/s", "", fmt.Sprintf("%s records in %s", FormatValue(float64(tot.Read)), elapsed.Round(100*time.Millisecond)))
		used := readCalls(calls, c.dialect)
		minimum := 0
		for _, o := range sum.Objects {
			minimum += int(math.Ceil(float64(o.Read) / float64(c.maxPage)))
		}
		verdict := "—"
		if minimum > 0 {
			verdict = fmt.Sprintf("%s× the minimum", FormatValue(round(float64(used)/float64(minimum), 2)))
		}
		r.add(GroupSync, "read API calls, initial sync", scale, float64(used), "calls", fmt.Sprintf("minimum %d (records ÷ %d per page)", minimum, c.maxPage), verdict)
	}

	// Edit ~1% of the records of every synced table, then sync again.
	edited, err := editOnePercent(env.tenant(c), c)
	if err != nil {
		return fmt.Errorf("edit 1%%: %w", err)
	}
	env.sb.Clock.Advance(time.Minute)
	eng, err = crmsync.FromApp(a, &crmsync.Options{Logger: r.opt.Logger, Progress: r.syncProgress(label + " " + c.short + " incremental sync")})
	if err != nil {
		return err
	}
	start = time.Now()
	sum2, err := eng.Run(ctx)
	elapsed = time.Since(start)
	if err != nil {
		return err
	}
	t2 := sum2.Totals()
	changed := t2.Changed()
	r.progress("%s %s: incremental sync: %d edited, %d changed records in %s", label, c.short, edited, changed, elapsed.Round(time.Millisecond))
	if r.opt.want(GroupSync) {
		scale := label + ", " + c.short
		share := 100 * float64(edited) / float64(max(tot.Read, 1))
		r.add(GroupSync, "incremental sync throughput", scale, round(float64(changed)/elapsed.Seconds(), 0), "changed records/s", "",
			fmt.Sprintf("%d changed (%.1f%%) in %s", changed, share, elapsed.Round(100*time.Millisecond)))
		r.add(GroupSync, "incremental sync cycle", scale, round(elapsed.Seconds(), 2), "s", "", "")
	}
	return nil
}

func chunks(s *crmsync.Summary) int {
	n := 0
	for _, c := range s.Conns {
		n += c.Chunks
	}
	return n
}

// syncProgress prints a sync's progress every few seconds.
func (r *runner) syncProgress(what string) func(crmsync.Progress) {
	var mu gosync.Mutex
	last := time.Now()
	return func(p crmsync.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		if p.Total > 0 {
			r.progress("%s: %s %s %d/%d", what, p.Phase, p.Object, p.Done, p.Total)
		} else {
			r.progress("%s: %s %s %d", what, p.Phase, p.Object, p.Done)
		}
	}
}

// editOnePercent appends a sentence to a text field of every 100th live
// record of each table, as a user would; it returns the records edited.
func editOnePercent(s *sandbox.Store, c crm) (int, error) {
	tables := make([]string, 0, len(c.edits))
	for t := range c.edits {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	total := 0
	for _, t := range tables {
		field := c.edits[t]
		type edit struct{ id, text string }
		var edits []edit
		i := 0
		err := s.ScanView(t, func(v sandbox.RowView) bool {
			if v.Deleted() {
				return true
			}
			if i%100 == 50 {
				edits = append(edits, edit{v.ID(), v.Str(field)})
			}
			i++
			return true
		})
		if err != nil {
			return total, fmt.Errorf("%s: %w", t, err)
		}
		for _, e := range edits {
			if _, err := s.Update(t, e.id, map[string]any{field: strings.TrimSpace(e.text + " Follow-up noted after the quarterly review.")}, sandbox.ActorUser); err != nil {
				return total, fmt.Errorf("%s %s: %w", t, e.id, err)
			}
		}
		total += len(edits)
	}
	return total, nil
}

// insights analyses every account of a CRM statistically.
func (r *runner) insights(ctx context.Context, env *scaleEnv, c crm) error {
	label := env.label
	scale := label + ", " + c.short
	a, err := env.app(ctx, r, c.conn)
	if err != nil {
		return err
	}
	ids, err := crmsync.Accounts(ctx, env.st, c.conn)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("no synced accounts")
	}
	runner := r.engineRunner(a, env)
	start := time.Now()
	if _, err := runner.Base(ctx, c.conn); err != nil {
		return fmt.Errorf("prepare base: %w", err)
	}
	prep := time.Since(start)

	// One account at a time: the latency a user waiting for one account sees.
	single := min(len(ids), 100)
	if r.opt.Quick {
		single = min(len(ids), 25)
	}
	lat := make([]time.Duration, 0, single)
	for _, id := range ids[:single] {
		t0 := time.Now()
		if err := runner.Handle(ctx, c.conn, id, false); err != nil {
			return fmt.Errorf("analyse %s: %w", id, err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)

	// Every account, bounded workers: throughput.
	workers := 16
	start = time.Now()
	if err := handleAll(ctx, runner, c.conn, ids, workers, nil); err != nil {
		return err
	}
	all := time.Since(start)
	r.progress("%s: analysed %d accounts in %s (%.0f/s; base %s)", scale, len(ids), all.Round(time.Millisecond), float64(len(ids))/all.Seconds(), prep.Round(time.Millisecond))

	// 1000 accounts at once: one goroutine per account.
	at := ids[:min(len(ids), 1000)]
	start = time.Now()
	if err := handleAll(ctx, runner, c.conn, at, len(at), nil); err != nil {
		return err
	}
	burst := time.Since(start)

	if !r.opt.want(GroupInsights) {
		return nil
	}
	r.add(GroupInsights, "statistical insights throughput", scale, round(float64(len(ids))/all.Seconds(), 0), "accounts/s", "",
		fmt.Sprintf("%d accounts in %s, %d workers", len(ids), all.Round(100*time.Millisecond), workers))
	r.add(GroupInsights, "base preparation (BG/NBD fit, churn model)", scale, round(prep.Seconds(), 2), "s", "", "")
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	r.add(GroupInsights, "one account, statistical (p50)", scale, round(ms(p50), 1), "ms", "< 5 min", below(p50.Seconds(), 300))
	r.add(GroupInsights, "one account, statistical (p99)", scale, round(ms(p99), 1), "ms", "< 5 min", below(p99.Seconds(), 300)+fmt.Sprintf(", %d accounts", len(lat)))
	verdict := fmt.Sprintf("done (%d accounts)", len(at))
	if len(at) < 1000 {
		verdict = fmt.Sprintf("only %d accounts in this base", len(at))
	}
	r.add(GroupInsights, "1000 accounts at once, statistical", scale, round(burst.Seconds(), 2), "s", "1000 accounts at once", verdict)
	return nil
}

func (r *runner) engineRunner(a *app.App, env *scaleEnv) *engine.Runner {
	cfg := env.cfg
	eng := engine.New(env.st, a.Embedder, nil, engine.Options{
		Horizon:       time.Duration(cfg.Insights.HorizonDays) * 24 * time.Hour,
		WinbackMonths: cfg.Insights.WinbackMonths,
		Language:      cfg.LLM.Language,
	})
	return &engine.Runner{Engine: eng, AsOf: env.sb.Clock.Now(), Force: true, Logger: r.opt.Logger}
}

// handleAll analyses ids with at most workers in flight; lat, when set,
// receives each account's duration.
func handleAll(ctx context.Context, runner *engine.Runner, conn string, ids []string, workers int, lat func(time.Duration)) error {
	var (
		next  atomic.Int64
		wg    gosync.WaitGroup
		errMu gosync.Mutex
		first error
	)
	for range min(workers, len(ids)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := runner.Handle(ctx, conn, ids[i], false)
				if lat != nil {
					lat(time.Since(t0))
				}
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = fmt.Errorf("analyse %s: %w", ids[i], err)
					}
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// writeback writes the stored insights of up to 1000 accounts into the CRM,
// then runs an unchanged cycle.
func (r *runner) writeback(ctx context.Context, env *scaleEnv, c crm) error {
	scale := env.label + ", " + c.short
	a, err := env.app(ctx, r, c.conn)
	if err != nil {
		return err
	}
	conn, err := a.Conn(c.conn)
	if err != nil {
		return err
	}
	mappings, ok := writeback.Mappings(env.cfg, c.conn)
	if !ok || len(mappings) == 0 {
		mappings = config.DefaultMappings(c.kind)
	}
	if _, err := writeback.ProvisionFields(ctx, conn, mappings, false); err != nil {
		return fmt.Errorf("provision fields: %w", err)
	}
	target, err := writeback.LoadTarget(ctx, conn, mappings)
	if err != nil {
		return fmt.Errorf("load target: %w", err)
	}
	ins, err := writeback.LoadInsights(ctx, env.st, c.conn)
	if err != nil {
		return fmt.Errorf("load insights: %w", err)
	}
	if len(ins) == 0 {
		return errors.New("no stored insights")
	}
	ins = ins[:min(len(ins), 1000)]
	counted := func() int64 { return env.sb.Counters.Snapshot()[c.writeRoute] }
	opts := &writeback.Options{Logger: r.opt.Logger, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}

	cycle := func() (writeback.Summary, int64, time.Duration, error) {
		if err := writeback.EnqueueInsights(ctx, env.st, target, ins); err != nil {
			return writeback.Summary{}, 0, 0, fmt.Errorf("enqueue: %w", err)
		}
		before := counted()
		start := time.Now()
		sum, err := writeback.NewWriter(env.st, conn, target, opts).RunOnce(ctx)
		return sum, counted() - before, time.Since(start), err
	}
	sum, calls, elapsed, err := cycle()
	if err != nil {
		return fmt.Errorf("write-back cycle: %w", err)
	}
	if sum.Written == 0 {
		return fmt.Errorf("write-back cycle wrote nothing (%d dead-lettered, %d pending)", sum.Dead, sum.Pending)
	}
	per1000 := float64(calls) / float64(sum.Written) * 1000
	minCalls := (sum.Written + c.batch - 1) / c.batch
	min1000 := float64(minCalls) / float64(sum.Written) * 1000
	r.progress("%s: wrote %d records with %d calls in %s", scale, sum.Written, calls, elapsed.Round(time.Millisecond))
	verdict := "at the minimum"
	if calls > int64(minCalls) {
		verdict = fmt.Sprintf("%s× the minimum", FormatValue(round(float64(calls)/float64(minCalls), 2)))
	}
	r.add(GroupWriteback, "write API calls per 1000 changed records", scale, round(per1000, 2), "calls",
		fmt.Sprintf("minimum %s (batches of %d)", FormatValue(round(min1000, 2)), c.batch), verdict+fmt.Sprintf("; %d records, %d calls", sum.Written, calls))
	r.add(GroupWriteback, "write-back throughput", scale, round(float64(sum.Written)/elapsed.Seconds(), 0), "records/s", "", "")

	sum2, calls2, _, err := cycle()
	if err != nil {
		return fmt.Errorf("unchanged cycle: %w", err)
	}
	v := "meets"
	if calls2 != 0 {
		v = "misses"
	}
	r.add(GroupWriteback, "write API calls, unchanged cycle", scale, float64(calls2), "calls", "0", fmt.Sprintf("%s; %d records considered, %d unchanged", v, sum2.Records, sum2.Unchanged))
	return nil
}

// The skip helpers keep the table complete when a scenario cannot run.

func (r *runner) skipSync(label, reason string) {
	for _, c := range crms {
		r.skipSyncCRM(label, c, reason)
	}
}

func (r *runner) skipSyncCRM(label string, c crm, reason string) {
	scale := label + ", " + c.short
	r.skip(GroupSync, "initial sync throughput", scale, "records/s", "", reason)
	r.skip(GroupSync, "read API calls, initial sync", scale, "calls", "", reason)
	r.skip(GroupSync, "incremental sync throughput", scale, "changed records/s", "", reason)
	r.skip(GroupSync, "incremental sync cycle", scale, "s", "", reason)
}

func (r *runner) skipInsights(label, reason string) {
	for _, c := range crms {
		r.skipInsightsCRM(label, c, reason)
	}
}

func (r *runner) skipInsightsCRM(label string, c crm, reason string) {
	if !r.opt.want(GroupInsights) {
		return
	}
	scale := label + ", " + c.short
	r.skip(GroupInsights, "statistical insights throughput", scale, "accounts/s", "", reason)
	r.skip(GroupInsights, "base preparation (BG/NBD fit, churn model)", scale, "s", "", reason)
	r.skip(GroupInsights, "one account, statistical (p50)", scale, "ms", "< 5 min", reason)
	r.skip(GroupInsights, "one account, statistical (p99)", scale, "ms", "< 5 min", reason)
	r.skip(GroupInsights, "1000 accounts at once, statistical", scale, "s", "1000 accounts at once", reason)
}

func (r *runner) skipWriteback(label, reason string) {
	for _, c := range crms {
		r.skipWritebackCRM(label, c, reason)
	}
}

func (r *runner) skipWritebackCRM(label string, c crm, reason string) {
	scale := label + ", " + c.short
	r.skip(GroupWriteback, "write API calls per 1000 changed records", scale, "calls", fmt.Sprintf("minimum %s (batches of %d)", FormatValue(1000/float64(c.batch)), c.batch), reason)
	r.skip(GroupWriteback, "write-back throughput", scale, "records/s", "", reason)
	r.skip(GroupWriteback, "write API calls, unchanged cycle", scale, "calls", "0", reason)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// shortDuration prints d rounded to minutes (seconds below ten minutes)
// without zero units: 1h30m, 45m, 3m20s.
func shortDuration(d time.Duration) string {
	if d < 10*time.Minute {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Minute)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
