package segments_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/crmhist"
	"github.com/crmpulse/crmpulse/segments/internal/segtest"
)

var sandboxNow = time.Date(2025, 3, 31, 9, 0, 0, 0, time.UTC)

func loadHistories(t testing.TB, conn *connectors.Conn, now time.Time) []churn.AccountHistory {
	t.Helper()
	hs, err := crmhist.Load(context.Background(), conn, now)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func checkSensible(t *testing.T, seg *segments.Segmentation, accounts int) {
	t.Helper()
	nonEmpty, count, share := 0, 0, 0.0
	for _, s := range seg.Segments {
		count += s.Count
		share += s.Share
		if s.Count > 0 {
			nonEmpty++
		}
		if s.Label == "" || s.Conditions == "" || s.Strategy == nil || s.Strategy.Channel == "" {
			t.Errorf("segment %s lacks label, conditions or strategy: %+v", s.Key, s)
		}
	}
	if nonEmpty < 5 || nonEmpty > 8 || len(seg.Segments) > 8 {
		t.Errorf("%d non-empty of %d segments, want 5–8", nonEmpty, len(seg.Segments))
	}
	if count != accounts || len(seg.Accounts) != accounts || math.Abs(share-1) > 1e-9 {
		t.Errorf("counts sum to %d, %d assignments, shares to %v; want %d accounts and 1", count, len(seg.Accounts), share, accounts)
	}
	for _, a := range seg.Accounts {
		if _, ok := seg.Segment(a.Segment); !ok {
			t.Errorf("account %s in unknown segment %q", a.AccountID, a.Segment)
		}
	}
}

func TestDesignSandboxStableAndSensible(t *testing.T) {
	t.Parallel()
	env := segtest.Start(t, sandbox.Options{Accounts: 200, Seed: 7, Now: sandboxNow, ActivityScale: 0.2})
	cfg := config.Default()
	cfg.LLM.Language = "en"
	for _, conn := range []*connectors.Conn{env.SF, env.HS} {
		t.Run(conn.Kind(), func(t *testing.T) {
			h1 := loadHistories(t, conn, sandboxNow)
			if len(h1) != 200 {
				t.Fatalf("%d accounts read, want 200", len(h1))
			}
			s1, err := segments.Design(context.Background(), h1, sandboxNow, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSensible(t, s1, 200)
			for _, s := range s1.Segments {
				t.Logf("%-16s %3d %5.1f%%  %s | %s", s.Label, s.Count, 100*s.Share, s.Conditions, s.Strategy.Channel)
			}
			// A second read of the same data gives the identical segmentation.
			s2, err := segments.Design(context.Background(), loadHistories(t, conn, sandboxNow), sandboxNow, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s1, s2) {
				t.Error("same data, different segmentation")
			}
			// Sub-segments carry the enabled B2B axes.
			for _, a := range s1.Accounts {
				if strings.Count(a.SubSegment, " · ") != 4 {
					t.Fatalf("sub-segment %q lacks the four B2B axes", a.SubSegment)
				}
			}
		})
	}
}

type fakeStrategist struct{ fail map[string]bool }

func (f fakeStrategist) SegmentStrategy(_ context.Context, b segments.Brief) (segments.Strategy, error) {
	if f.fail[b.Segment.Key] {
		return segments.Strategy{}, errors.New("endpoint down")
	}
	return segments.Strategy{Comms: segments.Comms{Channel: "llm channel for " + b.Segment.Key, Message: b.Language}, Rationale: "from " + strings.Join(b.Industries, ",")}, nil
}

func TestDesignStrategyAndOverrides(t *testing.T) {
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var hs []churn.AccountHistory
	for i := range 50 {
		h := churn.AccountHistory{ID: string(rune('A'+i/26)) + string(rune('a'+i%26)), Industry: "Retail", Employees: 50 * (i + 1)}
		for k := 0; k < i%7; k++ {
			h.Purchases = append(h.Purchases, churn.Purchase{Date: asOf.AddDate(0, 0, -(i*13+k*40)%700-1), Amount: float64(1000 * (i + 1))})
		}
		hs = append(hs, h)
	}
	cfg := config.Default()
	cfg.Segments.Overrides = map[string]config.SegmentOverride{segments.AtRisk: {Name: "要フォロー(重点)", Strategy: "48時間以内に役員訪問"}}
	seg, err := segments.Design(context.Background(), hs, asOf, cfg, &segments.DesignOptions{Strategist: fakeStrategist{fail: map[string]bool{segments.Dormant: true}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	checkSensible(t, seg, 50)
	for _, s := range seg.Segments {
		switch {
		case s.Count == 0:
			if s.Strategy.Source != "builtin" {
				t.Errorf("%s: empty segment strategy from %s", s.Key, s.Strategy.Source)
			}
		case s.Key == segments.AtRisk:
			if s.Label != "要フォロー(重点)" || s.Strategy.Message != "48時間以内に役員訪問" || s.Strategy.Source != "config" {
				t.Errorf("override not applied: %+v %+v", s.Label, s.Strategy)
			}
		case s.Key == segments.Dormant:
			if s.Strategy.Source != "builtin" || !strings.Contains(s.Strategy.Rationale, "endpoint down") || s.Label != "休眠顧客" {
				t.Errorf("failed strategist: %+v", s.Strategy)
			}
		default:
			if s.Strategy.Source != "llm" || s.Strategy.Channel != "llm channel for "+s.Key || s.Strategy.Message != "ja" || s.Strategy.Rationale != "from Retail" {
				t.Errorf("%s: %+v", s.Key, s.Strategy)
			}
		}
	}
	cfg.Segments.Overrides = map[string]config.SegmentOverride{"champions": {Name: "x"}}
	if _, err := segments.Design(context.Background(), hs, asOf, cfg, nil); !errors.Is(err, segments.ErrUnknownSegment) || !strings.Contains(err.Error(), "segments.overrides.champions") {
		t.Errorf("unknown override id: %v", err)
	}
}
