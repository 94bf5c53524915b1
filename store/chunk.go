package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Chunk is a piece of a record's text with its embedding and the attributes
// its vector is filtered by.
type Chunk struct {
	ID     string // ChunkID(Record, N); set by ReplaceChunks
	Record Ref    // set by ReplaceChunks
	N      int    // position within the record; set by ReplaceChunks
	Text   string
	Vector []float32 // not loaded by GetChunks
	Attrs  Attrs
}

// Item returns the chunk as a vector-index item.
func (c Chunk) Item() Item { return Item{ID: c.ID, Vector: c.Vector, Attrs: c.Attrs} }

// ReplaceChunks makes chunks the complete chunk list of record r: chunk i
// gets id ChunkID(r, i), its hash is written, its vector upserted into the
// attached index, and chunks (hashes and vectors) the record no longer has
// are removed. Attrs.Connection and Attrs.Record are set from r, and
// Attrs.Type defaults to r.Object. contentHash is the Record.Hash the chunks
// were made from ("" if none); it is remembered so that PutRecords can tell
// when the record needs chunking again.
//
// The steps are ordered so that an interrupted call leaves no untracked data:
// new ids are registered first, then vectors and hashes are written, and
// stale ids are forgotten only after their vectors and hashes are gone.
// Calling ReplaceChunks again (or DeleteRecordEverywhere) converges.
//
// ReplaceChunks is ReplaceChunksBatch with one owner; callers replacing the
// chunks of many records should batch them.
func (s *Store) ReplaceChunks(ctx context.Context, r Ref, contentHash string, chunks []Chunk) error {
	return s.ReplaceChunksBatch(ctx, []OwnerChunks{{Ref: r, ContentHash: contentHash, Chunks: chunks}})
}

// OwnerChunks is the complete chunk list of one record (the chunks'
// owner) for ReplaceChunksBatch; ContentHash is as in ReplaceChunks.
type OwnerChunks struct {
	Ref         Ref
	ContentHash string
	Chunks      []Chunk
}

// ChunkWriteBatch is how many chunk writes (ids, hashes or vectors) one
// round trip of ReplaceChunksBatch carries at most.
const ChunkWriteBatch = 1000

// ReplaceChunksBatch does what ReplaceChunks does for many owners at once,
// in pipelines of up to ChunkWriteBatch writes instead of several round
// trips per owner. Each owner's chunks are filled in place as ReplaceChunks
// fills them. Every chunk is validated before anything is written; an owner
// listed twice is refused.
//
// The crash ordering of ReplaceChunks holds across the whole batch: the ids
// of every owner are registered before any vector is written, every vector
// before any chunk hash, and stale ids are forgotten after their vectors and
// hashes are gone. The hashes and chunked mark of one owner are written in
// one MULTI/EXEC. After an error or a crash at any point, calling it again
// with the same owners (or deleting them) converges.
func (s *Store) ReplaceChunksBatch(ctx context.Context, owners []OwnerChunks) error {
	if s.idx == nil {
		return fmt.Errorf("replace chunks: %w", ErrNoVectorIndex)
	}
	if len(owners) == 0 {
		return nil
	}
	var items []Item
	seen := make(map[string]bool, len(owners))
	conns := map[string]bool{}
	for oi := range owners {
		o := &owners[oi]
		r := o.Ref
		if err := r.Validate(); err != nil {
			return fmt.Errorf("replace chunks: owner %d: %w", oi, err)
		}
		if seen[r.String()] {
			return fmt.Errorf("replace chunks: owner %s listed twice", r)
		}
		seen[r.String()] = true
		conns[r.Connection] = true
		for i := range o.Chunks {
			c := &o.Chunks[i]
			c.Record, c.N, c.ID = r, i, ChunkID(r, i)
			c.Attrs.Connection, c.Attrs.Record = r.Connection, r.ID
			if c.Attrs.Type == "" {
				c.Attrs.Type = r.Object
			}
			if err := c.Attrs.Validate(); err != nil {
				return fmt.Errorf("replace chunks of %s: chunk %d: %w", r, i, err)
			}
			items = append(items, c.Item())
		}
	}
	attrs := make([][]string, len(owners))
	for oi, o := range owners {
		attrs[oi] = make([]string, len(o.Chunks))
		for i, c := range o.Chunks {
			b, err := json.Marshal(c.Attrs)
			if err != nil {
				return fmt.Errorf("replace chunks of %s: chunk %d attributes: %w", o.Ref, i, err)
			}
			attrs[oi][i] = string(b)
		}
	}

	stale, err := s.staleChunks(ctx, owners)
	if err != nil {
		return err
	}
	// 1. Register the new ids, the accounts and the connections so that
	// nothing goes untracked.
	if err := s.registerChunks(ctx, owners, conns); err != nil {
		return err
	}
	// 2. Vectors (validated by the index before anything is sent).
	if err := s.idx.Upsert(ctx, items); err != nil {
		return fmt.Errorf("replace chunks: %w", err)
	}
	// 3. Chunk hashes and the chunked marks, one owner never split.
	if err := s.writeChunkHashes(ctx, owners, attrs); err != nil {
		return err
	}
	// 4. Stale vectors, then their hashes and ids.
	if err := s.removeChunks(ctx, stale); err != nil {
		return fmt.Errorf("replace chunks: %w", err)
	}
	return nil
}

