package embed

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func newLocal(t testing.TB) *Local {
	t.Helper()
	l, err := NewLocal(LocalOptions{StopWords: true})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Each case: an anchor, a paraphrase, and unrelated texts from the same
// domain. The paraphrase must be the nearest.
var paraphraseCases = []struct {
	anchor, paraphrase string
	unrelated          []string
}{
	{
		"来期の予算が削減されるため契約更新を見直したい",
		"予算削減の影響で、来期の契約更新について見直しを検討しています",
		[]string{"新製品の展示会に参加しました", "サポート窓口への問い合わせ件数が増えています", "担当者が来週から産休に入ります"},
	},
	{
		"競合他社の製品への乗り換えを検討しているとの連絡がありました",
		"競合製品に乗り換える検討を始めたと担当者から連絡",
		[]string{"請求書の送付先住所を変更してほしい", "年次総会の会場を予約しました", "来期の予算が削減されるため契約更新を見直したい"},
	},
	{
		"ログイン障害が続いており、サポートの対応に不満を持っている",
		"サポート対応への不満：ログインの障害が解消されない",
		[]string{"新しい部署でライセンスを追加購入したい", "経営陣との四半期レビューを実施", "競合他社の製品への乗り換えを検討しているとの連絡がありました"},
	},
	{
		"ﾗｲｾﾝｽ数を増やしたいとのご相談",
		"ライセンスの数を増やしたいという相談がありました",
		[]string{"請求書の送付先住所を変更してほしい", "障害報告書を提出しました"},
	},
	{
		"The customer wants to renegotiate the renewal because their budget was cut next year.",
		"Budget cuts next year mean they plan to renegotiate the contract renewal.",
		[]string{"We attended the trade show and demoed the new product line.", "Support tickets about login failures increased this month.", "The champion is leaving the company in March."},
	},
	{
		"Login failures keep happening and the support team is slow to respond.",
		"They complained that support responds slowly to repeated login failure reports.",
		[]string{"Finance approved the budget for additional licenses.", "The quarterly business review went well with the executives.", "The customer wants to renegotiate the renewal because their budget was cut next year."},
	},
	{
		"Evaluating a switch to a competitor's platform after the price increase.",
		"After the pricing increase they are evaluating switching to a competing platform.",
		[]string{"Scheduled onboarding training for the new hires.", "Invoice address must be updated.", "Login failures keep happening and the support team is slow to respond."},
	},
	{
		"ＣＲＭ連携のＡＰＩ利用量が上限に近づいている",
		"CRM連携のAPI利用量が上限に近い",
		[]string{"展示会でデモを実施しました", "契約書の押印が完了しました"},
	},
}

func TestLocalRanksParaphrasesAboveUnrelated(t *testing.T) {
	l := newLocal(t)
	for _, c := range paraphraseCases {
		a, p := l.Vector(c.anchor), l.Vector(c.paraphrase)
		sp := cosine(a, p)
		for _, u := range c.unrelated {
			su := cosine(a, l.Vector(u))
			if su+0.1 >= sp { // a clear margin, not a tie-break
				t.Errorf("anchor %q: unrelated %q scored %.3f, paraphrase %q only %.3f", c.anchor, u, su, c.paraphrase, sp)
			}
		}
	}
}

func TestLocalUnitLengthAndDeterministic(t *testing.T) {
	l := newLocal(t)
	texts := []string{"来期の予算が削減されるため契約更新を見直したい", "Renewal at risk", "x", "12", "混在 mixed テキスト text 2024年"}
	v1, err := l.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	l2 := newLocal(t)
	v2, _ := l2.Embed(context.Background(), texts)
	for i := range texts {
		if len(v1[i]) != 384 {
			t.Fatalf("%q: dimension %d", texts[i], len(v1[i]))
		}
		var n float64
		for _, x := range v1[i] {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("%q: squared norm %v, want 1", texts[i], n)
		}
		if !slices.Equal(v1[i], v2[i]) {
			t.Errorf("%q: two embedders disagree", texts[i])
		}
	}
}

func TestLocalEmptyText(t *testing.T) {
	l := newLocal(t)
	want := EmptyVector(384)
	for _, s := range []string{"", "   ", "!!! ... ？", "the of and"} {
		v := l.Vector(s)
		if !slices.Equal(v, want) {
			t.Errorf("%q: not the empty vector", s)
		}
	}
	var n float64
	for _, x := range want {
		if math.IsNaN(float64(x)) {
			t.Fatal("NaN in empty vector")
		}
		n += float64(x) * float64(x)
	}
	if math.Abs(n-1) > 1e-5 {
		t.Errorf("empty vector squared norm %v", n)
	}
	if s := cosine(want, l.Vector("来期の予算が削減されるため契約更新を見直したい")); math.Abs(s) > 0.3 {
		t.Errorf("empty vector similarity to real text %.3f, want near 0", s)
	}
}

func TestLocalNameEncodesSettings(t *testing.T) {
	a := newLocal(t)
	b, _ := NewLocal(LocalOptions{Dimension: 256, StopWords: true})
	c, _ := NewLocal(LocalOptions{CJKNgrams: []int{2}, StopWords: true})
	if a.Name() == b.Name() || a.Name() == c.Name() || b.Name() == c.Name() {
		t.Errorf("names collide: %q %q %q", a.Name(), b.Name(), c.Name())
	}
	if a.Name() != "local-hash-v1-d384-w2-c34-j23-sw" {
		t.Errorf("name %q", a.Name())
	}
	if b.Dimension() != 256 || len(b.Vector("hello world")) != 256 {
		t.Error("dimension not honoured")
	}
}

func TestLocalFoldsWidthAndCase(t *testing.T) {
	l := newLocal(t)
	pairs := [][2]string{
		{"ＡＰＩ　Ｌｉｍｉｔ", "api limit"},
		{"ｶﾞｲﾄﾞﾗｲﾝ", "ガイドライン"},
		{"ﾊﾟｰﾄﾅｰ", "パートナー"},
		{"RENEWAL", "renewal"},
	}
	for _, p := range pairs {
		if !slices.Equal(l.Vector(p[0]), l.Vector(p[1])) {
			t.Errorf("%q and %q embed differently", p[0], p[1])
		}
	}
}

func TestLocalInflectionRobustness(t *testing.T) {
	l := newLocal(t)
	a := l.Vector("renewing contracts")
	b := l.Vector("contract renewal")
	u := l.Vector("trade show booth")
	if cosine(a, b) <= cosine(a, u) {
		t.Errorf("inflected forms not closer: %.3f vs %.3f", cosine(a, b), cosine(a, u))
	}
}

func TestLocalCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newLocal(t).Embed(ctx, []string{"a"}); err == nil {
		t.Fatal("want context error")
	}
}

func TestNewLocalRejectsBadOptions(t *testing.T) {
	for _, o := range []LocalOptions{{Dimension: -1}, {WordNgrams: 3}, {CharNgrams: []int{1}}, {CJKNgrams: []int{}}} {
		if _, err := NewLocal(o); err == nil {
			t.Errorf("%+v: want error", o)
		}
	}
}

func BenchmarkLocalEmbed(b *testing.B) {
	l := newLocal(b)
	base := "来期の予算が削減されるため契約更新を見直したいとのご連絡。The customer asked about renewal pricing and API limits. " +
		"サポート窓口への問い合わせが増加しており、ログイン障害への対応に不満がある。Competitor evaluation is under way. "
	texts := make([]string, 64)
	for i := range texts {
		var sb strings.Builder
		for sb.Len() < 2400 { // about 1000 characters of mixed Japanese and English
			sb.WriteString(base)
			sb.WriteString(strings.Repeat("x", i%7))
		}
		r := []rune(sb.String())
		texts[i] = string(r[:1000])
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if _, err := l.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
		n += len(texts)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}
