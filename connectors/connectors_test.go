package connectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestCursorWindowsOverlapAndDedupe(t *testing.T) {
	var c Cursor
	c.Begin(t0, 2*time.Minute, []string{"A", "B"})
	if !c.InWindow() || c.Streams["A"].Lower != (time.Time{}) {
		t.Fatalf("first window: %+v", c.Streams["A"])
	}
	// Delivered in run 1: one old version, one inside the look-back horizon.
	if !c.Deliver("A", "1", t0.Add(-time.Hour)) || !c.Deliver("A", "2", t0.Add(-time.Minute)) {
		t.Fatal("fresh versions refused")
	}
	if c.Finish("A") {
		t.Fatal("run ended with B pending")
	}
	if got := c.Pending(); len(got) != 1 || got[0] != "B" {
		t.Fatalf("pending = %v", got)
	}
	if !c.Finish("B") {
		t.Fatal("run did not end")
	}
	if c.InWindow() || !c.Covered().Equal(t0) {
		t.Fatalf("after run: upper=%v covered=%v", c.Upper, c.Covered())
	}
	if _, ok := c.Streams["A"].Seen["1"]; ok {
		t.Fatal("version before the horizon remembered")
	}

	// Checkpoint round trip.
	b, err := MarshalCursor(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := UnmarshalCursor(b)
	if err != nil {
		t.Fatal(err)
	}
	c2.Begin(t0.Add(10*time.Minute), 2*time.Minute, []string{"A", "B"})
	if want := t0.Add(-2 * time.Minute); !c2.Streams["A"].Lower.Equal(want) {
		t.Fatalf("lower = %v, want %v", c2.Streams["A"].Lower, want)
	}
	if c2.Deliver("A", "2", t0.Add(-time.Minute)) {
		t.Fatal("overlap re-read delivered twice")
	}
	if !c2.Deliver("A", "2", t0.Add(5*time.Minute)) {
		t.Fatal("new version of a seen record refused")
	}
	if !c2.Deliver("A", "3", t0.Add(-90*time.Second)) {
		t.Fatal("late commit inside the overlap refused")
	}
	// Clone does not alias.
	c3 := c2.Clone()
	c3.Streams["A"].Seen["zzz"] = t0
	if _, ok := c2.Streams["A"].Seen["zzz"]; ok {
		t.Fatal("clone aliases Seen")
	}
}

type fakeDriver struct {
	maxBatch int
	calls    [][]Update
	fail     map[int]error // batch index → error
	pages    []Page
}

func (f *fakeDriver) Kind() string { return "fake" }
func (f *fakeDriver) Changes(_ context.Context, _ Object, cur Cursor) (Page, error) {
	p := f.pages[0]
	f.pages = f.pages[1:]
	return p, nil
}
func (f *fakeDriver) Deletions(context.Context, Object, time.Time) ([]Deletion, error) {
	return nil, errors.New("boom")
}
func (f *fakeDriver) ListIDs(_ context.Context, _ Object, fn func([]string) error) error {
	if err := fn([]string{"1", "2"}); err != nil {
		return err
	}
	return fn([]string{"3"})
}
func (f *fakeDriver) UpdateFields(_ context.Context, _ Object, u []Update) ([]WriteResult, error) {
	i := len(f.calls)
	f.calls = append(f.calls, u)
	if err := f.fail[i]; err != nil {
		return nil, err
	}
	out := make([]WriteResult, len(u))
	for j, x := range u {
		out[j] = WriteResult{ID: x.ID, OK: !strings.HasPrefix(x.ID, "bad")}
		if !out[j].OK {
			out[j].Err = &Error{Code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "nope", Class: ErrPermanent}
		}
	}
	return out, nil
}
func (f *fakeDriver) MaxBatch() int { return f.maxBatch }
func (f *fakeDriver) DescribeFields(context.Context, Object) ([]FieldInfo, error) {
	return nil, nil
}
func (f *fakeDriver) EnsureField(context.Context, Object, FieldSpec) (FieldInfo, error) {
	return FieldInfo{}, nil
}
func (f *fakeDriver) EnsureSegment(context.Context, SegmentSpec) (Segment, error) {
	return Segment{}, nil
}
func (f *fakeDriver) SegmentMembers(context.Context, Segment) ([]string, error) { return nil, nil }
func (f *fakeDriver) Usage() Usage                                              { return Usage{} }

var _ Driver = (*fakeDriver)(nil)

func TestUpdateFieldsChunksAndReportsPerRecord(t *testing.T) {
	f := &fakeDriver{maxBatch: 2, fail: map[int]error{1: &Error{Status: 503, Code: "SERVER_UNAVAILABLE", Class: ErrTransient}}}
	c := New("sf1", f)
	ups := []Update{
		{ID: "a", Fields: map[string]any{"x": 1}},
		{ID: "bad1", Fields: map[string]any{"x": 1}},
		{ID: "", Fields: map[string]any{"x": 1}},
		{ID: "a", Fields: map[string]any{"x": 2}},
		{ID: "c", Fields: map[string]any{"x": 1}},
		{ID: "d", Fields: map[string]any{"x": 1}},
		{ID: "e", Fields: map[string]any{"x": 1}},
	}
	res, err := c.UpdateFields(context.Background(), Accounts, ups)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 3 || len(f.calls[0]) != 2 || len(f.calls[2]) != 1 {
		t.Fatalf("batches = %v", f.calls)
	}
	want := []struct {
		ok, retry bool
		code      string
	}{{true, false, ""}, {false, false, "FIELD_CUSTOM_VALIDATION_EXCEPTION"}, {false, false, "MISSING_ID"}, {false, false, "DUPLICATE_ID"},
		{false, true, "SERVER_UNAVAILABLE"}, {false, true, "SERVER_UNAVAILABLE"}, {true, false, ""}}
	for i, w := range want {
		r := res[i]
		code := ""
		if r.Err != nil {
			code = r.Err.Code
			if r.Err.Connection != "sf1" {
				t.Errorf("result %d error not attributed: %v", i, r.Err)
			}
		}
		if r.OK != w.ok || r.Retryable != w.retry || code != w.code {
			t.Errorf("result %d = %+v (code %s), want %+v", i, r, code, w)
		}
	}

	// Re-authorization stops the call.
	f2 := &fakeDriver{maxBatch: 1, fail: map[int]error{0: &Error{Status: 400, Code: "invalid_grant", Class: ErrReauthorize}}}
	_, err = New("sf1", f2).UpdateFields(context.Background(), Accounts, ups[:2])
	if !errors.Is(err, ErrReauthorize) || len(f2.calls) != 1 {
		t.Fatalf("err = %v after %d calls", err, len(f2.calls))
	}
	if !strings.Contains(err.Error(), "crmpulse auth login sf1") {
		t.Fatalf("message lacks the remedy: %v", err)
	}
}

func TestConnWrapsAndValidates(t *testing.T) {
	c := New("hs", &fakeDriver{pages: []Page{
		{Records: []Record{{ID: "1", Modified: t0}, {ID: "1", Modified: t0}, {ID: "1", Modified: t0.Add(time.Second)}}},
		{Done: true},
	}})
	ctx := context.Background()
	var n int
	if _, err := c.ReadChanges(ctx, Accounts, Cursor{}, func(p Page) error { n += len(p.Records); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("records = %d, want 2 after de-duplication", n)
	}
	if _, err := c.Changes(ctx, "widgets", Cursor{}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("bad object: %v", err)
	}
	_, err := c.Deletions(ctx, Accounts, t0)
	var ce *Error
	if !errors.As(err, &ce) || ce.Connection != "hs" || ce.Op != "deletions accounts" || !errors.Is(err, ErrPermanent) {
		t.Fatalf("wrapped = %#v", err)
	}
	ids, err := c.ListIDs(ctx, Accounts)
	if err != nil || fmt.Sprint(ids) != "[1 2 3]" {
		t.Fatalf("ids = %v, %v", ids, err)
	}
	if _, err := c.EnsureField(ctx, Accounts, FieldSpec{Name: "x", Type: "blob"}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("bad field type: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.ListIDs(cctx, Accounts); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestRetryableAndClass(t *testing.T) {
	if !Retryable(&Error{Class: ErrRateLimited}) || Retryable(&Error{Class: ErrQuotaExhausted}) || Retryable(context.Canceled) {
		t.Fatal("Retryable misclassifies")
	}
	if ClassForStatus(503) != ErrTransient || ClassForStatus(404) != ErrPermanent || ClassForStatus(429) != ErrRateLimited {
		t.Fatal("ClassForStatus")
	}
}

func TestTypedViews(t *testing.T) {
	r := Record{Object: Opportunities, ID: "006", AccountID: "001", Modified: t0, Fields: map[string]any{
		FName: "Big deal", FAmount: 1200.5, FIsWon: true, FProducts: []string{"A", "B"}, FCloseDate: t0,
	}}
	o, err := r.Opportunity()
	if err != nil || o.Name != "Big deal" || o.Amount != 1200.5 || !o.IsWon || len(o.Products) != 2 || o.AccountID != "001" {
		t.Fatalf("opportunity = %+v, %v", o, err)
	}
	if _, err := r.Account(); err == nil {
		t.Fatal("converted an opportunity to an account")
	}
	if got := SplitList("A; B;;C , D"); fmt.Sprint(got) != "[A B C D]" {
		t.Fatalf("SplitList = %v", got)
	}
}
