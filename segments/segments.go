package segments

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Segment ids: stable slugs, used as CRM picklist (Salesforce) and
// enumeration (HubSpot) values. Display labels are localised and may be
// overridden in the configuration; the ids never change.
const (
	VIP            = "vip"
	Loyal          = "loyal"
	CantLose       = "cant_lose"
	AtRisk         = "at_risk"
	PromisingNew   = "promising_new"
	NeedsAttention = "needs_attention"
	Dormant        = "dormant"
	// Prospect holds accounts without any won deal or order yet; it exists
	// only when the account list is known (Options.Accounts, Design).
	Prospect = "prospect"
)

// Comms is a recommended communication for a segment.
type Comms struct {
	Channel   string `json:"channel"`
	Offer     string `json:"offer"`
	Frequency string `json:"frequency"`
	Message   string `json:"message"`
}

type segmentDef struct {
	key, name, nameJA string
	rank              int
	match             func(r, f, m int) bool
	comms, commsJA    Comms
}

// defs are in rule order (the first match wins).
var defs = []segmentDef{
	{VIP, "VIP", "VIP(優良顧客)", 7, func(r, f, m int) bool { return r >= 4 && f >= 4 && m >= 4 },
		Comms{"account manager call and executive business review", "early access to new features; referral programme", "monthly", "Thank them, involve them in the roadmap, ask for referrals and case studies."},
		Comms{"担当営業からの電話とエグゼクティブ・ビジネスレビュー", "新機能の先行提供、紹介プログラム", "月1回", "日頃の感謝を伝え、ロードマップへの参画と紹介・事例化を依頼する。"}},
	{Loyal, "Loyal", "ロイヤル顧客", 6, func(r, f, m int) bool { return r >= 3 && f >= 4 },
		Comms{"email and quarterly review", "loyalty pricing at renewal; complementary product bundles", "every two weeks", "Recognise their loyalty and suggest products that complement what they use."},
		Comms{"メールと四半期レビュー", "更新時のロイヤルティ価格、関連製品のバンドル", "2週間に1回", "継続利用への感謝を伝え、利用中の製品を補完する提案を行う。"}},
	{CantLose, "Can't Lose", "失えない顧客", 3, func(r, f, m int) bool { return r <= 2 && f >= 4 && m >= 4 },
		Comms{"senior account manager call within a week", "personalised win-back offer and a service review", "weekly until re-engaged", "Find out what changed, fix it, and show what is new since their last order."},
		Comms{"1週間以内に上位担当者から電話", "個別の引き戻しオファーとサービス見直し", "再開まで毎週", "状況の変化を確認して課題を解消し、前回購入以降の新しい価値を伝える。"}},
	{AtRisk, "At Risk", "離反リスク", 2, func(r, f, m int) bool { return r <= 2 && (f >= 3 || m >= 4) },
		Comms{"personal email followed by a call", "time-limited discount or a free health check", "weekly for a month", "Reconnect personally and address any known issues before they leave."},
		Comms{"個別メールの後に電話", "期間限定の割引または無料の利用診断", "1か月間毎週", "個別に連絡を取り、離反前に既知の課題へ対応する。"}},
	{PromisingNew, "Promising New", "有望な新規顧客", 5, func(r, f, m int) bool { return r >= 4 && f <= 2 },
		Comms{"onboarding email sequence and webinar", "onboarding support; second-purchase incentive", "weekly for the first two months", "Help them get value quickly and make the second purchase easy."},
		Comms{"オンボーディングメールとウェビナー", "導入支援、2回目購入の特典", "最初の2か月は毎週", "早期に価値を実感してもらい、2回目の購入を後押しする。"}},
	{NeedsAttention, "Needs Attention", "要フォロー", 4, func(r, f, m int) bool { return r >= 3 },
		Comms{"newsletter and targeted content", "limited-time offer on relevant products", "every two weeks", "Re-engage with relevant content before they lapse."},
		Comms{"ニュースレターと関心に合わせたコンテンツ", "関連製品の期間限定オファー", "2週間に1回", "離れてしまう前に、関心に合った情報で関係を深める。"}},
	{Dormant, "Dormant", "休眠顧客", 1, func(r, f, m int) bool { return true },
		Comms{"automated low-cost email campaign", "reactivation discount", "monthly; stop after three without response", "Remind them of the value; suppress if there is no response to save cost."},
		Comms{"低コストの自動メール配信", "再開特典の割引", "月1回、3回反応がなければ停止", "価値を思い出してもらい、反応がなければ配信を止めてコストを抑える。"}},
}

