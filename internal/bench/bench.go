// Package bench measures crmpulse end to end and prints one table: sync
// throughput and API efficiency against the CRM sandbox, write-back calls
// against the batch minimum, filtered retrieval latency at several vector
// counts, statistical and LLM analysis throughput, and peak memory, each
// beside the product's targets where it has one.
//
// Everything runs on this machine: the sandbox in-process, served over HTTP
// on a loopback port (the same wire formats the connectors speak to real
// CRMs), a Redis given by the caller, the local hashing embedder, and an
// in-process OpenAI-compatible endpoint that answers every analysis with a
// valid, cited JSON object after a configurable latency.
//
// # Scenarios
//
// Per account scale (Options.Accounts), for each CRM dialect:
//
//	sync       initial sync (records/s), read API calls against the minimum
//	           (records ÷ the API's largest page), then ~1% of the records
//	           edited and an incremental sync (changed records/s)
//	insights   statistical analysis of every account (accounts/s), the
//	           latency of one account analysed alone, 1000 accounts at once
//	writeback  write calls per 1000 changed records against the batch
//	           minimum (5 Salesforce, 10 HubSpot), then an unchanged cycle
//	           (0 calls expected)
//
//	cycle      one full pipeline cycle (sync → insights → segments →
//	           writeback → lists, statistical) after another ~1% of edits
//
// Once, on the first account scale:
//
//	llm        analyses/s at each concurrency against the test endpoint,
//	           the latency of one LLM analysis, 1000 accounts at once
//
// Per vector count (Options.Vectors):
//
//	retrieval  filtered top-10 latency p50/p99 (industry + type, and one
//	           account) over clustered 384-d vectors, and the build rate
//
// Every scenario reports its peak Go heap and peak resident set.
//
// The figures include the sandbox's own work (it runs in the same process)
// and honour the CRMs' documented limits that the connectors and the sandbox
// enforce, notably HubSpot's 5 search requests per second, which bounds a
// HubSpot change feed at about 1,000 records per second.
//
// # Redis keys
//
// Keys live under Options.Namespace (default "crmpulse-bench"), which is
// cleared before and after each account scale. Vector sets built for the
// retrieval scenario are dropped at the end unless Options.KeepVectors; a
// kept, complete set of the same size is reused by the next run.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Groups of rows, selectable with Options.Only.
const (
	GroupSync      = "sync"
	GroupInsights  = "insights"
	GroupWriteback = "writeback"
	GroupLLM       = "llm"
	GroupRetrieval = "retrieval"
	GroupCycle     = "cycle"
	GroupMemory    = "memory"
)

// Groups lists the selectable groups in table order.
var Groups = []string{GroupSync, GroupInsights, GroupWriteback, GroupCycle, GroupLLM, GroupRetrieval}

// Defaults.
var (
	DefaultAccounts       = []int{2000}
	QuickAccounts         = []int{200}
	DefaultVectors        = []int{3000, 100_000}
	QuickVectors          = []int{3000}
	DefaultLLMConcurrency = []int{1, 4, 16, 64}
)

// DefaultLLMLatency is the test endpoint's answer latency.
const DefaultLLMLatency = time.Second

