// Package connectors is crmpulse's portable CRM API: a CRM-neutral record
// model, resumable change cursors, write-back results and error
// classification, over a small Driver interface that each CRM implements
// (connectors/salesforce, connectors/hubspot).
//
// The split follows go-cloud: drivers are thin and return one page at a time;
// the concrete Conn type on top validates arguments, chunks batch writes to
// the driver's limit, de-duplicates change pages and wraps every error with
// the connection name and operation, so callers (the sync engine, write-back
// and segments) see one behaviour whatever the CRM.
//
// # Records
//
// Every object is read as a Record: the CRM's id, the owning account id, the
// modification stamp the incremental cursor runs on, a Deleted flag for
// soft-deleted (recycle bin / archived) rows, normalised Fields under the
// neutral keys declared below (FName, FIndustry, ...) and the CRM's raw
// payload. Typed views (Record.Account, Record.Opportunity, ...) convert a
// record of the matching object into a plain struct. One record type keeps
// the sync engine generic: it stores, diffs and checkpoints records without
// knowing which CRM or object they came from.
//
// # Incremental reads
//
// Changes returns the records changed since a Cursor, page by page. A cursor
// is a JSON-serialisable checkpoint: save Page.Next after each page has been
// stored and pass it back to resume, in the same process or after a restart.
// A run ends with Page.Done; the cursor it returns starts the next run.
// Windows are bounded above by the CRM server's clock minus a lag (late
// commits, search indexing delay) and each new run re-reads a look-back
// overlap, de-duplicated by (id, modified stamp): records are never lost at
// page boundaries or timestamp ties, and the same version is delivered once.
// Soft deletes and undeletes arrive in the change feed as records with
// Deleted set where the CRM exposes them (Salesforce queryAll); hard deletes
// and CRMs that hide deleted rows are reconciled with Deletions and ListIDs.
//
// # Errors
//
// Errors returned by Conn wrap one of the sentinels ErrReauthorize,
// ErrQuotaExhausted, ErrRateLimited, ErrTransient or ErrPermanent (test with
// errors.Is) and, when the CRM answered, an *Error carrying its own code and
// message (errors.As). Per-record write failures are not errors: they are
// reported in WriteResult.
package connectors
