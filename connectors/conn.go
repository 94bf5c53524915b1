package connectors

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Conn is a connection to one CRM org or portal: the type the sync engine,
// write-back and segments use. It is safe for concurrent use.
type Conn struct {
	name string
	d    Driver
}

// New returns the portable connection named name over driver d.
func New(name string, d Driver) *Conn { return &Conn{name: name, d: d} }

// Name is the connection name.
func (c *Conn) Name() string { return c.name }

// Kind is the CRM kind ("salesforce", "hubspot").
func (c *Conn) Kind() string { return c.d.Kind() }

// Driver returns the underlying driver (for CRM-specific extras).
func (c *Conn) Driver() Driver { return c.d }

// Usage reports the API consumption observed so far.
func (c *Conn) Usage() Usage { return c.d.Usage() }

// Changes returns the next page of changes of obj after cur. Records in a
// page are unique by (ID, Modified), Malformed ones aside (passed on as
// sent, for the sync engine to quarantine). See Cursor.
func (c *Conn) Changes(ctx context.Context, obj Object, cur Cursor) (Page, error) {
	if err := c.check(ctx, obj); err != nil {
		return Page{}, err
	}
	p, err := c.d.Changes(ctx, obj, cur.Clone())
	if err != nil {
		return Page{}, c.wrap("changes "+string(obj), err)
	}
	seen := make(map[string]struct{}, len(p.Records))
	out := p.Records[:0]
	for _, r := range p.Records {
		if r.Malformed() {
			out = append(out, r)
			continue
		}
		k := r.Key()
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, r)
	}
	p.Records = out
	return p, nil
}

// ReadChanges reads pages of obj from cur until the run's window is complete,
// calling fn with each page; it returns the cursor of the last page fn
// accepted. Stop early by returning an error from fn.
func (c *Conn) ReadChanges(ctx context.Context, obj Object, cur Cursor, fn func(Page) error) (Cursor, error) {
	for {
		p, err := c.Changes(ctx, obj, cur)
		if err != nil {
			return cur, err
		}
		if err := fn(p); err != nil {
			return cur, err
		}
		cur = p.Next
		if p.Done {
			return cur, nil
		}
	}
}

// Deletions lists records of obj deleted at or after since.
func (c *Conn) Deletions(ctx context.Context, obj Object, since time.Time) ([]Deletion, error) {
	if err := c.check(ctx, obj); err != nil {
		return nil, err
	}
	d, err := c.d.Deletions(ctx, obj, since)
	return d, c.wrap("deletions "+string(obj), err)
}

// ListIDs returns every live id of obj.
func (c *Conn) ListIDs(ctx context.Context, obj Object) ([]string, error) {
	if err := c.check(ctx, obj); err != nil {
		return nil, err
	}
	var ids []string
	err := c.d.ListIDs(ctx, obj, func(page []string) error {
		ids = append(ids, page...)
		return ctx.Err()
	})
	return ids, c.wrap("list ids "+string(obj), err)
}

// UpdateFields writes updates in batches of the driver's size and returns
// one result per update, in order. Updates without an id or repeating an id
// fail individually (permanent) without being sent. A batch the CRM rejects
// as a whole marks its records failed with that error, and the remaining
// batches are still sent unless the error is ErrReauthorize, ErrQuotaExhausted
// or a context error, which stop the call and are returned.
func (c *Conn) UpdateFields(ctx context.Context, obj Object, updates []Update) ([]WriteResult, error) {
	if err := c.check(ctx, obj); err != nil {
		return nil, err
	}
	results := make([]WriteResult, len(updates))
	seen := map[string]bool{}
	var send []int
	for i, u := range updates {
		switch {
		case u.ID == "":
			results[i] = WriteResult{Err: &Error{Connection: c.name, Op: "update", Code: "MISSING_ID", Message: "update without a record id", Class: ErrPermanent}}
		case seen[u.ID]:
			results[i] = WriteResult{ID: u.ID, Err: &Error{Connection: c.name, Op: "update", Code: "DUPLICATE_ID", Message: "record updated twice in one call", Class: ErrPermanent}}
		case len(u.Fields) == 0:
			results[i] = WriteResult{ID: u.ID, OK: true}
		default:
			seen[u.ID] = true
			send = append(send, i)
		}
	}
	n := max(c.d.MaxBatch(), 1)
	for start := 0; start < len(send); start += n {
		idx := send[start:min(start+n, len(send))]
		batch := make([]Update, len(idx))
		for j, i := range idx {
			batch[j] = updates[i]
		}
		res, err := c.d.UpdateFields(ctx, obj, batch)
		if err == nil && len(res) != len(batch) {
			err = &Error{Op: "update", Message: fmt.Sprintf("driver returned %d results for %d updates", len(res), len(batch)), Class: ErrPermanent}
		}
		if err != nil {
			err = c.wrap("update "+string(obj), err)
			if ctx.Err() != nil || errors.Is(err, ErrReauthorize) || errors.Is(err, ErrQuotaExhausted) {
				return results, err
			}
			var ce *Error
			errors.As(err, &ce)
			for _, i := range idx {
				results[i] = WriteResult{ID: updates[i].ID, Err: ce, Retryable: Retryable(err)}
			}
			continue
		}
		for j, i := range idx {
			r := res[j]
			if r.ID == "" {
				r.ID = updates[i].ID
			}
			if r.Err != nil && r.Err.Connection == "" {
				r.Err.Connection = c.name
			}
			results[i] = r
		}
	}
	return results, nil
}

