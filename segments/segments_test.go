package segments

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func loadRetail(t testing.TB) []Order {
	t.Helper()
	f, err := os.Open("testdata/online_retail_invoices_slice.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []Order
	for i, r := range rows[1:] {
		if r[7] != "sale" || r[1] == "" {
			continue
		}
		d, err := time.Parse("2006-01-02 15:04", r[2])
		if err != nil {
			t.Fatalf("line %d: %v", i+2, err)
		}
		amt, err := strconv.ParseFloat(r[6], 64)
		if err != nil {
			t.Fatalf("line %d: %v", i+2, err)
		}
		out = append(out, Order{CustomerID: r[1], Date: d, Amount: amt})
	}
	return out
}

// The day after the last invoice of the data set (2011-12-09).
var retailAsOf = time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)

func TestAssignOnlineRetail(t *testing.T) {
	orders := loadRetail(t)
	res, err := Assign(orders, retailAsOf, &Options{Currency: "£"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Assignments) != 872 {
		t.Errorf("%d customers assigned, the slice has 872 with a sale", len(res.Assignments))
	}
	var share float64
	count := 0
	by := map[string]Segment{}
	for _, s := range res.Segments {
		share += s.Share
		count += s.Count
		by[s.Key] = s
		t.Logf("%s", s)
	}
	if count != len(res.Assignments) || share < 1-1e-9 || share > 1+1e-9 {
		t.Errorf("segment counts sum to %d, shares to %v", count, share)
	}
	for _, a := range res.Assignments {
		if a.Segment == "" || a.R < 1 || a.R > 5 || a.F < 1 || a.F > 5 || a.M < 1 || a.M > 5 {
			t.Errorf("bad assignment %+v", a)
		}
	}
	ch, dor := by[VIP], by[Dormant]
	if ch.Count == 0 || dor.Count == 0 {
		t.Fatalf("champions %d, dormant %d: both should be populated", ch.Count, dor.Count)
	}
	if ch.MeanMonetary <= dor.MeanMonetary || ch.MeanFrequency <= dor.MeanFrequency || ch.MeanRecencyDays >= dor.MeanRecencyDays {
		t.Errorf("champions %+v not better than dormant %+v", ch, dor)
	}
	if by[CantLose].Count > 0 && by[CantLose].MeanRecencyDays <= ch.MeanRecencyDays {
		t.Errorf("can't-lose customers should be less recent than champions")
	}
	// Definitions quote the actual cut-offs.
	c := res.Cutoffs
	wantDays := fmtNum(c.Recency[1], 0)
	if !strings.Contains(ch.Definition, "≤ "+wantDays+" days") || !strings.Contains(ch.Definition, "£") {
		t.Errorf("champions definition %q lacks the recency cut-off %s days or the currency", ch.Definition, wantDays)
	}
	if !strings.Contains(ch.DefinitionJA, wantDays+"日以内") {
		t.Errorf("Japanese definition %q", ch.DefinitionJA)
	}
	// Every assignment satisfies its segment's stated conditions.
	for _, a := range res.Assignments {
		if a.Segment == VIP && (a.RecencyDays > c.Recency[1] || float64(a.Frequency) <= c.Frequency[2] || a.Monetary <= c.Monetary[2]) {
			t.Errorf("champion outside its definition: %+v", a)
		}
	}
}

func TestAssignStableAndOrderFree(t *testing.T) {
	orders := loadRetail(t)
	a, err := Assign(orders, retailAsOf, nil)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := append([]Order(nil), orders...)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b, err := Assign(shuffled, retailAsOf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("shuffled input gave a different result")
	}
}

func TestQuintileTies(t *testing.T) {
	// Ten customers, frequencies 1,1,1,1,1,1,2,3,4,5: the cut-offs are the
	// values at ranks 2, 4, 6, 8 = 1, 1, 1, 3, so every F=1 customer scores
	// 1, nobody scores 2 or 3, f=2 and f=3 score 4, and f=4, 5 score 5.
	asOf := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var orders []Order
	for i, f := range []int{1, 1, 1, 1, 1, 1, 2, 3, 4, 5} {
		for k := 0; k < f; k++ {
			orders = append(orders, Order{CustomerID: string(rune('a' + i)), Date: asOf.AddDate(0, 0, -10*(i+1)), Amount: float64(100 * (i + 1))})
		}
	}
	rs, err := Aggregate(orders, asOf)
	if err != nil {
		t.Fatal(err)
	}
	c := QuintileCutoffs(rs)
	if c.Frequency != [4]float64{1, 1, 1, 3} {
		t.Errorf("frequency cut-offs %v, want [1 1 1 3]", c.Frequency)
	}
	c.Score(rs)
	wantF := []int{1, 1, 1, 1, 1, 1, 4, 4, 5, 5}
	for i, r := range rs {
		if r.F != wantF[i] {
			t.Errorf("customer %s: F=%d, want %d", r.CustomerID, r.F, wantF[i])
		}
	}
	// Recency: customer a bought 10 days ago (most recent) → R=5, j 100 days → R=1.
	if rs[0].R != 5 || rs[9].R != 1 {
		t.Errorf("R scores %d and %d, want 5 and 1", rs[0].R, rs[9].R)
	}
}

func TestClassifyCoversAllScores(t *testing.T) {
	seen := map[string]bool{}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				seen[Classify(r, f, m)] = true
			}
		}
	}
	if len(seen) != 7 {
		t.Errorf("only %d segments reachable: %v", len(seen), seen)
	}
	for _, c := range []struct {
		r, f, m int
		want    string
	}{{5, 5, 5, VIP}, {3, 5, 1, Loyal}, {1, 5, 5, CantLose}, {2, 3, 1, AtRisk}, {1, 1, 5, AtRisk}, {5, 1, 1, PromisingNew}, {3, 2, 2, NeedsAttention}, {4, 3, 3, NeedsAttention}, {1, 1, 1, Dormant}} {
		if got := Classify(c.r, c.f, c.m); got != c.want {
			t.Errorf("Classify(%d,%d,%d) = %s, want %s", c.r, c.f, c.m, got, c.want)
		}
	}
}

