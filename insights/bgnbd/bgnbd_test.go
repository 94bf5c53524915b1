package bgnbd

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Published BG/NBD estimates for the CDNOW 2,357-customer sample (Fader,
// Hardie & Lee 2005, section 4), reported to three decimals.
var paper = Params{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

const paperLL = -9582.4

func loadCDNOW(t testing.TB) []Customer {
	t.Helper()
	f, err := os.Open("testdata/cdnow_customers_summary.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := ReadSummary(f)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// closeToPublished allows half a unit in the last published digit plus
// 1e-3 relative.
func closeToPublished(got, published float64) bool {
	return math.Abs(got-published) <= 5e-4+1e-3*math.Abs(published)
}

func TestFitCDNOW(t *testing.T) {
	cs := loadCDNOW(t)
	if len(cs) != 2357 {
		t.Fatalf("read %d customers, want 2357", len(cs))
	}
	res, err := Fit(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Params
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", p.R, paper.R}, {"alpha", p.Alpha, paper.Alpha}, {"a", p.A, paper.A}, {"b", p.B, paper.B}} {
		if !closeToPublished(c.got, c.want) {
			t.Errorf("%s = %.6f, published %.3f", c.name, c.got, c.want)
		}
	}
	if math.Abs(res.LogLikelihood-paperLL) > 0.1 {
		t.Errorf("log-likelihood = %.4f, published %.1f", res.LogLikelihood, paperLL)
	}
	if !res.Converged || res.N != 2357 || res.Iterations == 0 {
		t.Errorf("result metadata: %+v", res)
	}
	// The maximum must not be beaten by the published (rounded) parameters.
	if ll := paper.TotalLogLikelihood(cs); ll > res.LogLikelihood+1e-9 {
		t.Errorf("published parameters give LL %.6f > fitted %.6f", ll, res.LogLikelihood)
	}
}

func TestFitDeterministicAndOrderFree(t *testing.T) {
	cs := loadCDNOW(t)
	a, err := Fit(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	rev := make([]Customer, len(cs))
	for i, c := range cs {
		rev[len(cs)-1-i] = c
	}
	b, err := Fit(rev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Params != b.Params || a.Iterations != b.Iterations {
		t.Errorf("fits differ: %+v vs %+v", a, b)
	}
}

func TestFitRejectsDegenerateInput(t *testing.T) {
	if _, err := Fit(nil, nil); err == nil {
		t.Error("empty input: want error")
	}
	if _, err := Fit([]Customer{{0, 0, 10}, {0, 0, 20}}, nil); err == nil {
		t.Error("no repeat purchases: want error")
	}
	if _, err := Fit([]Customer{{1, 30, 10}}, nil); err == nil {
		t.Error("recency > T: want error")
	}
}

// directLL evaluates equation (6) of the paper term by term with Γ, without
// logs; it is only usable for small x and T.
func directLL(p Params, c Customer) float64 {
	beta := func(x, y float64) float64 { return math.Gamma(x) * math.Gamma(y) / math.Gamma(x+y) }
	x := c.Frequency
	common := math.Gamma(p.R+x) * math.Pow(p.Alpha, p.R) / math.Gamma(p.R)
	l := beta(p.A, p.B+x) / beta(p.A, p.B) * common / math.Pow(p.Alpha+c.T, p.R+x)
	if x > 0 {
		l += beta(p.A+1, p.B+x-1) / beta(p.A, p.B) * common / math.Pow(p.Alpha+c.Recency, p.R+x)
	}
	return math.Log(l)
}

func TestLogLikelihoodMatchesDirectFormula(t *testing.T) {
	for _, c := range []Customer{{0, 0, 38.86}, {1, 1.71, 38.86}, {2, 30.43, 38.86}, {7, 29.43, 35}, {15, 37.5, 38}} {
		got, want := paper.LogLikelihood(c), directLL(paper, c)
		if math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
			t.Errorf("LL%+v = %.12f, direct %.12f", c, got, want)
		}
	}
	// Large histories overflow the direct form but not the log form.
	big := paper.LogLikelihood(Customer{Frequency: 400, Recency: 990, T: 1000})
	if math.IsNaN(big) || math.IsInf(big, 0) {
		t.Errorf("LL for x=400 is %v", big)
	}
}

func TestPAlive(t *testing.T) {
	if got := paper.PAlive(Customer{0, 0, 38.86}); got != 1 {
		t.Errorf("P(alive) with x=0 = %v, want 1", got)
	}
	// Equation (13) by hand for x=2, t_x=30.43, T=38.86.
	want := 1 / (1 + 0.793/(2.426+2-1)*math.Pow((4.414+38.86)/(4.414+30.43), 0.243+2))
	if got := paper.PAlive(Customer{2, 30.43, 38.86}); math.Abs(got-want) > 1e-12 {
		t.Errorf("P(alive) = %v, want %v", got, want)
	}
	// A customer who bought often but long ago is likely gone.
	if got := paper.PAlive(Customer{10, 5, 38}); got > 0.01 {
		t.Errorf("P(alive) of lapsed frequent buyer = %v", got)
	}
}

// Hardie's worked example ("Implementing the BG/NBD model in Excel"):
// E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 at the published estimates.
func TestExpectedPurchasesPublishedExample(t *testing.T) {
	got := paper.ExpectedPurchases(Customer{2, 30.43, 38.86}, 39)
	if math.Abs(got-1.226) > 5e-4 {
		t.Errorf("E[X(39)] = %.5f, published 1.226", got)
	}
}

// posteriorExpectation computes E[X(T,T+t) | history] without the
// hypergeometric function: given alive, λ ~ Gamma(r+x, α+T) and
// p ~ Beta(a, b+x) independently, and E[X(t) | λ, p] = (1 − e^(−λpt))/p, so
// E = P(alive) · E_p[(1 − ((α+T)/(α+T+pt))^(r+x)) / p].
// The Beta integral is taken with p = u^m, m = ⌈3/a⌉, which turns the
// p^(a−1) endpoint singularity into the smooth factor m·u^(ma−1), and
// composite Simpson on a fine grid.
func posteriorExpectation(pr Params, c Customer, t float64) float64 {
	x := c.Frequency
	bb := pr.B + x
	g := func(p float64) float64 {
		if p == 0 {
			return (pr.R + x) * t / (pr.Alpha + c.T)
		}
		return (1 - math.Pow((pr.Alpha+c.T)/(pr.Alpha+c.T+p*t), pr.R+x)) / p
	}
	m := math.Ceil(3 / pr.A)
	h := func(u float64) float64 {
		p := math.Pow(u, m)
		return m * math.Pow(u, m*pr.A-1) * math.Pow(1-p, bb-1) * g(p)
	}
	const n = 200000
	sum := h(0) + h(1)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * h(float64(i)/n)
	}
	integral := sum / (3 * n)
	lbeta := lgamma(pr.A) + lgamma(bb) - lgamma(pr.A+bb)
	return pr.PAlive(c) * integral / math.Exp(lbeta)
}

func TestExpectedPurchasesMatchesPosteriorIntegral(t *testing.T) {
	cases := []struct {
		c Customer
		t float64
	}{
		{Customer{0, 0, 38.86}, 39},
		{Customer{2, 30.43, 38.86}, 39},
		{Customer{5, 20, 30}, 10},
		{Customer{5, 29, 30}, 520},    // z ≈ 0.93: connection formula
		{Customer{1, 2, 27}, 5000},    // z ≈ 0.99
		{Customer{30, 37, 38}, 39},    // large x
		{Customer{3, 10, 38.86}, 0.5}, // short horizon
	}
	for _, pr := range []Params{paper, {R: 2, Alpha: 10, A: 1.7, B: 3}} {
		for _, tc := range cases {
			got := pr.ExpectedPurchases(tc.c, tc.t)
			want := posteriorExpectation(pr, tc.c, tc.t)
			if math.Abs(got-want) > 1e-6*math.Max(1, want) {
				t.Errorf("%+v E[X(%v) | %+v] = %.9f, integral %.9f", pr, tc.t, tc.c, got, want)
			}
		}
	}
}

func TestExpectedPurchasesNew(t *testing.T) {
	for _, h := range []float64{1, 39, 78, 2000} {
		got := paper.ExpectedPurchasesNew(h)
		want := paper.ExpectedPurchases(Customer{0, 0, 0}, h)
		if math.Abs(got-want) > 1e-9*math.Max(1, want) {
			t.Errorf("E[X(%v)] = %v, conditional form with T=0 gives %v", h, got, want)
		}
	}
	// For small t the expectation is the mean purchase rate r/α times t.
	if got, want := paper.ExpectedPurchasesNew(1e-4), 1e-4*paper.R/paper.Alpha; math.Abs(got-want) > 1e-3*want {
		t.Errorf("E[X(1e-4)] = %v, want ≈ %v", got, want)
	}
	// a = 1 is a removable singularity.
	one := Params{R: 1, Alpha: 5, A: 1, B: 2}
	lo, hi := one, one
	lo.A, hi.A = 0.999, 1.001
	mid := (lo.ExpectedPurchasesNew(39) + hi.ExpectedPurchasesNew(39)) / 2
	if got := one.ExpectedPurchasesNew(39); math.Abs(got-mid) > 1e-5 {
		t.Errorf("E[X(39)] at a=1: %v, neighbours average %v", got, mid)
	}
}

func TestPNoPurchaseLimits(t *testing.T) {
	c := Customer{3, 20, 38}
	if got := paper.PNoPurchase(c, 0); got != 1 {
		t.Errorf("h=0: %v", got)
	}
	if got, want := paper.PNoPurchase(c, 1e9), 1-paper.PAlive(c); math.Abs(got-want) > 1e-6 {
		t.Errorf("h→∞: %v, want 1−P(alive) = %v", got, want)
	}
	prev := 1.0
	for _, h := range []float64{1, 5, 10, 39, 100} {
		got := paper.PNoPurchase(c, h)
		if got > prev {
			t.Errorf("P(no purchase) increased from %v to %v at h=%v", prev, got, h)
		}
		prev = got
	}
}

// gammaRand draws from Gamma(shape, rate) by Marsaglia & Tsang (2000).
func gammaRand(rng *rand.Rand, shape, rate float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		return gammaRand(rng, shape+1, rate) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v / rate
		}
	}
}

// TestPredictionsOnSimulatedCustomers simulates the BG/NBD generative
// process and checks that the conditional predictions match what the
// simulated customers then do, overall and for one-time buyers separately.
func TestPredictionsOnSimulatedCustomers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pr := Params{R: 0.5, Alpha: 6, A: 0.8, B: 2.5}
	const n, h = 20000, 26.0
	type acc struct{ predNone, actNone, varNone, predX, actX, sqX float64 }
	var all, once acc
	for i := 0; i < n; i++ {
		T := 20 + 20*rng.Float64()
		lambda := gammaRand(rng, pr.R, pr.Alpha)
		g1, g2 := gammaRand(rng, pr.A, 1), gammaRand(rng, pr.B, 1)
		p := g1 / (g1 + g2)
		var x, tx, hold float64
		for t := 0.0; ; {
			t += rng.ExpFloat64() / lambda
			if t > T+h {
				break
			}
			if t <= T {
				x, tx = x+1, t
			} else {
				hold++
			}
			if rng.Float64() < p {
				break
			}
		}
		c := Customer{x, tx, T}
		pn := pr.PNoPurchase(c, h)
		ex := pr.ExpectedPurchases(c, h)
		none := 0.0
		if hold == 0 {
			none = 1
		}
		for _, a := range []*acc{&all, &once} {
			if a == &once && x != 0 {
				continue
			}
			a.predNone += pn
			a.actNone += none
			a.varNone += pn * (1 - pn)
			a.predX += ex
			a.actX += hold
			a.sqX += (hold - ex) * (hold - ex)
		}
	}
	for name, a := range map[string]acc{"all": all, "x=0": once} {
		if d := math.Abs(a.predNone - a.actNone); d > 4*math.Sqrt(a.varNone) {
			t.Errorf("%s: predicted %.1f customers without purchase, simulated %.0f (4σ = %.1f)", name, a.predNone, a.actNone, 4*math.Sqrt(a.varNone))
		}
		if d := math.Abs(a.predX - a.actX); d > 4*math.Sqrt(a.sqX) {
			t.Errorf("%s: predicted %.1f holdout purchases, simulated %.0f (4σ = %.1f)", name, a.predX, a.actX, 4*math.Sqrt(a.sqX))
		}
	}
}

// cdnowHoldout counts, per sample customer id, the distinct purchase days in
// the holdout period 1997-10-01 .. 1998-06-30 (testdata/README.md).
func cdnowHoldout(t *testing.T) map[int]int {
	t.Helper()
	f, err := os.Open("testdata/CDNOW_sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	days := map[int]map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 5 {
			t.Fatalf("CDNOW_sample.txt line %d: %d fields", line, len(fs))
		}
		id, err := strconv.Atoi(fs[1])
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		d, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if d.Before(time.Date(1997, 10, 1, 0, 0, 0, 0, time.UTC)) || d.After(time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)) {
			continue
		}
		if days[id] == nil {
			days[id] = map[string]bool{}
		}
		days[id][fs[2]] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for id, ds := range days {
		out[id] = len(ds)
	}
	return out
}

