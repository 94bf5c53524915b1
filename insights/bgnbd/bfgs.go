package bgnbd

import "math"

// digamma returns ψ(x), the derivative of ln Γ, for x > 0: the recurrence
// ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then the asymptotic series (absolute
// error below 1e-14 there).
func digamma(x float64) float64 {
	if x <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	var acc float64
	for x < 10 {
		acc -= 1 / x
		x++
	}
	inv := 1 / x
	inv2 := inv * inv
	series := inv2 * (1.0/12 - inv2*(1.0/120-inv2*(1.0/252-inv2*(1.0/240-inv2*(1.0/132)))))
	return acc + math.Log(x) - 0.5*inv - series
}

// maxProductX is the largest frequency whose gamma-function ratios are
// summed term by term; beyond it they come from lnΓ and ψ directly.
const maxProductX = 10000

// xTerms are the parts of the likelihood and its gradient that depend on the
// parameters and the frequency x only:
//
//	ll  = lnΓ(r+x) − lnΓ(r) + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	    = Σ_{k<x} ln(r+k) − Σ_{k<x} ln(1 + a/(b+k))
//	dR  = ψ(r+x) − ψ(r)     = Σ_{k<x} 1/(r+k)
//	dB  = ψ(b+x) − ψ(b)     = Σ_{k<x} 1/(b+k)
//	dAB = ψ(a+b) − ψ(a+b+x) = −Σ_{k<x} 1/(a+b+k)
//
// For whole x the sums are exact where the lnΓ differences lose everything
// to cancellation: at a, b near 1e10 (a base whose dropout probability is
// the same for everyone fits there) lnΓ(a+b) is about 2e11, so its
// difference carries an absolute error near 1e-5 per customer.
type xTerms struct {
	ll, dR, dB, dAB float64
}

// fillXTerms computes the xTerms of the objective's distinct frequencies
// (sorted ascending) into o.perX.
func (o *objective) fillXTerms(r, a, b float64) {
	if len(o.perX) < len(o.xs) {
		o.perX = make([]xTerms, len(o.xs))
	}
	maxX := o.xs[len(o.xs)-1]
	if maxX > maxProductX {
		for i, x := range o.xs {
			o.perX[i] = xTerms{
				ll:  lgamma(r+x) - lgamma(r) + lgamma(a+b) + lgamma(b+x) - lgamma(b) - lgamma(a+b+x),
				dR:  digamma(r+x) - digamma(r),
				dB:  digamma(b+x) - digamma(b),
				dAB: digamma(a+b) - digamma(a+b+x),
			}
		}
		return
	}
	var acc xTerms
	k := 0.0
	for i, x := range o.xs {
		for ; k < x; k++ {
			acc.ll += math.Log(r+k) - math.Log1p(a/(b+k))
			acc.dR += 1 / (r + k)
			acc.dB += 1 / (b + k)
			acc.dAB -= 1 / (a + b + k)
		}
		o.perX[i] = acc
	}
}

// negLLGrad returns the negative log-likelihood in log-parameters
// θ = (ln r, ln α, ln a, ln b) and writes its gradient with
// respect to θ into grad. Per customer, with p and q the shares of the two
// terms of the likelihood (p = 1, q = 0 when x = 0) and the xTerms:
//
//	∂ℓ/∂r = dR + ln α − p ln(α+T) − q ln(α+t_x)
//	∂ℓ/∂α = r/α − (r+x) (p/(α+T) + q/(α+t_x))
//	∂ℓ/∂a = dAB + q/a
//	∂ℓ/∂b = dAB + dB − q/(b+x−1)
//
// and ∂ℓ/∂ln r = r ∂ℓ/∂r, and so on.
func (o *objective) negLLGrad(theta, grad []float64) float64 {
	for _, v := range theta {
		if v < -25 || v > 25 || math.IsNaN(v) {
			for i := range grad {
				grad[i] = 0
			}
			return math.Inf(1)
		}
	}
	r, alpha, a, b := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	lnAlpha, lnA := math.Log(alpha), math.Log(a)
	o.fillXTerms(r, a, b)
	var sum, gr, gAlpha, ga, gb float64
	for _, g := range o.groups {
		x := o.xs[g.xi]
		t := &o.perX[g.xi]
		lT := math.Log(alpha + g.T)
		a3 := -(r + x) * lT
		ll := r*lnAlpha + t.ll
		var p, q, lTx, invTx, invB float64
		if x == 0 {
			ll += a3
			p = 1
		} else {
			lTx = math.Log(alpha + g.tx)
			invB = 1 / (b + x - 1)
			a4 := lnA - math.Log(b+x-1) - (r+x)*lTx
			m := logAddExp(a3, a4)
			ll += m
			p, q = math.Exp(a3-m), math.Exp(a4-m)
			invTx = 1 / (alpha + g.tx)
		}
		w := g.weight
		sum += w * ll
		gr += w * (t.dR + lnAlpha - p*lT - q*lTx)
		gAlpha += w * (r/alpha - (r+x)*(p/(alpha+g.T)+q*invTx))
		ga += w * (t.dAB + q/a)
		gb += w * (t.dAB + t.dB - q*invB)
	}
	if math.IsNaN(sum) || math.IsNaN(gr+gAlpha+ga+gb) {
		for i := range grad {
			grad[i] = 0
		}
		return math.Inf(1)
	}
	grad[0], grad[1], grad[2], grad[3] = -r*gr, -alpha*gAlpha, -a*ga, -b*gb
	return -sum
}

