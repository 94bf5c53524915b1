package lists_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/segments"
	"github.com/crmpulse/crmpulse/segments/lists"
)

var update = flag.Bool("update", false, "rewrite golden files")

// hostile is a segment label an admin could configure: quotes, backslash,
// a line break, comment and SQL syntax, HTML.
const hostile = "VIP' OR Name != '' --\n\\\"*/ <script>"

func exportSegmentation() *segments.Segmentation {
	return &segments.Segmentation{
		AsOf: time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC), Language: "en", Currency: "JPY", Method: "quintiles",
		Segments: []segments.Segment{
			{Key: segments.VIP, Label: hostile, Rank: 7, Conditions: "last order ≤ 30 days ago, ≥ 5 orders", Count: 3, Share: 0.3,
				Strategy: &segments.Strategy{Comms: segments.Comms{Channel: "call", Offer: "early access", Frequency: "monthly", Message: "Thank them."}, Source: "config"}},
			{Key: segments.Dormant, Label: "Dormant", Rank: 1, Conditions: "everyone else", Count: 7, Share: 0.7,
				Strategy: &segments.Strategy{Comms: segments.Comms{Channel: "email"}, Source: "builtin"}},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n%s", name, got)
	}
}

func TestExportGolden(t *testing.T) {
	cfg := testConfig()
	for _, name := range []string{"sf", "hs"} {
		f, err := lists.FieldFor(cfg, name)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := lists.Definitions(exportSegmentation(), f)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		paths, err := ex.WriteFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 2 {
			t.Fatalf("wrote %v", paths)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Base(p), b)
			if strings.Contains(string(b), "--\n") && strings.HasSuffix(p, ".soql") {
				t.Error("the label's line break reached the SOQL file")
			}
		}
	}
	// The SOQL file: every line is a comment or a query built by the SOQL builder.
	f, _ := lists.FieldFor(cfg, "sf")
	ex, _ := lists.Definitions(exportSegmentation(), f)
	var b bytes.Buffer
	if err := ex.WriteSOQL(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.HasPrefix(line, "-- ") && !strings.HasPrefix(line, "SELECT Id, Name FROM Account WHERE AI_Segment__c = '") {
			t.Errorf("unexpected SOQL line %q", line)
		}
	}
	if err := ex.WriteHubSpot(&b); err == nil {
		t.Error("HubSpot filters from a Salesforce connection: want error")
	}
}

func TestFieldForErrors(t *testing.T) {
	cfg := testConfig()
	cfg.Writeback.Connections = []config.WritebackConnection{{Connection: "sf", Mappings: []config.Mapping{
		{Output: config.OutSegment, Field: "AI_Segment__c' OR Id != '"}}}}
	if _, err := lists.FieldFor(cfg, "sf"); err == nil || !strings.Contains(err.Error(), "writeback.connections[0].mappings") {
		t.Errorf("hostile field name: %v", err)
	}
	cfg.Writeback.Connections[0].Mappings = []config.Mapping{{Output: config.OutChurnScore, Field: "AI_Churn_Score__c"}}
	if _, err := lists.FieldFor(cfg, "sf"); err == nil || !strings.Contains(err.Error(), "segment") {
		t.Errorf("no segment mapping: %v", err)
	}
	if _, err := lists.FieldFor(cfg, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown connection: %v", err)
	}
	cfg.Writeback.Connections[0].Mappings = []config.Mapping{{Output: config.OutSegment, Field: "My_Seg__c", Type: "text"}}
	if f, err := lists.FieldFor(cfg, "sf"); err != nil || f.Name != "My_Seg__c" || f.Type != "text" {
		t.Errorf("custom mapping: %+v %v", f, err)
	}
}
