package bgnbd_test

import (
	"fmt"
	"log"
	"os"

	"github.com/crmpulse/crmpulse/insights/bgnbd"
)

func Example() {
	f, err := os.Open("testdata/cdnow_customers_summary.csv")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	customers, err := bgnbd.ReadSummary(f)
	if err != nil {
		log.Fatal(err)
	}
	fit, err := bgnbd.Fit(customers, nil)
	if err != nil {
		log.Fatal(err)
	}
	p := fit.Params
	fmt.Printf("r=%.3f alpha=%.3f a=%.3f b=%.3f LL=%.1f\n", p.R, p.Alpha, p.A, p.B, fit.LogLikelihood)

	// A customer with 2 repeat purchases, the last at week 30.43 of 38.86.
	c := bgnbd.Customer{Frequency: 2, Recency: 30.43, T: 38.86}
	fmt.Printf("P(alive)=%.3f E[X(39)]=%.3f P(no purchase in 39 weeks)=%.3f\n",
		p.PAlive(c), p.ExpectedPurchases(c, 39), p.PNoPurchase(c, 39))
	// Output:
	// r=0.243 alpha=4.414 a=0.793 b=2.426 LL=-9582.4
	// P(alive)=0.727 E[X(39)]=1.226 P(no purchase in 39 weeks)=0.445
}
