package connectors

import (
	"context"
	"time"
)

// Driver is what each CRM implements. Drivers are thin: they speak the CRM's
// wire format and return one page at a time; Conn adds validation, chunking,
// de-duplication checks and error wrapping. Implementations must be safe for
// concurrent use by multiple goroutines (for different objects).
type Driver interface {
	// Kind names the CRM: "salesforce" or "hubspot".
	Kind() string
	// Changes returns the next page of records of obj changed after cur,
	// with the cursor to resume from. See Cursor for the window rules.
	Changes(ctx context.Context, obj Object, cur Cursor) (Page, error)
	// Deletions lists records of obj deleted (or archived) at or after since.
	Deletions(ctx context.Context, obj Object, since time.Time) ([]Deletion, error)
	// ListIDs calls fn with every live id of obj, a page at a time. It
	// fetches ids only.
	ListIDs(ctx context.Context, obj Object, fn func(ids []string) error) error
	// UpdateFields writes field values; len(updates) <= MaxBatch(). It
	// returns one result per update, in input order. A returned error means
	// the whole call failed and nothing is known to have been written.
	UpdateFields(ctx context.Context, obj Object, updates []Update) ([]WriteResult, error)
	// MaxBatch is the most updates one UpdateFields call accepts.
	MaxBatch() int
	// DescribeFields lists the fields of obj visible to the integration user.
	DescribeFields(ctx context.Context, obj Object) ([]FieldInfo, error)
	// EnsureField creates a custom field unless it exists (with its
	// permissions and, for picklists, missing options), and returns it.
	EnsureField(ctx context.Context, obj Object, spec FieldSpec) (FieldInfo, error)
	// EnsureSegment creates or updates a CRM-native dynamic segment (list
	// view, report, dynamic list) selecting records whose spec.Field equals
	// spec.Value. It never creates a duplicate.
	EnsureSegment(ctx context.Context, spec SegmentSpec) (Segment, error)
	// SegmentMembers returns the ids of the records in a segment.
	SegmentMembers(ctx context.Context, seg Segment) ([]string, error)
	// Usage reports API consumption observed so far.
	Usage() Usage
}

// Page is one page of a change feed.
type Page struct {
	Records []Record
	// Next resumes after this page. Checkpoint it once Records are stored.
	Next Cursor
	// Done: the run's window is complete; Next starts the next run.
	Done bool
}

// Deletion is a record removed from the CRM.
type Deletion struct {
	Object Object
	Type   string // CRM object name
	ID     string
	At     time.Time
}

// Update is one record's write-back.
type Update struct {
	ID     string
	Fields map[string]any // CRM field API names → values
}

// WriteResult is the outcome of one Update.
type WriteResult struct {
	ID        string
	OK        bool
	Err       *Error // the CRM's code and message when !OK
	Retryable bool   // a retry of this record alone may succeed
}

// Field types for FieldSpec and FieldInfo.Type (neutral spellings).
const (
	TypeNumber   = "number"
	TypeText     = "text"
	TypeTextArea = "textarea"
	TypeDate     = "date"
	TypeDateTime = "datetime"
	TypeBool     = "bool"
	TypePicklist = "picklist" // Salesforce picklist, HubSpot enumeration
)

// FieldSpec describes a custom field to provision.
type FieldSpec struct {
	Name        string // CRM API name: AI_Segment__c, ai_segment
	Label       string
	Type        string // Type* constant
	Description string
	Length      int      // text: max length (default 255; textarea 32768)
	Precision   int      // number: total digits (default 18)
	Scale       int      // number: decimals (default 2)
	Options     []Option // picklist values
}

// Option is a picklist / enumeration value.
type Option struct {
	Value string // stored value (HubSpot option value, Salesforce API name)
	Label string
}

// FieldInfo describes an existing field.
type FieldInfo struct {
	Name       string
	Label      string
	Type       string // neutral type when mappable, else the CRM's own type
	CRMType    string // the CRM's own type name
	Custom     bool
	Updateable bool
	Options    []Option
	// Length is the most characters a text field holds (0: unknown or not
	// text).
	Length int
}

// SegmentSpec is a dynamic segment: records of Object whose Field equals Value.
type SegmentSpec struct {
	Object  Object
	Name    string // human name, e.g. "AI segment: VIP"
	Field   string // CRM field API name holding the segment label
	Value   string // the value selecting members
	Label   string // label of Value when the field's options must grow
	Columns []string
	// ID is the Segment.ID an earlier EnsureSegment returned for this
	// segment, when the caller kept it. The driver then updates that
	// segment in place, renaming it to Name, instead of looking it up by
	// name, so a renamed segment never leaves a duplicate behind. An ID
	// that no longer exists falls back to the lookup by name.
	ID string
}

// Segment identifies a CRM-native segment.
type Segment struct {
	Object Object
	Kind   string // "listview", "report" (Salesforce) or "list" (HubSpot)
	ID     string // list view id / api name, report id, list id
	Name   string
	// Created is true when EnsureSegment created it (false: found and updated).
	Created bool
}

// Usage is the API consumption observed by a connection.
type Usage struct {
	Used, Limit int64            // daily allowance as last reported by the CRM (0: unknown)
	Calls       map[string]int64 // requests sent per endpoint, including retries
}
