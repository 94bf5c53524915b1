package writeback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/store"
)

// FieldReader reads current field values from the CRM. The Salesforce and
// HubSpot drivers implement it (sObject Collections retrieve, batch read);
// ids that match no live record are absent from the result.
type FieldReader interface {
	ReadFields(ctx context.Context, obj connectors.Object, ids, fields []string) (map[string]map[string]any, error)
}

// Actions decided for one field of one record.
const (
	ActionWrite     = "write"     // send the new value
	ActionOverwrite = "overwrite" // send it over a value a person set (policy overwrite)
	ActionKeep      = "keep"      // a person edited the field: leave it (policy keep)
	ActionAlready   = "already"   // the CRM already holds the new value: record it, send nothing
)

// Audit results.
const (
	ResultWritten = "written"
	ResultAlready = "already"
	ResultKept    = "kept"
	ResultFailed  = "failed"
)

// FieldChange is one field of one record whose value differs from the one
// last written.
type FieldChange struct {
	Object string
	Record string
	Field  string
	Old    string // the CRM's current value when read, else the value last written
	New    string
	Action string
	Note   string
}

// Options configure a Writer; nil means the defaults.
type Options struct {
	// Consumer names this writer in the consumer group (default "writer").
	Consumer string
	// ReadCount is the outbox entries read at a time (default 1000).
	ReadCount int64
	// MaxAttempts bounds the tries of a record whose failure is transient
	// within one run (default 5); what still fails stays queued.
	MaxAttempts int
	// Backoff is the wait before try n (n >= 2); default 500ms·2^(n-2),
	// at most 30s.
	Backoff func(attempt int) time.Duration
	// ClaimIdle: pending entries of other consumers idle this long are
	// taken over (default 5m).
	ClaimIdle time.Duration
	// AuditMax caps the audit stream, approximately (default 100000).
	AuditMax int64
	// Reader reads current values for the human-edit check; default: the
	// connection's driver when it implements FieldReader.
	Reader FieldReader
	// SegmentList names the CRM list of a segment value in dry-run output
	// (default: the value itself).
	SegmentList func(value string) string
	// Now is the clock of audit entries (default time.Now).
	Now func() time.Time
	// Logger receives progress and retry logs (default slog.Default()).
	Logger *slog.Logger
	// AfterSend, when set, runs after each batch's API call has returned and
	// before its outcome is recorded and acknowledged. Tests cancel ctx here
	// to simulate a crash between the two.
	AfterSend func(ctx context.Context, ids []string)
	// Progress, when set, receives the run's running totals after each
	// page of entries.
	Progress func(Summary)
}

