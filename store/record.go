package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Record is one CRM object as stored: its normalised fields (what insights
// read) and the raw fields as the CRM sent them.
type Record struct {
	Ref
	AccountID string          // owning account; an account record owns itself
	Modified  time.Time       // CRM last-modified stamp
	Hash      string          // content hash of Fields; PutRecords fills it when empty
	Fields    map[string]any  // normalised fields
	Raw       json.RawMessage // raw CRM payload (JSON), may be nil
}

// ContentHash returns the hex SHA-256 of the canonical JSON of fields (map
// keys sorted), the default Record.Hash.
func ContentHash(fields map[string]any) (string, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("hash fields: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

const recordBatch = 500

// PutRecords writes records with their id-set and account-index entries in
// MULTI/EXEC batches, moving a record between account indexes when its
// account changed. It fills recs[i].Hash when empty (and AccountID of
// account records when empty) and returns, per record, whether its chunks
// are missing or were made from other content, i.e. whether the caller has
// to (re)chunk and embed it.
func (s *Store) PutRecords(ctx context.Context, recs []Record) ([]bool, error) {
	return s.putRecords(ctx, recs, nil)
}

// Checkpoint is a sync position for one (connection, object).
type Checkpoint struct {
	Connection string
	Object     string
	Data       []byte // JSON
}

// PutRecordsWithCheckpoint is PutRecords that also sets cp in the transaction
// of the last batch, so the checkpoint never gets ahead of the records.
func (s *Store) PutRecordsWithCheckpoint(ctx context.Context, recs []Record, cp Checkpoint) ([]bool, error) {
	if err := (Ref{Connection: cp.Connection, Object: cp.Object, ID: "-"}).Validate(); err != nil {
		return nil, fmt.Errorf("put records: checkpoint: %w", err)
	}
	return s.putRecords(ctx, recs, &cp)
}

func (s *Store) putRecords(ctx context.Context, recs []Record, cp *Checkpoint) ([]bool, error) {
	for i := range recs {
		r := &recs[i]
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("put records: record %d: %w", i, err)
		}
		if r.AccountID == "" && r.Object == TypeAccount {
			r.AccountID = r.ID
		}
		if r.Hash == "" {
			h, err := ContentHash(r.Fields)
			if err != nil {
				return nil, fmt.Errorf("put records: record %s: %w", r.Ref, err)
			}
			r.Hash = h
		}
		if len(r.Raw) > 0 && !json.Valid(r.Raw) {
			return nil, fmt.Errorf("put records: record %s: raw payload is not valid JSON", r.Ref)
		}
	}
	changed := make([]bool, len(recs))
	for start := 0; start < len(recs) || (start == 0 && cp != nil); start += recordBatch {
		end := min(start+recordBatch, len(recs))
		var last *Checkpoint
		if end == len(recs) {
			last = cp
		}
		if err := s.putBatch(ctx, recs[start:end], changed[start:end], last); err != nil {
			return nil, fmt.Errorf("put records: %w", err)
		}
	}
	return changed, nil
}

func (s *Store) putBatch(ctx context.Context, recs []Record, changed []bool, cp *Checkpoint) error {
	read := s.rdb.Pipeline()
	prev := make([]*redis.SliceCmd, len(recs))
	for i, r := range recs {
		prev[i] = read.HMGet(ctx, s.recKey(r.Ref), "account", "chunked")
	}
	if len(recs) > 0 {
		if _, err := read.Exec(ctx); err != nil {
			return fmt.Errorf("read previous accounts: %w", err)
		}
	}
	tx := s.rdb.TxPipeline()
	for i, r := range recs {
		vals := prev[i].Val()
		oldAcct, _ := vals[0].(string)
		chunked, _ := vals[1].(string)
		changed[i] = chunked != r.Hash
		fields, err := json.Marshal(r.Fields)
		if err != nil {
			return fmt.Errorf("record %s fields: %w", r.Ref, err)
		}
		raw := r.Raw
		if raw == nil {
			raw = json.RawMessage("null")
		}
		key := s.recKey(r.Ref)
		tx.HSet(ctx, key, "conn", r.Connection, "object", r.Object, "id", r.ID, "account", r.AccountID,
			"modified", r.Modified.UTC().Format(time.RFC3339Nano), "hash", r.Hash,
			"fields", string(fields), "raw", string(raw))
		tx.SAdd(ctx, s.idsKey(r.Connection, r.Object), r.ID)
		if oldAcct != "" && oldAcct != r.AccountID {
			tx.SRem(ctx, s.acctKey(r.Connection, oldAcct), r.Ref.String())
		}
		if r.AccountID != "" {
			tx.SAdd(ctx, s.acctKey(r.Connection, r.AccountID), r.Ref.String())
		}
	}
	if cp != nil {
		tx.Set(ctx, s.ckptKey(cp.Connection, cp.Object), cp.Data, 0)
	}
	return execTx(ctx, tx)
}

// GetRecord returns the stored record, or an error wrapping ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, r Ref) (Record, error) {
	if err := r.Validate(); err != nil {
		return Record{}, fmt.Errorf("get record: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.recKey(r)).Result()
	if err != nil {
		return Record{}, fmt.Errorf("get record %s: %w", r, err)
	}
	if h["id"] == "" {
		return Record{}, fmt.Errorf("get record %s: %w", r, ErrNotFound)
	}
	rec := Record{Ref: r, AccountID: h["account"], Hash: h["hash"]}
	if h["modified"] != "" {
		if rec.Modified, err = time.Parse(time.RFC3339Nano, h["modified"]); err != nil {
			return Record{}, fmt.Errorf("get record %s: modified: %w", r, err)
		}
	}
	if err := json.Unmarshal([]byte(h["fields"]), &rec.Fields); err != nil {
		return Record{}, fmt.Errorf("get record %s: fields: %w", r, err)
	}
	if raw := h["raw"]; raw != "" && raw != "null" {
		rec.Raw = json.RawMessage(raw)
	}
	return rec, nil
}

// RecordIDs returns the ids of the stored records of one object of one
// connection, sorted.
func (s *Store) RecordIDs(ctx context.Context, conn, object string) ([]string, error) {
	if err := (Ref{Connection: conn, Object: object, ID: "-"}).Validate(); err != nil {
		return nil, fmt.Errorf("record ids: %w", err)
	}
	ids, err := s.rdb.SMembers(ctx, s.idsKey(conn, object)).Result()
	if err != nil {
		return nil, fmt.Errorf("record ids of %s:%s: %w", conn, object, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// AccountRecords returns the refs of every record of an account (including
// the account record and records that only have chunks), sorted.
func (s *Store) AccountRecords(ctx context.Context, conn, account string) ([]Ref, error) {
	members, err := s.rdb.SMembers(ctx, s.acctKey(conn, account)).Result()
	if err != nil {
		return nil, fmt.Errorf("account records of %s:%s: %w", conn, account, err)
	}
	slices.Sort(members)
	refs := make([]Ref, 0, len(members))
	for _, m := range members {
		r, err := ParseRef(m)
		if err != nil {
			return nil, fmt.Errorf("account records of %s:%s: %w", conn, account, err)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// GetCheckpoint returns the checkpoint of (conn, object), or nil when none
// was written.
func (s *Store) GetCheckpoint(ctx context.Context, conn, object string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.ckptKey(conn, object)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get checkpoint %s:%s: %w", conn, object, err)
	}
	return b, nil
}

// SetCheckpoint stores the checkpoint of (conn, object). Call it only after
// everything the checkpoint covers is written (see the package doc).
func (s *Store) SetCheckpoint(ctx context.Context, conn, object string, data []byte) error {
	if err := (Ref{Connection: conn, Object: object, ID: "-"}).Validate(); err != nil {
		return fmt.Errorf("set checkpoint: %w", err)
	}
	if err := s.rdb.Set(ctx, s.ckptKey(conn, object), data, 0).Err(); err != nil {
		return fmt.Errorf("set checkpoint %s:%s: %w", conn, object, err)
	}
	return nil
}
