package server

import (
	"context"
	"errors"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
)

// Runner runs one cycle (sync, insights, segments, write-back, segment lists)
// for one connection.
//
// The daemon calls RunCycle for a given connection from one goroutine at a
// time; calls for different connections may overlap (Options.MaxConcurrent),
// so an implementation must be safe for concurrent use across connections.
// RunCycle should honour ctx (it is cancelled when the shutdown grace period
// ends) and should check StopRequested(ctx) between stages to end a cycle
// early and cleanly when the daemon is shutting down. It returns a summary of
// what it did even when it fails; the daemon records it in metrics and in the
// admin status.
type Runner interface {
	RunCycle(ctx context.Context, connection string) (CycleSummary, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, connection string) (CycleSummary, error)

// RunCycle calls f.
func (f RunnerFunc) RunCycle(ctx context.Context, connection string) (CycleSummary, error) {
	return f(ctx, connection)
}

// Stage names used by the pipeline. Stages with other names are recorded
// all the same; these are the ones the admin page and the docs know.
const (
	StageSync      = "sync"
	StageInsights  = "insights"
	StageSegments  = "segments"
	StageWriteback = "writeback"
	StageLists     = "lists"
)

// Outcomes of a cycle, the outcome label of crmpulse_cycles_total.
const (
	OutcomeOK       = "ok"
	OutcomeFailed   = "failed"
	OutcomeCanceled = "canceled"
)

// Record kinds, the kind label of crmpulse_records_synced_total.
const (
	KindRead    = "read"
	KindChanged = "changed"
	KindDeleted = "deleted"
)

// CycleSummary is what one cycle of one connection did.
type CycleSummary struct {
	// Connection is the connection's name; the daemon fills it when empty.
	Connection string
	// RunID identifies the cycle; the daemon sets it.
	RunID string
	// Trigger says why the cycle ran: "schedule", "manual" or "once"; the
	// daemon sets it.
	Trigger string
	// Started and Finished bound the cycle; the daemon fills zero values.
	Started, Finished time.Time
	// Stages in the order they ran.
	Stages []StageSummary
	// Err is the cycle's error; the daemon sets it from RunCycle's result
	// when it is nil.
	Err error
}

// StageSummary is what one stage of a cycle did.
type StageSummary struct {
	// Name is the stage, one of the Stage constants for the pipeline's own.
	Name string
	// Duration is the stage's wall time.
	Duration time.Duration
	// Err ends the stage (and usually the cycle). Per-item failures that did
	// not stop the stage go to Errors instead.
	Err error
	// Records counts records per object read from the CRM, changed in the
	// store and deleted (sync stage).
	Records []RecordCount
	// APICalls counts CRM API requests by endpoint (a short, bounded name
	// such as "query" or "composite/sobjects", never a URL with ids).
	APICalls map[string]int64
	// Errors counts per-item failures that did not stop the stage, by class
	// (see ErrorClass), e.g. records the CRM refused on write-back.
	Errors map[string]int64
	// Counts holds other stage figures by name (accounts_analysed,
	// fields_written, members, ...). They appear in the admin status only.
	Counts map[string]int64
}

// RecordCount is the records of one object a sync stage handled.
type RecordCount struct {
	Object  string `json:"object"`
	Read    int64  `json:"read"`
	Changed int64  `json:"changed"`
	Deleted int64  `json:"deleted"`
}

// Outcome is OutcomeOK, OutcomeFailed or OutcomeCanceled: failed when the
// cycle or one of its stages has an error, canceled when that error is a
// context cancellation.
func (s CycleSummary) Outcome() string {
	err := s.firstErr()
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	default:
		return OutcomeFailed
	}
}

// Duration is Finished - Started, or zero when either is unset.
func (s CycleSummary) Duration() time.Duration {
	if s.Started.IsZero() || s.Finished.IsZero() {
		return 0
	}
	return s.Finished.Sub(s.Started)
}

func (s CycleSummary) firstErr() error {
	if s.Err != nil {
		return s.Err
	}
	for _, st := range s.Stages {
		if st.Err != nil {
			return st.Err
		}
	}
	return nil
}

// failedStage names the stage whose error ended the cycle: the first stage
// with an error, else "cycle".
func (s CycleSummary) failedStage() string {
	for _, st := range s.Stages {
		if st.Err != nil {
			return st.Name
		}
	}
	return "cycle"
}

// Error classes, the class label of crmpulse_errors_total.
const (
	ClassReauthorize = "reauthorize"
	ClassQuota       = "quota"
	ClassRateLimited = "rate_limited"
	ClassTransient   = "transient"
	ClassPermanent   = "permanent"
	ClassCanceled    = "canceled"
	ClassTimeout     = "timeout"
	ClassOther       = "other"
)

// ErrorClass maps an error to a short, bounded class name: the connectors
// error classes (reauthorize, quota, rate_limited, transient, permanent),
// canceled, timeout, or other.
func ErrorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, connectors.ErrReauthorize):
		return ClassReauthorize
	case errors.Is(err, connectors.ErrQuotaExhausted):
		return ClassQuota
	case errors.Is(err, connectors.ErrRateLimited):
		return ClassRateLimited
	case errors.Is(err, connectors.ErrTransient):
		return ClassTransient
	case errors.Is(err, connectors.ErrPermanent):
		return ClassPermanent
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	default:
		return ClassOther
	}
}

type stopKey struct{}

// StopRequested returns a channel that is closed when the daemon asks the
// cycle running under ctx to stop at the next stage boundary (shutdown has
// begun). A Runner checks it between stages; it is nil, and so never ready,
// when ctx does not come from the daemon.
func StopRequested(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stopKey{}).(chan struct{})
	return ch
}
