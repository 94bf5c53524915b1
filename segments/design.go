package segments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/insights/churn"
	"github.com/crmpulse/crmpulse/internal/config"
)

// Strategy is the recommended communication for a segment, in the
// language of the segmentation.
type Strategy struct {
	Comms
	// Source says where it came from: "builtin" (the guidance in this
	// package), "config" (segments.overrides.<id>.strategy replaced the
	// message) or "llm" (a Strategist).
	Source string `json:"source"`
	// Rationale explains an LLM strategy, or why the built-in guidance was
	// used although a Strategist is configured.
	Rationale string `json:"rationale,omitempty"`
}

// Brief is what a Strategist is told about one segment.
type Brief struct {
	Segment  Segment // counts, means, definition and the built-in strategy
	Language string  // "en" or "ja"
	Currency string  // ISO 4217
	AsOf     time.Time
	// Industries are the most common industries in the segment, by count.
	Industries []string
}

// ErrNoStrategy is returned by a Strategist with nothing to say about a
// segment (no analysis yet): Design keeps the built-in guidance quietly.
var ErrNoStrategy = errors.New("no segment strategy available")

// Strategist proposes a segment's communication strategy, typically from a
// retrieval-augmented LLM analysis. Implementations must be safe for
// concurrent use; an error makes Design keep the built-in guidance (with a
// warning unless the error is ErrNoStrategy).
type Strategist interface {
	SegmentStrategy(ctx context.Context, b Brief) (Strategy, error)
}

// SubSegmentN is a B2B sub-segment label and its account count.
type SubSegmentN struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// AccountSegment is one account's place in a segmentation.
type AccountSegment struct {
	AccountID   string    `json:"account_id"`
	Name        string    `json:"name,omitempty"`
	Segment     string    `json:"segment"`
	SubSegment  string    `json:"sub_segment,omitempty"`
	RecencyDays float64   `json:"recency_days"`
	Frequency   int       `json:"frequency"`
	Monetary    float64   `json:"monetary"`
	LastOrder   time.Time `json:"last_order,omitzero"`
	R           int       `json:"r"`
	F           int       `json:"f"`
	M           int       `json:"m"`
	// Held is set when a migration rule kept the account in its previous
	// segment (see ApplyRules); Segment is then that previous segment and
	// Computed the one its values alone give.
	Held     string `json:"held,omitempty"`
	Computed string `json:"computed,omitempty"`
}

// Segmentation is the result of Design.
type Segmentation struct {
	AsOf     time.Time        `json:"as_of"`
	Language string           `json:"language"`
	Currency string           `json:"currency"`
	Method   string           `json:"method"` // quintiles or cutoffs
	Cutoffs  Cutoffs          `json:"cutoffs"`
	B2B      config.B2BAxes   `json:"b2b"`
	Segments []Segment        `json:"segments"` // by rank, best first
	Accounts []AccountSegment `json:"accounts"` // by account id
}

// Segment returns the summary of the segment with id key.
func (s *Segmentation) Segment(key string) (Segment, bool) {
	for _, g := range s.Segments {
		if g.Key == key {
			return g, true
		}
	}
	return Segment{}, false
}

// Labels maps every segment id to its display label.
func (s *Segmentation) Labels() map[string]string {
	out := make(map[string]string, len(s.Segments))
	for _, g := range s.Segments {
		out[g.Key] = g.Label
	}
	return out
}

// Pending maps account id to segment id: the values a write-back of the
// segment field would write.
func (s *Segmentation) Pending() map[string]string {
	out := make(map[string]string, len(s.Accounts))
	for _, a := range s.Accounts {
		out[a.AccountID] = a.Segment
	}
	return out
}

// DesignOptions adjusts Design; nil means the defaults.
type DesignOptions struct {
	// Strategist, when set (an LLM is configured), proposes each non-empty
	// segment's strategy; configured overrides still win.
	Strategist Strategist
	// Logger receives a warning when a Strategist fails (default
	// slog.Default()).
	Logger *slog.Logger
}

// ErrUnknownSegment reports a segment id that is not one of IDs.
var ErrUnknownSegment = errors.New("unknown segment id")

// IDs lists every segment id, best rank first.
func IDs() []string {
	out := make([]string, 0, len(defs)+1)
	for _, d := range defs {
		out = append(out, d.key)
	}
	sort.SliceStable(out, func(i, j int) bool { return Rank(out[i]) > Rank(out[j]) })
	return append(out, Prospect)
}