// prospectDef is the segment of accounts without orders; Classify never
// returns it.
var prospectDef = segmentDef{Prospect, "Prospect", "見込み客", 0, func(r, f, m int) bool { return false },
	Comms{"SDR outreach and nurture emails", "discovery call, demo or trial; first-order incentive", "every two weeks", "Qualify the need and propose a small first project."},
	Comms{"インサイドセールスからの連絡とナーチャリングメール", "ヒアリング、デモまたはトライアル、初回発注の特典", "2週間に1回", "課題を確認し、小さく始められる初回案件を提案する。"}}

func defByKey(key string) (segmentDef, bool) {
	if key == Prospect {
		return prospectDef, true
	}
	for _, d := range defs {
		if d.key == key {
			return d, true
		}
	}
	return segmentDef{}, false
}

// Rank returns a segment's rank (7 best, 1 worst; 0 for Prospect and for
// an unknown key).
func Rank(key string) int {
	d, _ := defByKey(key)
	return d.rank
}

// Classify returns the segment key for scores r, f, m.
func Classify(r, f, m int) string {
	for _, d := range defs {
		if d.match(r, f, m) {
			return d.key
		}
	}
	return Dormant
}

// Profile carries the optional B2B attributes of a customer.
type Profile struct {
	Industry     string
	Employees    int       // 0 = unknown
	Activities90 int       // emails, meetings, calls in the last 90 days; -1 = unknown
	Renewal      time.Time // next renewal; zero = unknown
}

// B2BOptions selects the B2B axes that refine segments into sub-segments.
type B2BOptions struct {
	Industry, Size, Engagement, Renewal bool
	// Engagement bands: High when Activities90 ≥ EngagementHigh (default
	// 10), Low when below EngagementLow (default 3), Medium between.
	EngagementHigh, EngagementLow int
}

// Options tunes [Assign]; nil means quintile cut-offs, no currency symbol
// and no B2B axes.
type Options struct {
	Cutoffs  *Cutoffs // fixed cut-offs instead of quintiles
	Currency string   // prefix for amounts in definitions, e.g. "¥" or "£"
	Profiles map[string]Profile
	B2B      B2BOptions
	// Accounts lists every account of the customer base; those without an
	// order on or before the as-of date are assigned to Prospect. Nil means
	// only customers with orders are assigned and Prospect is not listed.
	Accounts []string
}

// Assignment is one customer's segment.
type Assignment struct {
	RFM
	Segment    string // key
	SubSegment string // segment name refined by the enabled B2B axes
}

// Segment summarises one segment of a result.
type Segment struct {
	Key    string `json:"id"` // stable slug (VIP, Loyal, ...)
	Name   string `json:"name"`
	NameJA string `json:"name_ja"`
	Rank   int    `json:"rank"`
	// Definition states the segment's conditions in plain terms with the
	// actual cut-offs, e.g. "last order ≤ 30 days ago, ≥ 10 orders, total
	// spend > ¥50,000".
	Definition      string  `json:"definition"`
	DefinitionJA    string  `json:"definition_ja"`
	Count           int     `json:"count"`
	Share           float64 `json:"share"` // of all customers (all accounts with Prospect)
	MeanRecencyDays float64 `json:"mean_recency_days"`
	MeanFrequency   float64 `json:"mean_frequency"`
	MeanMonetary    float64 `json:"mean_monetary"`
	Comms           Comms   `json:"comms"`
	CommsJA         Comms   `json:"comms_ja"`

	// Set by Design: the display label and conditions in the configured
	// language (after overrides), the recommended communication and the
	// largest B2B sub-segments.
	Label       string        `json:"label,omitempty"`
	Conditions  string        `json:"conditions,omitempty"`
	Strategy    *Strategy     `json:"strategy,omitempty"`
	SubSegments []SubSegmentN `json:"sub_segments,omitempty"`
}

