package store

import (
	"context"
	"errors"
	"fmt"
)

// Object types carried in the "type" filter attribute.
const (
	TypeAccount     = "account"
	TypeContact     = "contact"
	TypeOpportunity = "opportunity"
	TypeActivity    = "activity"
	TypeDocument    = "document"
)

// Attrs are the filterable attributes stored with each vector. Every string is
// a slug ([a-z0-9_] plus '-' and ':' for ids) so that neither flavour needs
// escaping at query time; Slug normalises categorical values on write.
// Zero values are stored as absent (an empty string matches no Equals filter).
type Attrs struct {
	Type       string  `json:"type,omitempty"`     // account|opportunity|activity|document
	Connection string  `json:"conn,omitempty"`     // connection name
	Account    string  `json:"account,omitempty"`  // account id the chunk belongs to
	Record     string  `json:"record,omitempty"`   // source record id
	Industry   string  `json:"industry,omitempty"` // industry slug
	SizeBand   string  `json:"size,omitempty"`     // size band slug
	Stage      string  `json:"stage,omitempty"`    // deal stage slug (opportunities)
	Segment    string  `json:"segment,omitempty"`  // segment slug
	Kind       string  `json:"kind,omitempty"`     // activity kind or document kind
	Date       int64   `json:"date,omitempty"`     // unix seconds of the record's business date
	Amount     float64 `json:"amount,omitempty"`   // deal amount, when any
}

// Item is one vector with its attributes. ID is the chunk id, unique per index.
type Item struct {
	ID     string
	Vector []float32
	Attrs  Attrs
}

// Range bounds a numeric attribute ("date" or "amount"); nil means open.
type Range struct {
	Field string
	Min   *float64
	Max   *float64
}

// Filter restricts a search: every Equals entry must match one of its values
// (field names are the JSON names of Attrs: type, conn, account, record,
// industry, size, stage, segment, kind) and every Range must hold.
type Filter struct {
	Equals map[string][]string
	Ranges []Range
}

// Query is a KNN search. Filter is validated with Filter.Validate; an
// invalid filter returns an error wrapping ErrInvalidFilter.
type Query struct {
	Vector   []float32
	K        int     // results wanted; 0 means 10
	MinScore float64 // similarity threshold in [0,1]; 0 means none
	Filter   Filter
}

// Hit is one search result. Score is a similarity in [0,1], 1 being identical
// (cosine similarity s mapped as (1+s)/2, the vector-set scale).
type Hit struct {
	ID    string
	Score float64
	Attrs Attrs
}

// IndexMeta identifies what the vectors in an index were made with.
type IndexMeta struct {
	Embedder  string `json:"embedder"`
	Dimension int    `json:"dimension"`
}

// VectorIndex is a KNN index with attribute filters. Implementations are safe
// for concurrent use.
type VectorIndex interface {
	// Flavour names the implementation ("vectorset" or "querying").
	Flavour() string
	// Ensure creates the index for meta, or checks that an existing index was
	// built with the same embedder and dimension; a difference returns an
	// error wrapping ErrIndexMismatch (the caller rebuilds; vectors are never mixed).
	Ensure(ctx context.Context, meta IndexMeta) error
	// Meta returns the stored metadata; ErrNoIndex when the index does not exist.
	Meta(ctx context.Context) (IndexMeta, error)
	// Upsert adds or replaces items (vector and attributes). A vector of the
	// wrong dimension is refused with an error wrapping ErrDimension, attributes
	// failing Attrs.Validate with ErrInvalidAttrs, both before anything is sent;
	// ErrNoIndex before Ensure.
	Upsert(ctx context.Context, items []Item) error
	// Delete removes items by id; missing ids are ignored.
	Delete(ctx context.Context, ids ...string) error
	// Search returns up to q.K hits, best first, with Score >= q.MinScore.
	Search(ctx context.Context, q Query) ([]Hit, error)
	// Count returns the number of vectors in the index.
	Count(ctx context.Context) (int64, error)
	// Drop deletes the index and its metadata.
	Drop(ctx context.Context) error
}

var (
	// ErrIndexMismatch: the index was built by another embedder or dimension.
	ErrIndexMismatch = errors.New("vector index built with a different embedder or dimension")
	// ErrDimension: a vector's length differs from the index dimension.
	ErrDimension = errors.New("vector dimension mismatch")
	// ErrNoIndex: the index does not exist yet.
	ErrNoIndex = errors.New("vector index does not exist")
)

// MismatchError details an ErrIndexMismatch.
type MismatchError struct {
	Have, Want IndexMeta
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("vector index was built with embedder %q (dimension %d) but %q (dimension %d) is configured; run a rebuild (crmpulse sync --rebuild-index)",
		e.Have.Embedder, e.Have.Dimension, e.Want.Embedder, e.Want.Dimension)
}

func (e *MismatchError) Unwrap() error { return ErrIndexMismatch }