// Label returns the display label of segment id in lang ("ja" or "en").
func Label(id, lang string) string {
	d, ok := defByKey(id)
	if !ok {
		return id
	}
	if lang == "ja" {
		return d.nameJA
	}
	return d.name
}

// CurrencySymbol returns the prefix amounts are written with for an ISO
// 4217 code: a symbol for the common ones, else the code and a space.
func CurrencySymbol(code string) string {
	switch strings.ToUpper(code) {
	case "JPY":
		return "¥"
	case "USD":
		return "$"
	case "EUR":
		return "€"
	case "GBP":
		return "£"
	case "":
		return ""
	}
	return strings.ToUpper(code) + " "
}

// Orders returns the won purchases of the histories dated on or before
// asOf: Purchases, or, for an account without any, its won opportunities
// by close date.
func Orders(hs []churn.AccountHistory, asOf time.Time) []Order {
	var out []Order
	for _, h := range hs {
		n := 0
		for _, p := range h.Purchases {
			if !p.Date.IsZero() && !p.Date.After(asOf) {
				out = append(out, Order{CustomerID: h.ID, Date: p.Date, Amount: p.Amount})
				n++
			}
		}
		if n > 0 || len(h.Purchases) > 0 {
			continue
		}
		for _, o := range h.Opportunities {
			if o.Won && !o.Closed.IsZero() && !o.Closed.After(asOf) {
				out = append(out, Order{CustomerID: h.ID, Date: o.Closed, Amount: o.Amount})
			}
		}
	}
	return out
}

// ProfileOf derives the B2B attributes of an account as of asOf: industry
// and size as recorded, engagement as the activities in the 90 days up to
// asOf, and the next renewal: the recorded renewal date when it is not in
// the past, else the first anniversary after asOf of the last won purchase
// when that purchase is less than two years old (annual contracts), else
// unknown.
func ProfileOf(h churn.AccountHistory, asOf time.Time) Profile {
	p := Profile{Industry: h.Industry, Employees: h.Employees}
	from := asOf.AddDate(0, 0, -90)
	for _, a := range h.Activities {
		if a.Date.After(from) && !a.Date.After(asOf) {
			p.Activities90++
		}
	}
	if !h.Renewal.IsZero() && !h.Renewal.Before(asOf) {
		p.Renewal = h.Renewal
		return p
	}
	var last time.Time
	for _, o := range Orders([]churn.AccountHistory{h}, asOf) {
		if o.Date.After(last) {
			last = o.Date
		}
	}
	if !last.IsZero() && asOf.Sub(last) < 2*365*24*time.Hour {
		r := last.AddDate(1, 0, 0)
		for r.Before(asOf) {
			r = r.AddDate(1, 0, 0)
		}
		p.Renewal = r
	}
	return p
}

