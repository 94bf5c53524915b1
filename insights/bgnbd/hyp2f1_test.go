package bgnbd

import (
	"errors"
	"math"
	"testing"
)

func TestHyp2F1ClosedForms(t *testing.T) {
	for _, z := range []float64{-5, -0.9, -0.3, 0.1, 0.5, 0.74, 0.76, 0.9, 0.99, 0.9999} {
		check := func(name string, got, want float64, tol float64) {
			t.Helper()
			if math.Abs(got-want) > tol*math.Abs(want) {
				t.Errorf("%s at z=%v: got %.15g, want %.15g", name, z, got, want)
			}
		}
		// ₂F₁(1, 1; 2; z) = −ln(1−z)/z (c−a−b = 0: the perturbed path near 1).
		f, err := Hyp2F1(1, 1, 2, z)
		if err != nil {
			t.Fatal(err)
		}
		check("2F1(1,1;2)", f, -math.Log1p(-z)/z, 1e-8)
		// ₂F₁(a, b; b; z) = (1−z)^(−a).
		f, err = Hyp2F1(0.7, 2.3, 2.3, z)
		if err != nil {
			t.Fatal(err)
		}
		check("2F1(a,b;b)", f, math.Pow(1-z, -0.7), 1e-8)
		if z > 0 {
			// ₂F₁(1/2, 1/2; 3/2; z) = arcsin(√z)/√z.
			f, err = Hyp2F1(0.5, 0.5, 1.5, z)
			if err != nil {
				t.Fatal(err)
			}
			check("2F1(1/2,1/2;3/2)", f, math.Asin(math.Sqrt(z))/math.Sqrt(z), 1e-10)
		}
	}
}

// Reference values computed with mpmath 1.3.0 (hyp2f1) at 30 significant
// digits; they cover the direct series, the connection formula, the
// perturbed integer case and the Pfaff transformation.
func TestHyp2F1Reference(t *testing.T) {
	for _, c := range []struct{ a, b, c, z, want float64 }{
		{1, 1, 2, 0.5, 1.3862943611198906188},
		{0.243, 2.426, 2.219, 0.47, 1.187740720949647978},
		{2.243, 4.426, 4.219, 0.47, 4.4930369340116198148},
		{32.243, 32.426, 32.219, 0.447, 223151381.69957081768},
		{5.5, 7.5, 8.2, 0.93, 465823.64328059356802},
		{0.5, 0.5, 1.5, 0.999, 1.5399384391655189311},
		{1, 1, 2, 0.999, 6.9146699489310672373},
		{2.0, 3.0, 5.0, 0.9, 8.5615383921875608998},
		{1.5, 2.5, 7.0, -3.0, 0.37663065921791879257},
		{0.7, 1.3, 2.1, -0.4, 0.86070716056312201884},
		{3, 2, 4.5, 0.99999, 3225.0298658271991098},
	} {
		got, err := Hyp2F1(c.a, c.b, c.c, c.z)
		if err != nil {
			t.Errorf("2F1(%v,%v;%v;%v): %v", c.a, c.b, c.c, c.z, err)
			continue
		}
		if math.Abs(got-c.want) > 1e-8*math.Abs(c.want) {
			t.Errorf("2F1(%v,%v;%v;%v) = %.17g, want %.17g", c.a, c.b, c.c, c.z, got, c.want)
		}
	}
}

func TestHyp2F1Domain(t *testing.T) {
	if _, err := Hyp2F1(1, 1, 2, 1); err == nil {
		t.Error("z = 1: want error")
	}
	if _, err := Hyp2F1(1, 1, -2, 0.5); err == nil {
		t.Error("c = −2: want error")
	}
	if _, err := Hyp2F1(math.NaN(), 1, 2, 0.5); err == nil {
		t.Error("NaN: want error")
	}
	// A polynomial case terminates exactly: ₂F₁(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1)).
	got, err := Hyp2F1(-2, 3, 4, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 - 2*3*0.5/4 + 3*4*0.25/(4*5); math.Abs(got-want) > 1e-15 {
		t.Errorf("polynomial case = %v, want %v", got, want)
	}
	_ = errors.Is(err, ErrNoConvergence)
}