// Result is a full segmentation.
type Result struct {
	AsOf        time.Time
	Cutoffs     Cutoffs
	Assignments []Assignment // sorted by customer id
	Segments    []Segment    // all seven (eight with Prospect), by rank, best first
}

// Assign computes RFM from the orders up to asOf, scores it, and assigns
// every customer to a segment. The output depends only on the set of
// orders, not their order.
func Assign(orders []Order, asOf time.Time, opts *Options) (*Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.B2B.EngagementHigh <= 0 {
		o.B2B.EngagementHigh = 10
	}
	if o.B2B.EngagementLow <= 0 {
		o.B2B.EngagementLow = 3
	}
	rs, err := Aggregate(orders, asOf)
	if err != nil && (!errors.Is(err, ErrNoOrders) || len(o.Accounts) == 0) {
		return nil, err
	}
	cut := Cutoffs{}
	if len(rs) > 0 {
		cut = QuintileCutoffs(rs)
	}
	if o.Cutoffs != nil {
		if err := o.Cutoffs.Validate(); err != nil {
			return nil, err
		}
		cut = *o.Cutoffs
	}
	cut.Score(rs)
	res := &Result{AsOf: asOf, Cutoffs: cut, Assignments: make([]Assignment, len(rs))}
	all := defs
	if o.Accounts != nil {
		all = append(append([]segmentDef(nil), defs...), prospectDef)
	}
	stats := map[string]*Segment{}
	for _, d := range all {
		en, ja := definition(d.key, cut, o.Currency)
		stats[d.key] = &Segment{Key: d.key, Name: d.name, NameJA: d.nameJA, Rank: d.rank, Definition: en, DefinitionJA: ja, Comms: d.comms, CommsJA: d.commsJA}
	}
	for i, r := range rs {
		key := Classify(r.R, r.F, r.M)
		d, _ := defByKey(key)
		a := Assignment{RFM: r, Segment: key, SubSegment: subSegment(d.name, o.Profiles[r.CustomerID], o.B2B, asOf)}
		res.Assignments[i] = a
		s := stats[key]
		s.Count++
		s.MeanRecencyDays += r.RecencyDays
		s.MeanFrequency += float64(r.Frequency)
		s.MeanMonetary += r.Monetary
	}
	if o.Accounts != nil {
		buyers := make(map[string]bool, len(rs))
		for _, r := range rs {
			buyers[r.CustomerID] = true
		}
		seen := map[string]bool{}
		for _, id := range o.Accounts {
			if id == "" || buyers[id] || seen[id] {
				continue
			}
			seen[id] = true
			res.Assignments = append(res.Assignments, Assignment{RFM: RFM{CustomerID: id}, Segment: Prospect,
				SubSegment: subSegment(prospectDef.name, o.Profiles[id], o.B2B, asOf)})
			stats[Prospect].Count++
		}
		sort.Slice(res.Assignments, func(i, j int) bool { return res.Assignments[i].CustomerID < res.Assignments[j].CustomerID })
	}
	total := float64(len(res.Assignments))
	for _, d := range all {
		s := stats[d.key]
		if s.Count > 0 {
			n := float64(s.Count)
			s.MeanRecencyDays /= n
			s.MeanFrequency /= n
			s.MeanMonetary /= n
			s.Share = n / total
		}
		res.Segments = append(res.Segments, *s)
	}
	sort.SliceStable(res.Segments, func(i, j int) bool { return res.Segments[i].Rank > res.Segments[j].Rank })
	return res, nil
}

