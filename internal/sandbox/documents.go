package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteDocuments writes the knowledge documents of the synthetic market into
// dir (created if needed): an industry trend report per industry (Markdown,
// English and Japanese), a profile per competitor (Markdown) and a success
// story per product (plain text). The content depends on nothing but this
// package, so repeated calls write identical files. It returns the paths
// written, sorted.
func WriteDocuments(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("documents: %w", err)
	}
	docs := map[string]string{}
	for i, ind := range industries {
		slug := strings.ToLower(ind.sf)
		var top []string
		for k, a := range ind.affinity {
			if a >= 0.6 {
				top = append(top, Products[k])
			}
		}
		docs["trends-"+slug+".md"] = fmt.Sprintf(`# %s industry trends

%s companies are consolidating their data into shared platforms and asking vendors for measurable outcomes.

## What buyers prioritise
- %s
- Security reviews now precede every renewal; budgets are scrutinised by finance.
- Mid-size firms (201-1000 employees) grow fastest; small firms are the most price-sensitive.

## Risks to watch
- Budget cuts announced mid-year freeze new purchases for one to two quarters.
- Champions changing jobs is the most common cause of stalled renewals.
- Competitors such as %s undercut on price in this segment.

## Recommended plays
1. Lead with %s for accounts that already run analytics workloads.
2. Offer Training and Support Plus where usage is low.
`, ind.sf, ind.descEN, strings.Join(top, ", ")+" are the most requested products", Competitors[i%len(Competitors)], firstOr(top, Products[0]))
		docs["trends-"+slug+".ja.md"] = fmt.Sprintf(`# %s業界トレンド

%sの企業では、データ基盤の統合と成果の可視化が求められている。

## 重視されるポイント
- 需要の高い製品: %s
- 更新前のセキュリティ審査が必須になり、予算は財務部門が厳しく確認する。

## リスク
- 期中の予算削減により、新規購入が1〜2四半期凍結されることがある。
- 担当者退職は更新停滞の最も多い原因。
- %sなどの競合が価格で攻勢をかけている。

## 推奨アクション
1. 分析業務が定着している顧客には%sを提案する。
2. 利用率が低い顧客にはTrainingとSupport Plusを提案する。
`, ind.sf, ind.descJA, strings.Join(top, "、"), Competitors[i%len(Competitors)], firstOr(top, Products[0]))
	}
	for i, c := range Competitors {
		slug := strings.ToLower(strings.ReplaceAll(c, " ", "-"))
		docs["competitor-"+slug+".md"] = fmt.Sprintf(`# Competitor profile: %s

**Positioning:** %s
**Typical deal:** competes with %s and %s.

## Strengths
- Aggressive pricing: discounts of 20-30%% on multi-year contracts.
- %s

## Weaknesses
- Limited Japanese-language support and no local data residency.
- Integrations require professional services.

## How we win
- Reference customers in the same industry; a proof of value within 30 days.
- Bundle Support Plus and Training to lower the total cost of ownership.
`, c, []string{"low-cost analytics for small teams", "enterprise data platform", "BI dashboards with embedded AI",
			"vertical analytics for retail and logistics", "security-first analytics", "CRM-native reporting"}[i],
			Products[i%len(Products)], Products[(i+3)%len(Products)],
			[]string{"Fast onboarding", "Large partner network", "Strong brand with analysts", "Retail templates", "Certifications", "Bundled with CRM"}[i])
	}
	for i, p := range Products {
		slug := productLineValue(p)
		ind := industries[i%len(industries)]
		docs["success-"+slug+".txt"] = fmt.Sprintf(`Success story: %s at a %s company

Customer: a %s company with about 800 employees.
Challenge: reports took days to prepare and renewals were decided on gut feeling.
Solution: %s rolled out to three departments in six weeks.
Result: report preparation time down 50%%, renewal rate up 12 points, and a follow-on purchase of %s.

導入事例（要約）: %sの企業が%sを導入し、レポート作成時間を半減。更新率も向上した。
`, p, strings.ToLower(ind.sf), ind.descEN, p, Products[(i+1)%len(Products)], ind.descJA, p)
	}
	var paths []string
	for _, name := range sortedKeys(docs) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(docs[name]), 0o644); err != nil {
			return nil, fmt.Errorf("documents: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func firstOr(xs []string, def string) string {
	if len(xs) == 0 {
		return def
	}
	return xs[0]
}
