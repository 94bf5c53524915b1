package sandbox

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

const day = 24 * time.Hour

// genState is the latent state of the generated customers that Step
// continues.
type genState struct {
	accounts []*genAccount
}

// genAccount is what Step needs to know about a generated account.
type genAccount struct {
	key        string
	sfID, hsID string
	sfContacts []string
	hsContacts []string
	champion   int
	ja         bool
	owner      int
	band, ind  int
	name       string
	lambda, p  float64
	drop       time.Time // latent drop-out; zero: none in the simulated span
	drivers    []string
	affinity   [8]float64
	owned      [8]bool
	prospect   bool
	situation  string
}

// customer is one account's simulated history before it is written.
type customer struct {
	*genAccount
	employees  int
	revenue    float64
	domain     string
	city       string
	country    string
	phone      string
	created    time.Time
	modified   time.Time
	acquired   time.Time // first purchase; zero for prospects
	legacy     bool      // customer before the CRM history starts (migrated)
	contacts   []genContact
	deals      []genDeal
	acts       []genActivity
	champLeft  time.Time
	lastAct    time.Time
	futureBuys []int // products bought in (Horizon, Horizon+Holdout]

	industryName string // Salesforce Industry value
	description  string // overrides the industry's account description
	prepared     bool   // texts laid out for both tenants (prepare)
}

type genContact struct {
	first, last, email, title, dept string
	ja                              bool
	created, modified               time.Time
	desc                            string
}

type genDeal struct {
	product     int
	typ         string // OppNewBusiness / OppUpgrade / OppRenewal
	amount      float64
	created     time.Time
	close       time.Time
	modified    time.Time
	stage       int // index into SalesforceStages
	lossReason  string
	competitor  string
	source      string
	description string
	name        string // overrides the generated name
	sfID, hsID  string
}

type genActivity struct {
	kind     string // "email", "call", "meeting", "note", "task"
	at       time.Time
	logged   time.Time // when it was recorded in the CRM
	theme    string
	ja       bool
	subject  string
	body     string
	deal     int // index into deals, -1 for none
	contact  int
	inbound  bool
	duration int // minutes (meetings) or seconds (calls)
	open     bool
	// Set by prepare: the Salesforce subject (with its "Email: " etc.
	// prefix) and a note's HubSpot HTML body.
	sfSubject, html string
}

// Generator constants (see the package documentation).
const (
	gammaShape    = 3.0  // λ ~ Gamma(gammaShape, gammaScale), purchases per year
	gammaScale    = 0.45 // mean λ 1.35 per year before the size-band factor
	betaA, betaB  = 1.5, 10.0
	declineWindow = 120 * day // engagement decays over this span before drop-out
	prospectShare = 0.12
	legacyShare   = 0.25
)

func (sb *Sandbox) generate() error {
	o := sb.Opt
	now := o.Now
	sb.Truth.Horizon, sb.Truth.Cutoff = now, now.Add(-o.Holdout)
	sb.gen = &genState{accounts: make([]*genAccount, 0, o.Accounts)}
	g := &generator{sb: sb, now: now, start: now.Add(-o.History), cutoff: now.Add(-o.Holdout),
		simEnd: now.Add(o.Holdout), used: map[string]int{}}
	g.enrichAt = time.Date(now.Year(), now.Month(), now.Day(), 17, 0, 0, 0, time.UTC).Add(-40 * day)
	base := g.tableSizes()
	for i := range o.Accounts {
		if i == presizeAfter && o.Accounts >= 4*presizeAfter {
			g.presize(base, i, o.Accounts)
		}
		rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(i)))
		c := g.simulate(rng, i)
		if err := g.writeSalesforce(c); err != nil {
			return err
		}
		if err := g.writeHubSpot(c); err != nil {
			return err
		}
		sb.Truth.Register(g.truth(c))
		sb.gen.accounts = append(sb.gen.accounts, c.genAccount)
	}
	return nil
}

// presizeAfter is the number of accounts after which the generator
// extrapolates the table sizes and reserves room for the rest.
const presizeAfter = 500

// tableSizes counts the rows of every table of both tenants.
func (g *generator) tableSizes() map[*Store]map[string]int {
	out := map[*Store]map[string]int{}
	for _, s := range []*Store{g.sb.SF, g.sb.HS} {
		out[s] = map[string]int{}
		for _, t := range s.Tables() {
			out[s][t] = s.Len(t)
		}
	}
	return out
}

