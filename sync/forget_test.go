package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/store"
)

// remains lists every place under the namespace that still holds one of the
// needles: key names, string values, hash fields and values, set, sorted-set
// and list members, stream entries, and vector-set elements and attributes.
func remains(t *testing.T, h *harness, needles []string, chunkIDs []string) []string {
	t.Helper()
	ctx := context.Background()
	rdb := h.rdb
	var found []string
	hit := func(where, s string) {
		for _, n := range needles {
			if containsToken(s, n) && len(found) < 20 {
				found = append(found, fmt.Sprintf("%s holds %.40q", where, n))
			}
		}
	}
	keys, err := rdb.Keys(ctx, h.st.Namespace()+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var chunksLeft int64
	for _, k := range keys {
		hit("key name "+k, k)
		typ := rdb.Type(ctx, k).Val()
		switch typ {
		case "string":
			if strings.Contains(k, ":embcache:") {
				continue // vectors, checked by text hash below
			}
			hit(k, rdb.Get(ctx, k).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				hit(k+" field "+f, f)
				if f != "vec" {
					hit(k+" value of "+f, v)
				}
			}
			if strings.Contains(k, ":chunk:") {
				chunksLeft++
			}
		case "set":
			for _, m := range rdb.SMembers(ctx, k).Val() {
				hit(k+" member", m)
			}
		case "zset":
			for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
				hit(k+" member", m)
			}
		case "list":
			for _, m := range rdb.LRange(ctx, k, 0, -1).Val() {
				hit(k+" element", m)
			}
		case "stream":
			for _, m := range rdb.XRange(ctx, k, "-", "+").Val() {
				for f, v := range m.Values {
					hit(k+" entry "+m.ID, f+"="+fmt.Sprint(v))
				}
			}
		case "vectorset":
			card := rdb.Do(ctx, "VCARD", k).Val()
			if k == h.st.Key(app.IndexName)+":vs" && card != chunksLeftAfter(ctx, rdb, h) {
				found = append(found, fmt.Sprintf("%s has %v vectors for %d chunks", k, card, chunksLeftAfter(ctx, rdb, h)))
			}
			for _, id := range chunkIDs {
				if v, err := rdb.Do(ctx, "VGETATTR", k, id).Result(); err == nil && v != nil {
					found = append(found, fmt.Sprintf("%s still has element %s", k, id))
				}
			}
			// Nearest neighbours of a random probe name no erased chunk.
			res, _ := rdb.Do(ctx, "VSIM", k, "VALUES", "3", "1", "0", "0", "COUNT", "50").StringSlice()
			for _, id := range res {
				hit(k+" VSIM result", id)
				a, _ := rdb.Do(ctx, "VGETATTR", k, id).Text()
				hit(k+" attributes of "+id, a)
			}
		}
	}
	_ = chunksLeft
	return found
}

func chunksLeftAfter(ctx context.Context, rdb *redis.Client, h *harness) int64 {
	n := int64(0)
	_ = h.st.ScanChunks(ctx, func(store.Item) error { n++; return nil })
	return n
}

