package writeback

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/config"
)

// Plan is what a writer run would do now: the pending field diff and the
// membership change of each segment list. Computing it writes nothing (it
// may read current values from the CRM for the human-edit check).
type Plan struct {
	Connection string
	Entries    int // outbox entries queued
	Records    int // distinct records queued
	Unchanged  int // records whose values equal the ones last written
	Changes    []FieldChange
	Lists      []ListDelta
}

// ListDelta is the membership change of one segment list: records whose
// segment field moves to the list's value join it, those moving away leave.
type ListDelta struct {
	Value   string // the segment field's value selecting members
	List    string // the list's name (Options.SegmentList)
	Added   int
	Removed int
}

// Plan computes the pending diff of the outbox, plus extra changes not
// queued yet (what EnqueueInsights would add), without consuming or
// writing anything.
func (w *Writer) Plan(ctx context.Context, extra ...Change) (*Plan, error) {
	var msgs []redis.XMessage
	start := "-"
	for {
		page, err := w.rdb.XRangeN(ctx, w.outbox(), start, "+", w.opt.ReadCount).Result()
		if err != nil {
			return nil, fmt.Errorf("write-back %s: read outbox: %w", w.t.Conn, err)
		}
		msgs = append(msgs, page...)
		if int64(len(page)) < w.opt.ReadCount {
			break
		}
		start = "(" + page[len(page)-1].ID
	}
	for i, c := range extra {
		v, err := c.values()
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, redis.XMessage{ID: "new-" + strconv.Itoa(i), Values: v})
	}
	plans, _, _, err := w.plan(ctx, msgs, false)
	if err != nil {
		return nil, err
	}
	p := &Plan{Connection: w.t.Conn, Entries: len(msgs), Records: len(plans)}
	segField := ""
	for _, m := range w.t.Mappings {
		if m.Output == config.OutSegment {
			segField = m.Field
		}
	}
	lists := map[string]*ListDelta{}
	list := func(v string) *ListDelta {
		if lists[v] == nil {
			lists[v] = &ListDelta{Value: v, List: w.opt.SegmentList(v)}
		}
		return lists[v]
	}
	for _, rp := range plans {
		if len(rp.changes) == 0 {
			p.Unchanged++
		}
		for _, c := range rp.changes {
			p.Changes = append(p.Changes, c)
			if c.Field != segField || (c.Action != ActionWrite && c.Action != ActionOverwrite) {
				continue
			}
			if c.Old != "" {
				list(c.Old).Removed++
			}
			if c.New != "" {
				list(c.New).Added++
			}
		}
	}
	for _, d := range lists {
		p.Lists = append(p.Lists, *d)
	}
	slices.SortFunc(p.Lists, func(a, b ListDelta) int { return strings.Compare(a.Value, b.Value) })
	return p, nil
}