// presize reserves room in every table for total accounts, extrapolated
// from the rows that done accounts added since base (4% headroom).
func (g *generator) presize(base map[*Store]map[string]int, done, total int) {
	for s, sizes := range g.tableSizes() {
		for t, n := range sizes {
			if added := n - base[s][t]; added > 0 {
				s.Reserve(t, base[s][t]+int(float64(added)*float64(total)/float64(done)*1.04))
			}
		}
	}
}

type generator struct {
	sb                                   *Sandbox
	now, start, cutoff, simEnd, enrichAt time.Time
	used                                 map[string]int
	m                                    map[string]any // reused field map (fields)
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func weighted(rng *rand.Rand, w []float64) int {
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	u := rng.Float64() * sum
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

// gamma samples Gamma(shape, scale) (Marsaglia and Tsang).
func gamma(rng *rand.Rand, shape, scale float64) float64 {
	if shape < 1 {
		return gamma(rng, shape+1, scale) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v * scale
		}
	}
}

func beta(rng *rand.Rand, a, b float64) float64 {
	x := gamma(rng, a, 1)
	return x / (x + gamma(rng, b, 1))
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(math.Round(mean + math.Sqrt(mean)*rng.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func between(rng *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(rng.Int64N(int64(b.Sub(a)))))
}

func days(rng *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo)*day + time.Duration(rng.Int64N(int64(hi-lo+1)*int64(day)))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (g *generator) simulate(rng *rand.Rand, i int) *customer {
	o := g.sb.Opt
	a := &genAccount{key: fmt.Sprintf("A%06d", i+1)}
	c := &customer{genAccount: a}
	a.ja = rng.Float64() < o.JapaneseShare
	iw := make([]float64, len(industries))
	for k, d := range industries {
		iw[k] = d.weight
	}
	a.ind = weighted(rng, iw)
	bw := make([]float64, len(bands))
	for k, b := range bands {
		bw[k] = b.weight
	}
	a.band = weighted(rng, bw)
	b, ind := bands[a.band], industries[a.ind]
	c.industryName = ind.sf
	c.employees = b.min + int(float64(b.max-b.min)*math.Pow(rng.Float64(), 2))
	c.revenue = math.Round(float64(c.employees)*(120_000+rng.Float64()*280_000)/1000) * 1000
	g.name(rng, c)
	if a.ja {
		a.owner = rng.IntN(4)
	} else {
		a.owner = 4 + rng.IntN(4)
	}
	for k := range a.affinity {
		a.affinity[k] = math.Min(1, ind.affinity[k]*(0.5+rng.Float64()))
	}

	// Latent purchase process.
	a.lambda = gamma(rng, gammaShape, gammaScale) * b.rate
	a.p = beta(rng, betaA, betaB)
	a.prospect = rng.Float64() < prospectShare
	u := rng.Float64()
	switch {
	case a.prospect:
		c.created = between(rng, g.start, g.now.Add(-30*day))
	case u < legacyShare:
		c.legacy = true
		c.acquired = g.start.Add(-days(rng, 30, 730))
		c.created = g.start // migrated into the CRM in one batch
	default:
		span := g.now.Add(-45 * day).Sub(g.start)
		c.acquired = g.start.Add(time.Duration(float64(span) * math.Pow(rng.Float64(), 1.3)))
		c.created = maxTime(g.start, c.acquired.Add(-days(rng, 30, 150)))
	}
	var buys []time.Time
	if !a.prospect {
		t := c.acquired
		for t.Before(g.simEnd) {
			buys = append(buys, t)
			if rng.Float64() < a.p {
				a.drop = t.Add(days(rng, 60, 300))
				break
			}
			t = t.Add(time.Duration(rng.ExpFloat64() / a.lambda * float64(365*day)))
		}
	}
	if !a.drop.IsZero() {
		n := 1 + rng.IntN(2)
		for len(a.drivers) < n {
			d := churnDrivers[weighted(rng, []float64{3, 3, 2, 3, 2})]
			if !slices.Contains(a.drivers, d) {
				a.drivers = append(a.drivers, d)
			}
		}
		slices.Sort(a.drivers)
	}
	switch {
	case a.prospect:
		a.situation = "prospect"
	case !a.drop.IsZero() && !a.drop.After(g.now):
		a.situation = "churned"
	case !a.drop.IsZero() && a.drop.Before(g.now.Add(declineWindow)):
		a.situation = "at_risk"
	default:
		a.situation = []string{"happy", "expansion", "neutral"}[weighted(rng, []float64{45, 15, 40})]
		if a.situation == "expansion" {
			for k := range a.affinity {
				a.affinity[k] = math.Min(1, a.affinity[k]*1.3)
			}
		}
	}

	g.contacts(rng, c)
	g.deals(rng, c, buys)
	g.activities(rng, c)
	c.modified = c.created.Add(days(rng, 0, 30))
	if c.created.Before(g.enrichAt) && rng.Float64() < 0.6 {
		c.modified = g.enrichAt // nightly enrichment job: many identical stamps
	}
	c.modified = minTime(maxTime(c.modified, c.created), g.now)
	return c
}

func (g *generator) name(rng *rand.Rand, c *customer) {
	ind := industries[c.ind]
	var name, slug string
	for try := 0; ; try++ {
		pat := rng.IntN(2)
		if c.ja {
			r1 := pick(rng, rootsJA)
			root, rom := r1[0], r1[1]
			if try > 0 {
				r2 := pick(rng, rootsJA)
				root, rom = root+r2[0], rom+"-"+r2[1]
			}
			name = fmt.Sprintf(ind.ja[pat], root)
			slug = rom + "-" + strings.ToLower(strings.Fields(fmt.Sprintf(ind.en[pat], "x"))[1])
		} else {
			root := pick(rng, rootsEN)
			if try > 0 {
				root += " " + pick(rng, rootsEN)
			}
			name = fmt.Sprintf(ind.en[pat], root)
			slug = strings.ToLower(strings.ReplaceAll(name, " ", ""))
		}
		if g.used[name] == 0 || try >= 3 {
			break
		}
	}
	g.used[name]++
	if n := g.used[name]; n > 1 {
		slug += fmt.Sprint(n)
	}
	c.name = name
	if c.ja {
		c.domain = slug + ".co.jp"
		c.country, c.city = "Japan", pick(rng, citiesJA)
		c.phone = fmt.Sprintf("0%d-%04d-%04d", 3+rng.IntN(7), rng.IntN(10000), rng.IntN(10000))
	} else {
		c.domain = slug + ".example.com"
		pl := pick(rng, placesEN)
		c.country, c.city = pl[0], pl[1]
		c.phone = fmt.Sprintf("+1 %03d-555-%04d", 200+rng.IntN(700), rng.IntN(10000))
	}
}

func (g *generator) contacts(rng *rand.Rand, c *customer) {
	n := bands[c.band].contactsLo + rng.IntN(7-bands[c.band].contactsLo)
	n = min(max(n, 2), 6)
	c.champion = rng.IntN(n)
	for k := range n {
		ct := genContact{ja: c.ja}
		if c.ja {
			f, gv := pick(rng, familyJA), pick(rng, givenJA)
			ct.last, ct.first = f[0], gv[0]
			ct.email = fmt.Sprintf("%s.%s%d@%s", gv[1], f[1], k, c.domain)
			ct.title = pick(rng, titlesJA)
		} else {
			ct.first, ct.last = pick(rng, firstEN), pick(rng, lastEN)
			ct.email = fmt.Sprintf("%s.%s%d@%s", strings.ToLower(ct.first), strings.ToLower(ct.last), k, c.domain)
			ct.title = pick(rng, titlesEN)
		}
		ct.created = c.created
		if !c.legacy || k > 1 {
			ct.created = minTime(c.created.Add(days(rng, 0, 400)), g.now.Add(-day))
		}
		ct.modified = ct.created
		if ct.created.Before(g.enrichAt) && rng.Float64() < 0.5 {
			ct.modified = g.enrichAt
		}
		c.contacts = append(c.contacts, ct)
	}
	if slices.Contains(c.drivers, themeChampionLeft) {
		c.champLeft = c.drop.Add(-time.Duration(float64(declineWindow) * (0.3 + 0.6*rng.Float64())))
		if c.champLeft.Before(g.now) {
			ch := &c.contacts[c.champion]
			if c.ja {
				ch.desc = "退職済み（" + c.champLeft.Format("2006-01") + "）"
			} else {
				ch.desc = "Left the company (" + c.champLeft.Format("2006-01") + ")"
			}
			ch.modified = maxTime(ch.created, c.champLeft)
		}
	}
}

func (g *generator) dealAmount(rng *rand.Rand, c *customer, product int, typ string) float64 {
	amt := listPrices[product] * bands[c.band].amount * math.Exp(0.3*rng.NormFloat64())
	if typ == OppUpgrade {
		amt *= 0.8
	}
	return math.Max(500, math.Round(amt/100)*100)
}

func (g *generator) cycle(rng *rand.Rand, c *customer) time.Duration {
	return days(rng, 20+15*c.band, 60+30*c.band)
}

func (g *generator) pickProduct(rng *rand.Rand, c *customer, notOwned bool) int {
	w := make([]float64, len(Products))
	any := false
	for k := range w {
		if notOwned && c.owned[k] {
			continue
		}
		w[k] = c.affinity[k] * c.affinity[k]
		any = any || w[k] > 0
	}
	if !any {
		return -1
	}
	return weighted(rng, w)
}

var leadSources = []string{"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"}

func (g *generator) deals(rng *rand.Rand, c *customer, buys []time.Time) {
	won := 0
	for _, t := range buys {
		typ, product := OppRenewal, -1
		switch {
		case !slices.Contains(c.owned[:], true):
			typ, product = OppNewBusiness, g.pickProduct(rng, c, false)
		case rng.Float64() < 0.55:
			product = g.pickProduct(rng, c, true)
			typ = OppUpgrade
		}
		if product < 0 {
			var owned []int
			for k, ok := range c.owned {
				if ok {
					owned = append(owned, k)
				}
			}
			typ, product = OppRenewal, pick(rng, owned)
		}
		if t.After(g.now) {
			if typ == OppUpgrade {
				c.futureBuys = append(c.futureBuys, product)
			}
			continue
		}
		c.owned[product] = true
		won++
		d := genDeal{product: product, typ: typ, amount: g.dealAmount(rng, c, product, typ), close: t,
			stage: 8, source: pick(rng, leadSources)}
		d.created = t.Add(-g.cycle(rng, c))
		c.deals = append(c.deals, d)
	}
	// Lost pipeline: new-business attempts before the first purchase,
	// upgrades after it; prospects only lose.
	end := g.now
	if !c.drop.IsZero() {
		end = minTime(end, c.drop)
	}
	lost := poisson(rng, 1.6*float64(won)+0.8)
	if c.prospect {
		lost = 1 + poisson(rng, 1.2)
	}
	for range lost {
		t := between(rng, c.created.Add(30*day), end)
		if t.After(g.now) {
			continue
		}
		typ := OppUpgrade
		if c.acquired.IsZero() || t.Before(c.acquired) {
			typ = OppNewBusiness
		}
		d := genDeal{product: g.pickProduct(rng, c, false), typ: typ, close: t, stage: 9, source: pick(rng, leadSources)}
		d.amount = g.dealAmount(rng, c, d.product, typ)
		d.created = t.Add(-g.cycle(rng, c))
		d.lossReason = LossReasons[weighted(rng, []float64{20, 30, 10, 20, 10, 10, 0})]
		if d.lossReason == "Competitor" || (d.lossReason == "Price" && rng.Float64() < 0.5) {
			d.competitor = pick(rng, Competitors)
		}
		c.deals = append(c.deals, d)
	}
	// The renewal a churned account lets lapse.
	if !c.drop.IsZero() && !c.drop.After(g.now) {
		product := 0
		for k, ok := range c.owned {
			if ok {
				product = k
				break
			}
		}
		d := genDeal{product: product, typ: OppRenewal, close: c.drop, stage: 9, source: "Other"}
		d.amount = g.dealAmount(rng, c, product, OppRenewal)
		d.created = c.drop.Add(-days(rng, 45, 90))
		d.lossReason = map[string]string{themeBudgetCut: "No Budget", themeCompetitor: "Competitor",
			themeChampionLeft: "Champion Left", themeComplaints: "Product Fit", themeLowUsage: "Price"}[c.drivers[0]]
		if d.lossReason == "Competitor" {
			d.competitor = pick(rng, Competitors)
		}
		c.deals = append(c.deals, d)
	}
	// Open pipeline of live accounts; at-risk accounts carry a stalled renewal.
	if c.drop.IsZero() || c.drop.After(g.now) {
		open := poisson(rng, 0.6)
		if c.situation == "expansion" {
			open++
		}
		for range open {
			product := g.pickProduct(rng, c, !c.prospect)
			if product < 0 {
				product = g.pickProduct(rng, c, false)
			}
			typ := OppUpgrade
			if c.prospect {
				typ = OppNewBusiness
			}
			d := genDeal{product: product, typ: typ, close: g.now.Add(days(rng, 10, 120)), stage: rng.IntN(8),
				source: pick(rng, leadSources)}
			d.amount = g.dealAmount(rng, c, product, typ)
			d.created = g.now.Add(-days(rng, 5, 90))
			c.deals = append(c.deals, d)
		}
		if c.situation == "at_risk" {
			product := 0
			for k, ok := range c.owned {
				if ok {
					product = k
					break
				}
			}
			d := genDeal{product: product, typ: OppRenewal, close: c.drop, stage: 7, source: "Other"}
			d.amount = g.dealAmount(rng, c, product, OppRenewal)
			d.created = g.now.Add(-days(rng, 20, 60))
			if c.ja {
				d.description = "更新交渉が停滞。先方からの返信が遅い。"
			} else {
				d.description = "Renewal stalled; customer slow to respond."
			}
			c.deals = append(c.deals, d)
		}
	}
	slices.SortStableFunc(c.deals, func(x, y genDeal) int { return x.created.Compare(y.created) })
	for k := range c.deals {
		d := &c.deals[k]
		if d.created.Before(c.created) {
			d.created = c.created
		}
		if SalesforceStages[d.stage].Closed {
			d.modified = minTime(d.close.Add(days(rng, 0, 3)), g.now)
		} else {
			d.modified = minTime(maxTime(d.created, g.now.Add(-days(rng, 0, 20))), g.now)
		}
	}
}

var activityKinds = []string{"email", "call", "meeting", "note", "task"}
var activityKindWeights = []float64{35, 20, 15, 15, 15}

// engagement returns the activity-rate multiplier at t and the probability
// that an activity at t is about one of the account's churn drivers.
func (g *generator) engagement(c *customer, t time.Time) (rate, negative float64) {
	if c.drop.IsZero() {
		return 1, 0
	}
	if t.After(c.drop) {
		return 0.12, 0
	}
	from := c.drop.Add(-declineWindow)
	if t.Before(from) {
		return 1, 0
	}
	prog := float64(t.Sub(from)) / float64(declineWindow)
	return 1 - 0.7*prog, 0.25 + 0.65*prog
}

func (g *generator) activities(rng *rand.Rand, c *customer) {
	o := g.sb.Opt
	end := g.now
	if !c.drop.IsZero() {
		end = minTime(end, c.drop.Add(90*day))
	}
	span := end.Sub(c.created)
	if span <= 0 {
		return
	}
	mean := 7 * bands[c.band].activity * o.ActivityScale * span.Hours() / (365 * 24)
	if c.prospect {
		mean *= 0.4
	}
	n := poisson(rng, mean)
	for range n {
		t := between(rng, c.created, end)
		rate, neg := g.engagement(c, t)
		if rng.Float64() >= rate {
			continue
		}
		theme := themeRoutine
		switch {
		case !c.drop.IsZero() && t.After(c.drop):
			theme = themeNoReply
		case rng.Float64() < neg:
			theme = pick(rng, c.drivers)
		case c.situation == "expansion" && t.After(g.now.Add(-365*day)) && rng.Float64() < 0.35:
			theme = themeExpansion
		case c.situation == "happy" && rng.Float64() < 0.3:
			theme = themeHappy
		case rng.Float64() < 0.04:
			theme = themeComplaints // resolved grumbles of healthy accounts
		case rng.Float64() < 0.02:
			theme = themeCompetitor
		}
		g.addActivity(rng, c, t, theme, -1)
	}
	if !c.champLeft.IsZero() && c.champLeft.Before(g.now) {
		g.addActivity(rng, c, c.champLeft, themeChampionLeft, -1)
	}
	for k := range c.deals {
		d := &c.deals[k]
		m := poisson(rng, 1.5*o.ActivityScale)
		dEnd := minTime(d.close, g.now)
		for range m {
			g.addActivity(rng, c, between(rng, d.created, dEnd), themeDealOpen, k)
		}
		if SalesforceStages[d.stage].Closed && rng.Float64() < 0.7 {
			theme := themeDealWon
			if !SalesforceStages[d.stage].Won {
				theme = themeDealLost
			}
			g.addActivity(rng, c, d.close, theme, k)
		}
	}
	slices.SortStableFunc(c.acts, func(x, y genActivity) int { return x.at.Compare(y.at) })
	for _, a := range c.acts {
		if !a.at.After(g.now) {
			c.lastAct = maxTime(c.lastAct, a.at)
		}
	}
}

func (g *generator) addActivity(rng *rand.Rand, c *customer, t time.Time, theme string, deal int) {
	if t.After(g.now) || t.Before(c.created) {
		return
	}
	a := genActivity{at: t, theme: theme, deal: deal, ja: c.ja && rng.Float64() < 0.85}
	a.kind = activityKinds[weighted(rng, activityKindWeights)]
	if theme == themeNoReply {
		a.kind = []string{"email", "call"}[rng.IntN(2)]
	}
	a.contact = c.champion
	if rng.Float64() < 0.5 || (!c.champLeft.IsZero() && t.After(c.champLeft)) {
		a.contact = rng.IntN(len(c.contacts))
	}
	v := &textVars{company: c.name, rep: reps[c.owner].first + " " + reps[c.owner].last}
	ct := c.contacts[a.contact]
	if a.ja {
		v.contact = ct.last + " " + ct.first
	} else {
		v.contact = ct.first + " " + ct.last
	}
	if deal >= 0 {
		d := c.deals[deal]
		v.product, v.competitor, v.reason = Products[d.product], d.competitor, d.lossReason
		if a.ja {
			v.reason = lossReasonJA[d.lossReason]
		}
	} else {
		v.product = Products[g.anyProduct(rng, c)]
	}
	if v.competitor == "" {
		v.competitor = pick(rng, Competitors)
	}
	if v.reason == "" {
		v.reason = "No Decision"
	}
	tx := pick(rng, texts[theme][a.ja])
	a.subject, a.body = fill(tx.subject, v), fill(tx.body, v)
	a.inbound = rng.Float64() < 0.45 && theme != themeNoReply
	switch a.kind {
	case "meeting":
		a.duration = []int{30, 45, 60, 90}[rng.IntN(4)]
		a.at = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Add(time.Duration(1+rng.IntN(9)) * time.Hour)
	case "call":
		a.duration = 60 + rng.IntN(1800)
	case "task":
		a.open = t.After(g.now.Add(-10*day)) && rng.Float64() < 0.6
	}
	a.logged = a.at.Add(time.Duration(rng.IntN(600)) * time.Second)
	if a.kind == "email" {
		// The mailbox connector logs emails in hourly batches.
		a.logged = a.at.Truncate(time.Hour).Add(time.Hour)
	}
	a.logged = minTime(a.logged, g.now)
	c.acts = append(c.acts, a)
}

func (g *generator) anyProduct(rng *rand.Rand, c *customer) int {
	var owned []int
	for k, ok := range c.owned {
		if ok {
			owned = append(owned, k)
		}
	}
	if len(owned) > 0 && rng.Float64() < 0.8 {
		return pick(rng, owned)
	}
	if p := g.pickProduct(rng, c, false); p >= 0 {
		return p
	}
	return 0
}

func (g *generator) truth(c *customer) AccountTruth {
	t := AccountTruth{Key: c.key, SalesforceID: c.sfID, HubSpotID: c.hsID, Name: c.name, Industry: industries[c.ind].sf,
		SizeBand: bands[c.band].name, Language: map[bool]string{true: "ja", false: "en"}[c.ja],
		Customer: !c.prospect, Lambda: c.lambda, DropoutP: c.p, DroppedOutAt: c.drop, Situation: c.situation}
	if !c.drop.IsZero() {
		t.Drivers = slices.Clone(c.drivers)
	}
	t.AliveAtCutoff = t.Customer && !c.acquired.After(g.cutoff) && (c.drop.IsZero() || c.drop.After(g.cutoff))
	if t.AliveAtCutoff && !c.drop.IsZero() && !c.drop.After(g.now) {
		t.Churned, t.ChurnedAt = true, c.drop
	}
	t.ChurnsSoon = !c.prospect && !c.drop.IsZero() && c.drop.After(g.now) && !c.drop.After(g.simEnd)
	for k, ok := range c.owned {
		if ok {
			t.Products = append(t.Products, Products[k])
		}
	}
	// Cross-sell fit: products not owned whose latent affinity is high, and
	// whatever the account goes on to buy after Horizon.
	type fit struct {
		p int
		a float64
	}
	var fits []fit
	for k, a := range c.affinity {
		if !c.owned[k] && (a >= 0.6 || slices.Contains(c.futureBuys, k)) && c.situation != "churned" {
			fits = append(fits, fit{k, a})
		}
	}
	slices.SortStableFunc(fits, func(x, y fit) int {
		switch {
		case x.a > y.a:
			return -1
		case x.a < y.a:
			return 1
		}
		return x.p - y.p
	})
	for _, f := range fits {
		t.CrossSellFit = append(t.CrossSellFit, Products[f.p])
	}
	return t
}
