package bgnbd

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDigamma(t *testing.T) {
	const euler = 0.57721566490153286061
	for _, c := range []struct{ x, want float64 }{
		{1, -euler},
		{0.5, -euler - 2*math.Ln2},
		{2, 1 - euler},
		{10, 2.251752589066721},
		{1e-6, -1000000.5772140199},
	} {
		if got := digamma(c.x); math.Abs(got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
			t.Errorf("ψ(%g) = %.15g, want %.15g", c.x, got, c.want)
		}
	}
	// ψ is the derivative of ln Γ: compare with a central difference.
	for _, x := range []float64{0.3, 2.7, 9.99, 10.01, 55, 3e4} {
		h := 1e-5 * math.Max(1, x)
		fd := (lgamma(x+h) - lgamma(x-h)) / (2 * h)
		if got := digamma(x); math.Abs(got-fd) > 1e-7*math.Max(1, math.Abs(fd)) {
			t.Errorf("ψ(%g) = %.12g, finite difference %.12g", x, got, fd)
		}
	}
}

// TestGradientMatchesFiniteDifferences checks the analytic gradient of the
// pooled objective against central differences of the objective itself, at
// the published CDNOW estimate and at points far from it.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	cdnow := loadCDNOW(t)
	obj := newObjective(cdnow)
	for _, p := range []Params{paper, {R: 3, Alpha: 0.5, A: 0.05, B: 40}, {R: 0.01, Alpha: 200, A: 5e4, B: 6e5}} {
		theta := []float64{math.Log(p.R), math.Log(p.Alpha), math.Log(p.A), math.Log(p.B)}
		g := make([]float64, 4)
		f := obj.negLLGrad(theta, g)
		// The pooled value against the per-customer likelihood.
		if want := -p.TotalLogLikelihood(cdnow); math.Abs(f-want) > 1e-9*math.Abs(want) {
			t.Fatalf("%+v: negLLGrad value %.10g, per-customer total %.10g", p, f, want)
		}
		for i := range theta {
			// A wide step: at large a and b the log-gamma differences carry
			// absolute rounding noise that a narrow step would amplify.
			h := 1e-3
			up := append([]float64(nil), theta...)
			dn := append([]float64(nil), theta...)
			up[i] += h
			dn[i] -= h
			up2 := append([]float64(nil), up...)
			dn2 := append([]float64(nil), dn...)
			up2[i] += h
			dn2[i] -= h
			// Five-point stencil: truncation error of order h⁴.
			fd := (-obj.negLL(up2) + 8*obj.negLL(up) - 8*obj.negLL(dn) + obj.negLL(dn2)) / (12 * h)
			if math.Abs(g[i]-fd) > 1e-4*math.Max(1, math.Abs(fd)) {
				t.Errorf("%+v: ∂/∂θ%d = %.8g, finite difference %.8g", p, i, g[i], fd)
			}
		}
	}
}

// TestFitOnRidge fits a base whose customers buy at gamma-distributed
// Poisson rates and all drop out after a purchase with the same probability
// 0.1. The beta mixing distribution then degenerates to a point mass: the
// likelihood rises towards a and b going to infinity with a/(a+b) fixed, so
// the maximum is not attained (synthetic CRM data looks like this). The fit
// must still stop on its tolerances, at a log-likelihood no simplex search
// beats.
func TestFitOnRidge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var cs []Customer
	for range 1500 {
		T := 10 + rng.Float64()*90
		lambda := rng.ExpFloat64() * 0.3 // gamma(1, 0.3) purchase rate per week
		var x, last float64
		for t := rng.ExpFloat64() / lambda; t < T; t += rng.ExpFloat64() / lambda {
			x++
			last = t
			if rng.Float64() < 0.1 {
				break
			}
		}
		cs = append(cs, Customer{Frequency: x, Recency: last, T: T})
	}
	res, err := Fit(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged {
		t.Fatalf("fit did not converge: %+v", res)
	}
	if p := res.Params.A / (res.Params.A + res.Params.B); math.Abs(p-0.1) > 0.03 || res.Params.A < 100 {
		t.Errorf("a common dropout probability of 0.1 should fit a large beta with mean near 0.1; got %+v (mean %.3f)", res.Params, p)
	}
	// A long simplex search from the fitted point finds nothing better.
	obj := newObjective(cs)
	p := res.Params
	x0 := []float64{math.Log(p.R), math.Log(p.Alpha), math.Log(p.A), math.Log(p.B)}
	_, nf, _, _, _ := nelderMead(obj.negLL, x0, 0.1, 4000)
	if -nf > res.LogLikelihood+1e-6*math.Abs(res.LogLikelihood) {
		t.Errorf("Nelder–Mead from the fit reaches LL %.6f > fitted %.6f", -nf, res.LogLikelihood)
	}
}