// Design segments the accounts of histories as of asOf with the segments
// section of cfg (method, cut-offs, currency, B2B axes, overrides) in the
// language of cfg.LLM.Language: RFM from won purchases (see Orders), the
// rules of the package documentation, Prospect for accounts that never
// bought, B2B sub-segment labels from ProfileOf, and a strategy per segment
// (built-in, from opts.Strategist when set, replaced by a configured
// override). The result depends only on the histories and asOf.
func Design(ctx context.Context, histories []churn.AccountHistory, asOf time.Time, cfg *config.Config, opts *DesignOptions) (*Segmentation, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	var o DesignOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	sc := cfg.Segments
	for id := range sc.Overrides {
		if _, ok := defByKey(id); !ok {
			return nil, fmt.Errorf("segments.overrides.%s: %w (known: %s)", id, ErrUnknownSegment, strings.Join(IDs(), ", "))
		}
	}
	lang := cfg.LLM.Language
	if lang != "en" {
		lang = "ja"
	}
	method := sc.Method
	if method == "" {
		method = config.SegmentQuintiles
	}
	aopts := &Options{
		Currency: CurrencySymbol(sc.Currency),
		Profiles: make(map[string]Profile, len(histories)),
		B2B:      B2BOptions{Industry: sc.B2B.Industry, Size: sc.B2B.Size, Engagement: sc.B2B.Engagement, Renewal: sc.B2B.Renewal},
		Accounts: make([]string, 0, len(histories)),
	}
	if method == config.SegmentCutoffs {
		c, err := cutoffsFromConfig(sc.Cutoffs)
		if err != nil {
			return nil, err
		}
		aopts.Cutoffs = &c
	}
	names := make(map[string]string, len(histories))
	industry := make(map[string]string, len(histories))
	for _, h := range histories {
		if h.ID == "" {
			return nil, errors.New("segments: account history without an id")
		}
		aopts.Accounts = append(aopts.Accounts, h.ID)
		aopts.Profiles[h.ID] = ProfileOf(h, asOf)
		names[h.ID] = h.Name
		industry[h.ID] = strings.TrimSpace(h.Industry)
	}
	if len(histories) == 0 {
		return nil, errors.New("segments: no accounts to segment")
	}
	res, err := Assign(Orders(histories, asOf), asOf, aopts)
	if err != nil {
		return nil, err
	}
	out := &Segmentation{AsOf: asOf, Language: lang, Currency: sc.Currency, Method: method, Cutoffs: res.Cutoffs, B2B: sc.B2B}
	last := lastOrders(histories, asOf)
	subs := map[string]map[string]int{}
	inds := map[string]map[string]int{}
	for _, a := range res.Assignments {
		out.Accounts = append(out.Accounts, AccountSegment{
			AccountID: a.CustomerID, Name: names[a.CustomerID], Segment: a.Segment, SubSegment: a.SubSegment,
			RecencyDays: round2(a.RecencyDays), Frequency: a.Frequency, Monetary: a.Monetary, LastOrder: last[a.CustomerID],
			R: a.R, F: a.F, M: a.M,
		})
		if subs[a.Segment] == nil {
			subs[a.Segment], inds[a.Segment] = map[string]int{}, map[string]int{}
		}
		subs[a.Segment][a.SubSegment]++
		if ind := industry[a.CustomerID]; ind != "" {
			inds[a.Segment][ind]++
		}
	}
	for _, s := range res.Segments {
		s.Label = Label(s.Key, lang)
		s.Conditions = s.Definition
		st := Strategy{Comms: s.Comms, Source: "builtin"}
		if lang == "ja" {
			s.Conditions = s.DefinitionJA
			st.Comms = s.CommsJA
		}
		if b2bOn(sc.B2B) {
			s.SubSegments = topCounts(subs[s.Key], 5)
		}
		if o.Strategist != nil && s.Count > 0 {
			b := Brief{Segment: s, Language: lang, Currency: sc.Currency, AsOf: asOf}
			for _, x := range topCounts(inds[s.Key], 3) {
				b.Industries = append(b.Industries, x.Label)
			}
			got, err := o.Strategist.SegmentStrategy(ctx, b)
			switch {
			case err == nil:
				got.Source = "llm"
				st = got
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, ErrNoStrategy):
			default:
				o.Logger.Warn("segment strategy unavailable; using the built-in guidance", "segment", s.Key, "err", err)
				st.Rationale = "built-in guidance: the strategy analysis failed: " + err.Error()
			}
		}
		if ov, ok := sc.Overrides[s.Key]; ok {
			if ov.Name != "" {
				s.Label = ov.Name
			}
			if ov.Strategy != "" {
				st.Message, st.Source, st.Rationale = ov.Strategy, "config", ""
			}
		}
		s.Strategy = &st
		out.Segments = append(out.Segments, s)
	}
	return out, nil
}

func b2bOn(b config.B2BAxes) bool { return b.Industry || b.Size || b.Engagement || b.Renewal }

func cutoffsFromConfig(c config.Cutoffs) (Cutoffs, error) {
	var out Cutoffs
	for _, ax := range []struct {
		name string
		in   []float64
		dst  *[4]float64
	}{{"recency_days", c.RecencyDays, &out.Recency}, {"frequency", c.Frequency, &out.Frequency}, {"monetary", c.Monetary, &out.Monetary}} {
		if len(ax.in) != 4 {
			return out, fmt.Errorf("segments.cutoffs.%s: want 4 ascending thresholds, got %d", ax.name, len(ax.in))
		}
		copy(ax.dst[:], ax.in)
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("segments.cutoffs: %w", err)
	}
	return out, nil
}

func lastOrders(hs []churn.AccountHistory, asOf time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, o := range Orders(hs, asOf) {
		if o.Date.After(out[o.CustomerID]) {
			out[o.CustomerID] = o.Date.UTC()
		}
	}
	return out
}

// topCounts returns the n largest entries of m, by count then label.
func topCounts(m map[string]int, n int) []SubSegmentN {
	out := make([]SubSegmentN, 0, len(m))
	for k, v := range m {
		out = append(out, SubSegmentN{Label: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Label < out[j].Label
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
