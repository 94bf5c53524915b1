// Package report renders an account's stored insight for people: Markdown
// and HTML (html/template, every value escaped) with an inline SVG bar chart
// of purchases by quarter, the churn drivers with their evidence, next
// actions, cross-sell, competitor signals and the citations.
package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/crmpulse/crmpulse/insights/result"
)

// Input is what a report shows.
type Input struct {
	Result  *result.Result
	Winback *result.WinbackPlan // nil when the account is not a win-back target
}

// Chart returns an SVG bar chart of purchase amounts by quarter. Labels are
// escaped; the SVG has a title for screen readers.
func Chart(qs []result.Quarter) template.HTML {
	const w, h, pad, bottom = 480, 160, 30, 24
	maxAmt := 0.0
	for _, q := range qs {
		maxAmt = math.Max(maxAmt, q.Amount)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img"><title>Purchases by quarter</title>`, w, h, w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, pad, h-bottom, w-5, h-bottom)
	if len(qs) > 0 {
		slot := float64(w-pad-5) / float64(len(qs))
		for i, q := range qs {
			bh := 0.0
			if maxAmt > 0 {
				bh = q.Amount / maxAmt * float64(h-bottom-20)
			}
			x := float64(pad) + float64(i)*slot + slot*0.15
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b7dd8"><title>%s: %s (%d)</title></rect>`,
				x, float64(h-bottom)-bh, slot*0.7, bh, template.HTMLEscapeString(q.Label), money(q.Amount), q.Count)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+slot*0.35, h-8, template.HTMLEscapeString(q.Label))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="12" font-size="10">max %s</text></svg>`, pad, money(maxAmt))
	return template.HTML(b.String()) // built from escaped parts and numbers only
}

func money(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	n := len(s)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (n-i)%3 == 0 && c != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

var funcs = template.FuncMap{
	"pct":   func(p float64) string { return fmt.Sprintf("%.0f%%", p*100) },
	"num":   func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"money": money,
	"date": func(v any) string {
		type dater interface{ Format(string) string }
		if d, ok := v.(dater); ok {
			return d.Format("2006-01-02")
		}
		return ""
	},
	"join":  strings.Join,
	"chart": Chart,
}

const htmlTmpl = `<!DOCTYPE html>
<html lang="{{if eq .Result.Language "en"}}en{{else}}ja{{end}}"><head><meta charset="utf-8">
<title>{{.Result.AccountName}} — crmpulse insight</title>
<style>body{font-family:sans-serif;max-width:860px;margin:2em auto;line-height:1.5}
.band-high{color:#b00020}.band-medium{color:#b36b00}.band-low{color:#1b7f3b}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}code{font-size:90%}</style></head>
<body>
<h1>{{.Result.AccountName}} <small>({{.Result.Account}}, {{.Result.Connection}})</small></h1>
<p>{{.Result.Industry}} · {{.Result.SizeBand}} · as of {{date .Result.AsOf}}</p>
<p class="band-{{.Result.Band}}"><strong>Churn risk: {{.Result.Band}} ({{pct .Result.Churn}})</strong></p>
<p>{{.Result.Summary}}</p>
<p><small>source {{.Result.Source}} · model {{.Result.Model}}{{if .Result.PromptVersion}} · prompt {{.Result.PromptVersion}}{{end}} · analysed {{date .Result.AnalysedAt}}</small></p>
<h2>Purchases by quarter</h2>
{{chart .Result.Quarters}}
<h2>Churn drivers</h2>
<table><tr><th>Driver</th><th>Value</th><th>Typical</th><th>Weight</th><th>Evidence</th></tr>
{{range .Result.Drivers}}<tr><td>{{.Label}}{{if .Phrases}} <em>({{join .Phrases ", "}})</em>{{end}}</td><td>{{num .Value}}</td><td>{{num .Typical}}</td><td>{{num .Contribution}}</td><td>{{range .Evidence}}<code>{{.}}</code> {{end}}</td></tr>
{{end}}</table>
<h2>Next actions</h2>
<ol>{{range .Result.Actions}}<li>{{if and (ne $.Result.Language "en") .TitleJA}}{{.TitleJA}}{{else}}{{.Title}}{{end}} — due {{date .Due}}{{if .Name}}, with {{.Name}}{{end}}<br><small>{{.Reason}}{{range .Evidence}} <code>{{.}}</code>{{end}}</small></li>
{{end}}</ol>
<h2>Cross-sell and upsell</h2>
<ul>{{range .Result.CrossSell}}<li>{{.Product}}{{if not .Upsell}} — score {{num .Score}}, similar accounts {{join .Accounts ", "}}{{end}}{{range .Evidence}} <code>{{.}}</code>{{end}}</li>
{{else}}<li>none</li>{{end}}</ul>
<h2>Competitor signals</h2>
<ul>{{range .Result.Competitors}}<li>{{.Name}}: {{.Mentions}} mentions, {{.LostDeals}} lost deals, last {{date .Last}}{{range .Evidence}} <code>{{.}}</code>{{end}}</li>
{{else}}<li>none</li>{{end}}</ul>
{{with .Result.Analysis}}<h2>Analysis</h2>
<h3>Challenges</h3><ul>{{range .Challenges}}<li>{{.Text}}{{range .Citations}} <code>[{{.}}]</code>{{end}}</li>{{end}}</ul>
<h3>Needs</h3><ul>{{range .Needs}}<li>{{.Text}}{{range .Citations}} <code>[{{.}}]</code>{{end}}</li>{{end}}</ul>
<h3>Purchase pattern</h3><p>{{.PurchasePattern.Text}}{{range .PurchasePattern.Citations}} <code>[{{.}}]</code>{{end}}</p>
<h3>Decision process</h3><p>{{.DecisionProcess.Text}}{{range .DecisionProcess.Citations}} <code>[{{.}}]</code>{{end}}</p>
<h3>Competitors</h3><ul>{{range .Competitors}}<li>{{.Text}}{{range .Citations}} <code>[{{.}}]</code>{{end}}</li>{{end}}</ul>
{{end}}
{{with .Winback}}<h2>Win-back plan</h2>
<p>{{printf "%.1f" .MonthsSince}} months without purchase · risk {{.Risk}} · source {{.Source}}</p>
<p>{{.Assessment.Text}}{{range .Assessment.Citations}} <code>[{{.}}]</code>{{end}}</p>
<ol>{{range .Steps}}<li>{{.Text}}{{range .Citations}} <code>[{{.}}]</code>{{end}}</li>{{end}}</ol>
{{end}}
{{if .Result.Warnings}}<h2>Notes</h2><ul>{{range .Result.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Citations</h2>
<ul>{{range .Result.Evidence}}<li><code>{{.ID}}</code> {{.Title}}</li>{{end}}</ul>
</body></html>
`

var page = template.Must(template.New("report").Funcs(funcs).Parse(htmlTmpl))

// HTML writes the report as a standalone HTML page.
func HTML(w io.Writer, in Input) error {
	return page.Execute(w, in)
}

// mdEscape keeps CRM text from being read as Markdown or HTML.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "#", `\#`, "|", `\|`, "\n", " ")
	return r.Replace(s)
}

func ids(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + strings.ReplaceAll(x, "`", "") + "`"
	}
	return " " + strings.Join(out, " ")
}

// Markdown writes the report as Markdown; the chart is a text bar chart.
func Markdown(w io.Writer, in Input) error {
	r := in.Result
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s (%s, %s)\n\n", mdEscape(r.AccountName), mdEscape(r.Account), mdEscape(r.Connection))
	fmt.Fprintf(&b, "%s · %s · as of %s\n\n", mdEscape(r.Industry), mdEscape(r.SizeBand), r.AsOf.Format("2006-01-02"))
	fmt.Fprintf(&b, "**Churn risk: %s (%.0f%%)**\n\n%s\n\n", r.Band, r.Churn*100, mdEscape(r.Summary))
	fmt.Fprintf(&b, "_source %s · model %s", r.Source, mdEscape(r.Model))
	if r.PromptVersion != "" {
		fmt.Fprintf(&b, " · prompt %s", mdEscape(r.PromptVersion))
	}
	fmt.Fprintf(&b, " · analysed %s_\n\n", r.AnalysedAt.Format("2006-01-02 15:04"))
	b.WriteString("## Purchases by quarter\n\n```\n")
	maxAmt := 0.0
	for _, q := range r.Quarters {
		maxAmt = math.Max(maxAmt, q.Amount)
	}
	for _, q := range r.Quarters {
		n := 0
		if maxAmt > 0 {
			n = int(math.Round(q.Amount / maxAmt * 30))
		}
		fmt.Fprintf(&b, "%-7s %-30s %s\n", q.Label, strings.Repeat("█", n), money(q.Amount))
	}
	b.WriteString("```\n\n## Churn drivers\n\n| Driver | Value | Typical | Weight | Evidence |\n|---|---|---|---|---|\n")
	for _, d := range r.Drivers {
		label := mdEscape(d.Label)
		if len(d.Phrases) > 0 {
			label += " (" + mdEscape(strings.Join(d.Phrases, ", ")) + ")"
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f |%s |\n", label, d.Value, d.Typical, d.Contribution, ids(d.Evidence))
	}
	b.WriteString("\n## Next actions\n\n")
	for i, a := range r.Actions {
		title := a.Title
		if r.Language != "en" && a.TitleJA != "" {
			title = a.TitleJA
		}
		fmt.Fprintf(&b, "%d. %s — due %s", i+1, mdEscape(title), a.Due.Format("2006-01-02"))
		if a.Name != "" {
			fmt.Fprintf(&b, ", with %s", mdEscape(a.Name))
		}
		fmt.Fprintf(&b, " — %s%s\n", mdEscape(a.Reason), ids(a.Evidence))
	}
	b.WriteString("\n## Cross-sell and upsell\n\n")
	for _, c := range r.CrossSell {
		if c.Upsell {
			fmt.Fprintf(&b, "- %s%s\n", mdEscape(c.Product), ids(c.Evidence))
		} else {
			fmt.Fprintf(&b, "- %s — score %.2f, similar accounts %s%s\n", mdEscape(c.Product), c.Score, mdEscape(strings.Join(c.Accounts, ", ")), ids(c.Evidence))
		}
	}
	if len(r.CrossSell) == 0 {
		b.WriteString("- none\n")
	}
	b.WriteString("\n## Competitor signals\n\n")
	for _, c := range r.Competitors {
		fmt.Fprintf(&b, "- %s: %d mentions, %d lost deals, last %s%s\n", mdEscape(c.Name), c.Mentions, c.LostDeals, c.Last.Format("2006-01-02"), ids(c.Evidence))
	}
	if len(r.Competitors) == 0 {
		b.WriteString("- none\n")
	}
	if a := r.Analysis; a != nil {
		b.WriteString("\n## Analysis\n")
		section := func(title string, ps []result.Point) {
			fmt.Fprintf(&b, "\n### %s\n\n", title)
			for _, p := range ps {
				fmt.Fprintf(&b, "- %s%s\n", mdEscape(p.Text), ids(p.Citations))
			}
		}
		section("Challenges", a.Challenges)
		section("Needs", a.Needs)
		section("Purchase pattern", []result.Point{a.PurchasePattern})
		section("Decision process", []result.Point{a.DecisionProcess})
		section("Competitors", a.Competitors)
	}
	if p := in.Winback; p != nil {
		fmt.Fprintf(&b, "\n## Win-back plan\n\n%.1f months without purchase · risk %s · source %s\n\n%s%s\n\n", p.MonthsSince, p.Risk, p.Source, mdEscape(p.Assessment.Text), ids(p.Assessment.Citations))
		for i, s := range p.Steps {
			fmt.Fprintf(&b, "%d. %s%s\n", i+1, mdEscape(s.Text), ids(s.Citations))
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "- %s\n", mdEscape(w))
		}
	}
	b.WriteString("\n## Citations\n\n")
	for _, c := range r.Evidence {
		fmt.Fprintf(&b, "- `%s` %s\n", strings.ReplaceAll(c.ID, "`", ""), mdEscape(c.Title))
	}
	_, err := w.Write(b.Bytes())
	return err
}
