package segments

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
)

// Applied is a CRM-native segment published for one of our segments.
type Applied struct {
	connectors.Segment
	Field   string    `json:"field"` // CRM field the list filters on
	Value   string    `json:"value"` // segment id it selects
	Applied time.Time `json:"applied"`
}

// SaveApplied remembers the CRM segment of segment id for conn, so later
// applies update (and rename) it in place.
func (t *Tracker) SaveApplied(ctx context.Context, conn, id string, a Applied) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := t.rdb.HSet(ctx, t.key(conn, "crm"), id, b).Err(); err != nil {
		return fmt.Errorf("segments: save applied %s: %w", id, err)
	}
	return nil
}

// Applied returns the CRM segments published for conn, by segment id.
func (t *Tracker) Applied(ctx context.Context, conn string) (map[string]Applied, error) {
	m, err := t.rdb.HGetAll(ctx, t.key(conn, "crm")).Result()
	if err != nil {
		return nil, fmt.Errorf("segments: applied segments of %s: %w", conn, err)
	}
	out := make(map[string]Applied, len(m))
	for id, v := range m {
		var a Applied
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("segments: %s field %s: %w", t.key(conn, "crm"), id, err)
		}
		out[id] = a
	}
	return out, nil
}

// Delta is how a CRM segment list would change if pending segment labels
// were written.
type Delta struct {
	Segment string             `json:"segment"` // segment id
	List    connectors.Segment `json:"list"`
	Members int                `json:"members"` // current members
	Join    []string           `json:"join"`    // accounts that would enter, sorted
	Leave   []string           `json:"leave"`   // accounts that would leave, sorted
}

// MembershipDelta compares each CRM segment list (segment id → list) with
// pending labels (account id → segment id to be written) and returns, per
// list in segment-id order, the accounts that would join (pending label
// selects the list, not a member now) and leave (member now, pending label
// selects another list). Accounts without a pending label keep their
// membership. Members are read with Conn.SegmentMembers.
func MembershipDelta(ctx context.Context, conn *connectors.Conn, lists map[string]connectors.Segment, pending map[string]string) ([]Delta, error) {
	ids := make([]string, 0, len(lists))
	for id := range lists {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]Delta, 0, len(ids))
	for _, id := range ids {
		list := lists[id]
		members, err := conn.SegmentMembers(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("segments: members of %s list %s: %w", id, list.ID, err)
		}
		in := make(map[string]bool, len(members))
		d := Delta{Segment: id, List: list, Members: len(members), Join: []string{}, Leave: []string{}}
		for _, m := range members {
			in[m] = true
			if to, ok := pending[m]; ok && to != id {
				d.Leave = append(d.Leave, m)
			}
		}
		for acc, to := range pending {
			if to == id && !in[acc] {
				d.Join = append(d.Join, acc)
			}
		}
		sort.Strings(d.Join)
		sort.Strings(d.Leave)
		out = append(out, d)
	}
	return out, nil
}
