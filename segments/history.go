package segments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Migration rules. A segmentation is recomputed from scratch on every run,
// and quintile cut-offs move with the whole customer base, so an account
// could change segment although it did nothing. ApplyRules ties every move
// to the account's own behaviour since its previous run:
//
//   - Upgrade (to a segment of higher Rank) only with a purchase since the
//     previous run: a later last order or more orders. A new purchase,
//     however big, therefore never moves an account down.
//   - Downgrade (to a lower Rank) only without a purchase since the previous
//     run: recency aged past a cut-off, or deals were lost or removed.
//
// A move the rules forbid is held: the account stays in its previous
// segment (AccountSegment.Held says why, Computed names the segment its
// values alone give) until its behaviour moves it. Accounts seen for the
// first time take their computed segment. Ranks: VIP 7, Loyal 6,
// Promising New 5, Needs Attention 4, Can't Lose 3, At Risk 2, Dormant 1,
// Prospect 0.

// Reasons recorded in AccountSegment.Held.
const (
	HeldNoDowngrade = "purchase since the last run: no downgrade"
	HeldNoUpgrade   = "no purchase since the last run: no upgrade"
)

// State is an account's current segment as recorded by Tracker.Record.
type State struct {
	Segment    string    `json:"segment"`
	SubSegment string    `json:"sub_segment,omitempty"`
	Since      time.Time `json:"since"`   // as-of date of the run that moved it here
	Updated    time.Time `json:"updated"` // as-of date of the last run
	Run        int64     `json:"run"`
	Frequency  int       `json:"frequency"`
	Monetary   float64   `json:"monetary"`
	LastOrder  time.Time `json:"last_order,omitzero"`
}

// ApplyRules enforces the migration rules on seg against the previous
// states, holding forbidden moves, and recounts the segments. It returns
// the number of accounts held.
func ApplyRules(prev map[string]State, seg *Segmentation) int {
	held := 0
	for i := range seg.Accounts {
		a := &seg.Accounts[i]
		a.Held, a.Computed = "", ""
		p, ok := prev[a.AccountID]
		if !ok || p.Segment == "" || p.Segment == a.Segment {
			continue
		}
		bought := a.LastOrder.After(p.LastOrder) || a.Frequency > p.Frequency
		reason := ""
		switch {
		case bought && Rank(a.Segment) < Rank(p.Segment):
			reason = HeldNoDowngrade
		case !bought && Rank(a.Segment) > Rank(p.Segment):
			reason = HeldNoUpgrade
		}
		if reason == "" {
			continue
		}
		held++
		from, _ := defByKey(a.Segment)
		to, _ := defByKey(p.Segment)
		if rest, ok := strings.CutPrefix(a.SubSegment, from.name); ok {
			a.SubSegment = to.name + rest
		}
		a.Computed, a.Segment, a.Held = a.Segment, p.Segment, reason
	}
	if held > 0 {
		seg.recount()
	}
	return held
}

// recount recomputes each segment's count, share and means from Accounts.
func (s *Segmentation) recount() {
	idx := map[string]int{}
	for i := range s.Segments {
		g := &s.Segments[i]
		g.Count, g.Share, g.MeanRecencyDays, g.MeanFrequency, g.MeanMonetary = 0, 0, 0, 0, 0
		idx[g.Key] = i
	}
	for _, a := range s.Accounts {
		i, ok := idx[a.Segment]
		if !ok {
			continue
		}
		g := &s.Segments[i]
		g.Count++
		g.MeanRecencyDays += a.RecencyDays
		g.MeanFrequency += float64(a.Frequency)
		g.MeanMonetary += a.Monetary
	}
	for i := range s.Segments {
		g := &s.Segments[i]
		if g.Count > 0 {
			n := float64(g.Count)
			g.MeanRecencyDays /= n
			g.MeanFrequency /= n
			g.MeanMonetary /= n
			g.Share = n / float64(len(s.Accounts))
		}
	}
}

