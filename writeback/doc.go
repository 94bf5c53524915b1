// Package writeback writes insight results into CRM fields: admin field
// mappings with type conversion, field validation and provisioning, a Redis
// Streams outbox, and a writer that sends only changed values, batched at
// each API's limit, with retries, dead letters, an audit trail and a
// human-edit policy.
//
// # Flow
//
//	insights ──Target.Desired──▶ outbox stream ──Writer──▶ CRM (UpdateFields)
//	                                             │
//	                          written hash, audit trail, dead letters
//
// A Target turns an Insight into the full desired field set of one record,
// already in the CRM's wire format (see Mappings and the conversion rules on
// Target). Enqueue appends one outbox entry per record. The Writer reads the
// outbox through a consumer group, keeps the latest entry per record, diffs it
// against the values it last wrote, and sends what differs.
//
// # Redis layout
//
// Every key starts with the store namespace <ns>:
//
//	<ns>:outbox:<conn>                  stream  one entry per record: object, id,
//	                                            fields (JSON, field → value), at
//	                                            (unix ms of the insight), src
//	<ns>:written:<conn>:<object>:<id>   hash    <field> → value last written,
//	                                            <field>#at → unix ms written,
//	                                            <field>#src → unix ms of its insight
//	<ns>:deadletter:<conn>              stream  permanent failures: object, id,
//	                                            fields, code, message, status, at,
//	                                            src
//	<ns>:audit:<conn>                   stream  one entry per field decision
//	                                            (capped): at, object, id, field,
//	                                            old, new, result, note
//
// The consumer group is "writeback" on each outbox stream.
//
// # Delivery and idempotency
//
// An outbox entry is acknowledged (and deleted) in the same MULTI/EXEC
// transaction that records its outcome: the written hash and audit entries
// for a success, a dead letter for a permanent failure. A writer that dies
// between sending a batch and that transaction leaves the entries pending in
// the group; the next run reads them again, re-reads the fields from the CRM
// and, finding the values already there, records them without writing again.
// Nothing is lost, and the worst case (a CRM that cannot be read) re-sends
// the same values, which is harmless.
//
// Only differences cost API calls: a record whose desired values equal the
// ones last written is acknowledged without a call. Changed records are sent
// in batches of Conn's MaxBatch (200 Salesforce records, 100 HubSpot
// records per call). Per-record failures the CRM calls transient (record
// locks, missing results, 5xx or 429 for the whole batch) are retried with
// capped backoff up to Options.MaxAttempts; what still fails stays pending
// for the next run. Permanent failures (a bad picklist value, a deleted
// record, a field without permission) go to the dead-letter stream with the
// CRM's own code and message; RetryDead requeues them once fixed.
//
// # Human edits
//
// Before overwriting a field it wrote before, the writer reads the field's
// current value from the CRM. If it differs from both the last value written
// and the new one, a person edited it: the mapping's on_human_edit decides
// (keep skips the field for that record, overwrite writes it); either way the
// audit trail and the Summary say so. A kept field is checked again the next
// time its record is queued. A human edit of a field whose desired value has
// not changed since the last write costs nothing and is left alone.
//
// # Echo
//
// Each write moves the record's modification stamp, so the sync engine sees
// it again. MappedFields lists the CRM fields crmpulse writes for a
// connection so that changes touching only those fields can be ignored.
package writeback