// condition texts for the score bounds used by the rules.
func recencyAtMost(c Cutoffs, s int) (string, string) { // R ≥ s
	d := fmtNum(c.Recency[5-s], 0)
	return "last order ≤ " + d + " days ago", "最終購入が" + d + "日以内"
}

func recencyOver(c Cutoffs, s int) (string, string) { // R ≤ s
	d := fmtNum(c.Recency[4-s], 0)
	return "last order > " + d + " days ago", "最終購入から" + d + "日超"
}

func freqAtLeast(c Cutoffs, s int) (string, string) { // F ≥ s
	n := strconv.Itoa(int(math.Floor(c.Frequency[s-2])) + 1)
	return "≥ " + n + " orders", "購入" + n + "回以上"
}

func freqAtMost(c Cutoffs, s int) (string, string) { // F ≤ s
	n := strconv.Itoa(int(math.Floor(c.Frequency[s-1])))
	return "≤ " + n + " orders", "購入" + n + "回以下"
}

func moneyOver(c Cutoffs, s int, cur string) (string, string) { // M ≥ s
	v := cur + fmtNum(c.Monetary[s-2], 0)
	return "total spend > " + v, "累計購入額" + v + "超"
}

func definition(key string, c Cutoffs, cur string) (string, string) {
	type pair = [2]string
	p := func(a, b string) pair { return pair{a, b} }
	var parts []pair
	switch key {
	case VIP:
		parts = []pair{p(recencyAtMost(c, 4)), p(freqAtLeast(c, 4)), p(moneyOver(c, 4, cur))}
	case Loyal:
		parts = []pair{p(recencyAtMost(c, 3)), p(freqAtLeast(c, 4))}
	case CantLose:
		parts = []pair{p(recencyOver(c, 2)), p(freqAtLeast(c, 4)), p(moneyOver(c, 4, cur))}
	case AtRisk:
		f, fj := freqAtLeast(c, 3)
		m, mj := moneyOver(c, 4, cur)
		r, rj := recencyOver(c, 2)
		parts = []pair{{r, rj}, {f + " or " + m, fj + "または" + mj}}
	case PromisingNew:
		parts = []pair{p(recencyAtMost(c, 4)), p(freqAtMost(c, 2))}
	case NeedsAttention:
		parts = []pair{p(recencyAtMost(c, 3))}
	case Prospect:
		return "no won deal or order yet", "受注・購入実績なし"
	case Dormant:
		return "everyone else: typically last order > " + fmtNum(c.Recency[2], 0) + " days ago with few, small orders",
			"上記以外(主に最終購入から" + fmtNum(c.Recency[2], 0) + "日超で購入回数・金額が少ない)"
	}
	var en, ja []string
	for _, x := range parts {
		en = append(en, x[0])
		ja = append(ja, x[1])
	}
	suffix := ""
	if key == Loyal {
		suffix = " (and not VIP)"
	}
	if key == NeedsAttention {
		suffix = " (and no earlier rule)"
	}
	jaSuffix := map[string]string{Loyal: "(VIPを除く)", NeedsAttention: "(上位の条件に該当しない)"}[key]
	return strings.Join(en, ", ") + suffix, strings.Join(ja, "、") + jaSuffix
}