func TestConfiguredCutoffsAndB2B(t *testing.T) {
	asOf := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	orders := []Order{
		{CustomerID: "big", Date: asOf.AddDate(0, 0, -5), Amount: 60000},
		{CustomerID: "big", Date: asOf.AddDate(0, 0, -40), Amount: 10000},
		{CustomerID: "new", Date: asOf.AddDate(0, 0, -3), Amount: 1000},
	}
	for k := 0; k < 10; k++ {
		orders = append(orders, Order{CustomerID: "big", Date: asOf.AddDate(0, -k-2, 0), Amount: 1000})
	}
	cut := &Cutoffs{Recency: [4]float64{30, 90, 180, 365}, Frequency: [4]float64{1, 3, 6, 9}, Monetary: [4]float64{1000, 10000, 30000, 50000}}
	res, err := Assign(orders, asOf, &Options{
		Cutoffs: cut, Currency: "¥",
		Profiles: map[string]Profile{"big": {Industry: "Manufacturing", Employees: 1200, Activities90: 12, Renewal: asOf.AddDate(0, 2, 0)}},
		B2B:      B2BOptions{Industry: true, Size: true, Engagement: true, Renewal: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cutoffs != *cut {
		t.Errorf("cut-offs %+v", res.Cutoffs)
	}
	got := map[string]Assignment{}
	for _, a := range res.Assignments {
		got[a.CustomerID] = a
	}
	if got["big"].Segment != VIP || got["big"].SubSegment != "VIP · Manufacturing · Enterprise (1000+) · High engagement · Renewal ≤ 90 days" {
		t.Errorf("big: %+v", got["big"])
	}
	if got["new"].Segment != PromisingNew || !strings.Contains(got["new"].SubSegment, "Unknown industry") {
		t.Errorf("new: %+v", got["new"])
	}
	for _, s := range res.Segments {
		if s.Key == VIP && s.Definition != "last order ≤ 90 days ago, ≥ 7 orders, total spend > ¥30,000" {
			t.Errorf("champions definition %q", s.Definition)
		}
	}
	bad := &Cutoffs{Recency: [4]float64{90, 30, 180, 365}}
	if _, err := Assign(orders, asOf, &Options{Cutoffs: bad}); err == nil {
		t.Error("descending cut-offs: want error")
	}
}

func TestMigrate(t *testing.T) {
	a := func(id, seg string) Assignment { return Assignment{RFM: RFM{CustomerID: id}, Segment: seg} }
	t0 := []Assignment{a("1", VIP), a("2", VIP), a("3", Loyal), a("4", AtRisk), a("5", Dormant), a("6", PromisingNew)}
	t1 := []Assignment{a("1", VIP), a("2", CantLose), a("3", VIP), a("4", Dormant), a("6", Loyal), a("7", PromisingNew)}
	m := Migrate(t0, t1)
	if m.Upgrades != 2 || m.Downgrades != 2 || m.Unchanged != 1 {
		t.Errorf("up %d down %d same %d, want 2 2 1", m.Upgrades, m.Downgrades, m.Unchanged)
	}
	if !reflect.DeepEqual(m.Entered, []string{"7"}) || !reflect.DeepEqual(m.Left, []string{"5"}) {
		t.Errorf("entered %v left %v", m.Entered, m.Left)
	}
	want := []Move{
		{From: VIP, To: VIP, Direction: "same", Count: 1, AccountIDs: []string{"1"}},
		{From: VIP, To: CantLose, Direction: "downgrade", Count: 1, AccountIDs: []string{"2"}},
		{From: Loyal, To: VIP, Direction: "upgrade", Count: 1, AccountIDs: []string{"3"}},
		{From: PromisingNew, To: Loyal, Direction: "upgrade", Count: 1, AccountIDs: []string{"6"}},
		{From: AtRisk, To: Dormant, Direction: "downgrade", Count: 1, AccountIDs: []string{"4"}},
	}
	if !reflect.DeepEqual(m.Moves, want) {
		t.Errorf("moves\n%+v\nwant\n%+v", m.Moves, want)
	}
}

// TestMigrateOverTime segments the retail slice at two dates three months
// apart: customers who stop buying can only lose recency, so nobody who made
// no order in between may be upgraded on recency alone into VIP.
func TestMigrateOverTime(t *testing.T) {
	orders := loadRetail(t)
	t0 := time.Date(2011, 9, 10, 0, 0, 0, 0, time.UTC)
	c := QuintileCutoffs(mustAgg(t, orders, retailAsOf))
	opts := &Options{Cutoffs: &c}
	r0, err := Assign(orders, t0, opts)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := Assign(orders, retailAsOf, opts)
	if err != nil {
		t.Fatal(err)
	}
	active := map[string]bool{}
	for _, o := range orders {
		if o.Date.After(t0) && !o.Date.After(retailAsOf) {
			active[o.CustomerID] = true
		}
	}
	m := Migrate(r0.Assignments, r1.Assignments)
	total := len(m.Entered)
	for _, mv := range m.Moves {
		total += mv.Count
		if mv.Direction == "upgrade" {
			for _, id := range mv.AccountIDs {
				if !active[id] {
					t.Errorf("%s upgraded %s→%s without ordering", id, mv.From, mv.To)
				}
			}
		}
	}
	if total != len(r1.Assignments) || len(m.Left) != 0 {
		t.Errorf("moves cover %d of %d customers; %d left", total, len(r1.Assignments), len(m.Left))
	}
	t.Logf("upgrades %d, downgrades %d, unchanged %d, entered %d", m.Upgrades, m.Downgrades, m.Unchanged, len(m.Entered))
}

func mustAgg(t *testing.T, orders []Order, asOf time.Time) []RFM {
	rs, err := Aggregate(orders, asOf)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func BenchmarkAssign100k(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	asOf := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	var orders []Order
	for i := 0; i < 100000; i++ {
		id := "c" + strconv.Itoa(i)
		n := 1 + rng.IntN(8)
		for k := 0; k < n; k++ {
			orders = append(orders, Order{CustomerID: id, Date: asOf.AddDate(0, 0, -rng.IntN(720)), Amount: 10 + rng.ExpFloat64()*500})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Assign(orders, asOf, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100000/b.Elapsed().Seconds(), "customers/s")
}
