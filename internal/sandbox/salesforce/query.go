package salesforce

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// Query paging, as Salesforce documents it.
const (
	minBatch       = 200
	maxBatch       = 2000
	cursorLifetime = 48 * time.Hour
	archiveAge     = 365 * 24 * time.Hour
)

// cursor is a server-side query result: the matching ids frozen at the
// first call, rendered from current data page by page.
type cursor struct {
	endpoint string // "query" or "queryAll"
	pl       *plan
	ids      []string
	batch    int
	expires  time.Time
}

// archived reports whether a Task/Event is archived: closed and more than a
// year old (or flagged IsArchived).
func archived(table string, r sandbox.Row, now time.Time) bool {
	if table != sandbox.SFTask && table != sandbox.SFEvent {
		return false
	}
	if b, _ := r.Fields["IsArchived"].(bool); b {
		return true
	}
	if table == sandbox.SFTask {
		if closed, _ := r.Fields["IsClosed"].(bool); !closed {
			return false
		}
	}
	var when time.Time
	for _, k := range []string{"ActivityDate", "EndDateTime", "ActivityDateTime", "CreatedDate"} {
		if t := asTime(r.Fields[k]); !t.IsZero() {
			when = t
			break
		}
	}
	if when.IsZero() {
		when = r.CreatedAt
	}
	return now.Sub(when) > archiveAge
}

// execute parses, binds and runs a SOQL query. all selects queryAll
// semantics (deleted and archived rows included).
func (h *handler) execute(cat catalog, q string, all bool) (*plan, []sandbox.Row, error) {
	pq, err := parseSOQL(q)
	if err != nil {
		return nil, nil, err
	}
	now := h.sb.Clock.Now()
	pl, err := bindQuery(cat, pq, now)
	if err != nil {
		return nil, nil, err
	}
	var rows []sandbox.Row
	visible := func(r sandbox.Row) {
		if all || (!r.Deleted && !archived(pl.table, r, now)) {
			rows = append(rows, r)
		}
	}
	if vc, ok := cat.(viewCatalog); ok {
		err = vc.ScanView(pl.table, func(v sandbox.RowView) bool {
			if (all || !v.Deleted()) && mayMatch(pl.where, v) {
				visible(v.RowFields())
			}
			return true
		})
	} else {
		err = cat.Scan(pl.table, func(r sandbox.Row) bool { visible(r); return true })
	}
	if err != nil {
		return nil, nil, err
	}
	return pl, pl.run(newEvalCtx(cat), rows), nil
}

func batchSize(r *http.Request) int {
	n := maxBatch
	for _, opt := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(opt), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			if b, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				n = min(max(b, minBatch), maxBatch)
			}
		}
	}
	return n
}

func (h *handler) query(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		writeErr(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	endpoint := c.segs[0]
	pl, rows, err := h.execute(h.sb.SF, q, endpoint == "queryAll")
	if err != nil {
		writeSOQLErr(w, err)
		return
	}
	if pl.count {
		writeJSON(w, http.StatusOK, newObj().set("totalSize", len(rows)).set("done", true).set("records", []any{}))
		return
	}
	cur := &cursor{endpoint: endpoint, pl: pl, batch: batchSize(r), expires: h.sb.Clock.Now().Add(cursorLifetime)}
	cur.ids = make([]string, len(rows))
	for i, row := range rows {
		cur.ids[i] = row.ID
	}
	locator := ""
	if len(rows) > cur.batch {
		locator = h.nextID("01g")
		h.mu.Lock()
		now := h.sb.Clock.Now()
		for k, old := range h.cursors {
			if now.After(old.expires) {
				delete(h.cursors, k)
			}
		}
		h.cursors[locator] = cur
		h.mu.Unlock()
	}
	h.writePage(w, c, cur, locator, 0)
}

func (h *handler) queryMore(w http.ResponseWriter, _ *http.Request, c *reqCtx) {
	loc, offStr, ok := strings.Cut(c.segs[1], "-")
	off, err := strconv.Atoi(offStr)
	h.mu.Lock()
	cur, found := h.cursors[loc]
	h.mu.Unlock()
	if !ok || err != nil || !found || off < 0 || off >= len(cur.ids) || h.sb.Clock.Now().After(cur.expires) || cur.endpoint != c.segs[0] {
		writeErr(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	h.sb.OnPage(dialect, cur.pl.table)
	h.writePage(w, c, cur, loc, off)
}

// writePage renders ids[off:off+batch] of a cursor from current data.
func (h *handler) writePage(w http.ResponseWriter, c *reqCtx, cur *cursor, locator string, off int) {
	end := min(off+cur.batch, len(cur.ids))
	ctx := newEvalCtx(h.sb.SF)
	records := make([]any, 0, end-off)
	for _, id := range cur.ids[off:end] {
		row, ok := h.sb.SF.GetFields(cur.pl.table, id)
		if !ok {
			continue // purged since the first call
		}
		rec := h.renderRecord(ctx, c.version, cur.pl, row)
		if _, hasID := rec.get("Id"); hasID && h.sb.Faults.TakeDropID() {
			rec.set("Id", nil)
			rec.set("attributes", newObj().set("type", cur.pl.table))
		}
		records = append(records, rec)
	}
	out := newObj().set("totalSize", len(cur.ids)).set("done", end >= len(cur.ids))
	if end < len(cur.ids) {
		out.set("nextRecordsUrl", "/services/data/"+c.version+"/"+cur.endpoint+"/"+locator+"-"+strconv.Itoa(end))
	}
	out.set("records", records)
	writeJSON(w, http.StatusOK, out)
}
