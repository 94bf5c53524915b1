package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names; the package doc describes each.
const (
	MetricRecordsSynced   = "crmpulse_records_synced_total"
	MetricAPICalls        = "crmpulse_api_calls_total"
	MetricErrors          = "crmpulse_errors_total"
	MetricCycles          = "crmpulse_cycles_total"
	MetricCycleDuration   = "crmpulse_cycle_duration_seconds"
	MetricStageDuration   = "crmpulse_stage_duration_seconds"
	MetricLastSuccess     = "crmpulse_last_success_timestamp_seconds"
	MetricCycleRunning    = "crmpulse_cycle_running"
	MetricQueueLength     = "crmpulse_queue_length"
	MetricQueuePending    = "crmpulse_queue_pending"
	MetricQueueReadErrors = "crmpulse_queue_read_errors_total"
)

// durationBuckets spans 50 ms to about 2 h (a first sync of a large org).
var durationBuckets = prometheus.ExponentialBuckets(0.05, 2.5, 14)

// Metrics holds crmpulse's Prometheus series. The daemon records every cycle
// a Runner returns through ObserveCycle; a Runner must not call it for the
// same cycle again. Its methods are safe for concurrent use.
type Metrics struct {
	records       *prometheus.CounterVec
	apiCalls      *prometheus.CounterVec
	errors        *prometheus.CounterVec
	cycles        *prometheus.CounterVec
	cycleDuration *prometheus.HistogramVec
	stageDuration *prometheus.HistogramVec
	lastSuccess   *prometheus.GaugeVec
	running       *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them with reg (nil: not
// registered, useful in tests). It panics if they are already registered
// there, like prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRecordsSynced,
			Help: "CRM records handled by sync, by connection, object and kind (read from the CRM, changed in the store, deleted).",
		}, []string{"connection", "object", "kind"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricAPICalls,
			Help: "CRM API requests by connection and endpoint.",
		}, []string{"connection", "endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricErrors,
			Help: "Errors by connection, stage and class: errors that ended a stage plus per-item failures a stage reported.",
		}, []string{"connection", "stage", "class"}),
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricCycles,
			Help: "Cycles finished by connection and outcome (ok, failed, canceled).",
		}, []string{"connection", "outcome"}),
		cycleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricCycleDuration,
			Help:    "Wall time of whole cycles by connection and outcome.",
			Buckets: durationBuckets,
		}, []string{"connection", "outcome"}),
		stageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricStageDuration,
			Help:    "Wall time of cycle stages by connection and stage.",
			Buckets: durationBuckets,
		}, []string{"connection", "stage"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricLastSuccess,
			Help: "Unix time at which the last successful cycle of a connection finished.",
		}, []string{"connection"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricCycleRunning,
			Help: "1 while a cycle of the connection runs, else 0.",
		}, []string{"connection"}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.apiCalls, m.errors, m.cycles, m.cycleDuration,
			m.stageDuration, m.lastSuccess, m.running)
	}
	return m
}

// ObserveCycle records a finished cycle: records, API calls, errors, stage
// and cycle durations, the outcome and, when it succeeded, the last-success
// time.
func (m *Metrics) ObserveCycle(s CycleSummary) {
	conn := s.Connection
	for _, st := range s.Stages {
		m.stageDuration.WithLabelValues(conn, st.Name).Observe(st.Duration.Seconds())
		for _, rc := range st.Records {
			m.records.WithLabelValues(conn, rc.Object, KindRead).Add(float64(nonNeg(rc.Read)))
			m.records.WithLabelValues(conn, rc.Object, KindChanged).Add(float64(nonNeg(rc.Changed)))
			m.records.WithLabelValues(conn, rc.Object, KindDeleted).Add(float64(nonNeg(rc.Deleted)))
		}
		for ep, n := range st.APICalls {
			m.apiCalls.WithLabelValues(conn, ep).Add(float64(nonNeg(n)))
		}
		for class, n := range st.Errors {
			m.errors.WithLabelValues(conn, st.Name, class).Add(float64(nonNeg(n)))
		}
		if st.Err != nil {
			m.errors.WithLabelValues(conn, st.Name, ErrorClass(st.Err)).Inc()
		}
	}
	if s.Err != nil && s.failedStage() == "cycle" {
		m.errors.WithLabelValues(conn, "cycle", ErrorClass(s.Err)).Inc()
	}
	outcome := s.Outcome()
	m.cycles.WithLabelValues(conn, outcome).Inc()
	m.cycleDuration.WithLabelValues(conn, outcome).Observe(s.Duration().Seconds())
	if outcome == OutcomeOK {
		fin := s.Finished
		if fin.IsZero() {
			fin = time.Now()
		}
		m.lastSuccess.WithLabelValues(conn).Set(float64(fin.UnixNano()) / 1e9)
	}
}

// setRunning sets crmpulse_cycle_running for a connection.
func (m *Metrics) setRunning(conn string, on bool) {
	v := 0.0
	if on {
		v = 1
	}
	m.running.WithLabelValues(conn).Set(v)
}

// touch creates a connection's per-connection series so they are exported
// (at zero) before its first cycle.
func (m *Metrics) touch(conn string) {
	m.running.WithLabelValues(conn).Set(0)
	for _, o := range []string{OutcomeOK, OutcomeFailed, OutcomeCanceled} {
		m.cycles.WithLabelValues(conn, o)
	}
}

func nonNeg(n int64) int64 { return max(n, 0) }

// QueueDepth is the depth of one Redis stream the pipeline works through.
type QueueDepth struct {
	// Name is the queue's label ("analysis", "outbox", ...).
	Name string `json:"name"`
	// Length is the stream's entry count (XLEN).
	Length int64 `json:"length"`
	// Pending is the entries delivered to the consumer group and not yet
	// acknowledged (XPENDING), zero when the queue has no group.
	Pending int64 `json:"pending"`
}

// DepthFunc reports queue depths; StreamDepths builds one over Redis streams.
type DepthFunc func(ctx context.Context) ([]QueueDepth, error)

// queueCollector reads queue depths on each scrape.
type queueCollector struct {
	depths  DepthFunc
	timeout time.Duration
	log     *slog.Logger
	length  *prometheus.Desc
	pending *prometheus.Desc
	errs    prometheus.Counter
}

func newQueueCollector(depths DepthFunc, log *slog.Logger) *queueCollector {
	return &queueCollector{
		depths:  depths,
		timeout: 2 * time.Second,
		log:     log,
		length: prometheus.NewDesc(MetricQueueLength,
			"Entries in a work queue stream (XLEN), read at scrape time.", []string{"queue"}, nil),
		pending: prometheus.NewDesc(MetricQueuePending,
			"Entries of a work queue delivered and not yet acknowledged (XPENDING), read at scrape time.", []string{"queue"}, nil),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricQueueReadErrors,
			Help: "Scrapes at which the queue depths could not be read from Redis.",
		}),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.length
	ch <- c.pending
	c.errs.Describe(ch)
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	qs, err := c.depths(ctx)
	if err != nil {
		c.errs.Inc()
		c.log.Warn("read queue depths", "err", err)
	}
	for _, q := range qs {
		ch <- prometheus.MustNewConstMetric(c.length, prometheus.GaugeValue, float64(q.Length), q.Name)
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(q.Pending), q.Name)
	}
	c.errs.Collect(ch)
}
