// Package crosssell finds products an account is likely to buy: those that
// similar accounts bought and it has not (cross-sell), and expansion cues in
// its own communications (upsell).
//
// The similar accounts come from elsewhere (a vector search over account
// profiles); this package is pure logic over them.
package crosssell

import (
	"math"
	"sort"
	"strings"

	"github.com/crmpulse/crmpulse/insights/churn"
)

// Deal is a won deal of a similar account.
type Deal struct {
	ID       string
	Products []string
}

// Neighbor is a similar account.
type Neighbor struct {
	AccountID  string
	Similarity float64  // in [0, 1]; higher is more similar
	Products   []string // products owned (from orders or subscriptions)
	Deals      []Deal   // won deals, for evidence
}

// Support is one similar account behind a recommendation.
type Support struct {
	AccountID  string
	Similarity float64
	DealIDs    []string // won deals of that account containing the product
}

// Recommendation is a product the account does not have.
type Recommendation struct {
	Product string
	// Score is the similarity-weighted support: the sum of the similarities
	// of the neighbours that own the product divided by the sum over all
	// neighbours considered, in [0, 1].
	Score    float64
	Accounts []Support // by similarity, descending, then id
}

// Options tunes [Recommend]; nil means defaults.
type Options struct {
	MinSimilarity float64 // ignore neighbours below this (default 0)
	MinAccounts   int     // a product needs this many supporting neighbours (default 2)
	Limit         int     // at most this many recommendations (default 10; <0 = all)
}

func norm(p string) string { return strings.ToLower(strings.TrimSpace(p)) }

// Recommend ranks the products owned by similar accounts that the account
// does not own. Product names are compared case- and space-insensitively;
// a recommendation is shown under the lexicographically smallest spelling
// among its supporters. Ties in score are broken by the number of
// supporters, then by name, so the output is deterministic.
func Recommend(owned []string, neighbors []Neighbor, opts *Options) []Recommendation {
	o := Options{MinAccounts: 2, Limit: 10}
	if opts != nil {
		o.MinSimilarity = opts.MinSimilarity
		if opts.MinAccounts > 0 {
			o.MinAccounts = opts.MinAccounts
		}
		if opts.Limit != 0 {
			o.Limit = opts.Limit
		}
	}
	have := map[string]bool{}
	for _, p := range owned {
		have[norm(p)] = true
	}
	type agg struct {
		name    string
		weight  float64
		support []Support
	}
	by := map[string]*agg{}
	var total float64
	for _, n := range neighbors {
		if n.Similarity < o.MinSimilarity || !(n.Similarity > 0) || math.IsInf(n.Similarity, 0) {
			continue
		}
		total += n.Similarity
		products := map[string]string{} // key → spelling
		deals := map[string][]string{}
		add := func(p string) {
			k := norm(p)
			if k == "" || have[k] {
				return
			}
			if s, ok := products[k]; !ok || strings.TrimSpace(p) < s {
				products[k] = strings.TrimSpace(p)
			}
		}
		for _, p := range n.Products {
			add(p)
		}
		for _, d := range n.Deals {
			for _, p := range d.Products {
				add(p)
				if k := norm(p); !have[k] && k != "" {
					deals[k] = append(deals[k], d.ID)
				}
			}
		}
		for k, spelling := range products {
			a := by[k]
			if a == nil {
				a = &agg{name: spelling}
				by[k] = a
			}
			if spelling < a.name {
				a.name = spelling
			}
			a.weight += n.Similarity
			ids := dedupSorted(deals[k])
			a.support = append(a.support, Support{AccountID: n.AccountID, Similarity: n.Similarity, DealIDs: ids})
		}
	}
	var out []Recommendation
	for _, a := range by {
		if len(a.support) < o.MinAccounts {
			continue
		}
		sort.Slice(a.support, func(i, j int) bool {
			if a.support[i].Similarity != a.support[j].Similarity {
				return a.support[i].Similarity > a.support[j].Similarity
			}
			return a.support[i].AccountID < a.support[j].AccountID
		})
		out = append(out, Recommendation{Product: a.name, Score: a.weight / total, Accounts: a.support})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if len(out[i].Accounts) != len(out[j].Accounts) {
			return len(out[i].Accounts) > len(out[j].Accounts)
		}
		return out[i].Product < out[j].Product
	})
	if o.Limit > 0 && len(out) > o.Limit {
		out = out[:o.Limit]
	}
	return out
}

func dedupSorted(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := append([]string(nil), ids...)
	sort.Strings(out)
	w := 1
	for _, id := range out[1:] {
		if id != out[w-1] {
			out[w] = id
			w++
		}
	}
	return out[:w]
}

// Upsell is an expansion cue from the account's own records.
type Upsell struct {
	Phrase    string // lexicon phrase that matched
	RecordIDs []string
}

// UpsellCues groups the account's recent expansion hits (from
// churn.Features.Hits) by phrase, most frequent first.
func UpsellCues(f churn.Features) []Upsell {
	by := map[string][]string{}
	for _, h := range f.Hits[churn.CueExpansion] {
		by[h.Phrase] = append(by[h.Phrase], h.RecordID)
	}
	out := make([]Upsell, 0, len(by))
	for p, ids := range by {
		out = append(out, Upsell{Phrase: p, RecordIDs: dedupSorted(ids)})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].RecordIDs) != len(out[j].RecordIDs) {
			return len(out[i].RecordIDs) > len(out[j].RecordIDs)
		}
		return out[i].Phrase < out[j].Phrase
	})
	return out
}
