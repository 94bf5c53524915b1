package writeback

import "time"

// Insight is what write-back needs of one account's analysis. Every mapped
// output is part of the record's desired state: an empty value clears the
// field (a stale next action is worse than none).
type Insight struct {
	// AccountID is the CRM id of the account record written to.
	AccountID string
	// ChurnScore is the churn probability, 0..1.
	ChurnScore float64
	// RiskBand is low, medium or high.
	RiskBand string
	// TopDrivers are the main churn drivers, most important first.
	TopDrivers []string
	// NextAction and NextActionDue are the recommended next step.
	NextAction    string
	NextActionDue time.Time
	// CrossSell lists recommended products.
	CrossSell []string
	// Segment is the segment's label or key ("At Risk", "at_risk"); it is
	// written as the matching option of a picklist field.
	Segment string
	// Summary is the narrative; Evidence the records it rests on.
	Summary  string
	Evidence []Evidence
	// AnalyzedAt is when the analysis ran; it orders outbox entries.
	AnalyzedAt time.Time
}

// Evidence is a short reference to an email, note, deal or other record.
type Evidence struct {
	Kind  string    // email, call, meeting, note, task, deal, document
	ID    string    // the CRM id (or record reference)
	Title string    // subject or name
	Date  time.Time // when it happened (zero: unknown)
}

// String renders a reference: "email 00T… 2024-05-01 “Budget review”".
func (e Evidence) String() string {
	s := e.Kind
	if e.ID != "" {
		s += " " + e.ID
	}
	if !e.Date.IsZero() {
		s += " " + e.Date.UTC().Format("2006-01-02")
	}
	if e.Title != "" {
		s += " “" + e.Title + "”"
	}
	return s
}