func (o *Options) withDefaults(conn *connectors.Conn) Options {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.Consumer == "" {
		opt.Consumer = "writer"
	}
	if opt.ReadCount <= 0 {
		opt.ReadCount = 1000
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 5
	}
	if opt.Backoff == nil {
		opt.Backoff = func(n int) time.Duration {
			return min(500*time.Millisecond<<max(n-2, 0), 30*time.Second)
		}
	}
	if opt.ClaimIdle <= 0 {
		opt.ClaimIdle = 5 * time.Minute
	}
	if opt.AuditMax <= 0 {
		opt.AuditMax = 100000
	}
	if opt.Reader == nil && conn != nil {
		opt.Reader, _ = conn.Driver().(FieldReader)
	}
	if opt.SegmentList == nil {
		opt.SegmentList = func(v string) string { return v }
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return opt
}

// Summary reports one writer run.
type Summary struct {
	Connection string
	Entries    int // outbox entries consumed
	Records    int // distinct records considered
	Unchanged  int // records with nothing to write
	Written    int // records written
	Fields     int // field values written
	Already    int // field values found already in the CRM (no call)
	Kept       int // fields a person edited, kept (policy keep)
	Overwrote  int // fields a person edited, overwritten (policy overwrite)
	Dead       int // records dead-lettered
	Retries    int // record re-sends after transient failures
	Pending    int // records left queued after transient failures
	WriteCalls int // UpdateFields calls (batches)
	ReadCalls  int // current-value read calls
}

func (s *Summary) add(o Summary) {
	s.Entries += o.Entries
	s.Records += o.Records
	s.Unchanged += o.Unchanged
	s.Written += o.Written
	s.Fields += o.Fields
	s.Already += o.Already
	s.Kept += o.Kept
	s.Overwrote += o.Overwrote
	s.Dead += o.Dead
	s.Retries += o.Retries
	s.Pending += o.Pending
	s.WriteCalls += o.WriteCalls
	s.ReadCalls += o.ReadCalls
}

// Writer drains a connection's outbox into the CRM. Run one writer per
// connection at a time; a second one (another Consumer) is safe but only
// takes over entries idle for ClaimIdle.
type Writer struct {
	st   *store.Store
	rdb  redis.UniversalClient
	conn *connectors.Conn
	t    *Target
	opt  Options
}

// NewWriter returns the writer of conn's outbox, converting and comparing
// values with t.
func NewWriter(st *store.Store, conn *connectors.Conn, t *Target, opt *Options) *Writer {
	return &Writer{st: st, rdb: st.Client(), conn: conn, t: t, opt: opt.withDefaults(conn)}
}

func (w *Writer) outbox() string { return OutboxKey(w.st, w.t.Conn) }

func (w *Writer) ensureGroup(ctx context.Context) error {
	err := w.rdb.XGroupCreateMkStream(ctx, w.outbox(), Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("write-back %s: create consumer group: %w", w.t.Conn, err)
	}
	return nil
}

// RunOnce writes everything queued: first the entries this consumer read
// before and did not finish (a crash, or transient failures of an earlier
// run), with those of other consumers idle for ClaimIdle, then every new
// entry. It returns when the outbox has nothing new; entries whose transient
// failures outlast MaxAttempts stay queued and are counted in
// Summary.Pending. An error that stops the run (re-authorization needed,
// quota spent, ctx cancelled) leaves the unfinished entries queued.
func (w *Writer) RunOnce(ctx context.Context) (Summary, error) {
	sum := Summary{Connection: w.t.Conn}
	if err := w.ensureGroup(ctx); err != nil {
		return sum, err
	}
	start := "0-0"
	for {
		res, next, err := w.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: w.outbox(), Group: Group,
			MinIdle: w.opt.ClaimIdle, Start: start, Count: w.opt.ReadCount, Consumer: w.opt.Consumer}).Result()
		if err != nil {
			return sum, fmt.Errorf("write-back %s: claim idle entries: %w", w.t.Conn, err)
		}
		if len(res) > 0 {
			w.opt.Logger.Info("write-back: took over idle entries", "connection", w.t.Conn, "entries", len(res))
		}
		if next == "0-0" || next == "" {
			break
		}
		start = next
	}
	// Own pending entries: ids after `after`, so each is seen once per run.
	after := "0-0"
	for {
		msgs, err := w.read(ctx, after)
		if err != nil {
			return sum, err
		}
		if len(msgs) == 0 {
			break
		}
		after = msgs[len(msgs)-1].ID
		s, err := w.process(ctx, msgs, true)
		sum.add(s)
		w.progress(sum)
		if err != nil {
			return sum, err
		}
	}
	for {
		msgs, err := w.read(ctx, ">")
		if err != nil {
			return sum, err
		}
		if len(msgs) == 0 {
			break
		}
		s, err := w.process(ctx, msgs, false)
		sum.add(s)
		w.progress(sum)
		if err != nil {
			return sum, err
		}
	}
	if sum.Pending > 0 {
		w.opt.Logger.Warn("write-back: records left queued after transient failures", "connection", w.t.Conn, "records", sum.Pending)
	}
	return sum, nil
}

func (w *Writer) progress(s Summary) {
	if w.opt.Progress != nil {
		w.opt.Progress(s)
	}
}

