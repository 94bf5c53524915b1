// Package server is crmpulse's daemon: it schedules a cycle (sync, insights,
// segments, write-back, segment lists) for every connection, and serves
// health, readiness, Prometheus metrics and a small token-guarded admin page
// and API.
//
// Typical use:
//
//	srv := server.New(server.Options{
//		Runner:      runner, // pipeline: RunCycle(ctx, connection)
//		Connections: []string{"acme-sf", "acme-hs"},
//		Interval:    cfg.Sync.Interval,
//		Addr:        cfg.Serve.Addr,
//		AdminToken:  os.Getenv(cfg.Serve.AdminTokenEnv),
//		Ping:        func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
//		Depths:      server.StreamDepths(rdb, server.Stream{Name: "outbox", Key: "...", Group: "..."}),
//		Logger:      log,
//	})
//	if err := srv.Start(ctx); err != nil { ... }
//	<-ctx.Done() // SIGINT or SIGTERM
//	err := srv.Shutdown(context.Background())
//
// # Scheduling
//
// Each connection has its own loop. The first cycle starts at Start (after a
// random delay below Options.Jitter); the next starts Interval (plus jitter)
// after a successful cycle ends. After a failed cycle the wait is Backoff,
// doubling with each further consecutive failure up to MaxBackoff; a success
// resets it. A connection never runs two cycles at once; cycles of different
// connections overlap up to MaxConcurrent, a connection waiting for a slot is
// "queued". POST /api/run (Server.Trigger) starts a cycle at once unless one
// of that connection is running or queued.
//
// # Shutdown
//
// Shutdown stops scheduling, closes the channel StopRequested returns for the
// cycles' context so that a Runner ends its cycle at the next stage boundary,
// cancels their context once Options.Grace has passed, waits for them and
// closes the HTTP server within HTTPStopTimeout. HTTP keeps answering while
// cycles drain; /readyz then reports 503.
//
// # HTTP endpoints
//
//	GET  /healthz      liveness: 200 "ok" while the process serves HTTP. No token.
//	GET  /readyz       200 when Redis answers a ping and the daemon is not
//	                   shutting down (and, with UnreadyAfter, no connection has
//	                   failed that many cycles in a row), else 503; JSON body
//	                   with the checks and each connection's last outcome. No token.
//	GET  /metrics      Prometheus exposition. No token: the series carry
//	                   connection, object, stage, endpoint and queue names and
//	                   counts, never record content or credentials.
//	GET  /admin        HTML status page (html/template, no external assets).
//	GET  /api/status   JSON Status: connections, state, last cycle with stage
//	                   durations and counts, next run, queue depths, recent errors.
//	POST /api/run?connection=NAME
//	                   starts a cycle now: 202 {"run_id": ...}; 409 when one is
//	                   running or queued; 404 for an unknown connection; 503
//	                   while shutting down.
//
// /admin and /api/ need "Authorization: Bearer <token>" matching
// Options.AdminToken (compared in constant time). A missing or wrong token gets
// 401 and a log line with method, path and remote address, never the token.
// With no token configured they answer 403 and Start logs that the admin API
// is disabled: it is never open.
//
// # Metrics
//
// The daemon records each summary a Runner returns with Metrics.ObserveCycle
// (a Runner must not record the same cycle itself). Series:
//
//	crmpulse_records_synced_total{connection,object,kind}   counter; kind is read
//	        (from the CRM), changed (in the store) or deleted
//	crmpulse_api_calls_total{connection,endpoint}           counter of CRM API requests
//	crmpulse_errors_total{connection,stage,class}           counter: errors that ended a
//	        stage (stage "cycle" when no stage failed) plus per-item failures the
//	        stage reported; class from ErrorClass (reauthorize, quota,
//	        rate_limited, transient, permanent, canceled, timeout, other)
//	crmpulse_cycles_total{connection,outcome}               counter; ok, failed, canceled
//	crmpulse_cycle_duration_seconds{connection,outcome}     histogram of whole cycles
//	crmpulse_stage_duration_seconds{connection,stage}       histogram per stage (sync,
//	        insights, segments, writeback, lists)
//	crmpulse_last_success_timestamp_seconds{connection}     gauge, Unix time
//	crmpulse_cycle_running{connection}                      gauge, 1 while a cycle runs
//	crmpulse_queue_length{queue}                            gauge, XLEN at scrape time
//	crmpulse_queue_pending{queue}                           gauge, XPENDING of the
//	        queue's consumer group at scrape time
//	crmpulse_queue_read_errors_total                        counter of failed depth reads
//
// plus the Go runtime and process collectors when Options.Registry is nil.
package server