// fmtNum formats v with thousands separators and the given decimals.
func fmtNum(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// subSegment appends the enabled B2B axes to the segment name:
// industry (as given, "Unknown industry" if empty), size band (Small < 100
// employees, Mid 100–999, Enterprise ≥ 1000), engagement band, and renewal
// timing relative to asOf (≤ 90 days, 91–180 days, later, or unknown).
func subSegment(name string, p Profile, o B2BOptions, asOf time.Time) string {
	parts := []string{name}
	if o.Industry {
		ind := strings.TrimSpace(p.Industry)
		if ind == "" {
			ind = "Unknown industry"
		}
		parts = append(parts, ind)
	}
	if o.Size {
		switch {
		case p.Employees <= 0:
			parts = append(parts, "Unknown size")
		case p.Employees < 100:
			parts = append(parts, "Small (<100)")
		case p.Employees < 1000:
			parts = append(parts, "Mid (100–999)")
		default:
			parts = append(parts, "Enterprise (1000+)")
		}
	}
	if o.Engagement {
		switch {
		case p.Activities90 < 0:
			parts = append(parts, "Unknown engagement")
		case p.Activities90 >= o.EngagementHigh:
			parts = append(parts, "High engagement")
		case p.Activities90 < o.EngagementLow:
			parts = append(parts, "Low engagement")
		default:
			parts = append(parts, "Medium engagement")
		}
	}
	if o.Renewal {
		days := p.Renewal.Sub(asOf).Hours() / 24
		switch {
		case p.Renewal.IsZero():
			parts = append(parts, "Renewal unknown")
		case days < 0:
			parts = append(parts, "Renewal overdue")
		case days <= 90:
			parts = append(parts, "Renewal ≤ 90 days")
		case days <= 180:
			parts = append(parts, "Renewal 91–180 days")
		default:
			parts = append(parts, "Renewal > 180 days")
		}
	}
	return strings.Join(parts, " · ")
}

// Move is one (from, to) cell of a migration matrix.
type Move struct {
	From, To   string   // segment keys
	Direction  string   // "upgrade", "downgrade" or "same" (by Rank)
	Count      int      // customers
	AccountIDs []string // sorted
}

// Migration compares two assignments of the same customer base.
type Migration struct {
	Moves      []Move   // every non-empty (from, to) pair, staying put included
	Entered    []string // customers only in the current assignment, sorted
	Left       []string // customers only in the previous assignment, sorted
	Upgrades   int
	Downgrades int
	Unchanged  int
}

// Migrate compares prev with curr. A move is an upgrade when the new
// segment's Rank is higher, a downgrade when lower. Moves are ordered by
// from-rank, then to-rank, both descending.
func Migrate(prev, curr []Assignment) Migration {
	before := map[string]string{}
	for _, a := range prev {
		before[a.CustomerID] = a.Segment
	}
	after := map[string]string{}
	for _, a := range curr {
		after[a.CustomerID] = a.Segment
	}
	var m Migration
	cells := map[[2]string]*Move{}
	for id, to := range after {
		from, ok := before[id]
		if !ok {
			m.Entered = append(m.Entered, id)
			continue
		}
		k := [2]string{from, to}
		mv := cells[k]
		if mv == nil {
			dir := "same"
			switch {
			case Rank(to) > Rank(from):
				dir = "upgrade"
			case Rank(to) < Rank(from):
				dir = "downgrade"
			}
			mv = &Move{From: from, To: to, Direction: dir}
			cells[k] = mv
		}
		mv.Count++
		mv.AccountIDs = append(mv.AccountIDs, id)
		switch mv.Direction {
		case "upgrade":
			m.Upgrades++
		case "downgrade":
			m.Downgrades++
		default:
			m.Unchanged++
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			m.Left = append(m.Left, id)
		}
	}
	for _, mv := range cells {
		sort.Strings(mv.AccountIDs)
		m.Moves = append(m.Moves, *mv)
	}
	sort.Slice(m.Moves, func(i, j int) bool {
		a, b := m.Moves[i], m.Moves[j]
		if Rank(a.From) != Rank(b.From) {
			return Rank(a.From) > Rank(b.From)
		}
		if Rank(a.To) != Rank(b.To) {
			return Rank(a.To) > Rank(b.To)
		}
		return a.From+a.To < b.From+b.To
	})
	sort.Strings(m.Entered)
	sort.Strings(m.Left)
	return m
}

// String renders a segment summary on one line, for logs and the CLI.
func (s Segment) String() string {
	return fmt.Sprintf("%s: %d (%.1f%%) — %s", s.Name, s.Count, 100*s.Share, s.Definition)
}