// Run calls RunOnce, then again whenever the outbox has new entries (or
// every interval), until ctx ends; it returns ctx's error or the first
// error that stops a run.
func (w *Writer) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	if err := w.ensureGroup(ctx); err != nil {
		return err
	}
	for {
		// The last id before the run: anything added from now on wakes us.
		info, err := w.rdb.XInfoStream(ctx, w.outbox()).Result()
		if err != nil {
			return w.stopped(ctx, err)
		}
		sum, err := w.RunOnce(ctx)
		if err != nil {
			return w.stopped(ctx, err)
		}
		if sum.Records > 0 {
			w.opt.Logger.Info("write-back", "connection", w.t.Conn, "written", sum.Written, "unchanged", sum.Unchanged,
				"kept", sum.Kept, "dead", sum.Dead, "pending", sum.Pending, "calls", sum.WriteCalls)
		}
		if err := w.wait(ctx, info.LastGeneratedID, interval); err != nil {
			return w.stopped(ctx, err)
		}
	}
}

// wait returns when an entry after id is added, interval has passed or ctx
// ends. A blocked read does not see ctx, so it blocks a second at a time.
func (w *Writer) wait(ctx context.Context, id string, interval time.Duration) error {
	deadline := time.Now().Add(interval)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		res, err := w.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{w.outbox(), id}, Count: 1,
			Block: max(min(left, time.Second), time.Millisecond)}).Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		case len(res) > 0 && len(res[0].Messages) > 0:
			return nil
		}
	}
}

func (w *Writer) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (w *Writer) read(ctx context.Context, id string) ([]redis.XMessage, error) {
	res, err := w.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: w.opt.Consumer,
		Streams: []string{w.outbox(), id}, Count: w.opt.ReadCount, Block: -1}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("write-back %s: read outbox: %w", w.t.Conn, err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	return res[0].Messages, nil
}

// recordPlan is what to do with one record of a page of entries.
type recordPlan struct {
	object  string
	id      string
	entries []string
	at      time.Time
	changes []FieldChange
	hadOld  map[string]bool // field → a value was written before
	fields  map[string]string
}

func (p *recordPlan) sends() bool {
	for _, c := range p.changes {
		if c.Action == ActionWrite || c.Action == ActionOverwrite {
			return true
		}
	}
	return false
}

