package writeback_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/writeback"
)

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"hello world", 8, "hello w…"},
		{"hello world", 7, "hello…"}, // no space before the ellipsis
		{"予算削減の連絡がありました", 5, "予算削減…"},
		{"😀😀😀😀", 3, "😀😀…"},
		{"abc", 0, "abc"},
		{"abc", 1, "…"},
	}
	for _, c := range cases {
		got := writeback.Truncate(c.in, c.max)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func target(t *testing.T, kind string, ms []config.Mapping, infos []connectors.FieldInfo) *writeback.Target {
	t.Helper()
	tg, err := writeback.NewTarget("c", kind, ms, infos)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestDesiredFormats pins each CRM's wire format for every output.
func TestDesiredFormats(t *testing.T) {
	in := writeback.Insight{
		AccountID: "001000000000001AAA", ChurnScore: 0.8234, RiskBand: "high",
		TopDrivers: []string{"fewer emails", "budget cut"}, NextAction: "Call", NextActionDue: time.Date(2024, 5, 1, 15, 30, 0, 0, time.UTC),
		CrossSell: []string{"A", "B"}, Segment: "At Risk", Summary: "Quiet quarter.",
		Evidence:   []writeback.Evidence{{Kind: "email", ID: "00T1", Title: "Budget", Date: time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC)}},
		AnalyzedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	want := map[string]map[string]string{
		config.KindSalesforce: {
			"AI_Churn_Score__c": "82.34", "AI_Risk_Band__c": "high", "AI_Top_Drivers__c": "fewer emails; budget cut",
			"AI_Next_Action__c": "Call", "AI_Next_Action_Due__c": "2024-05-01", "AI_Cross_Sell__c": "A; B", "AI_Segment__c": "At Risk",
			"AI_Insight_Summary__c": "Quiet quarter.\n\nEvidence: email 00T1 2024-04-02 “Budget”", "AI_Last_Analyzed_At__c": "2024-05-01T12:00:00.000+0000",
		},
		config.KindHubSpot: {
			"crmpulse_churn_score": "82.34", "crmpulse_risk_band": "high", "crmpulse_top_drivers": "fewer emails; budget cut",
			"crmpulse_next_action": "Call", "crmpulse_next_action_due": "1714521600000", "crmpulse_cross_sell": "A; B", "crmpulse_segment": "At Risk",
			"crmpulse_insight_summary": "Quiet quarter.\n\nEvidence: email 00T1 2024-04-02 “Budget”", "crmpulse_last_analyzed_at": "2024-05-01T12:00:00.000Z",
		},
	}
	for _, kind := range kinds {
		got, err := target(t, kind, config.DefaultMappings(kind), nil).Desired(in)
		if err != nil {
			t.Fatal(err)
		}
		for f, w := range want[kind] {
			if got[f] != w {
				t.Errorf("%s %s = %q, want %q", kind, f, got[f], w)
			}
		}
	}
}

// TestPicklistAndLimits: segment labels become option values; text is cut
// to the smaller of max_length and the field's length; a percentage
// property takes the fraction; an output a field cannot hold is an error.
func TestPicklistAndLimits(t *testing.T) {
	ms := []config.Mapping{
		{Output: config.OutSegment, Field: "AI_Segment__c", Type: "picklist"},
		{Output: config.OutNextAction, Field: "AI_Next_Action__c", Type: "text", MaxLength: 100},
		{Output: config.OutInsightSummary, Field: "AI_Insight_Summary__c", Type: "textarea", MaxLength: 80},
	}
	infos := []connectors.FieldInfo{
		{Name: "AI_Segment__c", Type: connectors.TypePicklist, Updateable: true, Options: writeback.SegmentOptions},
		{Name: "AI_Next_Action__c", Type: connectors.TypeText, Updateable: true, Length: 20},
		{Name: "AI_Insight_Summary__c", Type: connectors.TypeTextArea, Updateable: true, Length: 32768},
	}
	tg := target(t, config.KindSalesforce, ms, infos)
	got, err := tg.Desired(writeback.Insight{AccountID: "1", Segment: "At Risk", NextAction: strings.Repeat("call ", 10),
		Summary: strings.Repeat("long narrative ", 10), Evidence: []writeback.Evidence{{Kind: "deal", ID: "006A", Title: "Renewal"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got["AI_Segment__c"] != "at_risk" {
		t.Errorf("segment = %q, want the option value at_risk", got["AI_Segment__c"])
	}
	if n := utf8.RuneCountInString(got["AI_Next_Action__c"]); n != 20 || !strings.HasSuffix(got["AI_Next_Action__c"], "…") {
		t.Errorf("next action cut to %d runes: %q", n, got["AI_Next_Action__c"])
	}
	s := got["AI_Insight_Summary__c"]
	if utf8.RuneCountInString(s) > 80 || !strings.HasSuffix(s, "Evidence: deal 006A “Renewal”") || !strings.Contains(s, "…") {
		t.Errorf("summary keeps its evidence within 80 runes: %q", s)
	}
	for _, v := range []string{"VIP", "vip", "Can't Lose", "needs attention"} {
		g, _ := tg.Desired(writeback.Insight{AccountID: "1", Segment: v})
		if _, ok := findValue(g["AI_Segment__c"]); !ok {
			t.Errorf("segment %q → %q, not an option value", v, g["AI_Segment__c"])
		}
	}

	pct := target(t, config.KindHubSpot, []config.Mapping{{Output: config.OutChurnScore, Field: "score", Type: "number"}},
		[]connectors.FieldInfo{{Name: "score", Type: connectors.TypeNumber, CRMType: "number/percentage", Updateable: true}})
	if g, _ := pct.Desired(writeback.Insight{AccountID: "1", ChurnScore: 0.8234}); g["score"] != "0.8234" {
		t.Errorf("percentage = %q, want 0.8234", g["score"])
	}
	bad := target(t, config.KindSalesforce, []config.Mapping{{Output: config.OutNextAction, Field: "N", Type: "text"}},
		[]connectors.FieldInfo{{Name: "N", Type: connectors.TypeNumber, Updateable: true}})
	if _, err := bad.Desired(writeback.Insight{AccountID: "1", NextAction: "x"}); err == nil || !strings.Contains(err.Error(), "next_action") {
		t.Errorf("text into a number field: %v", err)
	}
}

func findValue(v string) (string, bool) {
	for _, o := range writeback.SegmentOptions {
		if o.Value == v {
			return v, true
		}
	}
	return "", false
}

// TestSame: values read back from the CRMs compare equal to what was sent.
func TestSame(t *testing.T) {
	hs := target(t, config.KindHubSpot, config.DefaultMappings(config.KindHubSpot), nil)
	sf := target(t, config.KindSalesforce, config.DefaultMappings(config.KindSalesforce), nil)
	cases := []struct {
		tg    *writeback.Target
		field string
		a, b  any
		same  bool
	}{
		{hs, "crmpulse_next_action_due", "1714521600000", "2024-05-01", true},
		{hs, "crmpulse_last_analyzed_at", "2024-05-01T12:00:00.000Z", "1714564800000", true},
		{sf, "AI_Last_Analyzed_At__c", "2024-05-01T12:00:00.000+0000", "2024-05-01T12:00:00Z", true},
		{sf, "AI_Churn_Score__c", "82.5", 82.5, true},
		{sf, "AI_Churn_Score__c", "82.5", 82.51, false},
		{sf, "AI_Next_Action__c", nil, "", true},
		{sf, "AI_Next_Action__c", "a\r\nb", "a\nb", true},
		{sf, "AI_Next_Action__c", "a", "A", false},
	}
	for _, c := range cases {
		if got := c.tg.Same(c.field, c.a, c.b); got != c.same {
			t.Errorf("Same(%s, %v, %v) = %v", c.field, c.a, c.b, got)
		}
	}
}

func TestMappedFields(t *testing.T) {
	cfg := config.Default()
	cfg.Connections = []config.Connection{config.DefaultConnection("sf", config.KindSalesforce), config.DefaultConnection("hs", config.KindHubSpot)}
	cfg.Writeback.Connections = []config.WritebackConnection{{Connection: "sf", Mappings: []config.Mapping{
		{Output: config.OutChurnScore, Field: "Score__c"}, {Output: config.OutSegment, Field: "Seg__c"}}}}
	if got := writeback.MappedFields(cfg, "sf"); strings.Join(got, ",") != "Score__c,Seg__c" {
		t.Errorf("sf = %v", got)
	}
	if got := writeback.MappedFields(cfg, "hs"); got != nil {
		t.Errorf("hs is not written to, got %v", got)
	}
	// Without a writeback section, sandbox connections use the defaults.
	cfg.Writeback.Connections = nil
	cfg.Connections[1].Sandbox = true
	if got := writeback.MappedFields(cfg, "hs"); len(got) != len(config.Outputs) {
		t.Errorf("sandbox hs = %v", got)
	}
}

// TestOutboxEntryFormat pins the persisted shape of an outbox entry and of
// the written hash.
func TestOutboxEntryFormat(t *testing.T) {
	r := newRig(t, config.KindSalesforce, 1, nil)
	r.provision(t)
	ctx := context.Background()
	r.enqueue(t, 1)
	msgs, err := r.st.Client().XRange(ctx, writeback.OutboxKey(r.st, "sf"), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox: %v %v", msgs, err)
	}
	v := msgs[0].Values
	if v["object"] != "account" || v["id"] != r.ids[0] || v["src"] != "insight" || v["at"] != "1740819660000" ||
		!strings.Contains(v["fields"].(string), `"AI_Next_Action__c":"Call the champion about renewal (v1)"`) {
		t.Errorf("outbox entry: %v", v)
	}
	runOnce(t, r.writer(nil))
	h, err := r.st.Client().HGetAll(ctx, writeback.WrittenKey(r.st, "sf", "account", r.ids[0])).Result()
	if err != nil {
		t.Fatal(err)
	}
	if h["AI_Churn_Score__c"] != "13" || h["AI_Churn_Score__c#src"] != "1740819660000" || h["AI_Churn_Score__c#at"] != "1740823200000" || len(h) != 3*len(r.mappings) {
		t.Errorf("written hash: %v", h)
	}
	if key := writeback.WrittenKey(r.st, "sf", "account", "X"); key != "wbt:written:sf:account:X" {
		t.Errorf("written key %q", key)
	}
}
