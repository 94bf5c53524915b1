package sandbox

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Stats summarises the customer base of the org (and the truth) the way a
// sales-operations report would.
type Stats struct {
	Accounts       int
	ByIndustry     map[string]int
	BySizeBand     map[string]int
	ByLanguage     map[string]int // from the truth
	Contacts       int
	Opportunities  int
	Won, Lost      int
	Open           int
	WinRate        float64            // won / (won + lost)
	AmountQuantile map[string]float64 // "p10", "p50", "p90", "p99" of closed-won amounts
	WonMedianBand  map[string]float64 // median closed-won amount per size band
	ByOppType      map[string]int
	Activities     map[string]int // by kind: email, call, task, note, meeting
	Archived       int            // activities only visible through queryAll
	HubSpot        map[string]int // live rows per portal table
	Customers      int            // truth: ever bought
	AliveAtCutoff  int
	Churned        int     // truth: churned in (Cutoff, Horizon]
	ChurnShare     float64 // Churned / AliveAtCutoff
	ChurnsSoon     int
	ByDriver       map[string]int
	Elapsed        time.Duration // generation time, when known
}

// Stats computes the summary. It reads the stores and the truth.
func (sb *Sandbox) Stats() Stats {
	st := Stats{ByIndustry: map[string]int{}, BySizeBand: map[string]int{}, ByLanguage: map[string]int{},
		AmountQuantile: map[string]float64{}, WonMedianBand: map[string]float64{}, ByOppType: map[string]int{},
		Activities: map[string]int{}, HubSpot: map[string]int{}, ByDriver: map[string]int{}}
	band := map[string]string{}
	_ = sb.SF.ScanView(SFAccount, func(r RowView) bool {
		if r.Deleted() {
			return true
		}
		st.Accounts++
		st.ByIndustry[r.Str("Industry")]++
		emp, _ := r.Float("NumberOfEmployees")
		b := SizeBandOf(int(emp))
		st.BySizeBand[b]++
		band[r.ID()] = b
		return true
	})
	st.Contacts = sb.SF.Count(SFContact)
	var won []float64
	perBand := map[string][]float64{}
	_ = sb.SF.ScanView(SFOpportunity, func(r RowView) bool {
		if r.Deleted() {
			return true
		}
		st.Opportunities++
		st.ByOppType[r.Str("Type")]++
		closed, isWon := r.Bool("IsClosed"), r.Bool("IsWon")
		switch {
		case isWon:
			st.Won++
			amt, _ := r.Float("Amount")
			won = append(won, amt)
			acc := r.Str("AccountId")
			perBand[band[acc]] = append(perBand[band[acc]], amt)
		case closed:
			st.Lost++
		default:
			st.Open++
		}
		return true
	})
	if st.Won+st.Lost > 0 {
		st.WinRate = float64(st.Won) / float64(st.Won+st.Lost)
	}
	slices.Sort(won)
	for _, q := range []struct {
		name string
		p    float64
	}{{"p10", .1}, {"p50", .5}, {"p90", .9}, {"p99", .99}} {
		st.AmountQuantile[q.name] = quantile(won, q.p)
	}
	for b, xs := range perBand {
		slices.Sort(xs)
		st.WonMedianBand[b] = quantile(xs, .5)
	}
	_ = sb.SF.ScanView(SFTask, func(r RowView) bool {
		if r.Deleted() {
			return true
		}
		kind, subj := r.Str("TaskSubtype"), r.Str("Subject")
		switch {
		case kind == "Task" && strings.HasPrefix(subj, "Note: "):
			kind = "note"
		default:
			kind = strings.ToLower(kind)
		}
		st.Activities[kind]++
		if r.Bool("IsArchived") {
			st.Archived++
		}
		return true
	})
	_ = sb.SF.ScanView(SFEvent, func(r RowView) bool {
		if !r.Deleted() {
			st.Activities["meeting"]++
			if r.Bool("IsArchived") {
				st.Archived++
			}
		}
		return true
	})
	for _, t := range sb.HS.Tables() {
		st.HubSpot[t] = sb.HS.Count(t)
	}
	for _, a := range sb.Truth.Accounts {
		if a.Language != "" {
			st.ByLanguage[a.Language]++
		}
		if a.Customer {
			st.Customers++
		}
		if a.AliveAtCutoff {
			st.AliveAtCutoff++
		}
		if a.Churned {
			st.Churned++
			for _, d := range a.Drivers {
				st.ByDriver[d]++
			}
		}
		if a.ChurnsSoon {
			st.ChurnsSoon++
		}
	}
	if st.AliveAtCutoff > 0 {
		st.ChurnShare = float64(st.Churned) / float64(st.AliveAtCutoff)
	}
	return st
}

func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// Write prints the summary as an aligned text report.
func (st Stats) Write(w io.Writer) error {
	var b strings.Builder
	pct := func(n, of int) string {
		if of == 0 {
			return "-"
		}
		return fmt.Sprintf("%5.1f%%", 100*float64(n)/float64(of))
	}
	counts := func(title string, m map[string]int, order []string, of int) {
		fmt.Fprintf(&b, "%s\n", title)
		if order == nil {
			order = sortedKeys(m)
			sort.SliceStable(order, func(i, j int) bool { return m[order[i]] > m[order[j]] })
		}
		for _, k := range order {
			fmt.Fprintf(&b, "  %-28s %8d  %s\n", k, m[k], pct(m[k], of))
		}
	}
	fmt.Fprintf(&b, "accounts %d, contacts %d (%.1f per account)\n", st.Accounts, st.Contacts, float64(st.Contacts)/float64(max(st.Accounts, 1)))
	if st.Elapsed > 0 {
		fmt.Fprintf(&b, "generated in %v\n", st.Elapsed.Round(time.Millisecond))
	}
	counts("accounts by industry", st.ByIndustry, nil, st.Accounts)
	counts("accounts by size band (employees)", st.BySizeBand, SizeBands, st.Accounts)
	langs := 0
	for _, n := range st.ByLanguage {
		langs += n
	}
	counts("language mix", st.ByLanguage, nil, langs)
	fmt.Fprintf(&b, "opportunities %d: won %d, lost %d, open %d; win rate %.1f%%\n", st.Opportunities, st.Won, st.Lost, st.Open, 100*st.WinRate)
	counts("opportunities by type", st.ByOppType, nil, st.Opportunities)
	fmt.Fprintf(&b, "closed-won amount quantiles: p10 %.0f  p50 %.0f  p90 %.0f  p99 %.0f\n",
		st.AmountQuantile["p10"], st.AmountQuantile["p50"], st.AmountQuantile["p90"], st.AmountQuantile["p99"])
	fmt.Fprintf(&b, "median closed-won amount by size band\n")
	for _, k := range SizeBands {
		fmt.Fprintf(&b, "  %-28s %8.0f\n", k, st.WonMedianBand[k])
	}
	acts := 0
	for _, n := range st.Activities {
		acts += n
	}
	counts(fmt.Sprintf("activities %d (%.1f per account; %d archived)", acts, float64(acts)/float64(max(st.Accounts, 1)), st.Archived),
		st.Activities, nil, acts)
	counts("hubspot portal (live rows)", st.HubSpot, nil, 0)
	fmt.Fprintf(&b, "truth: customers %d, alive at cutoff %d, churned in holdout %d (%.1f%%), churning in the next holdout %d\n",
		st.Customers, st.AliveAtCutoff, st.Churned, 100*st.ChurnShare, st.ChurnsSoon)
	counts("churn drivers (churned in holdout)", st.ByDriver, nil, st.Churned)
	_, err := io.WriteString(w, b.String())
	return err
}