// TestHoldoutCDNOW fits on the 39-week calibration period and checks the
// forecasts for the next 39 weeks against what the 2,357 customers actually
// did (the summary file's rows are in sample-id order, 1..2357).
//
// Counted from CDNOW_sample.txt, the customers made 1,882 repeat purchase
// days in the holdout period (1,959 records). The BG/NBD conditional
// expectations sum to about 1,653: the model under-forecasts this holdout by
// about 12%, a misfit of the model on this cohort (its purchase rates are not
// stationary), not a numerical error — the same function matches an
// independent posterior integral and a simulation in the tests above. The
// assertion therefore allows 15% on the total and requires the
// under-forecast direction, while the count of customers with no holdout
// purchase, which drives churn scoring, must be within 5%.
func TestHoldoutCDNOW(t *testing.T) {
	cs := loadCDNOW(t)
	hold := cdnowHoldout(t)
	res, err := Fit(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var predX, predNone float64
	actX, actNone := 0, 0
	for i, c := range cs {
		predX += res.Params.ExpectedPurchases(c, 39)
		predNone += res.Params.PNoPurchase(c, 39)
		k := hold[i+1]
		actX += k
		if k == 0 {
			actNone++
		}
	}
	t.Logf("holdout repeat purchases: predicted %.1f, actual %d; customers without purchase: predicted %.1f, actual %d", predX, actX, predNone, actNone)
	if actX != 1882 {
		t.Errorf("counted %d holdout purchase days, the data hold 1882", actX)
	}
	if rel := (float64(actX) - predX) / float64(actX); rel < 0 || rel > 0.15 {
		t.Errorf("predicted %.1f holdout purchases, actual %d (%.1f%% under)", predX, actX, 100*rel)
	}
	if rel := math.Abs(predNone-float64(actNone)) / float64(actNone); rel > 0.05 {
		t.Errorf("predicted %.1f customers without holdout purchase, actual %d (%.1f%% off)", predNone, actNone, 100*rel)
	}
}
