package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/internal/pipeline"
)

// cycle runs one full pipeline cycle (sync → insights → segments →
// writeback → lists) for a CRM after ~1% of its records were edited: the
// figure crmpulse run and the daemon's schedule see.
func (r *runner) cycle(ctx context.Context, env *scaleEnv, c crm) error {
	scale := env.label + ", " + c.short + ", 1% changed"
	a, err := env.app(ctx, r, c.conn)
	if err != nil {
		return err
	}
	edited, err := editOnePercent(env.tenant(c), c)
	if err != nil {
		return fmt.Errorf("edit 1%%: %w", err)
	}
	env.sb.Clock.Advance(time.Minute)
	p, err := pipeline.New(a, &pipeline.Options{Logger: r.opt.Logger, NoLLM: true, Provision: true, AsOf: env.sb.Clock.Now()})
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := p.Runner().RunCycle(ctx, c.conn)
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("cycle: %w", err)
	}
	var stages []string
	for _, s := range sum.Stages {
		stages = append(stages, fmt.Sprintf("%s %s", s.Name, s.Duration.Round(100*time.Millisecond)))
	}
	r.progress("%s: full cycle in %s (%s)", scale, elapsed.Round(time.Millisecond), strings.Join(stages, ", "))
	r.add(GroupCycle, "full cycle, statistical", scale, round(elapsed.Seconds(), 2), "s", "",
		fmt.Sprintf("%d records edited; %s", edited, strings.Join(stages, ", ")))
	return nil
}

func (r *runner) skipCycle(label string, c crm, reason string) {
	r.skip(GroupCycle, "full cycle, statistical", label+", "+c.short+", 1% changed", "s", "", reason)
}