// plan groups entries by record (the latest At wins), diffs them against
// the written hashes and applies the human-edit policy. Entries that
// cannot be parsed are returned in bad.
func (w *Writer) plan(ctx context.Context, msgs []redis.XMessage, checkAll bool) (plans []*recordPlan, bad []redis.XMessage, reads int, err error) {
	byRec := map[string]*recordPlan{}
	for _, m := range msgs {
		if len(m.Values) == 0 { // deleted while pending
			bad = append(bad, m)
			continue
		}
		c, perr := parseChange(m)
		if perr != nil {
			w.opt.Logger.Error("write-back: bad outbox entry", "connection", w.t.Conn, "entry", m.ID, "err", perr)
			bad = append(bad, m)
			continue
		}
		k := c.Object + ":" + c.ID
		p := byRec[k]
		if p == nil {
			p = &recordPlan{object: c.Object, id: c.ID}
			byRec[k] = p
			plans = append(plans, p)
		}
		p.entries = append(p.entries, m.ID)
		if p.fields == nil || !c.At.Before(p.at) {
			p.fields, p.at = c.Fields, c.At
		}
	}
	if len(plans) == 0 {
		return nil, bad, 0, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(plans))
	if _, err := w.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, p := range plans {
			cmds[i] = pl.HGetAll(ctx, WrittenKey(w.st, w.t.Conn, p.object, p.id))
		}
		return nil
	}); err != nil {
		return nil, nil, 0, fmt.Errorf("write-back %s: read written values: %w", w.t.Conn, err)
	}
	var check []*recordPlan
	checkFields := map[string]bool{}
	for i, p := range plans {
		written := cmds[i].Val()
		p.hadOld = map[string]bool{}
		needRead := false
		for _, f := range w.fieldOrder(p.fields) {
			v := p.fields[f]
			old, has := written[f]
			if src, err := strconv.ParseInt(written[f+"#src"], 10, 64); err == nil && has && src > p.at.UnixMilli() {
				continue // a newer value was written already
			}
			if has && w.t.Same(f, old, v) {
				continue
			}
			p.hadOld[f] = has
			p.changes = append(p.changes, FieldChange{Object: p.object, Record: p.id, Field: f, Old: old, New: v, Action: ActionWrite})
			if has || checkAll {
				needRead = true
				checkFields[f] = true
			}
		}
		if needRead {
			check = append(check, p)
		}
	}
	if len(check) == 0 || w.opt.Reader == nil {
		return plans, bad, 0, nil
	}
	ids := make([]string, len(check))
	for i, p := range check {
		ids[i] = p.id
	}
	fields := make([]string, 0, len(checkFields))
	for f := range checkFields {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	obj, ok := connObject(check[0].object)
	if !ok {
		return nil, nil, 0, fmt.Errorf("write-back %s: object %q is not supported", w.t.Conn, check[0].object)
	}
	batch := max(w.conn.Driver().MaxBatch(), 1)
	var current map[string]map[string]any
	for attempt := 1; ; attempt++ {
		reads += (len(ids) + batch - 1) / batch
		current, err = w.opt.Reader.ReadFields(ctx, obj, ids, fields)
		if err == nil {
			break
		}
		if attempt >= w.opt.MaxAttempts || !connectors.Retryable(err) {
			return nil, nil, reads, fmt.Errorf("write-back %s: read current values: %w", w.t.Conn, err)
		}
		w.opt.Logger.Warn("write-back: reading current values failed; retrying", "connection", w.t.Conn, "attempt", attempt, "err", err)
		if err := sleep(ctx, w.opt.Backoff(attempt+1)); err != nil {
			return nil, nil, reads, err
		}
	}
	for _, p := range check {
		cur, found := current[p.id]
		if !found {
			continue // deleted or invisible: the write reports it
		}
		for i := range p.changes {
			c := &p.changes[i]
			now := cur[c.Field]
			switch {
			case w.t.Same(c.Field, now, c.New):
				c.Action = ActionAlready
			case !p.hadOld[c.Field]:
				c.Old = display(now)
			case w.t.Same(c.Field, now, c.Old):
			default:
				c.Note = "edited in the CRM since crmpulse wrote " + quote(c.Old)
				c.Old = display(now)
				if w.t.Policy(c.Field) == "overwrite" {
					c.Action = ActionOverwrite
				} else {
					c.Action = ActionKeep
				}
			}
		}
	}
	return plans, bad, reads, nil
}

// fieldOrder lists the mapped fields of a change in mapping order; fields
// no longer mapped are skipped.
func (w *Writer) fieldOrder(fields map[string]string) []string {
	out := make([]string, 0, len(fields))
	for _, f := range w.t.Fields() {
		if _, ok := fields[f]; ok {
			out = append(out, f)
		}
	}
	return out
}

