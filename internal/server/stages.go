package server

import (
	"context"
	"fmt"
	"time"
)

// Stage is one step of a cycle.
type Stage struct {
	// Name labels the stage in metrics and status (StageSync, ...).
	Name string
	// Run does the stage's work for one connection and fills sum's figures
	// (Records, Counts, Errors; Name, Duration, APICalls and Err are set by
	// StageRunner). An error ends the cycle.
	Run func(ctx context.Context, connection string, sum *StageSummary) error
}

// StageRunner is a Runner that runs stages in order, times them, stops at the
// first error and, when the daemon shuts down (StopRequested), ends the cycle
// after the stage that is running instead of starting the next.
type StageRunner struct {
	Stages []Stage
	// APICalls, when set, returns a connection's cumulative CRM API calls per
	// endpoint (connectors.Conn.Usage().Calls); each stage is credited with
	// the difference over its run.
	APICalls func(connection string) map[string]int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

var _ Runner = (*StageRunner)(nil)

// RunCycle runs the stages for connection.
func (r *StageRunner) RunCycle(ctx context.Context, connection string) (CycleSummary, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	sum := CycleSummary{Connection: connection, Started: now()}
	for i, st := range r.Stages {
		if i > 0 {
			select {
			case <-StopRequested(ctx):
				sum.Finished = now()
				return sum, fmt.Errorf("stopped before stage %s: shutting down: %w", st.Name, context.Canceled)
			default:
			}
		}
		if err := ctx.Err(); err != nil {
			sum.Finished = now()
			return sum, fmt.Errorf("before stage %s: %w", st.Name, err)
		}
		ss := StageSummary{Name: st.Name}
		var before map[string]int64
		if r.APICalls != nil {
			before = r.APICalls(connection)
		}
		t0 := now()
		err := st.Run(ctx, connection, &ss)
		ss.Duration = now().Sub(t0)
		ss.Name = st.Name
		if r.APICalls != nil {
			ss.APICalls = diffCalls(before, r.APICalls(connection))
		}
		if err != nil {
			ss.Err = fmt.Errorf("%s: %w", st.Name, err)
		}
		sum.Stages = append(sum.Stages, ss)
		if err != nil {
			sum.Finished = now()
			return sum, ss.Err
		}
	}
	sum.Finished = now()
	return sum, nil
}

func diffCalls(before, after map[string]int64) map[string]int64 {
	var out map[string]int64
	for ep, n := range after {
		if d := n - before[ep]; d > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[ep] = d
		}
	}
	return out
}
