package churn

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Cue is a kind of signal found in the text of communications.
type Cue string

// The text cues. The first five raise churn risk; CueExpansion lowers it
// and feeds upsell.
const (
	CueComplaints   Cue = "complaints"
	CueBudgetCut    Cue = "budget_cut"
	CueCompetitor   Cue = "competitor"
	CueChampionLeft Cue = "champion_left"
	CueCancellation Cue = "cancellation"
	CueExpansion    Cue = "expansion"
)

// Cues lists every cue in a fixed order.
var Cues = []Cue{CueComplaints, CueBudgetCut, CueCompetitor, CueChampionLeft, CueCancellation, CueExpansion}

// Lexicon maps each cue to the phrases that reveal it, in English (matched
// case-insensitively as substrings, so "complain" covers "complained" and
// "complaints") and Japanese (matched as substrings: Japanese has no spaces
// between words). Phrases were chosen for what account managers write in CRM
// notes and what customers write in email:
//
//   - complaints: dissatisfaction, defects, outages, escalations
//     (complain, unhappy, frustrat, disappointed, escalat, unacceptable, outage,
//     still broken, not working, poor service / 不満, 苦情, クレーム, 不具合,
//     障害, 改善されない, 対応が遅い, がっかり).
//   - budget_cut: spend reductions and freezes (budget cut, budget freeze, cost
//     cutting, reduce spend, hiring freeze, no budget, downsiz / 予算削減,
//     予算カット, コスト削減, 経費削減, 予算凍結, 予算が厳しい, 予算がない).
//   - competitor: evaluation of or moves to other vendors (competitor, switching
//     to, alternative vendor, other vendors, evaluating other, cheaper option,
//     rfp / 競合, 他社, 乗り換え, 相見積, 比較検討, 他のベンダー); a competitor
//     named on an opportunity counts as well.
//   - champion_left: the sponsor or main contact leaving (left the company, no
//     longer with, resigned, last day, new role, successor / 退職, 退社, 異動,
//     後任, 担当変更); a contact marked as left counts as well.
//   - cancellation: explicit intent not to continue (cancel, terminate, not
//     renew, won't renew, non-renewal, end our contract / 解約, 契約終了,
//     更新しない, 打ち切り, 利用停止).
//   - expansion: growth of use (expand, more seats, additional licen, upgrade,
//     roll out to, new team, more users / 拡大, 増員, ライセンス追加, 追加導入,
//     アップグレード, 全社展開, 他部署).
//
// Negation: an English phrase preceded within its sentence by "no ", "not ",
// "never " or "without " (as in "no complaints") and a Japanese phrase
// followed within ten characters by はない, はありません, しない, しません,
// もない or なし (as in 不満はない, 解約する予定はありません) are ignored;
// a bare ない is not a negator, so 不具合が直らない still counts. Irony and reported speech are not
// handled.
var Lexicon = map[Cue][]string{
	CueComplaints: {
		"complain", "unhappy", "frustrat", "disappointed", "dissatisf", "escalat",
		"unacceptable", "outage", "still broken", "not working", "poor service", "keeps crashing",
		"不満", "苦情", "クレーム", "不具合", "障害", "改善されない", "対応が遅い", "がっかり",
	},
	CueBudgetCut: {
		"budget cut", "budget freeze", "cost cutting", "cost-cutting", "cut costs", "reduce spend",
		"reduce our spend", "hiring freeze", "no budget", "budget constraint", "downsiz", "layoff",
		"予算削減", "予算カット", "コスト削減", "経費削減", "予算凍結", "予算が厳しい", "予算がない", "予算縮小",
	},
	CueCompetitor: {
		"competitor", "switching to", "switch to another", "alternative vendor", "other vendors",
		"evaluating other", "cheaper option", "cheaper alternative", "rfp",
		"競合", "他社", "乗り換え", "相見積", "比較検討", "他のベンダー",
	},
	CueChampionLeft: {
		"left the company", "leaving the company", "no longer with", "resigned", "last day",
		"new role", "successor", "has left",
		"退職", "退社", "異動", "後任", "担当変更",
	},
	CueCancellation: {
		"cancel", "terminate", "termination", "not renew", "won't renew", "will not renew",
		"non-renewal", "end our contract", "end the contract",
		"解約", "契約終了", "更新しない", "打ち切り", "利用停止",
	},
	CueExpansion: {
		"expand", "more seats", "additional licen", "additional seats", "upgrade", "roll out to",
		"rollout to", "new team", "more users", "scale up",
		"拡大", "増員", "ライセンス追加", "追加導入", "アップグレード", "全社展開", "他部署",
	},
}