// DescribeFields lists the fields of obj.
func (c *Conn) DescribeFields(ctx context.Context, obj Object) ([]FieldInfo, error) {
	if err := c.check(ctx, obj); err != nil {
		return nil, err
	}
	f, err := c.d.DescribeFields(ctx, obj)
	return f, c.wrap("describe "+string(obj), err)
}

// EnsureField provisions a custom field idempotently.
func (c *Conn) EnsureField(ctx context.Context, obj Object, spec FieldSpec) (FieldInfo, error) {
	if err := c.check(ctx, obj); err != nil {
		return FieldInfo{}, err
	}
	if spec.Name == "" {
		return FieldInfo{}, c.wrap("ensure field", &Error{Code: "INVALID_SPEC", Message: "field name is empty", Class: ErrPermanent})
	}
	switch spec.Type {
	case TypeNumber, TypeText, TypeTextArea, TypeDate, TypeDateTime, TypeBool, TypePicklist:
	default:
		return FieldInfo{}, c.wrap("ensure field "+spec.Name, &Error{Code: "INVALID_SPEC", Message: fmt.Sprintf("unknown field type %q", spec.Type), Class: ErrPermanent})
	}
	f, err := c.d.EnsureField(ctx, obj, spec)
	return f, c.wrap("ensure field "+spec.Name, err)
}

// EnsureSegment creates or updates a dynamic segment idempotently.
func (c *Conn) EnsureSegment(ctx context.Context, spec SegmentSpec) (Segment, error) {
	if err := c.check(ctx, spec.Object); err != nil {
		return Segment{}, err
	}
	if spec.Name == "" || spec.Field == "" || spec.Value == "" {
		return Segment{}, c.wrap("ensure segment", &Error{Code: "INVALID_SPEC", Message: "segment needs a name, a field and a value", Class: ErrPermanent})
	}
	s, err := c.d.EnsureSegment(ctx, spec)
	return s, c.wrap("ensure segment "+spec.Name, err)
}

// SegmentMembers returns the record ids in a segment.
func (c *Conn) SegmentMembers(ctx context.Context, seg Segment) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := c.d.SegmentMembers(ctx, seg)
	return ids, c.wrap("segment members "+seg.Name, err)
}

func (c *Conn) check(ctx context.Context, obj Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !obj.Valid() {
		return &Error{Connection: c.name, Op: "check", Code: "INVALID_OBJECT", Message: fmt.Sprintf("unknown object %q", obj), Class: ErrPermanent}
	}
	return nil
}

// wrap attributes err to the connection and guarantees it carries a class
// (context errors are returned as they are, wrapped with the operation).
func (c *Conn) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %s: %w", c.name, op, err)
	}
	var ce *Error
	if errors.As(err, &ce) {
		cp := *ce
		if cp.Connection == "" {
			cp.Connection = c.name
		}
		if cp.Op == "" {
			cp.Op = op
		}
		if cp.Class == nil {
			cp.Class = ErrPermanent
		}
		return &cp
	}
	class := ClassOf(err)
	if class == nil {
		class = ErrPermanent
	}
	return &Error{Connection: c.name, Op: op, Message: err.Error(), Class: class}
}