// Change is one entry of an account's segment history.
type Change struct {
	At     time.Time `json:"at"` // as-of date of the run
	Run    int64     `json:"run"`
	From   string    `json:"from"` // "" when first assigned
	To     string    `json:"to"`   // "" when the account left the CRM
	Reason string    `json:"reason,omitempty"`
}

// Direction is "upgrade", "downgrade", "new", "left" or "same".
func (c Change) Direction() string {
	switch {
	case c.From == "":
		return "new"
	case c.To == "":
		return "left"
	}
	return direction(c.From, c.To)
}

func direction(from, to string) string {
	switch {
	case Rank(to) > Rank(from):
		return "upgrade"
	case Rank(to) < Rank(from):
		return "downgrade"
	}
	return "same"
}

// MoveCount is one (from, to) cell of a run's migration matrix, moves only.
type MoveCount struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Direction string `json:"direction"`
	Count     int    `json:"count"`
}

// Run is one entry of a connection's run log.
type Run struct {
	ID         int64          `json:"id"`
	AsOf       time.Time      `json:"as_of"`
	Recorded   time.Time      `json:"recorded"` // wall clock
	Accounts   int            `json:"accounts"`
	Counts     map[string]int `json:"counts"`
	Moves      []MoveCount    `json:"moves,omitempty"` // by count, descending
	Upgrades   int            `json:"upgrades"`
	Downgrades int            `json:"downgrades"`
	Unchanged  int            `json:"unchanged"`
	Entered    int            `json:"entered"` // accounts without a previous segment
	Left       int            `json:"left"`    // accounts no longer in the CRM
	Held       int            `json:"held"`    // moves the rules held back
	First      bool           `json:"first"`   // no earlier run existed
}

// Summary renders the moves of a run in plain terms with the given labels
// (segment id → label; missing ids print as the id), e.g. "42 accounts
// moved Loyal → At Risk".
func (r Run) Summary(labels map[string]string) []string {
	lbl := func(id string) string {
		if l := labels[id]; l != "" {
			return l
		}
		return id
	}
	var out []string
	for _, m := range r.Moves {
		noun := "accounts"
		if m.Count == 1 {
			noun = "account"
		}
		out = append(out, fmt.Sprintf("%d %s moved %s → %s (%s)", m.Count, noun, lbl(m.From), lbl(m.To), m.Direction))
	}
	return out
}

// Tracker keeps each account's segment, its history and a run log per
// connection in Redis. Keys (<ns> the namespace):
//
//	<ns>:segment:<conn>:<account>       hash   current State
//	<ns>:segment:<conn>:<account>:log   list   Change JSON, newest first, capped at Keep
//	<ns>:segments:<conn>:members        set    accounts with a current segment
//	<ns>:segments:<conn>:runs           list   Run JSON, newest first, capped at KeepRuns
//	<ns>:segments:<conn>:seq            string last run id
//	<ns>:segments:<conn>:latest         string the last recorded Segmentation (JSON)
//	<ns>:segments:<conn>:crm            hash   segment id → applied CRM segment (JSON)
//	<ns>:segments:<conn>:lock           string held while a run is recorded
//
// A run's writes are one MULTI/EXEC transaction. A Tracker is safe for
// concurrent use; concurrent Record calls for one connection fail with
// ErrBusy rather than interleave.
type Tracker struct {
	rdb      redis.UniversalClient
	ns       string
	Keep     int           // history entries kept per account (default 50)
	KeepRuns int           // run log entries kept (default 200)
	LockTTL  time.Duration // default 5 minutes
}

// ErrBusy: another run is being recorded for the connection.
var ErrBusy = errors.New("segments: another segment run is being recorded for this connection")

// ErrStale: a segmentation older than the last recorded run.
var ErrStale = errors.New("segments: segmentation is older than the last recorded run")

// ErrNoRun: nothing has been recorded for the connection yet.
var ErrNoRun = errors.New("segments: no segment run recorded yet (run crmpulse segments design)")

