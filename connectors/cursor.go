package connectors

import (
	"encoding/json"
	"maps"
	"sort"
	"time"
)

// CursorVersion is the version of the cursor's JSON form.
const CursorVersion = 1

// Cursor is a resumable position in a change feed. Its zero value means
// "from the beginning". It is plain data: marshal it with encoding/json to
// checkpoint it. Callers treat it as opaque; drivers use the helpers below so
// every CRM resumes, overlaps and de-duplicates the same way.
//
// A run reads one window (lower, Upper] per stream: lower is where the last
// complete window ended minus the look-back, Upper the CRM server's clock
// minus a lag, fixed when the run starts. Streams are the CRM objects behind
// a neutral object (Salesforce Task and Event for activities).
type Cursor struct {
	V int `json:"v"`
	// Upper bounds the window in progress; zero between runs.
	Upper time.Time `json:"upper,omitzero"`
	// Horizon is Upper minus the look-back: versions stamped at or after it
	// are remembered in Seen, since the next run reads them again.
	Horizon time.Time                `json:"horizon,omitzero"`
	Streams map[string]*StreamCursor `json:"streams,omitempty"`
}

// StreamCursor is one stream's position.
type StreamCursor struct {
	// Covered: every version stamped at or before it has been delivered
	// (the Upper of the last complete window).
	Covered time.Time `json:"covered,omitzero"`
	// Lower is the inclusive start of the window in progress.
	Lower time.Time `json:"lower,omitzero"`
	// Stamp and ID are the keyset position inside the window in progress:
	// the last (stamp, id) delivered, in the driver's sort order.
	Stamp time.Time `json:"stamp,omitzero"`
	ID    string    `json:"id,omitempty"`
	// Done: the window in progress is complete for this stream.
	Done bool `json:"done,omitempty"`
	// Seen maps id to the modified stamp of versions already delivered that
	// the next window's overlap will read again.
	Seen map[string]time.Time `json:"seen,omitempty"`
}

// Clone returns a deep copy, so a page's Next never aliases the input.
func (c Cursor) Clone() Cursor {
	out := c
	out.Streams = make(map[string]*StreamCursor, len(c.Streams))
	for k, s := range c.Streams {
		cp := *s
		cp.Seen = maps.Clone(s.Seen)
		out.Streams[k] = &cp
	}
	return out
}

// InWindow reports whether a run is in progress (a window has begun and not
// every stream has finished it).
func (c Cursor) InWindow() bool { return !c.Upper.IsZero() }

// Begin starts a window ending at upper for streams, with the given look-back
// overlap. It is a no-op when a window is already in progress.
func (c *Cursor) Begin(upper time.Time, lookback time.Duration, streams []string) {
	if c.InWindow() {
		return
	}
	c.V = CursorVersion
	c.Upper = upper.UTC()
	c.Horizon = c.Upper.Add(-lookback)
	if c.Streams == nil {
		c.Streams = map[string]*StreamCursor{}
	}
	for _, name := range streams {
		s := c.Streams[name]
		if s == nil {
			s = &StreamCursor{}
			c.Streams[name] = s
		}
		s.Done = false
		s.ID = ""
		s.Lower = time.Time{}
		if !s.Covered.IsZero() {
			s.Lower = s.Covered.Add(-lookback)
			if s.Lower.After(c.Upper) {
				s.Lower = c.Upper
			}
		}
		s.Stamp = s.Lower
		for id, st := range s.Seen {
			if st.Before(s.Lower) {
				delete(s.Seen, id)
			}
		}
	}
}

// Stream returns the named stream, creating it.
func (c *Cursor) Stream(name string) *StreamCursor {
	if c.Streams == nil {
		c.Streams = map[string]*StreamCursor{}
	}
	s := c.Streams[name]
	if s == nil {
		s = &StreamCursor{}
		c.Streams[name] = s
	}
	return s
}

// Deliver records that version (id, stamp) of a stream is being returned and
// reports whether it is new; false means it was delivered before (an overlap
// re-read) and must be dropped.
func (c *Cursor) Deliver(stream, id string, stamp time.Time) bool {
	s := c.Stream(stream)
	stamp = stamp.UTC()
	if prev, ok := s.Seen[id]; ok && prev.Equal(stamp) {
		return false
	}
	if !stamp.Before(c.Horizon) {
		if s.Seen == nil {
			s.Seen = map[string]time.Time{}
		}
		s.Seen[id] = stamp
	} else {
		delete(s.Seen, id)
	}
	return true
}

// Finish marks a stream's window complete; when every stream is complete the
// run ends: Covered moves to Upper and Upper is cleared. It reports whether
// the run ended.
func (c *Cursor) Finish(stream string) bool {
	s := c.Stream(stream)
	s.Done = true
	for _, st := range c.Streams {
		if !st.Done {
			return false
		}
	}
	for _, st := range c.Streams {
		st.Covered = c.Upper
		st.Lower, st.Stamp, st.ID = time.Time{}, time.Time{}, ""
		st.Done = false
	}
	c.Upper = time.Time{}
	return true
}

// Pending returns the streams still reading the window in progress, sorted.
func (c Cursor) Pending() []string {
	var out []string
	for name, s := range c.Streams {
		if !s.Done {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Covered returns the earliest Covered stamp of all streams (zero before the
// first complete run): every change up to it has been read.
func (c Cursor) Covered() time.Time {
	var t time.Time
	first := true
	for _, s := range c.Streams {
		if first || s.Covered.Before(t) {
			t, first = s.Covered, false
		}
	}
	return t
}

// MarshalCursor and UnmarshalCursor are the checkpoint encoding.
func MarshalCursor(c Cursor) ([]byte, error) { return json.Marshal(c) }

// UnmarshalCursor decodes a checkpoint; empty input is the zero cursor.
func UnmarshalCursor(b []byte) (Cursor, error) {
	var c Cursor
	if len(b) == 0 {
		return c, nil
	}
	err := json.Unmarshal(b, &c)
	return c, err
}
