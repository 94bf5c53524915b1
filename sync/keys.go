package sync

import "github.com/crmpulse/crmpulse/store"

// Store object types of digests: packed chunks owned by an account (see
// the package documentation). They exist only as chunk owners, never as
// records.
const (
	// TypeActivityDigest: the activities of one account and calendar year,
	// id "<account>.<year>".
	TypeActivityDigest = "activities"
	// TypeDealDigest: the opportunities of one account and stage, id
	// "<account>.<stage slug>".
	TypeDealDigest = "deals"
)

// The analysis queues: one Redis Stream per connection at
// <ns>:analysis:<conn> (AnalysisQueue) to which the engine appends one entry
// per account whose content changed, after the account's chunks and
// aggregates are written. Entries carry the fields below. Delivery is at
// least once: an interrupted run may append an account again. Consumers read
// it with a consumer group and trim it. One stream per connection keeps the
// cycles of different connections, which may run at the same time, from
// taking each other's accounts.
const (
	// QueueAnalysis is the key suffix of the single stream all connections
	// shared before; MigrateAnalysisQueue moves what is left in it.
	QueueAnalysis = "queue:analysis"
	// QueueFieldConn is the connection name.
	QueueFieldConn = "conn"
	// QueueFieldAccount is the account id.
	QueueFieldAccount = "account"
	// QueueFieldDeleted is "1" when the account no longer exists (deleted in
	// the CRM or erased); absent otherwise.
	QueueFieldDeleted = "deleted"
)

// AnalysisQueue returns the stream key of a connection's analysis queue.
func AnalysisQueue(st *store.Store, conn string) string { return st.Key("analysis", conn) }

// Keys the engine owns, beside the store's own (all under the namespace):
//
//	<ns>:dirty:<conn>              set     accounts whose derived data must be rebuilt
//	<ns>:derived:<conn>:<account>  hash    chunk owner ref -> content hash of its chunks
//	<ns>:agg:<conn>:<account>      string  Aggregate JSON
//	<ns>:quarantine:<conn>         hash    "<object>:<id>" -> Quarantined JSON
//	<ns>:reconciled:<conn>         string  RFC 3339 time of the last id reconciliation
//	<ns>:lock:sync:<conn>          string  run lock (token, expires)
//	<ns>:forgotten:<conn>          set     SHA-256 of ids erased by Forget (never synced again)
//	<ns>:analysis:<conn>           stream  see AnalysisQueue
func dirtyKey(st *store.Store, conn string) string { return st.Key("dirty", conn) }

func derivedKey(st *store.Store, conn, account string) string {
	return st.Key("derived", conn, account)
}

// AggregateKey is where the aggregate of an account is kept.
func AggregateKey(st *store.Store, conn, account string) string {
	return st.Key("agg", conn, account)
}

// QuarantineKey is the hash of quarantined records of a connection.
func QuarantineKey(st *store.Store, conn string) string { return st.Key("quarantine", conn) }

func reconciledKey(st *store.Store, conn string) string { return st.Key("reconciled", conn) }

func lockKey(st *store.Store, conn string) string { return st.Key("lock", "sync", conn) }