// NewTracker returns a tracker over rdb with key namespace ns (default
// "crmpulse").
func NewTracker(rdb redis.UniversalClient, ns string) *Tracker {
	if ns == "" {
		ns = "crmpulse"
	}
	return &Tracker{rdb: rdb, ns: ns, Keep: 50, KeepRuns: 200, LockTTL: 5 * time.Minute}
}

func (t *Tracker) stateKey(conn, account string) string {
	return t.ns + ":segment:" + conn + ":" + account
}
func (t *Tracker) logKey(conn, account string) string { return t.stateKey(conn, account) + ":log" }
func (t *Tracker) key(conn, name string) string       { return t.ns + ":segments:" + conn + ":" + name }

func checkName(what, s string) error {
	if s == "" || strings.ContainsAny(s, ": \t\r\n") {
		return fmt.Errorf("segments: %s %q must be non-empty without ':' or spaces", what, s)
	}
	return nil
}

// Record applies the migration rules to seg (see ApplyRules; seg is
// updated in place), stores every account's new state, appends moves to the
// account histories, forgets accounts no longer present, saves seg as the
// latest segmentation and logs the run, which it returns.
func (t *Tracker) Record(ctx context.Context, conn string, seg *Segmentation) (*Run, error) {
	if err := checkName("connection", conn); err != nil {
		return nil, err
	}
	for _, a := range seg.Accounts {
		if err := checkName("account id", a.AccountID); err != nil {
			return nil, err
		}
	}
	unlock, err := t.lock(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer unlock()

	last, err := t.Runs(ctx, conn, 1)
	if err != nil {
		return nil, err
	}
	if len(last) == 1 && seg.AsOf.Before(last[0].AsOf) {
		return nil, fmt.Errorf("%w: as of %s, last run %d as of %s", ErrStale, seg.AsOf.Format(time.RFC3339), last[0].ID, last[0].AsOf.Format(time.RFC3339))
	}
	members, err := t.rdb.SMembers(ctx, t.key(conn, "members")).Result()
	if err != nil {
		return nil, fmt.Errorf("segments: read members: %w", err)
	}
	prev, err := t.states(ctx, conn, members)
	if err != nil {
		return nil, err
	}
	run := &Run{AsOf: seg.AsOf, Recorded: time.Now().UTC(), Accounts: len(seg.Accounts), Counts: map[string]int{}, First: len(last) == 0}
	run.Held = ApplyRules(prev, seg)
	id, err := t.rdb.Incr(ctx, t.key(conn, "seq")).Result()
	if err != nil {
		return nil, fmt.Errorf("segments: next run id: %w", err)
	}
	run.ID = id

	cells := map[[2]string]int{}
	present := make(map[string]bool, len(seg.Accounts))
	pipe := t.rdb.TxPipeline()
	at := seg.AsOf.UTC()
	for _, a := range seg.Accounts {
		present[a.AccountID] = true
		run.Counts[a.Segment]++
		p, had := prev[a.AccountID]
		st := State{Segment: a.Segment, SubSegment: a.SubSegment, Since: at, Updated: at, Run: id,
			Frequency: a.Frequency, Monetary: a.Monetary, LastOrder: a.LastOrder}
		var ch *Change
		switch {
		case !had:
			run.Entered++
			ch = &Change{At: at, Run: id, To: a.Segment}
		case p.Segment == a.Segment:
			run.Unchanged++
			st.Since = p.Since
		default:
			ch = &Change{At: at, Run: id, From: p.Segment, To: a.Segment}
			cells[[2]string{p.Segment, a.Segment}]++
			if ch.Direction() == "upgrade" {
				run.Upgrades++
			} else {
				run.Downgrades++
			}
		}
		pipe.HSet(ctx, t.stateKey(conn, a.AccountID), st.fields())
		if ch != nil {
			b, _ := json.Marshal(ch)
			pipe.LPush(ctx, t.logKey(conn, a.AccountID), b)
			pipe.LTrim(ctx, t.logKey(conn, a.AccountID), 0, int64(t.Keep-1))
		}
	}
	var left []string
	for _, id := range members {
		if !present[id] {
			left = append(left, id)
		}
	}
	sort.Strings(left)
	for _, acc := range left {
		run.Left++
		b, _ := json.Marshal(Change{At: at, Run: id, From: prev[acc].Segment})
		pipe.LPush(ctx, t.logKey(conn, acc), b)
		pipe.LTrim(ctx, t.logKey(conn, acc), 0, int64(t.Keep-1))
		pipe.Del(ctx, t.stateKey(conn, acc))
		pipe.SRem(ctx, t.key(conn, "members"), acc)
	}
	if len(seg.Accounts) > 0 {
		ids := make([]any, len(seg.Accounts))
		for i, a := range seg.Accounts {
			ids[i] = a.AccountID
		}
		pipe.SAdd(ctx, t.key(conn, "members"), ids...)
	}
	for k, n := range cells {
		run.Moves = append(run.Moves, MoveCount{From: k[0], To: k[1], Direction: direction(k[0], k[1]), Count: n})
	}
	sort.Slice(run.Moves, func(i, j int) bool {
		a, b := run.Moves[i], run.Moves[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.From+"→"+a.To < b.From+"→"+b.To
	})
	rb, _ := json.Marshal(run)
	pipe.LPush(ctx, t.key(conn, "runs"), rb)
	pipe.LTrim(ctx, t.key(conn, "runs"), 0, int64(t.KeepRuns-1))
	sb, err := json.Marshal(seg)
	if err != nil {
		return nil, fmt.Errorf("segments: encode segmentation: %w", err)
	}
	pipe.Set(ctx, t.key(conn, "latest"), sb, 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("segments: record run %d for %s: %w", id, conn, err)
	}
	return run, nil
}

func (s State) fields() map[string]any {
	f := map[string]any{
		"segment": s.Segment, "sub_segment": s.SubSegment, "since": s.Since.Format(time.RFC3339Nano),
		"updated": s.Updated.Format(time.RFC3339Nano), "run": s.Run, "frequency": s.Frequency,
		"monetary": strconv.FormatFloat(s.Monetary, 'g', -1, 64), "last_order": "",
	}
	if !s.LastOrder.IsZero() {
		f["last_order"] = s.LastOrder.UTC().Format(time.RFC3339Nano)
	}
	return f
}

func parseState(m map[string]string) (State, error) {
	var s State
	var err error
	parseT := func(k string) time.Time {
		v := m[k]
		if v == "" || err != nil {
			return time.Time{}
		}
		t, e := time.Parse(time.RFC3339Nano, v)
		if e != nil {
			err = fmt.Errorf("field %s: %w", k, e)
		}
		return t
	}
	s.Segment, s.SubSegment = m["segment"], m["sub_segment"]
	s.Since, s.Updated, s.LastOrder = parseT("since"), parseT("updated"), parseT("last_order")
	if err != nil {
		return s, err
	}
	if s.Run, err = strconv.ParseInt(m["run"], 10, 64); err != nil {
		return s, fmt.Errorf("field run: %w", err)
	}
	if s.Frequency, err = strconv.Atoi(m["frequency"]); err != nil {
		return s, fmt.Errorf("field frequency: %w", err)
	}
	if s.Monetary, err = strconv.ParseFloat(m["monetary"], 64); err != nil {
		return s, fmt.Errorf("field monetary: %w", err)
	}
	return s, nil
}

// states reads the current states of accounts.
func (t *Tracker) states(ctx context.Context, conn string, accounts []string) (map[string]State, error) {
	out := make(map[string]State, len(accounts))
	const batch = 1000
	for i := 0; i < len(accounts); i += batch {
		part := accounts[i:min(i+batch, len(accounts))]
		pipe := t.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(part))
		for j, acc := range part {
			cmds[j] = pipe.HGetAll(ctx, t.stateKey(conn, acc))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("segments: read states: %w", err)
		}
		for j, c := range cmds {
			m := c.Val()
			if len(m) == 0 {
				continue
			}
			s, err := parseState(m)
			if err != nil {
				return nil, fmt.Errorf("segments: %s: %w", t.stateKey(conn, part[j]), err)
			}
			out[part[j]] = s
		}
	}
	return out, nil
}

func (t *Tracker) lock(ctx context.Context, conn string) (func(), error) {
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	ok, err := t.rdb.SetNX(ctx, t.key(conn, "lock"), token, t.LockTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("segments: lock: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w (%s)", ErrBusy, conn)
	}
	return func() {
		// Release only our own lock (it may have expired and been taken).
		_ = unlockScript.Run(context.WithoutCancel(ctx), t.rdb, []string{t.key(conn, "lock")}, token).Err()
	}, nil
}

var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Current returns an account's current state; ok is false when the account
// has none.
func (t *Tracker) Current(ctx context.Context, conn, account string) (s State, ok bool, err error) {
	m, err := t.states(ctx, conn, []string{account})
	if err != nil {
		return State{}, false, err
	}
	s, ok = m[account]
	return s, ok, nil
}

// Changes returns an account's segment history, newest first.
func (t *Tracker) Changes(ctx context.Context, conn, account string) ([]Change, error) {
	raw, err := t.rdb.LRange(ctx, t.logKey(conn, account), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("segments: history of %s: %w", account, err)
	}
	out := make([]Change, 0, len(raw))
	for i, r := range raw {
		var c Change
		if err := json.Unmarshal([]byte(r), &c); err != nil {
			return nil, fmt.Errorf("segments: %s entry %d: %w", t.logKey(conn, account), i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// LastMove returns the account's latest move between two segments (first
// assignments and departures excluded); ok is false when it never moved.
func (t *Tracker) LastMove(ctx context.Context, conn, account string) (c Change, ok bool, err error) {
	cs, err := t.Changes(ctx, conn, account)
	if err != nil {
		return Change{}, false, err
	}
	for _, c := range cs {
		if c.From != "" && c.To != "" {
			return c, true, nil
		}
	}
	return Change{}, false, nil
}

// Runs returns up to n run log entries, newest first (n ≤ 0: all kept).
func (t *Tracker) Runs(ctx context.Context, conn string, n int) ([]Run, error) {
	raw, err := t.rdb.LRange(ctx, t.key(conn, "runs"), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("segments: run log of %s: %w", conn, err)
	}
	out := make([]Run, 0, len(raw))
	for i, r := range raw {
		var run Run
		if err := json.Unmarshal([]byte(r), &run); err != nil {
			return nil, fmt.Errorf("segments: %s entry %d: %w", t.key(conn, "runs"), i, err)
		}
		out = append(out, run)
	}
	return out, nil
}

// Latest returns the last recorded segmentation of conn, or ErrNoRun.
func (t *Tracker) Latest(ctx context.Context, conn string) (*Segmentation, error) {
	b, err := t.rdb.Get(ctx, t.key(conn, "latest")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w for connection %s", ErrNoRun, conn)
	}
	if err != nil {
		return nil, fmt.Errorf("segments: latest of %s: %w", conn, err)
	}
	var s Segmentation
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("segments: %s: %w", t.key(conn, "latest"), err)
	}
	return &s, nil
}

// History returns an account's segment history, newest first; see
// Tracker.Changes.
func History(ctx context.Context, rdb redis.UniversalClient, ns, conn, account string) ([]Change, error) {
	return NewTracker(rdb, ns).Changes(ctx, conn, account)
}

// LastMove returns an account's latest move between segments, a signal for
// insights; see Tracker.LastMove.
func LastMove(ctx context.Context, rdb redis.UniversalClient, ns, conn, account string) (Change, bool, error) {
	return NewTracker(rdb, ns).LastMove(ctx, conn, account)
}
