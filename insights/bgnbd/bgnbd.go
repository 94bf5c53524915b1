// Package bgnbd implements the BG/NBD ("beta-geometric / negative binomial
// distribution") model of repeat buying of Fader, Hardie & Lee (2005),
// "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD
// Model", Marketing Science 24(2), 275–284.
//
// The model describes a customer who, while alive, buys according to a Poisson
// process with rate λ and, after each purchase, drops out for good with
// probability p. Across customers λ ~ Gamma(r, α) (shape r, rate α) and
// p ~ Beta(a, b). A customer's history is summarised by (x, t_x, T): x repeat
// purchases (purchases after the first), the time t_x of the last one and the
// length T of the observation window, all measured from the first purchase.
//
// The package fits (r, α, a, b) by maximum likelihood ([Fit]) and computes the
// per-customer quantities the rest of crmpulse uses: the probability that the
// customer is still alive ([Params.PAlive]), the expected number of purchases
// in the next t time units ([Params.ExpectedPurchases]) and the probability of
// no purchase at all in the next h time units ([Params.PNoPurchase]).
//
// Time may be in any unit (days, weeks) as long as every input uses the same
// one; α is then expressed in that unit.
package bgnbd

import (
	"errors"
	"fmt"
	"math"
)

// Customer is one customer's purchase summary over the calibration window.
type Customer struct {
	// Frequency is x, the number of repeat purchases (purchase occasions
	// after the first). Several purchases on one day usually count once.
	Frequency float64
	// Recency is t_x, the time from the first purchase to the last repeat
	// purchase; 0 when Frequency is 0.
	Recency float64
	// T is the time from the first purchase to the end of the window.
	T float64
}

// ErrInvalidCustomer reports a summary that the model cannot use.
var ErrInvalidCustomer = errors.New("invalid customer summary")

// Validate checks that x is a non-negative whole number, T > 0 and
// 0 ≤ t_x ≤ T (with a small tolerance for rounded inputs).
func (c Customer) Validate() error {
	switch {
	case math.IsNaN(c.Frequency) || math.IsNaN(c.Recency) || math.IsNaN(c.T) ||
		math.IsInf(c.Frequency, 0) || math.IsInf(c.Recency, 0) || math.IsInf(c.T, 0):
		return fmt.Errorf("%w: values must be finite", ErrInvalidCustomer)
	case c.Frequency < 0 || c.Frequency != math.Trunc(c.Frequency):
		return fmt.Errorf("%w: frequency %v is not a non-negative whole number", ErrInvalidCustomer, c.Frequency)
	case c.T <= 0:
		return fmt.Errorf("%w: T %v must be positive", ErrInvalidCustomer, c.T)
	case c.Recency < 0:
		return fmt.Errorf("%w: recency %v is negative", ErrInvalidCustomer, c.Recency)
	case c.Recency > c.T*(1+1e-9)+1e-9:
		return fmt.Errorf("%w: recency %v exceeds T %v", ErrInvalidCustomer, c.Recency, c.T)
	}
	return nil
}

// Params are the four BG/NBD parameters.
type Params struct {
	R     float64 // shape of the Gamma distribution of purchase rates
	Alpha float64 // rate (inverse scale) of that Gamma distribution, in 1/time unit
	A     float64 // first shape of the Beta distribution of dropout probabilities
	B     float64 // second shape of that Beta distribution
}

// ErrInvalidParams reports parameters outside the model's domain.
var ErrInvalidParams = errors.New("invalid BG/NBD parameters")

// Validate reports whether all four parameters are finite and positive.
func (p Params) Validate() error {
	for _, v := range []float64{p.R, p.Alpha, p.A, p.B} {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: r=%v alpha=%v a=%v b=%v", ErrInvalidParams, p.R, p.Alpha, p.A, p.B)
		}
	}
	return nil
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// logAddExp returns log(exp(u) + exp(v)) without overflow or underflow.
func logAddExp(u, v float64) float64 {
	if u < v {
		u, v = v, u
	}
	if math.IsInf(v, -1) {
		return u
	}
	return u + math.Log1p(math.Exp(v-u))
}

// LogLikelihood returns the log of the BG/NBD likelihood of one customer's
// (x, t_x, T) (equation 6 of the paper):
//
//	L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
//	  + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
//
// evaluated in logs as ln L = A1 + A2 + ln(e^A3 + δ(x>0)·e^A4) with
//
//	A1 = lnΓ(r+x) − lnΓ(r) + r ln α
//	A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	A3 = −(r+x) ln(α+T)
//	A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)
//
// and the sum taken by log-sum-exp, so large x or T neither overflow nor
// underflow. The customer is not validated.
func (p Params) LogLikelihood(c Customer) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x := c.Frequency
	var a1a2 float64
	if x == math.Trunc(x) && x >= 0 && x <= maxProductX {
		// Term by term, as in the fit (see xTerms): exact where the lnΓ
		// differences cancel catastrophically at large a and b.
		for k := 0.0; k < x; k++ {
			a1a2 += math.Log(r+k) - math.Log1p(a/(b+k))
		}
	} else {
		a1a2 = lgamma(r+x) - lgamma(r) + lgamma(a+b) + lgamma(b+x) - lgamma(b) - lgamma(a+b+x)
	}
	a1a2 += r * math.Log(alpha)
	a3 := -(r + x) * math.Log(alpha+c.T)
	if x == 0 {
		return a1a2 + a3
	}
	a4 := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(alpha+c.Recency)
	return a1a2 + logAddExp(a3, a4)
}