// Hit is one lexicon match: evidence for a cue.
type Hit struct {
	Cue      Cue
	Phrase   string    // the lexicon phrase that matched
	RecordID string    // activity, opportunity or contact id
	Date     time.Time // date of that record
}

var (
	enNegators = []string{"no ", "not ", "never ", "without "}
	jaNegators = []string{"はない", "はありません", "しない", "しません", "もない", "なし"}
)

// MatchText returns the cues found in text, each once, with the phrase that
// matched first, in the order of [Cues].
func MatchText(text string) map[Cue]string {
	lower := strings.ToLower(text)
	out := map[Cue]string{}
	for _, cue := range Cues {
		for _, phrase := range Lexicon[cue] {
			if matchPhrase(lower, phrase) {
				out[cue] = phrase
				break
			}
		}
	}
	return out
}

func matchPhrase(lower, phrase string) bool {
	ascii := isASCII(phrase)
	from := 0
	for {
		i := strings.Index(lower[from:], phrase)
		if i < 0 {
			return false
		}
		i += from
		if ascii {
			if !negatedBefore(lower[:i]) && wordStart(lower, i) {
				return true
			}
		} else if !negatedAfter(lower[i+len(phrase):]) {
			return true
		}
		from = i + len(phrase)
	}
}

// wordStart reports whether an ASCII phrase at i begins a word, so "rfp"
// does not match inside another word.
func wordStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	c := s[i-1]
	return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
}

// negatedBefore looks back within the sentence, at most 24 bytes.
func negatedBefore(prefix string) bool {
	if j := strings.LastIndexAny(prefix, ".!?;\n"); j >= 0 {
		prefix = prefix[j+1:]
	}
	if len(prefix) > 24 {
		prefix = prefix[len(prefix)-24:]
	}
	prefix = " " + prefix
	for _, n := range enNegators {
		if strings.Contains(prefix, " "+n) {
			return true
		}
	}
	return false
}

// negatedAfter looks at the next ten characters, enough for
// 解約|する予定はありません.
func negatedAfter(suffix string) bool {
	n := 0
	for i := range suffix {
		if n == 10 {
			suffix = suffix[:i]
			break
		}
		n++
	}
	for _, neg := range jaNegators {
		if strings.Contains(suffix, neg) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// cueHits scans an account's records dated in (from, asOf] and returns the
// hits per cue, newest first, then by record id.
func cueHits(h *AccountHistory, from, asOf time.Time) map[Cue][]Hit {
	out := map[Cue][]Hit{}
	in := func(t time.Time) bool { return t.After(from) && !t.After(asOf) }
	for _, a := range h.Activities {
		if !in(a.Date) {
			continue
		}
		for cue, phrase := range MatchText(a.Subject + "\n" + a.Text) {
			out[cue] = append(out[cue], Hit{Cue: cue, Phrase: phrase, RecordID: a.ID, Date: a.Date})
		}
	}
	for _, o := range h.Opportunities {
		if o.Closed.IsZero() || !in(o.Closed) {
			continue
		}
		if o.Lost && o.Competitor != "" {
			out[CueCompetitor] = append(out[CueCompetitor], Hit{Cue: CueCompetitor, Phrase: "lost to " + o.Competitor, RecordID: o.ID, Date: o.Closed})
		}
		if o.Lost && o.LossReason != "" {
			for cue, phrase := range MatchText(o.LossReason) {
				out[cue] = append(out[cue], Hit{Cue: cue, Phrase: phrase, RecordID: o.ID, Date: o.Closed})
			}
		}
	}
	for _, c := range h.Contacts {
		if c.Left.IsZero() || !in(c.Left) {
			continue
		}
		if c.Champion || isKeyRole(c.Role) {
			out[CueChampionLeft] = append(out[CueChampionLeft], Hit{Cue: CueChampionLeft, Phrase: "contact left: " + c.Name, RecordID: c.ID, Date: c.Left})
		}
	}
	for cue := range out {
		hs := out[cue]
		sort.Slice(hs, func(i, j int) bool {
			if !hs[i].Date.Equal(hs[j].Date) {
				return hs[i].Date.After(hs[j].Date)
			}
			return hs[i].RecordID < hs[j].RecordID
		})
	}
	return out
}

func isKeyRole(role string) bool {
	r := strings.ToLower(role)
	for _, k := range []string{"champion", "decision", "economic buyer", "sponsor", "決裁", "責任者"} {
		if strings.Contains(r, k) {
			return true
		}
	}
	return false
}