func TestForgetAccountLeavesNothing(t *testing.T) {
	h := newHarness(t, sandbox.Options{Accounts: 12, Seed: 4, JapaneseShare: -1}, app.SandboxSalesforce)
	ctx := context.Background()
	conn := app.SandboxSalesforce
	h.run(nil)
	ids, _ := Accounts(ctx, h.st, conn)
	// The account with the most records.
	acct, most := "", 0
	for _, id := range ids {
		refs, _ := h.st.AccountRecords(ctx, conn, id)
		if len(refs) > most {
			acct, most = id, len(refs)
		}
	}
	// Values other parts keep about accounts: an insight result, an outbox
	// entry, a list of analysed accounts.
	rdb := h.rdb
	rdb.Set(ctx, h.st.Key("insight", conn, acct), `{"account":"`+acct+`","score":0.7}`, 0)
	rdb.HSet(ctx, h.st.Key("outbox", conn), acct, `{"AI_Churn_Score__c":70}`)
	rdb.ZAdd(ctx, h.st.Key("scores", conn), redis.Z{Score: 0.7, Member: acct}, redis.Z{Score: 0.2, Member: ids[0] + "x"})
	// What must disappear: ids and long texts of its records, chunk ids,
	// cached embeddings of its chunk texts.
	refs, _ := h.st.AccountRecords(ctx, conn, acct)
	recs, _ := loadRecords(ctx, h.st, refs)
	needles := []string{acct}
	for _, r := range recs {
		needles = append(needles, r.Ref.ID)
		needles = append(needles, recordTexts(r)...)
	}
	var chunkIDs []string
	for _, r := range refs {
		c, _ := h.st.ChunkIDs(ctx, r)
		chunkIDs = append(chunkIDs, c...)
	}
	texts, _ := chunkTexts(ctx, h.st, refs)
	if len(chunkIDs) == 0 || len(needles) < 5 {
		t.Fatalf("account %s has %d chunks and %d needles", acct, len(chunkIDs), len(needles))
	}
	if got := remains(t, h, needles, nil); len(got) == 0 {
		t.Fatal("the probe finds nothing before erasure")
	}
	rep, err := Forget(ctx, h.st, h.emb, conn, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Records) != most-countDigests(refs) || rep.Scrubbed == 0 {
		t.Errorf("report: %d records (want %d), %d scrubbed", len(rep.Records), most-countDigests(refs), rep.Scrubbed)
	}
	if got := remains(t, h, needles, chunkIDs); len(got) > 0 {
		t.Fatalf("after forget:\n  %s", strings.Join(got, "\n  "))
	}
	for _, tx := range texts {
		sum := sha256.Sum256([]byte(tx))
		if n, _ := rdb.Exists(ctx, h.st.Namespace()+":embcache:"+h.emb.Name()+":"+hex.EncodeToString(sum[:])).Result(); n != 0 {
			t.Errorf("cached embedding of an erased chunk remains")
		}
	}
	if n, _ := rdb.ZCard(ctx, h.st.Key("scores", conn)).Result(); n != 1 {
		t.Errorf("unrelated member removed: %d left", n)
	}
	// A later sync does not bring it back, though the CRM still has it.
	h.sb.SF.Update(sandbox.SFAccount, acct, map[string]any{"Description": "changed after erasure"}, sandbox.ActorUser)
	h.advance()
	h.run(&Options{Reconcile: true})
	if got := remains(t, h, needles, chunkIDs); len(got) > 0 {
		t.Fatalf("after a new sync:\n  %s", strings.Join(got, "\n  "))
	}
}

func countDigests(refs []store.Ref) int {
	n := 0
	for _, r := range refs {
		if r.Object == TypeActivityDigest || r.Object == TypeDealDigest {
			n++
		}
	}
	return n
}

func TestForgetActivityRebuildsItsAccount(t *testing.T) {
	h := newHarness(t, sandbox.Options{Accounts: 8, Seed: 6, JapaneseShare: -1}, app.SandboxSalesforce)
	ctx := context.Background()
	conn := app.SandboxSalesforce
	h.run(nil)
	ids, _ := h.st.RecordIDs(ctx, conn, store.TypeActivity)
	var target stored
	for _, id := range ids {
		recs, _ := loadRecords(ctx, h.st, []store.Ref{{Connection: conn, Object: store.TypeActivity, ID: id}})
		if len(recs) == 1 && recs[0].Account != "" && len(recordTexts(recs[0])) > 0 {
			target = recs[0]
			break
		}
	}
	if target.Ref.ID == "" {
		t.Fatal("no activity with text")
	}
	needles := append([]string{target.Ref.ID}, recordTexts(target)...)
	rep, err := Forget(ctx, h.st, h.emb, conn, target.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rebuilt != target.Account || len(rep.Records) != 1 {
		t.Errorf("report %+v", rep)
	}
	if got := remains(t, h, needles, nil); len(got) > 0 {
		t.Fatalf("after forget:\n  %s", strings.Join(got, "\n  "))
	}
	// The account is still there, with its other data.
	if _, err := h.st.GetRecord(ctx, store.Ref{Connection: conn, Object: store.TypeAccount, ID: target.Account}); err != nil {
		t.Fatal(err)
	}
	h.advance()
	h.run(nil)
	if got := remains(t, h, needles, nil); len(got) > 0 {
		t.Fatalf("after a new sync:\n  %s", strings.Join(got, "\n  "))
	}
}