// bfgs minimises f (which also writes its gradient) from x0 with the BFGS
// quasi-Newton method and a backtracking Armijo line search. It stops when
// the gradient's largest component is below gTol·max(1, |f|), when f has
// changed by less than 1e-13·max(1, |f|) over three consecutive iterations
// (a flat ridge, where the optimum lies at infinity in some direction and
// the likelihood no longer changes), when the line search cannot decrease f
// any further (the limit of floating point), or after maxIter iterations.
// It returns the best point, its value, iterations, evaluations and whether
// it stopped on a tolerance rather than on maxIter or a non-finite start.
func bfgs(f func(x, g []float64) float64, x0 []float64, gTol float64, maxIter int) ([]float64, float64, int, int, bool) {
	const (
		c1       = 1e-4 // Armijo sufficient decrease
		maxStep  = 4.0  // largest move of one coordinate per iteration
		flatTol  = 1e-13
		flatRuns = 3
	)
	n := len(x0)
	x := append([]float64(nil), x0...)
	g := make([]float64, n)
	evals := 1
	fx := f(x, g)
	if math.IsInf(fx, 0) || math.IsNaN(fx) {
		return x, fx, 0, evals, false
	}
	h := make([]float64, n*n) // inverse Hessian approximation, row-major
	for i := range n {
		h[i*n+i] = 1
	}
	d := make([]float64, n)
	xn := make([]float64, n)
	gn := make([]float64, n)
	s := make([]float64, n)
	y := make([]float64, n)
	hy := make([]float64, n)
	flat := 0
	first := true
	for iter := 0; iter < maxIter; iter++ {
		if maxAbs(g) <= gTol*math.Max(1, math.Abs(fx)) {
			return x, fx, iter, evals, true
		}
		// d = −H g; fall back to steepest descent when H g is not a
		// descent direction.
		slope := 0.0
		for i := range n {
			var v float64
			for j := range n {
				v -= h[i*n+j] * g[j]
			}
			d[i] = v
			slope += v * g[i]
		}
		if slope >= 0 {
			resetIdentity(h, n)
			for i := range n {
				d[i] = -g[i]
			}
			slope = -dot(g, g)
		}
		step := 1.0
		if m := maxAbs(d); m > maxStep {
			step = maxStep / m
		}
		var fn float64
		accepted := false
		for range 60 {
			for i := range n {
				xn[i] = x[i] + step*d[i]
			}
			evals++
			fn = f(xn, gn)
			if fn <= fx+c1*step*slope {
				accepted = true
				break
			}
			step *= 0.5
		}
		if !accepted {
			// No decrease along a descent direction: f is at the limit of
			// its floating-point resolution here.
			return x, fx, iter, evals, true
		}
		for i := range n {
			s[i] = xn[i] - x[i]
			y[i] = gn[i] - g[i]
		}
		change := fx - fn
		copy(x, xn)
		copy(g, gn)
		fx = fn
		if change <= flatTol*math.Max(1, math.Abs(fx)) {
			flat++
			if flat >= flatRuns {
				return x, fx, iter + 1, evals, true
			}
		} else {
			flat = 0
		}
		sy := dot(s, y)
		if sy <= 1e-12*math.Sqrt(dot(s, s)*dot(y, y)) {
			continue // curvature condition fails: keep H
		}
		if first {
			// Scale the initial inverse Hessian to the observed curvature.
			resetIdentity(h, n)
			scale := sy / dot(y, y)
			for i := range n {
				h[i*n+i] = scale
			}
			first = false
		}
		// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, with ρ = 1/(yᵀs).
		rho := 1 / sy
		for i := range n {
			var v float64
			for j := range n {
				v += h[i*n+j] * y[j]
			}
			hy[i] = v
		}
		yhy := dot(y, hy)
		for i := range n {
			for j := range n {
				h[i*n+j] += -rho*(hy[i]*s[j]+s[i]*hy[j]) + (rho*rho*yhy+rho)*s[i]*s[j]
			}
		}
	}
	return x, fx, maxIter, evals, false
}

func resetIdentity(h []float64, n int) {
	for i := range h {
		h[i] = 0
	}
	for i := range n {
		h[i*n+i] = 1
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
