package salesforce

import (
	"slices"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/sandbox"
)

// scanOnly hides the store's in-place scan, so execute takes the path that
// materialises every row and runs the full predicate on each.
type scanOnly struct{ catalog }

// TestPrefilterKeepsResults runs queries of every predicate shape through
// the in-place pre-filter and through full materialisation: both must return
// the same rows in the same order.
func TestPrefilterKeepsResults(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{Accounts: 60, Seed: 4, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sb.Clock.Freeze(testNow)
	h := NewWithOptions(sb, Options{}).(*handler)
	// A stamp in the middle of the data, so range conditions cut it.
	var stamps []time.Time
	_ = sb.SF.Scan(sandbox.SFTask, func(r sandbox.Row) bool { stamps = append(stamps, r.ModifiedAt); return true })
	slices.SortFunc(stamps, func(a, b time.Time) int { return a.Compare(b) })
	mid := stamps[len(stamps)/2].UTC().Format("2006-01-02T15:04:05.000Z")
	var taskID string
	_ = sb.SF.Scan(sandbox.SFTask, func(r sandbox.Row) bool { taskID = r.ID; return false })
	queries := []string{
		"SELECT Id FROM Task WHERE SystemModstamp <= " + mid + " ORDER BY SystemModstamp, Id LIMIT 50",
		"SELECT Id FROM Task WHERE (SystemModstamp > " + mid + " OR (SystemModstamp = " + mid + " AND Id > '" + taskID + "')) ORDER BY SystemModstamp, Id",
		"SELECT Id FROM Task WHERE SystemModstamp >= " + mid + " AND IsDeleted = true",
		"SELECT Id FROM Task WHERE NOT (SystemModstamp > " + mid + ")",
		"SELECT Id FROM Task WHERE Account.Industry = 'Manufacturing' OR SystemModstamp < " + mid,
		"SELECT Id FROM Task WHERE Subject LIKE '%call%' AND SystemModstamp > " + mid,
		"SELECT Id FROM Task WHERE ActivityDate = LAST_N_DAYS:90",
		"SELECT Id FROM Task WHERE ActivityDate != null AND ActivityDate < 2024-01-01",
		"SELECT Id FROM Opportunity WHERE StageName IN ('Closed Won', 'Closed Lost') ORDER BY Amount DESC NULLS LAST",
		"SELECT Id FROM Opportunity WHERE StageName NOT IN ('Closed Won') AND Amount > 10000",
		"SELECT Id FROM Opportunity WHERE Amount = null OR CloseDate = THIS_YEAR",
		"SELECT Id FROM Account WHERE Industry = 'Manufacturing' ORDER BY Name",
		"SELECT Id FROM Account WHERE Id = '" + taskID + "'",
		"SELECT Id FROM Contact WHERE Account.Name != null AND Email LIKE '%@%'",
		"SELECT Id FROM Account",
	}
	checked := 0
	for _, q := range queries {
		for _, all := range []bool{false, true} {
			_, fast, err := h.execute(sb.SF, q, all)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			_, slow, err := h.execute(scanOnly{sb.SF}, q, all)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			ids := func(rows []sandbox.Row) []string {
				out := make([]string, len(rows))
				for i, r := range rows {
					out[i] = r.ID
				}
				return out
			}
			if !slices.Equal(ids(fast), ids(slow)) {
				t.Errorf("%s (all=%t): pre-filtered %d rows, full scan %d", q, all, len(fast), len(slow))
			}
			if len(slow) > 0 {
				checked++
			}
		}
	}
	if checked < len(queries) {
		t.Errorf("only %d of %d query runs returned rows; the comparison is too weak", checked, 2*len(queries))
	}
}
