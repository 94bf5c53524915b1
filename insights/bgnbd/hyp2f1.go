package bgnbd

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoConvergence reports a hypergeometric series that did not converge
// within the term budget.
var ErrNoConvergence = errors.New("hypergeometric series did not converge")

const (
	hypEps      = 1e-16   // relative size of the neglected tail
	hypMaxTerms = 1000000 // term budget of one series
	hypSwitch   = 0.75    // above this z, use the 1−z connection formula
	hypNearInt  = 1e-5    // c−a−b closer than this to an integer is perturbed
)

// Hyp2F1 returns the Gauss hypergeometric function ₂F₁(a, b; c; z) for real
// arguments with z < 1 and c not a non-positive integer.
//
// Evaluation strategy:
//   - z < 0: the Pfaff transformation
//     ₂F₁(a, b; c; z) = (1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1)) maps z to (0, 1).
//   - 0 ≤ z ≤ 0.75: the defining series Σ (a)_n (b)_n / ((c)_n n!) zⁿ.
//   - 0.75 < z < 1: the connection formula in 1−z (Abramowitz & Stegun 15.3.6),
//     whose two series converge fast there. The formula has poles when
//     s = c−a−b is an integer; when s is within 1e-5 of one, the function is
//     evaluated at c ± 2e-5 and the two values averaged (an O(δ²) error,
//     about 1e-9 relative, instead of catastrophic cancellation).
//
// A series stops when a bound on its remaining tail falls below 1e-16 of the
// partial sum. For term ratio ρ_n = (a+n)(b+n)z/((c+n)(n+1)) → z, once
// m = max(|ρ_n|, |z|) < 1 the tail is at most |term|·m/(1−m) (the ratios
// approach z monotonically for n beyond max(|a|, |b|, |c|), which the bound
// is only applied after). The result is an error wrapping ErrNoConvergence
// if a series needs more than 10⁶ terms and an error for z ≥ 1 or an invalid c.
func Hyp2F1(a, b, c, z float64) (float64, error) {
	switch {
	case math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(c) || math.IsNaN(z):
		return math.NaN(), fmt.Errorf("hyp2f1: NaN argument")
	case z >= 1:
		return math.NaN(), fmt.Errorf("hyp2f1: z = %v outside z < 1", z)
	case c <= 0 && c == math.Trunc(c):
		return math.NaN(), fmt.Errorf("hyp2f1: c = %v is a non-positive integer", c)
	case z == 0:
		return 1, nil
	case z < 0:
		w := z / (z - 1)
		f, err := Hyp2F1(a, c-b, c, w)
		if err != nil {
			return math.NaN(), err
		}
		return math.Pow(1-z, -a) * f, nil
	case z <= hypSwitch:
		return hypSeries(a, b, c, z)
	}
	s := c - a - b
	if math.Abs(s-math.Round(s)) < hypNearInt {
		const d = 2 * hypNearInt
		lo, err := hypConnect(a, b, c-d, z)
		if err != nil {
			return math.NaN(), err
		}
		hi, err := hypConnect(a, b, c+d, z)
		if err != nil {
			return math.NaN(), err
		}
		return (lo + hi) / 2, nil
	}
	return hypConnect(a, b, c, z)
}

// hypSeries sums the defining series for |z| < 1.
func hypSeries(a, b, c, z float64) (float64, error) {
	sum, comp := 1.0, 0.0
	term := 1.0
	start := math.Max(math.Abs(a), math.Max(math.Abs(b), math.Abs(c)))
	for n := 0; n < hypMaxTerms; n++ {
		fn := float64(n)
		rho := (a + fn) * (b + fn) / ((c + fn) * (fn + 1)) * z
		term *= rho
		y := term - comp
		t := sum + y
		comp = (t - sum) - y
		sum = t
		if term == 0 {
			return sum, nil
		}
		if math.IsNaN(sum) || math.IsInf(sum, 0) {
			return math.NaN(), fmt.Errorf("hyp2f1(%v, %v; %v; %v): series overflowed", a, b, c, z)
		}
		if fn < start {
			continue
		}
		m := math.Max(math.Abs(rho), math.Abs(z))
		if m < 1 && math.Abs(term)*m/(1-m) <= hypEps*math.Abs(sum) {
			return sum, nil
		}
	}
	return math.NaN(), fmt.Errorf("hyp2f1(%v, %v; %v; %v): %w after %d terms", a, b, c, z, ErrNoConvergence, hypMaxTerms)
}

// hypConnect evaluates A&S 15.3.6 for 0 < z < 1 and non-integer s = c−a−b:
//
//	₂F₁(a,b;c;z) = Γ(c)Γ(s)/(Γ(c−a)Γ(c−b)) · ₂F₁(a, b; 1−s; 1−z)
//	             + (1−z)^s Γ(c)Γ(−s)/(Γ(a)Γ(b)) · ₂F₁(c−a, c−b; 1+s; 1−z).
func hypConnect(a, b, c, z float64) (float64, error) {
	s := c - a - b
	w := 1 - z
	f1, err := hypSeries(a, b, 1-s, w)
	if err != nil {
		return math.NaN(), err
	}
	f2, err := hypSeries(c-a, c-b, 1+s, w)
	if err != nil {
		return math.NaN(), err
	}
	g1 := gammaRatio([]float64{c, s}, []float64{c - a, c - b})
	g2 := gammaRatio([]float64{c, -s}, []float64{a, b})
	return g1*f1 + math.Exp(s*math.Log(w))*g2*f2, nil
}

// gammaRatio returns ΠΓ(num)/ΠΓ(den), computed in logs with signs; a pole in
// the denominator gives 0.
func gammaRatio(num, den []float64) float64 {
	lg, sign := 0.0, 1
	for _, v := range num {
		l, s := math.Lgamma(v)
		lg += l
		sign *= s
	}
	for _, v := range den {
		if v <= 0 && v == math.Trunc(v) {
			return 0
		}
		l, s := math.Lgamma(v)
		lg -= l
		sign *= s
	}
	return float64(sign) * math.Exp(lg)
}
