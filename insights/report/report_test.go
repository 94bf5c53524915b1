package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/insights/result"
)

func sample() Input {
	r := &result.Result{
		Account: "001A", AccountName: `<script>alert("x")</script> & Co`, Connection: "sf", Industry: "Manufacturing",
		AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Churn: 0.64, Band: "high", Source: "statistical", Model: "logistic", Language: "en",
		Summary:  "High risk <b>now</b>",
		Quarters: []result.Quarter{{Label: "2024Q3", Amount: 1000}, {Label: "2024Q4"}, {Label: "2025Q1", Amount: 2500, Count: 2}},
		Drivers:  []result.Driver{{Label: "budget cuts mentioned", Phrases: []string{"予算削減"}, Evidence: []string{"00T1"}, Contribution: 0.7}},
		Actions:  []result.Action{{Title: "Offer an ROI review", Due: time.Date(2025, 6, 5, 0, 0, 0, 0, time.UTC), Evidence: []string{"00T1"}}},
		Evidence: []result.Citation{{ID: "00T1", Title: "email <img src=x onerror=alert(1)>"}},
	}
	return Input{Result: r, Winback: &result.WinbackPlan{MonthsSince: 7.5, Risk: "medium", Source: "statistical", Steps: []result.Point{{Text: "Call", Citations: []string{"006R"}}}}}
}

func TestHTMLEscapesAndCharts(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script>", "<img", "<b>now"} {
		if strings.Contains(s, bad) {
			t.Errorf("unescaped %q in HTML", bad)
		}
	}
	for _, want := range []string{"<svg", "<rect", "2025Q1", "&lt;script&gt;", "budget cuts mentioned", "予算削減", "<code>00T1</code>", "Win-back plan", "Churn risk: high (64%)"} {
		if !strings.Contains(s, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if n := strings.Count(s, "<rect"); n != 3 {
		t.Errorf("%d bars, want 3", n)
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"# &lt;script&gt;", "**Churn risk: high (64%)**", "2025Q1", "█", "`00T1`", "## Win-back plan", "`006R`"} {
		if !strings.Contains(s, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "<img") {
		t.Errorf("raw HTML in Markdown")
	}
}