// Options configure a run. Zero values mean the defaults.
type Options struct {
	// Redis is where the store, queues and vector sets go (required).
	Redis redis.UniversalClient
	// RedisURL is shown in the header (credentials are removed).
	RedisURL string
	// Namespace prefixes every key (default "crmpulse-bench").
	Namespace string
	// Accounts are the sandbox sizes (default DefaultAccounts;
	// QuickAccounts with Quick).
	Accounts []int
	// Vectors are the vector counts of the retrieval scenario (default
	// DefaultVectors; QuickVectors with Quick).
	Vectors []int
	// Quick trims every scenario to finish in well under two minutes:
	// 200 accounts and 3k vectors unless given, fewer queries and LLM calls,
	// no 1000-account LLM run.
	Quick bool
	// LLMLatency is the test endpoint's latency per answer (default 1s).
	LLMLatency time.Duration
	// LLMConcurrency are the concurrencies measured (default 1, 4, 16, 64).
	LLMConcurrency []int
	// Only restricts the run to these groups (default all; see Groups).
	Only []string
	// MaxSync skips an initial sync whose duration, estimated from the rate
	// measured at an earlier (smaller) account scale, exceeds it (default
	// 30 minutes). The first scale is always synced.
	MaxSync time.Duration
	// KeepVectors keeps the retrieval vector sets for the next run.
	KeepVectors bool
	// Progress receives plain progress lines (nil: none).
	Progress io.Writer
	// Logger receives the components' own logs (default: discarded).
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if o.Redis == nil {
		return errors.New("bench: no Redis client")
	}
	if o.Namespace == "" {
		o.Namespace = "crmpulse-bench"
	}
	if len(o.Accounts) == 0 {
		o.Accounts = DefaultAccounts
		if o.Quick {
			o.Accounts = QuickAccounts
		}
	}
	if o.Vectors == nil {
		o.Vectors = DefaultVectors
		if o.Quick {
			o.Vectors = QuickVectors
		}
	}
	if o.MaxSync <= 0 {
		o.MaxSync = 30 * time.Minute
	}
	if o.LLMLatency <= 0 {
		o.LLMLatency = DefaultLLMLatency
	}
	if len(o.LLMConcurrency) == 0 {
		o.LLMConcurrency = DefaultLLMConcurrency
	}
	for _, n := range o.Accounts {
		if n < 50 {
			return fmt.Errorf("bench: accounts %d: at least 50 are needed", n)
		}
	}
	for _, n := range o.Vectors {
		if n < 100 {
			return fmt.Errorf("bench: vectors %d: at least 100 are needed", n)
		}
	}
	for _, c := range o.LLMConcurrency {
		if c < 1 || c > 1024 {
			return fmt.Errorf("bench: LLM concurrency %d: want 1..1024", c)
		}
	}
	for _, g := range o.Only {
		if !slices.Contains(Groups, g) {
			return fmt.Errorf("bench: unknown group %q in only (known: %s)", g, strings.Join(Groups, ", "))
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (o *Options) want(group string) bool {
	return len(o.Only) == 0 || slices.Contains(o.Only, group)
}

// runner carries one run's state.
type runner struct {
	opt Options
	rep *Report
	mu  sync.Mutex
	// syncRate is the initial-sync rate (records/s) last measured per CRM
	// and rateAt the scale it was measured at.
	syncRate map[string]float64
	rateAt   map[string]string
}

// Run runs the selected scenarios and returns the report. A scenario that
// fails leaves its rows as skipped with the error as the reason; Run itself
// fails only when it cannot start (no Redis, bad options) or ctx ends.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	r := &runner{opt: opt, syncRate: map[string]float64{}, rateAt: map[string]string{}, rep: &Report{Started: time.Now(), Settings: Settings{
		Accounts: opt.Accounts, Vectors: opt.Vectors, Quick: opt.Quick, LLMLatency: opt.LLMLatency,
		LLMConcurrency: opt.LLMConcurrency, Only: opt.Only,
	}}}
	r.rep.Machine = machineInfo()
	r.rep.Machine.RedisURL = redactURL(opt.RedisURL)
	r.rep.Machine.LoadStart = loadAverage()
	ver, err := redisVersion(ctx, opt.Redis)
	if err != nil {
		return nil, fmt.Errorf("bench: redis: %w", err)
	}
	r.rep.Machine.RedisVersion = ver
	r.progress("machine: %d cores, %s, Redis %s, load average %.1f", r.rep.Machine.Cores, r.rep.Machine.GoVersion, ver, r.rep.Machine.LoadStart)
	if l := r.rep.Machine.LoadStart; l > float64(r.rep.Machine.Cores) {
		r.progress("warning: the load average (%.1f) exceeds the %d cores: other work will skew the figures", l, r.rep.Machine.Cores)
	}

	if opt.want(GroupSync) || opt.want(GroupInsights) || opt.want(GroupWriteback) || opt.want(GroupCycle) || opt.want(GroupLLM) {
		for i, n := range opt.Accounts {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r.accountScale(ctx, n, i == 0)
		}
	}
	if opt.want(GroupRetrieval) {
		for _, n := range opt.Vectors {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r.retrieval(ctx, n)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.rep.Elapsed = time.Since(r.rep.Started)
	r.rep.Machine.LoadEnd = loadAverage()
	return r.rep, nil
}

func (r *runner) progress(format string, a ...any) {
	if r.opt.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.opt.Progress, "bench: "+format+"\n", a...)
}

func (r *runner) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if !slices.Contains(r.rep.Notes, s) {
		r.rep.Notes = append(r.rep.Notes, s)
	}
}

// add appends a measured row.
func (r *runner) add(group, metric, scale string, v float64, unit, target, verdict string) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.skip(group, metric, scale, unit, target, "no finite value (nothing was measured)")
		return
	}
	r.rep.Rows = append(r.rep.Rows, Row{Group: group, Metric: metric, Scale: scale, Value: &v, Unit: unit, Target: target, Verdict: verdict})
}

// skip appends a row that could not be measured, unless the row is already
// there (a scenario that failed half-way keeps what it measured).
func (r *runner) skip(group, metric, scale, unit, target, reason string) {
	if _, ok := r.rep.Find(metric, scale); ok {
		return
	}
	r.rep.Rows = append(r.rep.Rows, Row{Group: group, Metric: metric, Scale: scale, Unit: unit, Target: target, Skip: reason})
}

// memory appends the two memory rows of a scenario.
func (r *runner) memory(scenario string, p memPeaks) {
	r.note("Peak memory is the Go heap high-water mark (sampled every 10 ms) and the resident-set high-water mark since the scenario began; the sandbox runs in the same process and is included, and RSS includes memory the runtime still holds from earlier scenarios.")
	r.add(GroupMemory, "peak Go heap", scenario, mib(p.Heap), "MiB", "", "")
	if p.RSS == 0 {
		r.skip(GroupMemory, "peak RSS", scenario, "MiB", "", "/proc/self/status not available")
		return
	}
	verdict := ""
	if !p.RSSScenarioOK {
		verdict = "process high-water (could not reset per scenario)"
	}
	r.add(GroupMemory, "peak RSS", scenario, mib(p.RSS), "MiB", "", verdict)
}

func mib(b uint64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }

func redisVersion(ctx context.Context, rdb redis.UniversalClient) (string, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "unknown", nil
}

func redisUsedMemory(ctx context.Context, rdb redis.UniversalClient) uint64 {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			var n uint64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// redactURL removes credentials from a Redis URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "***@" + rest[at+1:]
	}
	return scheme + "://" + rest
}

// clearPrefix unlinks every key starting with prefix.
func clearPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return fmt.Errorf("clear %s*: %w", prefix, err)
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("clear %s*: %w", prefix, err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// percentile returns the q-quantile (0..1) of sorted durations, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// headroom says how far a figure is from a "below target" limit.
func below(v, limit float64) string {
	if v < limit {
		if v <= 0 {
			return "meets"
		}
		return fmt.Sprintf("meets (%s× headroom)", FormatValue(math.Round(limit/v*10)/10))
	}
	return "misses"
}