func display(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func quote(s string) string { return strconv.Quote(Truncate(s, 60)) }

func connObject(o string) (connectors.Object, bool) {
	switch o {
	case "account":
		return connectors.Accounts, true
	case "contact":
		return connectors.Contacts, true
	case "opportunity":
		return connectors.Opportunities, true
	case "activity":
		return connectors.Activities, true
	}
	return "", false
}

// process handles one page of entries.
func (w *Writer) process(ctx context.Context, msgs []redis.XMessage, redelivered bool) (Summary, error) {
	sum := Summary{Entries: len(msgs)}
	plans, bad, reads, err := w.plan(ctx, msgs, redelivered)
	sum.ReadCalls = reads
	if err != nil {
		return sum, err
	}
	sum.Records = len(plans)
	if len(bad) > 0 {
		if err := w.deadBad(ctx, bad); err != nil {
			return sum, err
		}
	}
	var send, quiet []*recordPlan
	for _, p := range plans {
		if p.sends() {
			send = append(send, p)
		} else {
			quiet = append(quiet, p)
		}
	}
	if len(quiet) > 0 {
		for _, p := range quiet {
			if len(p.changes) == 0 {
				sum.Unchanged++
			}
			w.count(&sum, p)
		}
		if err := w.commit(ctx, quiet, nil); err != nil {
			return sum, err
		}
	}
	if len(send) == 0 {
		return sum, nil
	}
	// Group by object (one object in practice) and send in API batches.
	slices.SortStableFunc(send, func(a, b *recordPlan) int { return cmp.Compare(a.object, b.object) })
	batch := max(w.conn.Driver().MaxBatch(), 1)
	for start := 0; start < len(send); {
		end := start
		for end < len(send) && end-start < batch && send[end].object == send[start].object {
			end++
		}
		if err := w.sendBatch(ctx, send[start:end], &sum); err != nil {
			return sum, err
		}
		start = end
	}
	return sum, nil
}

func (w *Writer) count(sum *Summary, p *recordPlan) {
	for _, c := range p.changes {
		switch c.Action {
		case ActionAlready:
			sum.Already++
		case ActionKeep:
			sum.Kept++
		}
	}
}

// sendBatch writes one batch (≤ MaxBatch records of one object), retrying
// transient per-record failures.
func (w *Writer) sendBatch(ctx context.Context, recs []*recordPlan, sum *Summary) error {
	obj, ok := connObject(recs[0].object)
	if !ok {
		return fmt.Errorf("write-back %s: object %q is not supported", w.t.Conn, recs[0].object)
	}
	todo := recs
	for attempt := 1; len(todo) > 0; attempt++ {
		if attempt > 1 {
			if attempt > w.opt.MaxAttempts {
				sum.Pending += len(todo)
				return nil
			}
			sum.Retries += len(todo)
			if err := sleep(ctx, w.opt.Backoff(attempt)); err != nil {
				return err
			}
		}
		updates := make([]connectors.Update, len(todo))
		ids := make([]string, len(todo))
		for i, p := range todo {
			u := connectors.Update{ID: p.id, Fields: map[string]any{}}
			for _, c := range p.changes {
				if c.Action == ActionWrite || c.Action == ActionOverwrite {
					u.Fields[c.Field] = w.t.wire(c.Field, c.New)
				}
			}
			updates[i], ids[i] = u, p.id
		}
		res, err := w.conn.UpdateFields(ctx, obj, updates)
		sum.WriteCalls++
		if w.opt.AfterSend != nil {
			w.opt.AfterSend(ctx, ids)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("write-back %s: %w", w.t.Conn, err)
		}
		var ok, retry []*recordPlan
		var dead []deadRecord
		for i, r := range res {
			p := todo[i]
			switch {
			case r.OK:
				ok = append(ok, p)
			case r.Retryable:
				retry = append(retry, p)
				w.opt.Logger.Warn("write-back: transient failure", "connection", w.t.Conn, "record", p.id, "attempt", attempt, "err", r.Err)
			default:
				dead = append(dead, deadRecord{p: p, err: r.Err})
			}
		}
		if err := w.commit(ctx, ok, dead); err != nil {
			return err
		}
		for _, p := range ok {
			sum.Written++
			w.count(sum, p)
			for _, c := range p.changes {
				switch c.Action {
				case ActionWrite:
					sum.Fields++
				case ActionOverwrite:
					sum.Fields++
					sum.Overwrote++
				}
			}
		}
		sum.Dead += len(dead)
		todo = retry
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type deadRecord struct {
	p   *recordPlan
	err *connectors.Error
}

// commit records the outcome of records in one transaction and acknowledges
// (and deletes) their entries: written values and audit entries for ok,
// dead letters and audit entries for dead.
func (w *Writer) commit(ctx context.Context, ok []*recordPlan, dead []deadRecord) error {
	if len(ok) == 0 && len(dead) == 0 {
		return nil
	}
	now := w.opt.Now().UTC()
	nowMs := strconv.FormatInt(now.UnixMilli(), 10)
	var acks []string
	_, err := w.rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		for _, p := range ok {
			src := strconv.FormatInt(p.at.UnixMilli(), 10)
			hv := map[string]any{}
			for _, c := range p.changes {
				result := ResultWritten
				switch c.Action {
				case ActionKeep:
					result = ResultKept
				case ActionAlready:
					result = ResultAlready
				}
				if c.Action != ActionKeep {
					hv[c.Field], hv[c.Field+"#at"], hv[c.Field+"#src"] = c.New, nowMs, src
				}
				note := c.Note
				if c.Action == ActionOverwrite {
					note = "overwrote a human edit; " + note
				}
				w.audit(ctx, pl, nowMs, c, result, note)
			}
			if len(hv) > 0 {
				pl.HSet(ctx, WrittenKey(w.st, w.t.Conn, p.object, p.id), hv)
			}
			acks = append(acks, p.entries...)
		}
		for _, d := range dead {
			fields := map[string]string{}
			for _, c := range d.p.changes {
				if c.Action == ActionWrite || c.Action == ActionOverwrite {
					fields[c.Field] = c.New
				}
			}
			code, msg, status := "UNKNOWN", "record not written", 0
			if d.err != nil {
				code, msg, status = d.err.Code, d.err.Message, d.err.Status
			}
			dl := DeadLetter{Object: d.p.object, Record: d.p.id, Fields: fields, Code: code, Message: msg, Status: status, Source: d.p.at}
			pl.XAdd(ctx, &redis.XAddArgs{Stream: DeadLetterKey(w.st, w.t.Conn), Values: dl.values(nowMs)})
			for _, c := range d.p.changes {
				if c.Action == ActionWrite || c.Action == ActionOverwrite {
					w.audit(ctx, pl, nowMs, c, ResultFailed, code+": "+msg)
				}
			}
			acks = append(acks, d.p.entries...)
			w.opt.Logger.Warn("write-back: dead-lettered", "connection", w.t.Conn, "record", d.p.id, "code", code, "message", msg)
		}
		if len(acks) > 0 {
			pl.XAck(ctx, w.outbox(), Group, acks...)
			pl.XDel(ctx, w.outbox(), acks...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write-back %s: record outcome: %w", w.t.Conn, err)
	}
	return nil
}

func (w *Writer) audit(ctx context.Context, pl redis.Pipeliner, nowMs string, c FieldChange, result, note string) {
	pl.XAdd(ctx, &redis.XAddArgs{Stream: AuditKey(w.st, w.t.Conn), MaxLen: w.opt.AuditMax, Approx: true,
		Values: map[string]any{"at": nowMs, "object": c.Object, "id": c.Record, "field": c.Field,
			"old": c.Old, "new": c.New, "result": result, "note": note}})
}

// deadBad dead-letters entries that cannot be parsed and acknowledges them.
func (w *Writer) deadBad(ctx context.Context, msgs []redis.XMessage) error {
	nowMs := strconv.FormatInt(w.opt.Now().UnixMilli(), 10)
	ids := make([]string, len(msgs))
	_, err := w.rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		for i, m := range msgs {
			ids[i] = m.ID
			if len(m.Values) == 0 {
				continue
			}
			obj, _ := m.Values["object"].(string)
			id, _ := m.Values["id"].(string)
			raw, _ := m.Values["fields"].(string)
			pl.XAdd(ctx, &redis.XAddArgs{Stream: DeadLetterKey(w.st, w.t.Conn), Values: map[string]any{
				"object": obj, "id": id, "fields": raw, "code": "BAD_ENTRY",
				"message": "outbox entry " + m.ID + " could not be read", "status": "0", "at": nowMs, "src": "0"}})
		}
		pl.XAck(ctx, w.outbox(), Group, ids...)
		pl.XDel(ctx, w.outbox(), ids...)
		return nil
	})
	return err
}