// staleChunks returns, per owner, the stored chunk ids the new lists drop.
func (s *Store) staleChunks(ctx context.Context, owners []OwnerChunks) (map[Ref][]string, error) {
	stale := map[Ref][]string{}
	for start := 0; start < len(owners); start += ChunkWriteBatch {
		group := owners[start:min(start+ChunkWriteBatch, len(owners))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(group))
		for i, o := range group {
			cmds[i] = pipe.SMembers(ctx, s.rchunksKey(o.Ref))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("replace chunks: read chunk ids: %w", err)
		}
		for i, o := range group {
			for _, id := range cmds[i].Val() {
				if n := chunkNo(id); n < 0 || n >= len(o.Chunks) || o.Chunks[n].ID != id {
					stale[o.Ref] = append(stale[o.Ref], id)
				}
			}
		}
	}
	return stale, nil
}

// registerChunks adds the new chunk ids to their owners' sets, the owners to
// their accounts' indexes and the connections to the registry.
func (s *Store) registerChunks(ctx context.Context, owners []OwnerChunks, conns map[string]bool) error {
	tx := s.rdb.TxPipeline()
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		n = 0
		if err := execTx(ctx, tx); err != nil {
			return fmt.Errorf("replace chunks: register ids: %w", err)
		}
		tx = s.rdb.TxPipeline()
		return nil
	}
	for c := range conns {
		tx.SAdd(ctx, s.connsKey(), c)
		n++
	}
	for _, o := range owners {
		if len(o.Chunks) == 0 {
			continue
		}
		ids := make([]any, len(o.Chunks))
		accounts := map[string]bool{}
		for i, c := range o.Chunks {
			ids[i] = c.ID
			if c.Attrs.Account != "" {
				accounts[c.Attrs.Account] = true
			}
		}
		tx.SAdd(ctx, s.rchunksKey(o.Ref), ids...)
		for a := range accounts {
			tx.SAdd(ctx, s.acctKey(o.Ref.Connection, a), o.Ref.String())
		}
		if n += len(ids); n >= ChunkWriteBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// writeChunkHashes writes the chunk hashes and the chunked marks in
// MULTI/EXEC groups of about ChunkWriteBatch chunks.
func (s *Store) writeChunkHashes(ctx context.Context, owners []OwnerChunks, attrs [][]string) error {
	tx := s.rdb.TxPipeline()
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		n = 0
		if err := execTx(ctx, tx); err != nil {
			return fmt.Errorf("replace chunks: write chunks: %w", err)
		}
		tx = s.rdb.TxPipeline()
		return nil
	}
	for oi, o := range owners {
		r := o.Ref
		for i, c := range o.Chunks {
			tx.HSet(ctx, s.chunkKey(c.ID), "record", r.String(), "n", c.N, "account", c.Attrs.Account,
				"text", c.Text, "attrs", attrs[oi][i], "vec", EncodeFP32(c.Vector))
		}
		if o.ContentHash != "" {
			markChunked.Eval(ctx, tx, []string{s.recKey(r)}, o.ContentHash)
		}
		if n += len(o.Chunks) + 1; n >= ChunkWriteBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// markChunked records the content hash the chunks were made from, without
// creating a record that does not exist.
var markChunked = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'chunked', ARGV[1])
end
return 0`)

// removeChunks deletes chunks of owners: their vectors first, then (in
// MULTI/EXEC groups) their hashes and their ids.
func (s *Store) removeChunks(ctx context.Context, byOwner map[Ref][]string) error {
	if len(byOwner) == 0 {
		return nil
	}
	var all []string
	for _, ids := range byOwner {
		all = append(all, ids...)
	}
	if err := s.idx.Delete(ctx, all...); err != nil {
		return fmt.Errorf("delete vectors: %w", err)
	}
	tx := s.rdb.TxPipeline()
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		n = 0
		if err := execTx(ctx, tx); err != nil {
			return fmt.Errorf("delete chunk hashes: %w", err)
		}
		tx = s.rdb.TxPipeline()
		return nil
	}
	for r, ids := range byOwner {
		members := make([]any, len(ids))
		for i, id := range ids {
			tx.Del(ctx, s.chunkKey(id))
			members[i] = id
		}
		tx.SRem(ctx, s.rchunksKey(r), members...)
		if n += len(ids); n >= ChunkWriteBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// ChunkIDs returns the chunk ids of record r in chunk order.
func (s *Store) ChunkIDs(ctx context.Context, r Ref) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.rchunksKey(r)).Result()
	if err != nil {
		return nil, fmt.Errorf("chunk ids of %s: %w", r, err)
	}
	slices.SortFunc(ids, func(a, b string) int { return chunkNo(a) - chunkNo(b) })
	return ids, nil
}

// chunkNo returns the chunk number of an id, or -1 when it has none.
func chunkNo(id string) int {
	n, err := strconv.Atoi(id[strings.LastIndexByte(id, '#')+1:])
	if err != nil {
		return -1
	}
	return n
}

// GetChunks returns the stored chunks with the given ids (for instance the
// hits of a search) in the order asked, without their vectors; ids with no
// stored chunk are left out.
func (s *Store) GetChunks(ctx context.Context, ids []string) ([]Chunk, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.chunkKey(id), "record", "n", "text", "attrs")
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("get chunks: %w", err)
		}
	}
	out := make([]Chunk, 0, len(ids))
	for i, c := range cmds {
		v := c.Val()
		rec, _ := v[0].(string)
		if rec == "" {
			continue
		}
		ch, err := decodeChunk(ids[i], rec, v[1], v[2], v[3])
		if err != nil {
			return nil, fmt.Errorf("get chunks: %w", err)
		}
		out = append(out, ch)
	}
	return out, nil
}

func decodeChunk(id, rec string, n, text, attrs any) (Chunk, error) {
	ref, err := ParseRef(rec)
	if err != nil {
		return Chunk{}, fmt.Errorf("chunk %s: %w", id, err)
	}
	c := Chunk{ID: id, Record: ref}
	ns, _ := n.(string)
	if c.N, err = strconv.Atoi(ns); err != nil {
		return Chunk{}, fmt.Errorf("chunk %s: number %q: %w", id, ns, err)
	}
	c.Text, _ = text.(string)
	as, _ := attrs.(string)
	if err := json.Unmarshal([]byte(as), &c.Attrs); err != nil {
		return Chunk{}, fmt.Errorf("chunk %s: attributes: %w", id, err)
	}
	return c, nil
}

// ScanChunks calls fn with every stored chunk as an index item (id, stored
// vector, attributes), in no particular order, stopping at fn's first error.
// Chunks written or deleted during the scan may or may not be seen.
func (s *Store) ScanChunks(ctx context.Context, fn func(Item) error) error {
	prefix := s.ns + ":chunk:"
	iter := s.rdb.Scan(ctx, 0, globEscape(prefix)+"*", 500).Iterator()
	var keys []string
	flush := func() error {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.HMGet(ctx, k, "vec", "attrs")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("read chunks: %w", err)
		}
		for i, c := range cmds {
			v := c.Val()
			vec, _ := v[0].(string)
			attrs, _ := v[1].(string)
			if attrs == "" {
				continue // deleted since the scan saw it
			}
			it := Item{ID: strings.TrimPrefix(keys[i], prefix)}
			var err error
			if it.Vector, err = DecodeFP32([]byte(vec)); err != nil {
				return fmt.Errorf("chunk %s: %w", it.ID, err)
			}
			if err := json.Unmarshal([]byte(attrs), &it.Attrs); err != nil {
				return fmt.Errorf("chunk %s: attributes: %w", it.ID, err)
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		keys = keys[:0]
		return nil
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			if err := flush(); err != nil {
				return fmt.Errorf("scan chunks: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan chunks: %w", err)
	}
	if len(keys) > 0 {
		if err := flush(); err != nil {
			return fmt.Errorf("scan chunks: %w", err)
		}
	}
	return nil
}

// RebuildIndex upserts every stored chunk into idx (Ensured by the caller)
// from the vectors kept in the chunk hashes, in batches of 500, and returns
// how many it wrote. Nothing is re-embedded and the CRM is not read.
func (s *Store) RebuildIndex(ctx context.Context, idx VectorIndex) (int, error) {
	var batch []Item
	n := 0
	flush := func() error {
		if err := idx.Upsert(ctx, batch); err != nil {
			return err
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err := s.ScanChunks(ctx, func(it Item) error {
		batch = append(batch, it)
		if len(batch) == 500 {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("rebuild index: %w", err)
	}
	return n, nil
}

// DeleteRecordEverywhere removes records and everything derived from them:
// the record hash, its id-set and account-index entries, its chunk hashes and
// their vectors. Missing records are fine. Use it for CRM deletes and for
// data-subject erasure.
func (s *Store) DeleteRecordEverywhere(ctx context.Context, refs ...Ref) error {
	for _, r := range refs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("delete record: %w", err)
		}
		if err := s.deleteRecord(ctx, r); err != nil {
			return fmt.Errorf("delete record %s: %w", r, err)
		}
	}
	return nil
}

func (s *Store) deleteRecord(ctx context.Context, r Ref) error {
	read := s.rdb.Pipeline()
	acctCmd := read.HGet(ctx, s.recKey(r), "account")
	idsCmd := read.SMembers(ctx, s.rchunksKey(r))
	if _, err := read.Exec(ctx); err != nil && !isNil(err) {
		return err
	}
	chunkIDs := idsCmd.Val()
	accounts := map[string]bool{}
	if a := acctCmd.Val(); a != "" {
		accounts[a] = true
	}
	if len(chunkIDs) > 0 {
		if s.idx == nil {
			return ErrNoVectorIndex
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(chunkIDs))
		for i, id := range chunkIDs {
			cmds[i] = pipe.HGet(ctx, s.chunkKey(id), "account")
		}
		if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
			return err
		}
		for _, c := range cmds {
			if a := c.Val(); a != "" {
				accounts[a] = true
			}
		}
		if err := s.idx.Delete(ctx, chunkIDs...); err != nil {
			return fmt.Errorf("delete vectors: %w", err)
		}
	}
	tx := s.rdb.TxPipeline()
	for _, id := range chunkIDs {
		tx.Del(ctx, s.chunkKey(id))
	}
	tx.Del(ctx, s.rchunksKey(r), s.recKey(r))
	tx.SRem(ctx, s.idsKey(r.Connection, r.Object), r.ID)
	for a := range accounts {
		tx.SRem(ctx, s.acctKey(r.Connection, a), r.String())
	}
	return execTx(ctx, tx)
}

// EraseAccount deletes everything stored about an account of a connection
// (every record in its account index, their chunks and vectors, and the
// index itself) and returns how many records it removed.
func (s *Store) EraseAccount(ctx context.Context, conn, account string) (int, error) {
	refs, err := s.AccountRecords(ctx, conn, account)
	if err != nil {
		return 0, fmt.Errorf("erase account: %w", err)
	}
	if err := s.DeleteRecordEverywhere(ctx, refs...); err != nil {
		return 0, fmt.Errorf("erase account %s:%s: %w", conn, account, err)
	}
	if err := s.rdb.Del(ctx, s.acctKey(conn, account)).Err(); err != nil {
		return 0, fmt.Errorf("erase account %s:%s: %w", conn, account, err)
	}
	return len(refs), nil
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }

// globEscape escapes SCAN MATCH pattern characters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
