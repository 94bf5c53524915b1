package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newTest(t testing.TB, n int) *Sandbox {
	t.Helper()
	sb, err := New(Options{Accounts: n, Now: testNow, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	sb.Clock.Freeze(testNow)
	return sb
}

// dump renders every row of both tenants in a canonical order.
func dump(sb *Sandbox) string {
	var b strings.Builder
	for _, s := range []*Store{sb.SF, sb.HS} {
		for _, tb := range s.Tables() {
			_ = s.Scan(tb, func(r Row) bool {
				fmt.Fprintf(&b, "%s %s %v %v", tb, r.ID, r.CreatedAt, r.ModifiedAt)
				for _, k := range sortedKeys(r.Fields) {
					fmt.Fprintf(&b, " %s=%v", k, r.Fields[k])
				}
				b.WriteByte('\n')
				return true
			})
		}
	}
	return b.String()
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := newTest(t, 60), newTest(t, 60)
	if dump(a) != dump(b) {
		t.Fatal("same seed produced different data")
	}
	if !reflect.DeepEqual(a.Truth.Accounts, b.Truth.Accounts) {
		t.Fatal("same seed produced different truth")
	}
	a.Step(3)
	b.Step(3)
	if dump(a) != dump(b) {
		t.Fatal("same seed and step produced different mutations")
	}
	c, err := New(Options{Accounts: 60, Now: testNow, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	if dump(c) == dump(newTest(t, 60)) {
		t.Fatal("different seeds produced identical data")
	}
}

func TestGenerateDistributions(t *testing.T) {
	sb := newTest(t, 1500)
	st := sb.Stats()
	if st.Accounts != 1500 || len(st.ByIndustry) != 10 || len(st.BySizeBand) != 5 {
		t.Fatalf("accounts %d, industries %d, bands %d", st.Accounts, len(st.ByIndustry), len(st.BySizeBand))
	}
	if st.WinRate < 0.15 || st.WinRate > 0.40 {
		t.Errorf("win rate %.2f outside 15-40%%", st.WinRate)
	}
	perAcc := float64(st.Opportunities) / float64(st.Accounts)
	if perAcc < 6 || perAcc > 14 {
		t.Errorf("%.1f opportunities per account", perAcc)
	}
	for i := 1; i < len(SizeBands); i++ {
		if st.WonMedianBand[SizeBands[i]] <= st.WonMedianBand[SizeBands[i-1]] {
			t.Errorf("median won amount does not grow with size: %v", st.WonMedianBand)
		}
	}
	ja := float64(st.ByLanguage["ja"]) / float64(st.Accounts)
	if ja < 0.3 || ja > 0.5 {
		t.Errorf("Japanese share %.2f", ja)
	}
	if st.ChurnShare < 0.02 || st.ChurnShare > 0.2 || st.ChurnsSoon == 0 {
		t.Errorf("churn share %.3f, churns soon %d", st.ChurnShare, st.ChurnsSoon)
	}
	for _, k := range []string{"email", "call", "meeting", "note", "task"} {
		if st.Activities[k] == 0 {
			t.Errorf("no %s activities", k)
		}
	}
	if st.HubSpot[HSDeals] != st.Opportunities || st.HubSpot[HSCompanies] != st.Accounts {
		t.Errorf("tenants differ: %v vs %d opportunities", st.HubSpot, st.Opportunities)
	}
	// Ids are valid and truth maps both ways.
	for _, k := range sb.Truth.Keys()[:50] {
		a := sb.Truth.Accounts[k]
		if !ValidSalesforceID(a.SalesforceID) || a.SalesforceID[:3] != PrefixAccount {
			t.Fatalf("%s: bad Salesforce id %q", k, a.SalesforceID)
		}
		if x, ok := sb.Truth.ByHubSpotID(a.HubSpotID); !ok || x.Key != k {
			t.Fatalf("%s: HubSpot id %q does not map back", k, a.HubSpotID)
		}
		if x, ok := sb.Truth.BySalesforceID(a.SalesforceID[:15]); !ok || x.Key != k {
			t.Fatalf("%s: 15-char id does not map back", k)
		}
	}
}

var negativeCues = []string{"予算削減", "budget", "evaluating", "比較検討", "退職", "left", "outage", "障害", "complain",
	"クレーム", "不満", "fell", "減少", "barely", "ほとんど使われていない", "cutting", "lower quote", "安い見積もり", "PoC", "proof of concept",
	"Left", "trust", "信頼", "no budget", "予算は確保できない", "few users", "ごく少数", "No reply", "返信なし", "not attended", "誰も参加せず", "bounce", "不達"}

func negative(text string) bool {
	for _, c := range negativeCues {
		if strings.Contains(text, c) {
			return true
		}
	}
	return false
}

// Churners' activity text turns negative and thins out before drop-out.
func TestChurnersDecay(t *testing.T) {
	sb := newTest(t, 1500)
	type tally struct{ early, late, earlyNeg, lateNeg int }
	var churn, stay tally
	churned := map[string]AccountTruth{}
	for _, a := range sb.Truth.Accounts {
		churned[a.SalesforceID] = a
	}
	_ = sb.SF.Scan(SFTask, func(r Row) bool {
		a := churned[r.Fields["AccountId"].(string)]
		at := r.Fields["ActivityDate"].(Date).Time
		text := r.Fields["Subject"].(string) + " " + r.Fields["Description"].(string)
		if r.Fields["WhatId"] != r.Fields["AccountId"] {
			return true // deal correspondence
		}
		switch {
		case a.Churned:
			d := a.DroppedOutAt
			if at.After(d.Add(-400*day)) && at.Before(d.Add(-200*day)) {
				churn.early++
				if negative(text) {
					churn.earlyNeg++
				}
			}
			if at.After(d.Add(-60*day)) && at.Before(d) {
				churn.late++
				if negative(text) {
					churn.lateNeg++
				}
			}
		case a.Customer && a.DroppedOutAt.IsZero():
			stay.late++
			if negative(text) {
				stay.lateNeg++
			}
		}
		return true
	})
	share := func(n, of int) float64 { return float64(n) / float64(max(of, 1)) }
	early, late, healthy := share(churn.earlyNeg, churn.early), share(churn.lateNeg, churn.late), share(stay.lateNeg, stay.late)
	t.Logf("negative share: churners early %.2f (%d), late %.2f (%d); healthy %.2f (%d)", early, churn.early, late, churn.late, healthy, stay.late)
	if late < 0.5 || late < early+0.3 || healthy > 0.2 {
		t.Errorf("churner text does not turn negative: early %.2f late %.2f healthy %.2f", early, late, healthy)
	}
	// Volume: per-day activity rate in the last 60 days below the early rate.
	if float64(churn.late)/60 >= float64(churn.early)/200 {
		t.Errorf("churner activity does not decay: %d in the last 60 days vs %d in 200 earlier days", churn.late, churn.early)
	}
}

func TestTruthRoundTrip(t *testing.T) {
	sb := newTest(t, 80)
	var buf bytes.Buffer
	if err := sb.WriteTruth(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Horizon.Equal(sb.Truth.Horizon) || !got.Cutoff.Equal(sb.Truth.Cutoff) || len(got.Accounts) != 80 {
		t.Fatalf("round trip: horizon %v cutoff %v n %d", got.Horizon, got.Cutoff, len(got.Accounts))
	}
	for k, a := range sb.Truth.Accounts {
		b := got.Accounts[k]
		if !a.DroppedOutAt.Equal(b.DroppedOutAt) || !a.ChurnedAt.Equal(b.ChurnedAt) {
			t.Fatalf("%s: times differ", k)
		}
		b.DroppedOutAt, b.ChurnedAt = a.DroppedOutAt, a.ChurnedAt
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %+v != %+v", k, a, b)
		}
	}
	if _, ok := got.BySalesforceID(sb.Truth.Accounts["A000001"].SalesforceID); !ok {
		t.Error("round-tripped truth lost its id index")
	}
	var again bytes.Buffer
	_ = got.WriteTruth(&again)
	if again.String() != buf.String() {
		t.Error("re-written truth differs")
	}
}

func TestStep(t *testing.T) {
	sb := newTest(t, 300)
	before := sb.SF.Count(SFOpportunity)
	rep := sb.Step(7)
	if !rep.To.Equal(testNow.Add(7 * day)) {
		t.Fatalf("clock at %v", rep.To)
	}
	if rep.Created["salesforce "+SFOpportunity] == 0 || rep.Updated["salesforce "+SFOpportunity] == 0 {
		t.Errorf("no new or edited opportunities: %+v", rep)
	}
	if rep.TiedRecords < 2*250 {
		t.Errorf("bulk edit tied only %d records", rep.TiedRecords)
	}
	tied := 0
	_ = sb.SF.Scan(SFAccount, func(r Row) bool {
		if r.Fields["SystemModstamp"] == rep.TiedAt {
			tied++
		}
		return true
	})
	if tied < 250 {
		t.Errorf("%d accounts share SystemModstamp %v", tied, rep.TiedAt)
	}
	var modified int
	_ = sb.SF.Scan(SFOpportunity, func(r Row) bool {
		if r.ModifiedAt.After(rep.From) {
			modified++
			if r.ModifiedAt.After(rep.To) {
				t.Errorf("stamp %v after the clock", r.ModifiedAt)
			}
		}
		return true
	})
	if modified == 0 || sb.SF.Count(SFOpportunity) == before {
		t.Errorf("opportunities unchanged")
	}
	dels := sb.SF.Deletions(SFTask, rep.From, rep.To.Add(time.Second))
	var soft, purged []Deletion
	for _, d := range dels {
		if d.Purged {
			purged = append(purged, d)
		} else {
			soft = append(soft, d)
		}
	}
	if rep.Deleted["salesforce "+SFTask] == 0 || len(soft) == 0 {
		t.Errorf("deleted tasks missing from Deletions: %+v", dels)
	}
	for _, d := range soft {
		if r, ok := sb.SF.Get(SFTask, d.ID); ok && !r.Deleted && rep.Undeleted["salesforce "+SFTask] == 0 {
			t.Errorf("task %s deleted but live", d.ID)
		}
	}
	// Purges leave no row behind; steps until one happens.
	for i := 0; len(purged) == 0 && i < 10; i++ {
		rep = sb.Step(1)
		for _, d := range sb.SF.Deletions(SFTask, rep.From, rep.To.Add(time.Second)) {
			if d.Purged {
				purged = append(purged, d)
			}
		}
	}
	if len(purged) == 0 {
		t.Fatal("no purge in 11 steps")
	}
	for _, d := range purged {
		if _, ok := sb.SF.Get(SFTask, d.ID); ok {
			t.Errorf("purged task %s still readable", d.ID)
		}
		_ = sb.SF.Scan(SFTask, func(r Row) bool {
			if r.ID == d.ID {
				t.Errorf("purged task %s still scanned", d.ID)
			}
			return true
		})
	}
}

func TestStepChurnEvents(t *testing.T) {
	sb := newTest(t, 400)
	var soon int
	for _, a := range sb.Truth.Accounts {
		if a.ChurnsSoon {
			soon++
		}
	}
	var churned int
	for range 6 {
		churned += len(sb.Step(30).Churned)
	}
	if soon == 0 || churned != soon {
		t.Errorf("%d churn events over the holdout, truth says %d", churned, soon)
	}
}

func TestOnPage(t *testing.T) {
	sb := newTest(t, 20)
	if n := sb.OnPage("salesforce", SFAccount); n != 0 {
		t.Fatalf("OnPage without the fault changed %d records", n)
	}
	sb.Faults.Set(func(f *Faults) { f.MutateOnPage = 3 })
	sb.Clock.Freeze(testNow.Add(time.Hour))
	live := sb.HS.Count(HSCompanies)
	if n := sb.OnPage("hubspot", HSCompanies); n != 4 {
		t.Fatalf("OnPage changed %d records, want 4", n)
	}
	if sb.HS.Count(HSCompanies) != live-1 {
		t.Error("OnPage did not delete a record")
	}
	moved := 0
	_ = sb.HS.Scan(HSCompanies, func(r Row) bool {
		if r.ModifiedAt.Equal(testNow.Add(time.Hour)) {
			moved++
		}
		return true
	})
	if moved != 4 {
		t.Errorf("%d companies stamped at the paging time, want 4", moved)
	}
}

func TestWriteDocuments(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	p1, err := WriteDocuments(d1)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := WriteDocuments(d2)
	if len(p1) < 30 || len(p1) != len(p2) {
		t.Fatalf("%d and %d documents", len(p1), len(p2))
	}
	for i := range p1 {
		a, _ := os.ReadFile(p1[i])
		b, _ := os.ReadFile(p2[i])
		if filepath.Base(p1[i]) != filepath.Base(p2[i]) || !bytes.Equal(a, b) || len(a) == 0 {
			t.Fatalf("%s differs between runs", p1[i])
		}
	}
}
