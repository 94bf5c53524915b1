package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/embed"
	"github.com/crmpulse/crmpulse/store"
)

// ForgetReport says what Forget erased.
type ForgetReport struct {
	Conn    string      `json:"conn"`
	ID      string      `json:"id"`
	Records []store.Ref `json:"records"` // records erased
	// Rebuilt is the account whose derived data was rebuilt without the
	// record ("" when an account itself was erased).
	Rebuilt string `json:"rebuilt,omitempty"`
	// Scrubbed counts other keys, fields, members and stream entries that
	// named the record and were removed.
	Scrubbed int `json:"scrubbed"`
}

// minTextNeedle is the shortest record text searched for in other values.
const minTextNeedle = 24

// Forget erases a record and everything derived from it (data-subject
// erasure): the record, its chunks and vectors, the embedding cache entries
// of texts that contained it, its quarantine entry, and every other value
// under the namespace that names it (insight results, outbox entries, queue
// entries: any key, hash field, set member or stream entry holding the id as
// a whole token, or a long text of the record). When id is an account, all
// of the account's records, its aggregate and its derived chunks go too.
// Otherwise the record's account is rebuilt without it.
//
// The id is added to the connection's suppression list (as a SHA-256, so
// the list itself does not name it): later syncs skip the record, and for
// an account every record of it, even though the CRM still has them.
//
// emb must be the embedder the engine used (its name keys the cache); st
// must have the vector index attached.
func Forget(ctx context.Context, st *store.Store, emb embed.Embedder, conn, id string) (ForgetReport, error) {
	rep := ForgetReport{Conn: conn, ID: id}
	if st.Index() == nil {
		return rep, fmt.Errorf("forget: %w", store.ErrNoVectorIndex)
	}
	if err := idUsable(id); err != nil || conn == "" {
		return rep, fmt.Errorf("forget %s %q: invalid id", conn, id)
	}
	rdb := st.Client()
	var found []store.Ref
	for _, typ := range []string{store.TypeAccount, store.TypeContact, store.TypeOpportunity, store.TypeActivity} {
		r := store.Ref{Connection: conn, Object: typ, ID: id}
		n, err := rdb.Exists(ctx, recKey(st, r)).Result()
		if err != nil {
			return rep, fmt.Errorf("forget: %w", err)
		}
		if n > 0 {
			found = append(found, r)
		}
	}
	// Suppress first, so a concurrent or later sync cannot bring it back.
	if err := rdb.SAdd(ctx, forgottenKey(st, conn), idHash(id)).Err(); err != nil {
		return rep, fmt.Errorf("forget: %w", err)
	}
	isAccount := slices.ContainsFunc(found, func(r store.Ref) bool { return r.Object == store.TypeAccount })
	// Accounts whose derived data contain the record, and every stored
	// account when only the suppression is left to do.
	needles := []string{id}
	var texts []string // chunk texts that contained the record
	var rebuild []string
	if isAccount {
		refs, err := st.AccountRecords(ctx, conn, id)
		if err != nil {
			return rep, err
		}
		recs, err := loadRecords(ctx, st, refs)
		if err != nil {
			return rep, err
		}
		for _, r := range recs {
			needles = append(needles, r.Ref.ID)
			needles = append(needles, recordTexts(r)...)
		}
		if texts, err = chunkTexts(ctx, st, refs); err != nil {
			return rep, err
		}
		var hashes []any
		for _, r := range refs {
			if r.Object != TypeActivityDigest && r.Object != TypeDealDigest {
				rep.Records = append(rep.Records, r)
				hashes = append(hashes, idHash(r.ID))
			}
		}
		if len(hashes) > 0 { // its records stay out of cursors and later syncs too
			if err := rdb.SAdd(ctx, forgottenKey(st, conn), hashes...).Err(); err != nil {
				return rep, fmt.Errorf("forget: %w", err)
			}
		}
		if _, err := st.EraseAccount(ctx, conn, id); err != nil {
			return rep, err
		}
		// Digests and records that pointed here without being indexed.
		if err := st.DeleteRecordEverywhere(ctx, found...); err != nil {
			return rep, err
		}
		pipe := rdb.TxPipeline()
		pipe.Del(ctx, AggregateKey(st, conn, id), derivedKey(st, conn, id))
		pipe.SRem(ctx, dirtyKey(st, conn), id)
		if _, err := pipe.Exec(ctx); err != nil {
			return rep, fmt.Errorf("forget: %w", err)
		}
	} else {
		recs, err := loadRecords(ctx, st, found)
		if err != nil {
			return rep, err
		}
		for _, r := range recs {
			needles = append(needles, recordTexts(r)...)
			if r.Account != "" && !slices.Contains(rebuild, r.Account) {
				rebuild = append(rebuild, r.Account)
			}
		}
		for _, a := range rebuild {
			refs, err := st.AccountRecords(ctx, conn, a)
			if err != nil {
				return rep, err
			}
			t, err := chunkTexts(ctx, st, refs)
			if err != nil {
				return rep, err
			}
			texts = append(texts, t...)
		}
		own, err := chunkTexts(ctx, st, found)
		if err != nil {
			return rep, err
		}
		texts = append(texts, own...)
		if len(rebuild) > 0 {
			if err := rdb.SAdd(ctx, dirtyKey(st, conn), toAny(rebuild)...).Err(); err != nil {
				return rep, fmt.Errorf("forget: %w", err)
			}
		}
		if err := st.DeleteRecordEverywhere(ctx, found...); err != nil {
			return rep, err
		}
		rep.Records = found
		if len(rebuild) > 0 {
			e := &Engine{st: st, emb: emb, opt: Options{Workers: 1, EmbedBatch: 64, ChunkSize: 1000, ChunkOverlap: 150}}
			c := &connRun{e: e, src: Source{Conn: connectors.New(conn, nil)}}
			for _, a := range rebuild {
				p, err := c.plan(ctx, a)
				if err != nil {
					return rep, err
				}
				if err := c.apply(ctx, []*plan{p}, &ConnSummary{}); err != nil {
					return rep, err
				}
			}
			rep.Rebuilt = rebuild[0]
		}
	}
	// Cached embeddings of texts that held the record and are no longer
	// stored.
	if len(texts) > 0 {
		live := map[string]bool{}
		if len(rebuild) > 0 {
			for _, a := range rebuild {
				refs, _ := st.AccountRecords(ctx, conn, a)
				t, err := chunkTexts(ctx, st, refs)
				if err != nil {
					return rep, err
				}
				for _, s := range t {
					live[s] = true
				}
			}
		}
		prefix := st.Namespace() + ":embcache:" + emb.Name() + ":"
		var keys []string
		for _, t := range texts {
			if !live[t] {
				sum := sha256.Sum256([]byte(t))
				keys = append(keys, prefix+hex.EncodeToString(sum[:]))
			}
		}
		if len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				return rep, fmt.Errorf("forget: embedding cache: %w", err)
			}
		}
	}
	n, err := scrub(ctx, st, needles)
	rep.Scrubbed = n
	if err != nil {
		return rep, err
	}
	return rep, nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// forgottenKey is the suppression list of a connection: SHA-256 of ids.
