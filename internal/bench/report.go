package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Row is one line of the benchmark table. A measured row has Value; a row
// that could not be measured has Skip (the reason) and a nil Value.
type Row struct {
	Metric  string   `json:"metric"`
	Scale   string   `json:"scale"`
	Value   *float64 `json:"value"`
	Unit    string   `json:"unit"`
	Target  string   `json:"target,omitempty"`
	Verdict string   `json:"verdict,omitempty"`
	Skip    string   `json:"skip,omitempty"`
	// Group is the scenario the row belongs to (sync, writeback, insights,
	// llm, retrieval, memory).
	Group string `json:"group"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPU          string `json:"cpu,omitempty"`
	Cores        int    `json:"cores"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	MemoryBytes  uint64 `json:"memory_bytes,omitempty"`
	OS           string `json:"os"`
	Arch         string `json:"arch"`
	GoVersion    string `json:"go_version"`
	RedisVersion string `json:"redis_version"`
	RedisURL     string `json:"redis_url,omitempty"` // without credentials
	// LoadStart and LoadEnd are the 1-minute load averages when the run
	// started and ended: other work on the machine skews the figures.
	LoadStart float64 `json:"load_start,omitempty"`
	LoadEnd   float64 `json:"load_end,omitempty"`
}

// Report is the result of a benchmark run.
type Report struct {
	Machine  Machine       `json:"machine"`
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Settings Settings      `json:"settings"`
	Rows     []Row         `json:"rows"`
	// Notes explain how figures were obtained (one sentence each).
	Notes []string `json:"notes,omitempty"`
}

// Settings are the options a report was produced with.
type Settings struct {
	Accounts       []int         `json:"accounts"`
	Vectors        []int         `json:"vectors"`
	Quick          bool          `json:"quick,omitempty"`
	LLMLatency     time.Duration `json:"llm_latency_ns"`
	LLMConcurrency []int         `json:"llm_concurrency"`
	Only           []string      `json:"only,omitempty"`
}

// Find returns the first row with the given metric and scale.
func (r *Report) Find(metric, scale string) (Row, bool) {
	for _, row := range r.Rows {
		if row.Metric == metric && row.Scale == scale {
			return row, true
		}
	}
	return Row{}, false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read benchmark report: %w", err)
	}
	return &r, nil
}

// WriteTable prints the machine header and the rows as a Markdown table.
func (r *Report) WriteTable(w io.Writer) error {
	m := r.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "crmpulse bench — %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	cpu := m.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	fmt.Fprintf(&b, "Machine: %d cores (%s, GOMAXPROCS %d)", m.Cores, cpu, m.GOMAXPROCS)
	if m.MemoryBytes > 0 {
		fmt.Fprintf(&b, ", %.0f GiB RAM", float64(m.MemoryBytes)/(1<<30))
	}
	fmt.Fprintf(&b, ", %s/%s, %s, Redis %s", m.OS, m.Arch, m.GoVersion, m.RedisVersion)
	if m.LoadStart > 0 || m.LoadEnd > 0 {
		fmt.Fprintf(&b, "; load average %.1f at the start, %.1f at the end", m.LoadStart, m.LoadEnd)
	}
	b.WriteString("\n")
	s := r.Settings
	fmt.Fprintf(&b, "Settings: accounts %s, vectors %s, LLM latency %s, LLM concurrency %s", ints(s.Accounts), ints(s.Vectors), s.LLMLatency, ints(s.LLMConcurrency))
	if s.Quick {
		b.WriteString(", quick")
	}
	if len(s.Only) > 0 {
		b.WriteString(", only " + strings.Join(s.Only, ","))
	}
	fmt.Fprintf(&b, "; run took %s\n\n", r.Elapsed.Round(time.Second))

	header := []string{"metric", "scale", "value", "unit", "target", "verdict"}
	cells := [][]string{header}
	for _, row := range r.Rows {
		v := "—"
		verdict := row.Verdict
		if row.Value != nil {
			v = FormatValue(*row.Value)
		} else if row.Skip != "" {
			verdict = "skipped: " + row.Skip
		}
		cells = append(cells, []string{row.Metric, row.Scale, v, row.Unit, row.Target, verdict})
	}
	width := make([]int, len(header))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	line := func(c []string) {
		b.WriteString("|")
		for i, s := range c {
			pad := width[i] - len([]rune(s))
			if i == 2 { // numbers right-aligned
				b.WriteString(" " + strings.Repeat(" ", pad) + s + " |")
			} else {
				b.WriteString(" " + s + strings.Repeat(" ", pad) + " |")
			}
		}
		b.WriteString("\n")
	}
	line(cells[0])
	b.WriteString("|")
	for i, wd := range width {
		if i == 2 {
			b.WriteString(" " + strings.Repeat("-", wd-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", wd) + " |")
		}
	}
	b.WriteString("\n")
	for _, c := range cells[1:] {
		line(c)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatValue prints a figure with three significant digits (integers as
// they are, with thousands separators).
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return group(strconv.FormatInt(int64(v), 10))
	case math.Abs(v) >= 100:
		return group(strconv.FormatInt(int64(math.Round(v)), 10))
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ints(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = ScaleName(x)
	}
	return strings.Join(parts, ",")
}

// ScaleName prints a count the way the table does: 2k, 100k, 1M, 500.
func ScaleName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	default:
		return strconv.Itoa(n)
	}
}