// TotalLogLikelihood sums LogLikelihood over customers.
func (p Params) TotalLogLikelihood(cs []Customer) float64 {
	var sum, comp float64 // Kahan summation: thousands of similar terms
	for _, c := range cs {
		y := p.LogLikelihood(c) - comp
		t := sum + y
		comp = (t - sum) - y
		sum = t
	}
	return sum
}

// oddsDead returns δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), the odds that
// a customer with this history has dropped out (0 when x = 0: in the BG/NBD
// model dropout happens only right after a purchase, so a customer with no
// repeat purchase is alive).
func (p Params) oddsDead(c Customer) float64 {
	if c.Frequency == 0 {
		return 0
	}
	x := c.Frequency
	lo := math.Log(p.A) - math.Log(p.B+x-1) + (p.R+x)*(math.Log(p.Alpha+c.T)-math.Log(p.Alpha+c.Recency))
	return math.Exp(lo)
}

// PAlive returns P(alive at T | x, t_x, T) (equation 13 of the paper):
//
//	1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
//
// It is 1 for a customer without repeat purchases, which is why a churn score
// should not rest on P(alive) alone: use [Params.PNoPurchase] as well.
func (p Params) PAlive(c Customer) float64 {
	return 1 / (1 + p.oddsDead(c))
}

// PNoPurchase returns the probability that a customer with history
// (x, t_x, T) makes no purchase in (T, T+h].
//
// Derivation. Given the history, the customer is dead with probability
// 1 − P(alive), and a dead customer never buys. If alive, the likelihood of the
// history as a function of (λ, p) is (1−p)^x λ^x e^(−λT), which factorises, so
// the posterior of λ given "alive" is Gamma(r+x, α+T), independent of p. While
// alive and not buying the customer cannot drop out (dropout happens only at a
// purchase), so for a given λ the chance of no purchase in the next h is the
// Poisson zero term e^(−λh). Integrating over the posterior Gamma gives
// E[e^(−λh)] = ((α+T)/(α+T+h))^(r+x). Hence
//
//	P(no purchase in (T, T+h]) = 1 − P(alive) + P(alive) · ((α+T)/(α+T+h))^(r+x).
//
// The value tends to 1 − P(alive) as h grows and to 1 as h → 0.
func (p Params) PNoPurchase(c Customer, h float64) float64 {
	if h <= 0 {
		return 1
	}
	pa := p.PAlive(c)
	x := c.Frequency
	quiet := math.Exp((p.R + x) * (math.Log(p.Alpha+c.T) - math.Log(p.Alpha+c.T+h)))
	return 1 - pa + pa*quiet
}

// ExpectedPurchases returns E[X(T, T+t) | x, t_x, T], the expected number of
// purchases in the next t time units of a customer with this history
// (equation 10 of the paper):
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//	/ (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// When a is within 1e-7 of 1 the factor (a−1) makes the formula 0/0; the
// value is then the mean of the formula at a ± 1e-6 (the function is smooth
// in a). It returns NaN only if the hypergeometric series cannot be evaluated,
// which does not happen for valid parameters and finite t.
func (p Params) ExpectedPurchases(c Customer, t float64) float64 {
	if t <= 0 {
		return 0
	}
	if math.Abs(p.A-1) < 1e-7 {
		lo, hi := p, p
		lo.A, hi.A = 1-1e-6, 1+1e-6
		return (lo.ExpectedPurchases(c, t) + hi.ExpectedPurchases(c, t)) / 2
	}
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x := c.Frequency
	z := t / (alpha + c.T + t)
	f, err := Hyp2F1(r+x, b+x, a+b+x-1, z)
	if err != nil {
		return math.NaN()
	}
	lead := math.Exp((r + x) * (math.Log(alpha+c.T) - math.Log(alpha+c.T+t)))
	num := (a + b + x - 1) / (a - 1) * (1 - lead*f)
	return num / (1 + p.oddsDead(c))
}

// ExpectedPurchasesNew returns E[X(t)], the expected number of repeat
// purchases in (0, t] of a customer just acquired at time 0 (equation 9):
//
//	(a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))].
func (p Params) ExpectedPurchasesNew(t float64) float64 {
	if t <= 0 {
		return 0
	}
	if math.Abs(p.A-1) < 1e-7 {
		lo, hi := p, p
		lo.A, hi.A = 1-1e-6, 1+1e-6
		return (lo.ExpectedPurchasesNew(t) + hi.ExpectedPurchasesNew(t)) / 2
	}
	f, err := Hyp2F1(p.R, p.B, p.A+p.B-1, t/(p.Alpha+t))
	if err != nil {
		return math.NaN()
	}
	lead := math.Exp(p.R * (math.Log(p.Alpha) - math.Log(p.Alpha+t)))
	return (p.A + p.B - 1) / (p.A - 1) * (1 - lead*f)
}