func forgottenKey(st *store.Store, conn string) string { return st.Key("forgotten", conn) }

func idHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// recordTexts are the long texts of a record searched for in other values.
func recordTexts(r stored) []string {
	var out []string
	for _, k := range []string{connectors.FDescription, connectors.FBody, connectors.FSubject, connectors.FName, connectors.FEmail} {
		if s := strings.TrimSpace(r.Fields.str(k)); len([]rune(s)) >= minTextNeedle {
			out = append(out, s)
		}
	}
	return out
}

func chunkTexts(ctx context.Context, st *store.Store, refs []store.Ref) ([]string, error) {
	var ids []string
	for _, r := range refs {
		c, err := st.ChunkIDs(ctx, r)
		if err != nil {
			return nil, err
		}
		ids = append(ids, c...)
	}
	chunks, err := st.GetChunks(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = c.Text
	}
	return out, nil
}

// containsToken reports whether needle occurs in s as a whole token: not
// preceded or followed by a letter or digit (so id 1234 does not match
// 12345).
func containsToken(s, needle string) bool {
	if needle == "" {
		return false
	}
	alnum := func(b byte) bool {
		return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(s[i:], needle)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(needle)
		if (j == 0 || !alnum(s[j-1]) || !alnum(needle[0])) && (end == len(s) || !alnum(s[end]) || !alnum(needle[len(needle)-1])) {
			return true
		}
		i = j + 1
	}
}

func matchesAny(s string, needles []string) bool {
	for _, n := range needles {
		if containsToken(s, n) {
			return true
		}
	}
	return false
}

