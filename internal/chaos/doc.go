// Package chaos is crmpulse's fault-tolerance and security suite: crash
// trials (kill -9 of a sync or write-back process at a random moment), Redis
// restarts mid-run, 429 storms, token revocation, malformed CRM records and
// leak checks (tokens at rest and in logs, query escaping, PII redaction).
//
// Every trial ends with an exact consistency check (Check): the records
// stored for each connection and object equal the sandbox's live records
// (ids, modification stamps, owning accounts, fields), the chunks equal what
// an uninterrupted sync of the same CRM state derives (ids, texts,
// attributes), every chunk has its vector and no vector exists without its
// chunk, and no account is left dirty. Write-back trials check that every
// queued value reached the CRM exactly once in its final version.
//
// The suite runs in two sizes: a quick one inside `go test` (a few trials
// per kind) and the full one with CRMPULSE_CHAOS=full (`make chaos`, at
// least 20 trials per kind). Crash trials run the real crmpulse binary as a
// subprocess against a sandbox served over HTTP and a private Redis; when the
// binary's sync command is not available in the build, the test binary
// re-executes itself as a child running the same wiring (app.Open,
// sync.FromApp), see ChildMain.
package chaos
