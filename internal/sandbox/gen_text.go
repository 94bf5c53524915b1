package sandbox

import "strings"

// Activity text themes. Each account's situation picks the theme of every
// activity (see generate.go); texts carry placeholders filled per activity:
// {p} product, {c} competitor, {n} contact, {co} company, {r} rep.
const (
	themeRoutine      = "routine"
	themeHappy        = "happy"
	themeExpansion    = "expansion"
	themeComplaints   = "complaints"
	themeBudgetCut    = "budget_cut"
	themeCompetitor   = "competitor"
	themeChampionLeft = "champion_left"
	themeLowUsage     = "low_usage"
	themeDealOpen     = "deal_open"
	themeDealWon      = "deal_won"
	themeDealLost     = "deal_lost"
	themeNoReply      = "no_reply"
)

// Churn drivers recorded in the truth; each has a text theme of the same name.
var churnDrivers = []string{themeBudgetCut, themeCompetitor, themeChampionLeft, themeComplaints, themeLowUsage}

type text struct{ subject, body string }

var texts = map[string]map[bool][]text{ // theme -> japanese? -> variants
	themeRoutine: {
		false: {
			{"Quarterly business review", "Walked {n} through the quarterly review of {p}. Usage steady, no open issues. Next QBR booked."},
			{"Check-in call", "Regular check-in with {n}. They asked about the roadmap and the next release of {p}."},
			{"Invoice question", "{n} asked for a copy of the latest invoice and PO reference. Sent by {r}."},
			{"Onboarding session", "Onboarding session for two new users at {co}. Covered dashboards and alerts in {p}."},
			{"Admin training follow-up", "Shared the admin guide and the recording of the {p} training with {n}."},
		},
		true: {
			{"定例ミーティング", "{n}様と四半期レビューを実施。{p}の利用状況は安定しており、課題は特になし。次回の定例も設定済み。"},
			{"定期フォロー", "{n}様へ定期フォローの電話。{p}の次期リリース予定について質問あり。"},
			{"請求書の件", "{n}様より請求書の再発行依頼。発注番号を確認して{r}から送付済み。"},
			{"新規ユーザー向けオンボーディング", "{co}の新任担当者2名向けに{p}のダッシュボードとアラート設定を説明。"},
			{"管理者トレーニングのフォロー", "{p}トレーニングの録画と管理者ガイドを{n}様に共有。"},
		},
	},
	themeHappy: {
		false: {
			{"Great feedback on {p}", "{n} said the team loves {p}; report preparation time dropped by half. Happy to be a reference."},
			{"Usage milestone", "{co} passed 1,000 weekly active users on {p}. {n} thanked support for the fast responses."},
			{"Case study interest", "{n} offered to join a case study about their results with {p}. Very positive tone."},
		},
		true: {
			{"{p}への高評価", "{n}様より「{p}のおかげでレポート作成時間が半分になった」とのお言葉。導入事例への協力も前向き。"},
			{"利用率の向上", "{co}で{p}の週次アクティブユーザーが大きく増加。サポートの迅速な対応に感謝とのこと。"},
			{"導入事例のご相談", "{n}様が{p}の導入効果について事例インタビューに協力可能とのこと。満足度は非常に高い。"},
		},
	},
	themeExpansion: {
		false: {
			{"Expansion plans", "{n} shared expansion plans: two new sites next year and interest in {p} for the new teams."},
			{"Rollout to more departments", "{co} wants to roll out to finance and operations. Asked for pricing on {p}."},
			{"Growth discussion", "Discussed growth targets with {n}. They expect to double headcount and need {p}."},
		},
		true: {
			{"事業拡大のご相談", "{n}様より来期の事業拡大計画を共有いただいた。新拠点2か所で{p}の導入を検討中。"},
			{"他部門への展開", "{co}では経理部・業務部への展開を計画。{p}の見積もり依頼あり。拡大に向けて前向き。"},
			{"拡大計画のヒアリング", "{n}様と中期計画について意見交換。人員倍増に伴い{p}の追加が必要とのこと。"},
		},
	},
	themeComplaints: {
		false: {
			{"Escalation: recurring outages", "{n} escalated repeated outages in {p}. Frustrated with support response times; asked for a credit."},
			{"Complaint about data errors", "{co} reports wrong numbers in {p} reports for the third time. {n} is losing trust in the product."},
			{"Support ticket backlog", "{n} complained that five tickets are open for weeks. Threatened to review the contract."},
		},
		true: {
			{"障害についてのクレーム", "{n}様より{p}の障害が繰り返し発生しているとの強いご指摘。サポートの対応の遅さにも不満。返金の要望あり。"},
			{"データ不整合の苦情", "{co}にて{p}のレポート数値の誤りが3回目。{n}様は製品への信頼を失いつつある。"},
			{"問い合わせ未解決への不満", "未解決の問い合わせが数週間放置されているとのクレーム。契約見直しも示唆された。"},
		},
	},
	themeBudgetCut: {
		false: {
			{"Budget review", "{n} warned that {co} is cutting IT budgets by 30% next fiscal year. {p} renewal is under review."},
			{"Cost reduction program", "{co} announced a company-wide cost reduction program. All software spend needs CFO approval."},
			{"Renewal at risk: budget", "{n} says there is no budget for {p} next year unless we cut the price significantly."},
		},
		true: {
			{"予算削減について", "{n}様より来期のIT予算を30%削減する方針と連絡あり。{p}の更新も見直し対象。"},
			{"コスト削減プロジェクト", "{co}で全社的なコスト削減が始まり、ソフトウェア費用はすべてCFO承認が必要に。予算削減の影響大。"},
			{"更新リスク（予算）", "{n}様から「大幅な値引きがなければ来期の{p}の予算は確保できない」との話。"},
		},
	},
	themeCompetitor: {
		false: {
			{"Competitor evaluation", "{n} mentioned they are evaluating {c} as an alternative to {p}. Demo scheduled with them next week."},
			{"Pricing comparison", "{co} received a lower quote from {c}. {n} asked us to match it."},
			{"Proof of concept with {c}", "Heard that {co} started a proof of concept with {c}. {n} avoided the topic of renewal."},
		},
		true: {
			{"競合検討の動き", "{n}様より{p}の代替として{c}を比較検討中との話。来週{c}のデモがあるとのこと。"},
			{"価格比較", "{co}は{c}から安い見積もりを受領。{n}様から同等の価格を求められた。"},
			{"{c}のPoC開始", "{co}で{c}のPoCが始まったとの情報。{n}様は更新の話題を避けている。"},
		},
	},
	themeChampionLeft: {
		false: {
			{"Champion leaving", "{n} told us they are leaving {co} at the end of the month. No successor named yet for {p}."},
			{"Contact changed", "Our main contact {n} has left {co}. New owner of {p} is unknown; emails bounce."},
			{"Lost executive sponsor", "The executive sponsor of {p} left {co}. Nobody attended the scheduled review."},
		},
		true: {
			{"担当者退職のご連絡", "{n}様より今月末で{co}を退職されるとの連絡。{p}の後任は未定。"},
			{"担当者変更", "主担当の{n}様が退職。{p}の新しい担当者が不明で、メールも不達。"},
			{"推進者不在", "{p}導入を推進していた役員が退任。予定していたレビューに誰も参加せず。"},
		},
	},
	themeLowUsage: {
		false: {
			{"Low adoption", "Only a handful of users logged into {p} last month. {n} says the team has other priorities."},
			{"Usage dropping", "Weekly active users at {co} fell sharply. {n} did not reply to the training offer."},
			{"Shelfware risk", "{p} is barely used at {co}. {n} questioned the value for the money."},
		},
		true: {
			{"利用率の低下", "先月{p}にログインしたユーザーはごく少数。{n}様は他の業務を優先しているとのこと。"},
			{"アクティブユーザー減少", "{co}の週次アクティブユーザーが大きく減少。トレーニングの提案にも返信なし。"},
			{"活用が進まない", "{co}では{p}がほとんど使われていない。{n}様から費用対効果を疑問視する声。"},
		},
	},
	themeDealOpen: {
		false: {
			{"Proposal for {p}", "Sent the proposal for {p} to {n}. Decision expected this quarter."},
			{"Demo of {p}", "Demo of {p} for {co}. {n} and two analysts attended; positive questions on integrations."},
			{"Negotiation", "Negotiating terms of {p} with {n}. Legal review of the contract started."},
		},
		true: {
			{"{p}のご提案", "{n}様へ{p}の提案書を送付。今四半期中に判断予定。"},
			{"{p}デモ", "{co}向けに{p}のデモを実施。{n}様ほか2名が参加し、連携機能について前向きな質問。"},
			{"条件交渉", "{n}様と{p}の契約条件を交渉中。法務レビューが開始された。"},
		},
	},
	themeDealWon: {
		false: {
			{"Signed: {p}", "{co} signed the order for {p}. Kickoff with {n} next week."},
			{"Renewal confirmed", "{n} confirmed the renewal of {p}. Thanks to the team for the support."},
		},
		true: {
			{"{p}ご契約", "{co}より{p}の注文書を受領。来週{n}様とキックオフ予定。"},
			{"更新のご連絡", "{n}様より{p}の契約更新のご連絡。サポートへの感謝の言葉あり。"},
		},
	},
	themeDealLost: {
		false: {
			{"Lost: {p}", "{co} decided not to go ahead with {p}. Reason given by {n}: {reason}."},
			{"Closed lost", "{n} informed us they chose {c}. Price and timing were the main factors."},
		},
		true: {
			{"{p}失注", "{co}は{p}の導入を見送り。{n}様の説明では理由は「{reason}」。"},
			{"失注のご連絡", "{n}様より{c}を採用したとの連絡。価格と時期が主な要因。"},
		},
	},
	themeNoReply: {
		false: {
			{"Following up", "Tried to reach {n} again about {p}. No reply to the last three emails."},
			{"Any update?", "Left a voicemail for {n}. Still no answer from {co}."},
		},
		true: {
			{"フォローアップ", "{p}の件で{n}様に再度連絡したが、直近3回のメールに返信なし。"},
			{"ご状況の確認", "{n}様に電話するも不在。{co}からの返答はまだない。"},
		},
	},
}

// lossReasonText renders a loss reason in the account's language.
var lossReasonJA = map[string]string{
	"Price": "価格", "Competitor": "競合採用", "No Budget": "予算なし", "No Decision": "判断見送り",
	"Timing": "時期尚早", "Product Fit": "製品適合性", "Champion Left": "担当者退職",
}

// fill replaces the placeholders of s; unknown placeholders stay as they
// are and replaced text is not scanned again.
func fill(s string, vars *textVars) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 64)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		v, ok := vars.lookup(s[i+1 : i+j])
		if !ok {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func (v *textVars) lookup(name string) (string, bool) {
	switch name {
	case "p":
		return v.product, true
	case "c":
		return v.competitor, true
	case "n":
		return v.contact, true
	case "co":
		return v.company, true
	case "r":
		return v.rep, true
	case "reason":
		return v.reason, true
	}
	return "", false
}

type textVars struct{ product, competitor, contact, company, rep, reason string }