// scrub removes every value under the namespace that names one of needles:
// keys whose name holds one, hash fields, set and sorted-set members, list
// elements and stream entries whose content does, and strings whose value
// does. Vector sets are left to the index (their elements are chunk ids,
// removed with the chunks).
func scrub(ctx context.Context, st *store.Store, needles []string) (int, error) {
	rdb := st.Client()
	n := 0
	iter := rdb.Scan(ctx, 0, st.Namespace()+":*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if strings.HasPrefix(key, forgottenKey(st, "")) || strings.HasPrefix(key, st.Key("embcache")+":") {
			continue // hashes only; cached vectors were deleted by text
		}
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			return n, err
		}
		if typ == "vectorset" {
			continue
		}
		if strings.HasPrefix(key, st.Key("ckpt")+":") {
			m, err := scrubCheckpoint(ctx, rdb, key, needles)
			n += m
			if err != nil {
				return n, fmt.Errorf("scrub %s: %w", key, err)
			}
			continue
		}
		if matchesAny(key, needles) {
			if err := rdb.Del(ctx, key).Err(); err != nil {
				return n, err
			}
			n++
			continue
		}
		m, err := scrubKey(ctx, rdb, key, typ, needles)
		n += m
		if err != nil {
			return n, fmt.Errorf("scrub %s: %w", key, err)
		}
	}
	return n, iter.Err()
}

// scrubCheckpoint removes ids from a change-feed cursor without losing the
// position: versions remembered for the overlap are dropped (a re-read
// record is suppressed anyway), and a keyset position on an erased id keeps
// its stamp and restarts at the first id of that stamp.
func scrubCheckpoint(ctx context.Context, rdb redis.UniversalClient, key string, needles []string) (int, error) {
	b, err := rdb.Get(ctx, key).Bytes()
	if err != nil || !matchesAny(string(b), needles) {
		return 0, nil
	}
	var ck checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return 0, rdb.Del(ctx, key).Err() // unreadable: a full re-read is safe
	}
	n := 0
	for _, sc := range ck.Cursor.Streams {
		for id := range sc.Seen {
			if matchesAny(id, needles) {
				delete(sc.Seen, id)
				n++
			}
		}
		if matchesAny(sc.ID, needles) {
			sc.ID = ""
			n++
		}
	}
	out, err := json.Marshal(ck)
	if err != nil {
		return n, err
	}
	if matchesAny(string(out), needles) {
		return n, rdb.Del(ctx, key).Err()
	}
	return n, rdb.Set(ctx, key, out, 0).Err()
}

func scrubKey(ctx context.Context, rdb redis.UniversalClient, key, typ string, needles []string) (int, error) {
	n := 0
	switch typ {
	case "string":
		v, err := rdb.Get(ctx, key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, err
		}
		if matchesAny(v, needles) {
			return 1, rdb.Del(ctx, key).Err()
		}
	case "hash":
		it := rdb.HScan(ctx, key, 0, "", 500).Iterator()
		var del []string
		for it.Next(ctx) {
			f := it.Val()
			if !it.Next(ctx) {
				break
			}
			if matchesAny(f, needles) || matchesAny(it.Val(), needles) {
				del = append(del, f)
			}
		}
		if err := it.Err(); err != nil {
			return 0, err
		}
		if len(del) > 0 {
			n += len(del)
			return n, rdb.HDel(ctx, key, del...).Err()
		}
	case "set":
		it := rdb.SScan(ctx, key, 0, "", 500).Iterator()
		var del []any
		for it.Next(ctx) {
			if matchesAny(it.Val(), needles) {
				del = append(del, it.Val())
			}
		}
		if err := it.Err(); err != nil {
			return 0, err
		}
		if len(del) > 0 {
			return len(del), rdb.SRem(ctx, key, del...).Err()
		}
	case "zset":
		it := rdb.ZScan(ctx, key, 0, "", 500).Iterator()
		var del []any
		for i := 0; it.Next(ctx); i++ {
			if i%2 == 0 && matchesAny(it.Val(), needles) {
				del = append(del, it.Val())
			}
		}
		if err := it.Err(); err != nil {
			return 0, err
		}
		if len(del) > 0 {
			return len(del), rdb.ZRem(ctx, key, del...).Err()
		}
	case "list":
		vals, err := rdb.LRange(ctx, key, 0, -1).Result()
		if err != nil {
			return 0, err
		}
		for _, v := range vals {
			if matchesAny(v, needles) {
				if err := rdb.LRem(ctx, key, 0, v).Err(); err != nil {
					return n, err
				}
				n++
			}
		}
	case "stream":
		start := "-"
		for {
			msgs, err := rdb.XRangeN(ctx, key, start, "+", 1000).Result()
			if err != nil {
				return n, err
			}
			var del []string
			for _, m := range msgs {
				for f, v := range m.Values {
					if s, _ := v.(string); matchesAny(f, needles) || matchesAny(s, needles) {
						del = append(del, m.ID)
						break
					}
				}
			}
			if len(del) > 0 {
				if err := rdb.XDel(ctx, key, del...).Err(); err != nil {
					return n, err
				}
				n += len(del)
			}
			if len(msgs) < 1000 {
				break
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
	}
	return n, nil
}
