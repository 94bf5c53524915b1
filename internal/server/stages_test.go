package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStageRunner(t *testing.T) {
	clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	calls := map[string]int64{"query": 5}
	var order []string
	step := func(name string, d time.Duration, ep string, n int64, err error) Stage {
		return Stage{Name: name, Run: func(_ context.Context, conn string, sum *StageSummary) error {
			order = append(order, name+"@"+conn)
			clock = clock.Add(d)
			mu.Lock()
			calls[ep] += n
			mu.Unlock()
			sum.Counts = map[string]int64{"n": n}
			return err
		}}
	}
	apiCalls := func(string) map[string]int64 {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int64{}
		for k, v := range calls {
			out[k] = v
		}
		return out
	}
	r := &StageRunner{Now: func() time.Time { return clock }, APICalls: apiCalls, Stages: []Stage{
		step(StageSync, 3*time.Second, "query", 7, nil),
		step(StageWriteback, time.Second, "composite", 2, errors.New("refused")),
		step(StageLists, time.Second, "lists", 1, nil),
	}}
	sum, err := r.RunCycle(t.Context(), "acme")
	if err == nil || err.Error() != "writeback: refused" {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(order, ",") != "sync@acme,writeback@acme" {
		t.Fatalf("ran %v, want sync then writeback and stop", order)
	}
	if len(sum.Stages) != 2 || sum.Stages[0].Duration != 3*time.Second || sum.Stages[1].Duration != time.Second {
		t.Fatalf("stages = %+v", sum.Stages)
	}
	if sum.Stages[0].APICalls["query"] != 7 || len(sum.Stages[0].APICalls) != 1 || sum.Stages[1].APICalls["composite"] != 2 {
		t.Fatalf("api calls = %v / %v", sum.Stages[0].APICalls, sum.Stages[1].APICalls)
	}
	if sum.Duration() != 4*time.Second || sum.Outcome() != OutcomeFailed || sum.failedStage() != StageWriteback {
		t.Fatalf("cycle %v %s %s", sum.Duration(), sum.Outcome(), sum.failedStage())
	}
}

func TestStageRunnerStopsBetweenStagesOnShutdown(t *testing.T) {
	stop := make(chan struct{})
	ctx := context.WithValue(t.Context(), stopKey{}, stop)
	var ran []string
	r := &StageRunner{Stages: []Stage{
		{Name: StageSync, Run: func(context.Context, string, *StageSummary) error {
			ran = append(ran, StageSync)
			close(stop) // shutdown begins while sync runs
			return nil
		}},
		{Name: StageInsights, Run: func(context.Context, string, *StageSummary) error {
			ran = append(ran, StageInsights)
			return nil
		}},
	}}
	sum, err := r.RunCycle(ctx, "acme")
	if !errors.Is(err, context.Canceled) || len(ran) != 1 || len(sum.Stages) != 1 {
		t.Fatalf("err %v, ran %v, stages %d", err, ran, len(sum.Stages))
	}
	sum.Err = err
	if sum.Outcome() != OutcomeCanceled {
		t.Fatalf("outcome %s", sum.Outcome())
	}
}
