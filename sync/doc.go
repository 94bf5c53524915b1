// Package sync is crmpulse's incremental sync engine: it reads each
// configured connection's change feeds, stores the records in Redis, turns
// them into chunks with filterable attributes, embeds what changed and keeps
// per-account aggregates and an analysis queue for the insight workers.
// Importers name it crmsync.
//
// # Runs
//
// A run handles each connection in three phases:
//
//  1. Read. For every configured object (accounts, contacts, opportunities,
//     activities; in parallel, bounded by Options.Workers) the engine applies
//     the CRM's deletion list since the previous run, then reads the change
//     feed from the saved cursor page by page. Each page is validated
//     (malformed records are quarantined, see below), compared with what is
//     stored (content hash over the normalised fields and the owning account;
//     the write-back fields never enter it), and written.
//  2. Reconcile (every sync.reconcile_every, or when forced). The ids stored
//     per object are compared with the CRM's live ids (ListIDs, ids only);
//     records purged from the CRM without a trace are deleted.
//  3. Derive. Every account touched in 1 or 2 is rebuilt: its chunks, their
//     vectors, its aggregate, and an entry on the analysis queue when its
//     content changed. Workers (Options.Workers) plan accounts in parallel
//     and write them in batches of about Options.WriteBatch chunks: one
//     embedder call per Options.EmbedBatch texts, every changed owner's
//     chunks and vectors in one store.ReplaceChunksBatch (pipelines of up to
//     1000 writes, two in flight to the vector set), the owners' content
//     hashes in one pipeline, and the aggregates, queue entries and dirty
//     marks of the whole batch in one MULTI/EXEC.
//
// # Durability contract
//
// The checkpoint of an object (its change-feed cursor) advances only once
// everything the page it covers implies is durable in Redis:
//
//   - the accounts the page touches are added to the dirty set
//     (<ns>:dirty:<conn>) first;
//   - records deleted by the page are then removed with their chunks and
//     vectors (store.DeleteRecordEverywhere);
//   - the page's records and the new cursor are written in one MULTI/EXEC
//     (store.PutRecordsWithCheckpoint).
//
// Derived data is rebuilt from the stored records of the dirty accounts and
// an account leaves the dirty set only after its chunks, vectors, aggregate
// and queue entry are written: with the whole write batch it belongs to. A run stopped at any point (cancellation, a
// crash, kill -9) therefore loses nothing: the next run re-reads the feed
// from the last checkpoint (the connectors drop versions already delivered)
// and rebuilds every account still dirty. Rebuilds are idempotent.
//
// # Chunks and their owners
//
// Every chunk belongs to exactly one owner, and an owner's chunks are always
// replaced as a whole (store.ReplaceChunksBatch), so updates and deletes
// stay exact:
//
//   - the account record owns its profile chunk: name, industry, size band,
//     country, description, purchase history (won deals with dates, amounts
//     and products), open pipeline and last contact;
//   - opportunities are packed: those of one account in one stage form a deal
//     digest (object TypeDealDigest, id "<account>.<stage>"), one text per
//     deal (name, stage, amount, dates, products, competitor, loss reason,
//     description) packed into ~1000-character chunks with internal/chunk.Pack;
//     every chunk carries its stage, the latest close date and the largest
//     amount of its deals;
//   - activities are packed the same way: all activities of one account dated
//     in one calendar year form an activity digest (object TypeActivityDigest,
//     id "<account>.<year>"; long texts split with overlap).
//
// A digest is rebuilt whenever any of its members changes, moves to another
// account or stage, or is deleted; one that loses its last member is
// removed with its vectors. Vector insertion bounds the initial sync, so
// fewer, denser chunks make it faster. Each vector is written once: the
// vector set keeps no per-account copies, and account-scoped retrieval goes
// through store.Store.Search, which is exact from the chunk hashes.
//
// Chunk attributes carry the account id, industry and size band slugs,
// stage (opportunities), kind, date and amount. The content hash of each
// owner's chunk texts and attributes is kept in <ns>:derived:<conn>:<account>;
// an owner is re-embedded only when that hash changes, and embed.Cached skips
// texts embedded before.
//
// # Echo loops
//
// crmpulse's own write-backs (the fields of the configured write-back
// mappings) change a record's modification stamp but never its content hash,
// which covers only the normalised fields and the owning account. Such a
// version updates the stored stamp and raw payload and nothing else: no
// account is rebuilt, nothing is embedded or queued. The summary counts it as
// "echo skipped" when the raw payload shows a write-back field changing, and
// as "skipped" when the CRM did not send those fields (Salesforce's feed
// selects the standard fields only); either way it costs nothing.
//
// # Erasure
//
// Forget erases a record (an account: with all of its records) and every
// value derived from it, then adds the SHA-256 of its id to
// <ns>:forgotten:<conn>: later runs skip the record, and records of an erased
// account, and keep their ids out of saved cursors.
//
// # Quarantine
//
// A record that cannot be stored faithfully (missing id, an id unusable in
// keys, invalid UTF-8, a text field over MaxFieldBytes, a non-finite number,
// a value of the wrong type for its field) is written to
// <ns>:quarantine:<conn> with the connection, object, id, field and reason,
// and the rest of its page is synced; the checkpoint still advances. A later
// valid version of the record removes its quarantine entry. A record the CRM
// sent without an id (or without its modification stamp) cannot move the
// change cursor: the connectors pass it on beside the page for quarantine
// alone, and its entry is keyed by a digest of the payload, since there is
// no id to match a later version against.
package sync
