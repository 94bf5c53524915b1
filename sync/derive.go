package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/chunk"
	"github.com/crmpulse/crmpulse/store"
)

// owner is a chunk owner with its chunks as they should be.
type owner struct {
	Ref    store.Ref
	Chunks []store.Chunk // Text and Attrs; vectors filled before writing
	Hash   string
}

// plan is the rebuild of one account.
type plan struct {
	Account   string
	Replace   []owner     // owners whose chunks changed
	Keep      []string    // owner refs whose chunks are up to date
	Remove    []store.Ref // owners that no longer belong to the account
	Aggregate *Aggregate  // nil when the account has no records left
	AggJSON   string
	Changed   bool // content changed: queue for analysis
}

// derive rebuilds every dirty account of the connection.
func (c *connRun) derive(ctx context.Context, cs *ConnSummary) error {
	st := c.e.st
	if c.e.opt.DryRun {
		c.mu.Lock()
		cs.Accounts = len(c.dirty)
		c.mu.Unlock()
		return nil
	}
	accounts, err := st.Client().SMembers(ctx, dirtyKey(st, c.name())).Result()
	if err != nil {
		return fmt.Errorf("read dirty accounts: %w", err)
	}
	slices.Sort(accounts)
	total := int64(len(accounts))
	c.e.progress(Progress{Conn: c.name(), Phase: PhaseDerive, Total: total})
	var done atomic.Int64
	var mu gosync.Mutex
	work := make(chan string)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		for _, a := range accounts {
			select {
			case work <- a:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range c.e.opt.Workers {
		g.Go(func() error {
			var pending []*plan
			texts := 0
			flush := func() error {
				if len(pending) == 0 {
					return nil
				}
				var local ConnSummary
				if err := c.apply(gctx, pending, &local); err != nil {
					return err
				}
				mu.Lock()
				cs.Accounts += local.Accounts
				cs.OwnersReplaced += local.OwnersReplaced
				cs.OwnersRemoved += local.OwnersRemoved
				cs.Chunks += local.Chunks
				cs.Embedded += local.Embedded
				cs.Queued += local.Queued
				mu.Unlock()
				n := done.Add(int64(len(pending)))
				c.e.progress(Progress{Conn: c.name(), Phase: PhaseDerive, Done: n, Total: total})
				pending, texts = nil, 0
				return nil
			}
			for a := range work {
				p, err := c.plan(gctx, a)
				if err != nil {
					return fmt.Errorf("account %s: %w", a, err)
				}
				pending = append(pending, p)
				for _, o := range p.Replace {
					texts += len(o.Chunks)
				}
				if texts >= c.e.opt.WriteBatch || len(pending) >= maxBatchAccounts {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			return flush()
		})
	}
	return g.Wait()
}

// maxBatchAccounts bounds the accounts of one write batch (for batches of
// accounts whose chunks did not change).
const maxBatchAccounts = 500

// plan computes what an account's derived data should be and compares it
// with what is stored.
func (c *connRun) plan(ctx context.Context, account string) (*plan, error) {
	st := c.e.st
	recs, err := loadAccount(ctx, st, c.name(), account)
	if err != nil {
		return nil, err
	}
	have, err := st.Client().HGetAll(ctx, derivedKey(st, c.name(), account)).Result()
	if err != nil {
		return nil, fmt.Errorf("read derived hashes: %w", err)
	}
	p := &plan{Account: account}
	owners := c.owners(account, recs)
	want := map[string]bool{}
	for _, o := range owners {
		key := o.Ref.String()
		want[key] = true
		if have[key] == o.Hash {
			p.Keep = append(p.Keep, key)
			continue
		}
		p.Replace = append(p.Replace, o)
	}
	for key := range have {
		if want[key] {
			continue
		}
		r, err := store.ParseRef(key)
		if err != nil {
			continue
		}
		p.Remove = append(p.Remove, r)
	}
	slices.SortFunc(p.Remove, func(a, b store.Ref) int { return strings.Compare(a.String(), b.String()) })
	if len(recs) > 0 {
		agg := buildAggregate(c.name(), account, recs)
		b, _ := json.Marshal(agg)
		p.Aggregate, p.AggJSON = &agg, string(b)
	}
	old, err := st.Client().Get(ctx, AggregateKey(st, c.name(), account)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read aggregate: %w", err)
	}
	p.Changed = len(p.Replace) > 0 || len(p.Remove) > 0 || old != p.AggJSON
	return p, nil
}

// apply embeds the chunks of a batch of plans, one embedder call per
// EmbedBatch texts, and writes the batch: every replaced owner's chunks and
// vectors in one ReplaceChunksBatch, then their derived hashes, then the
// removals, and last, in one transaction, the aggregates, queue entries and
// dirty marks. An account leaves the dirty set only once everything before
// is written, so a crash anywhere leaves it dirty for the next run, which
// converges (chunk writes are idempotent).
func (c *connRun) apply(ctx context.Context, plans []*plan, cs *ConnSummary) error {
	var texts []string
	for _, p := range plans {
		for _, o := range p.Replace {
			for _, ch := range o.Chunks {
				texts = append(texts, ch.Text)
			}
		}
	}
	vecs := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.e.opt.EmbedBatch {
		end := min(start+c.e.opt.EmbedBatch, len(texts))
		c.e.at(ctx, "embed:before")
		v, err := c.e.emb.Embed(ctx, texts[start:end])
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if len(v) != end-start {
			return fmt.Errorf("embed: %d vectors for %d texts", len(v), end-start)
		}
		vecs = append(vecs, v...)
	}
	cs.Embedded += len(texts)
	i := 0
	var owners []store.OwnerChunks
	for _, p := range plans {
		for _, o := range p.Replace {
			for j := range o.Chunks {
				o.Chunks[j].Vector = vecs[i]
				i++
			}
			owners = append(owners, store.OwnerChunks{Ref: o.Ref, Chunks: o.Chunks})
		}
	}
	return c.write(ctx, plans, owners, cs)
}

// write applies a batch of plans in crash-safe order: chunks and vectors,
// their derived hashes, removals, and last the aggregates, queue entries
// and dirty marks.
func (c *connRun) write(ctx context.Context, plans []*plan, owners []store.OwnerChunks, cs *ConnSummary) error {
	st := c.e.st
	rdb := st.Client()
	if len(owners) > 0 {
		c.e.at(ctx, "write:chunks")
		if err := st.ReplaceChunksBatch(ctx, owners); err != nil {
			return fmt.Errorf("write chunks of %d accounts: %w", len(plans), err)
		}
		pipe := rdb.Pipeline()
		for _, p := range plans {
			if len(p.Replace) == 0 {
				continue
			}
			vals := make([]any, 0, 2*len(p.Replace))
			for _, o := range p.Replace {
				vals = append(vals, o.Ref.String(), o.Hash)
				cs.OwnersReplaced++
				cs.Chunks += len(o.Chunks)
			}
			pipe.HSet(ctx, derivedKey(st, c.name(), p.Account), vals...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("record derived hashes: %w", err)
		}
	}
	for _, p := range plans {
		dk := derivedKey(st, c.name(), p.Account)
		for _, r := range p.Remove {
			if err := c.removeOwner(ctx, p.Account, r); err != nil {
				return fmt.Errorf("account %s: %w", p.Account, err)
			}
			if err := rdb.HDel(ctx, dk, r.String()).Err(); err != nil {
				return fmt.Errorf("account %s: forget derived hash: %w", p.Account, err)
			}
			cs.OwnersRemoved++
		}
	}
	c.e.at(ctx, "write:aggregate")
	pipe := rdb.TxPipeline()
	for _, p := range plans {
		ak := AggregateKey(st, c.name(), p.Account)
		if p.Aggregate != nil {
			pipe.Set(ctx, ak, p.AggJSON, 0)
		} else {
			pipe.Del(ctx, ak, derivedKey(st, c.name(), p.Account))
		}
		if p.Changed {
			vals := map[string]any{QueueFieldConn: c.name(), QueueFieldAccount: p.Account}
			if p.Aggregate == nil {
				vals[QueueFieldDeleted] = "1"
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: AnalysisQueue(st, c.name()), Values: vals})
		}
		pipe.SRem(ctx, dirtyKey(st, c.name()), p.Account)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("write aggregates of %d accounts: %w", len(plans), err)
	}
	for _, p := range plans {
		cs.Accounts++
		if p.Changed {
			cs.Queued++
		}
	}
	return nil
}

// removeOwner drops the chunks of an owner that left the account. An owner
// whose record now belongs to another account is left to that account's
// rebuild (it is dirty too); one whose record is gone, or belongs to no
// account, loses its chunks here.
func (c *connRun) removeOwner(ctx context.Context, account string, r store.Ref) error {
	st := c.e.st
	if r.Object == TypeActivityDigest || r.Object == TypeDealDigest {
		return st.DeleteRecordEverywhere(ctx, r)
	}
	v, err := st.Client().HMGet(ctx, recKey(st, r), "id", "account").Result()
	if err != nil {
		return fmt.Errorf("read record %s: %w", r, err)
	}
	id, _ := v[0].(string)
	acct, _ := v[1].(string)
	switch {
	case id == "":
		return st.DeleteRecordEverywhere(ctx, r)
	case acct != "" && acct != account:
		return nil
	default:
		return st.ReplaceChunks(ctx, r, "", nil)
	}
}

// owners builds the chunk owners of an account from its records.
func (c *connRun) owners(account string, recs []stored) []owner {
	var acct *stored
	var opps, acts []stored
	for i := range recs {
		switch recs[i].Ref.Object {
		case store.TypeAccount:
			if recs[i].Ref.ID == account {
				acct = &recs[i]
			}
		case store.TypeOpportunity:
			if recs[i].Account == account {
				opps = append(opps, recs[i])
			}
		case store.TypeActivity:
			if recs[i].Account == account {
				acts = append(acts, recs[i])
			}
		}
	}
	base := store.Attrs{Account: account}
	acctName := ""
	if acct != nil {
		f := acct.Fields
		acctName = f.str(connectors.FName)
		base.Industry = store.Slug(f.str(connectors.FIndustry))
		base.SizeBand = store.Slug(sizeBand(f.num(connectors.FEmployees)))
	}
	split := chunk.Options{Size: c.e.opt.ChunkSize, Overlap: c.e.opt.ChunkOverlap}
	var out []owner
	mk := func(ref store.Ref, texts []string, attrs []store.Attrs) {
		o := owner{Ref: ref}
		for i, t := range texts {
			o.Chunks = append(o.Chunks, store.Chunk{Text: t, Attrs: attrs[i]})
		}
		o.Hash = ownerHash(o.Chunks)
		out = append(out, o)
	}
	if acct != nil {
		a := base
		a.Type = store.TypeAccount
		text, date, won := profileText(*acct, opps, acts)
		a.Date, a.Amount = unix(date), won
		parts := chunk.Split(text, split)
		mk(acct.Ref, parts, repeat(a, len(parts)))
	}
	// Deal digests: the opportunities of one stage, packed.
	slices.SortFunc(opps, func(x, y stored) int {
		if c := strings.Compare(store.Slug(x.Fields.str(connectors.FStage)), store.Slug(y.Fields.str(connectors.FStage))); c != 0 {
			return c
		}
		if c := oppDate(x).Compare(oppDate(y)); c != 0 {
			return c
		}
		return strings.Compare(x.Ref.ID, y.Ref.ID)
	})
	for len(opps) > 0 {
		stage := store.Slug(opps[0].Fields.str(connectors.FStage))
		n := 1
		for n < len(opps) && store.Slug(opps[n].Fields.str(connectors.FStage)) == stage {
			n++
		}
		group := opps[:n]
		opps = opps[n:]
		texts := make([]string, len(group))
		for i, r := range group {
			texts[i] = opportunityText(r, acctName)
		}
		packed, members := chunk.Pack(texts, split)
		attrs := make([]store.Attrs, len(packed))
		for i, m := range members {
			a := base
			a.Type, a.Stage = store.TypeOpportunity, stage
			kind := ""
			var last time.Time
			for k, idx := range m {
				r := group[idx]
				kd := store.Slug(r.Fields.str(connectors.FType))
				if k == 0 {
					kind = kd
				} else if kd != kind {
					kind = ""
				}
				if d := oppDate(r); d.After(last) {
					last = d
				}
				a.Amount = max(a.Amount, r.Fields.num(connectors.FAmount))
			}
			a.Kind, a.Date = kind, unix(last)
			attrs[i] = a
		}
		id := account + "." + stage
		if stage == "" {
			id = account + ".nostage"
		}
		mk(store.Ref{Connection: c.name(), Object: TypeDealDigest, ID: id}, packed, attrs)
	}
	// Activity digests: one per calendar year, packed.
	slices.SortFunc(acts, func(x, y stored) int {
		if c := activityDate(x).Compare(activityDate(y)); c != 0 {
			return c
		}
		return strings.Compare(x.Ref.ID, y.Ref.ID)
	})
	for len(acts) > 0 {
		year := activityDate(acts[0]).Year()
		n := 1
		for n < len(acts) && activityDate(acts[n]).Year() == year {
			n++
		}
		group := acts[:n]
		acts = acts[n:]
		texts := make([]string, len(group))
		for i, r := range group {
			texts[i] = activityText(r)
		}
		packed, members := chunk.Pack(texts, split)
		attrs := make([]store.Attrs, len(packed))
		for i, m := range members {
			a := base
			a.Type = store.TypeActivity
			kind := ""
			var last time.Time
			for k, idx := range m {
				r := group[idx]
				kd := r.Fields.str(connectors.FKind)
				if k == 0 {
					kind = kd
				} else if kd != kind {
					kind = ""
				}
				if d := activityDate(r); d.After(last) {
					last = d
				}
			}
			a.Kind, a.Date = store.Slug(kind), unix(last)
			attrs[i] = a
		}
		ref := store.Ref{Connection: c.name(), Object: TypeActivityDigest, ID: account + "." + strconv.Itoa(year)}
		mk(ref, packed, attrs)
	}
	return out
}

// oppDate is an opportunity's business date: close date, else creation.
func oppDate(r stored) time.Time {
	if d := r.Fields.time(connectors.FCloseDate); !d.IsZero() {
		return d
	}
	return r.Fields.time(connectors.FCreated)
}

func repeat(a store.Attrs, n int) []store.Attrs {
	out := make([]store.Attrs, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func ownerHash(chunks []store.Chunk) string {
	h := sha256.New()
	for _, c := range chunks {
		b, _ := json.Marshal(c.Attrs)
		fmt.Fprintf(h, "%d:%s\n%d:%s\n", len(c.Text), c.Text, len(b), b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func day(t time.Time) string {
	if t.IsZero() {
		return "unknown date"
	}
	return t.UTC().Format("2006-01-02")
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// profileText is the account profile: attributes, description, purchase
// history, open pipeline and last contact. It also returns the date of the
// last contact and the total won.
func profileText(acct stored, opps, acts []stored) (string, time.Time, float64) {
	f := acct.Fields
	var b strings.Builder
	fmt.Fprintf(&b, "Account: %s\n", f.str(connectors.FName))
	var attrs []string
	for _, kv := range [][2]string{
		{"Industry", f.str(connectors.FIndustry)},
		{"Size", sizeBand(f.num(connectors.FEmployees))},
		{"Country", f.str(connectors.FCountry)},
		{"Type", f.str(connectors.FType)},
	} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0]+": "+kv[1])
		}
	}
	if len(attrs) > 0 {
		b.WriteString(strings.Join(attrs, " · "))
		if kv := f.num(connectors.FEmployees); kv > 0 {
			fmt.Fprintf(&b, " (%d employees)", int(kv))
		}
		b.WriteString("\n")
	}
	if d := f.str(connectors.FDescription); d != "" {
		b.WriteString(d)
		b.WriteString("\n")
	}
	var won, open []churnOpp
	var wonTotal, openTotal float64
	for _, o := range opps {
		co := toChurnOpp(o)
		switch {
		case co.won:
			won = append(won, co)
			wonTotal += co.amount
		case !co.closed:
			open = append(open, co)
			openTotal += co.amount
		}
	}
	slices.SortFunc(won, func(a, b churnOpp) int { return b.date.Compare(a.date) })
	slices.SortFunc(open, func(a, b churnOpp) int { return a.date.Compare(b.date) })
	fmt.Fprintf(&b, "Purchase history: %d won deals, total %s.\n", len(won), money(wonTotal))
	for i, o := range won {
		if i == 12 {
			fmt.Fprintf(&b, "- … %d earlier deals\n", len(won)-i)
			break
		}
		fmt.Fprintf(&b, "- %s %s: %s", day(o.date), o.name, money(o.amount))
		if len(o.products) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(o.products, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Open pipeline: %d deals, total %s.\n", len(open), money(openTotal))
	for i, o := range open {
		if i == 8 {
			fmt.Fprintf(&b, "- … %d more\n", len(open)-i)
			break
		}
		fmt.Fprintf(&b, "- %s: %s, stage %s, closing %s\n", o.name, money(o.amount), o.stage, day(o.date))
	}
	var last time.Time
	lastKind := ""
	for _, a := range acts {
		if d := activityDate(a); d.After(last) {
			last, lastKind = d, a.Fields.str(connectors.FKind)
		}
	}
	if last.IsZero() {
		b.WriteString("Last contact: none recorded.\n")
	} else {
		fmt.Fprintf(&b, "Last contact: %s (%s).\n", day(last), lastKind)
	}
	return b.String(), last, wonTotal
}

type churnOpp struct {
	name, stage  string
	amount       float64
	date         time.Time
	won, closed  bool
	products     []string
	compet, loss string
}

func toChurnOpp(o stored) churnOpp {
	f := o.Fields
	d := f.time(connectors.FCloseDate)
	return churnOpp{name: f.str(connectors.FName), stage: f.str(connectors.FStage), amount: f.num(connectors.FAmount),
		date: d, won: f.boolean(connectors.FIsWon), closed: f.boolean(connectors.FIsClosed),
		products: f.strs(connectors.FProducts), compet: f.str(connectors.FCompetitor), loss: f.str(connectors.FLossReason)}
}

func opportunityText(o stored, account string) string {
	f := o.Fields
	co := toChurnOpp(o)
	var b strings.Builder
	fmt.Fprintf(&b, "Opportunity: %s\n", co.name)
	if account != "" {
		fmt.Fprintf(&b, "Account: %s\n", account)
	}
	status := "open"
	switch {
	case co.won:
		status = "won"
	case co.closed:
		status = "lost"
	}
	fmt.Fprintf(&b, "Stage: %s (%s) · Amount: %s · Close date: %s", co.stage, status, money(co.amount), day(co.date))
	if t := f.str(connectors.FType); t != "" {
		fmt.Fprintf(&b, " · Type: %s", t)
	}
	b.WriteString("\n")
	if c := f.time(connectors.FCreated); !c.IsZero() {
		fmt.Fprintf(&b, "Created: %s\n", day(c))
	}
	if len(co.products) > 0 {
		fmt.Fprintf(&b, "Products: %s\n", strings.Join(co.products, ", "))
	}
	if co.compet != "" {
		fmt.Fprintf(&b, "Competitor: %s\n", co.compet)
	}
	if co.loss != "" {
		fmt.Fprintf(&b, "Loss reason: %s\n", co.loss)
	}
	if d := f.str(connectors.FDescription); d != "" {
		b.WriteString(d)
		b.WriteString("\n")
	}
	return b.String()
}

func activityText(r stored) string {
	f := r.Fields
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", day(activityDate(r)), f.str(connectors.FKind))
	if d := f.str(connectors.FDirection); d != "" {
		fmt.Fprintf(&b, " (%s)", d)
	}
	if s := f.str(connectors.FSubject); s != "" {
		fmt.Fprintf(&b, ": %s", s)
	}
	if body := strings.TrimSpace(f.str(connectors.FBody)); body != "" {
		b.WriteString("\n")
		b.WriteString(body)
	}
	return b.String()
}
