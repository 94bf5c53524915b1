package sync

import (
	"slices"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
)

// FromApp returns an engine over a wired App: every opened connection with
// its configured objects and write-back fields, and the sync, retrieval and
// cadence settings of the configuration. Fields of opt that are set win
// over the configuration.
func FromApp(a *app.App, opt *Options) (*Engine, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	cfg := a.Config
	if o.Workers == 0 {
		o.Workers = cfg.Sync.Workers
	}
	if o.EmbedBatch == 0 {
		o.EmbedBatch = cfg.Sync.EmbedBatch
	}
	if o.ChunkSize == 0 {
		o.ChunkSize, o.ChunkOverlap = cfg.Retrieval.ChunkSize, cfg.Retrieval.ChunkOverlap
	}
	if o.ReconcileEvery == 0 {
		o.ReconcileEvery = cfg.Sync.ReconcileEvery
	}
	if o.Logger == nil {
		o.Logger = a.Logger
	}
	var sources []Source
	for _, c := range a.Conns {
		cc, _ := a.ConnConfig(c.Name())
		src := Source{Conn: c, WritebackFields: WritebackFields(cfg, cc)}
		for _, ob := range cc.Objects {
			src.Objects = append(src.Objects, connectors.Object(ob))
		}
		sources = append(sources, src)
	}
	return New(a.Store, a.Embedder, sources, &o)
}

// WritebackFields lists the CRM fields crmpulse writes on a connection: the
// configured mappings and the default mappings of its kind (fields crmpulse
// may have created earlier), sorted.
func WritebackFields(cfg *config.Config, cc config.Connection) []string {
	set := map[string]bool{}
	for _, m := range config.DefaultMappings(cc.Kind) {
		set[m.Field] = true
	}
	if w, ok := cfg.WritebackFor(cc.Name); ok {
		for _, m := range w.Mappings {
			set[m.Field] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
