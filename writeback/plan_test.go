package writeback_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/writeback"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestDryRun: the plan shows the pending diff (old → new, with a person's
// edit kept) and each segment list's membership delta, and writes nothing.
func TestDryRun(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, kind, 3, nil)
			r.provision(t)
			r.enqueue(t, 1)
			runOnce(t, r.writer(nil))
			action := r.field(config.OutNextAction)
			if _, err := r.sbStore().Update(r.table, r.ids[0], map[string]any{action: "Lunch with the CFO"}, "user"); err != nil {
				t.Fatal(err)
			}
			r.enqueue(t, 2)
			before := r.writeCalls()
			w := r.writer(&writeback.Options{SegmentList: func(v string) string { return "AI segment: " + v }})
			plan, err := w.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := writeback.WritePlan(&out, plan); err != nil {
				t.Fatal(err)
			}
			// Record ids differ between CRMs only in form; name them.
			got := out.String()
			for i, id := range r.ids {
				got = strings.ReplaceAll(got, id, fmt.Sprintf("%-*s", len(id), "acct"+string(rune('A'+i))))
			}
			golden(t, "dryrun_"+kind+".golden", []byte(got))
			if r.writeCalls() != before {
				t.Error("dry run wrote to the CRM")
			}
			if n, _ := writeback.Pending(context.Background(), r.st, r.conn.Name()); n != 3 {
				t.Errorf("dry run consumed the outbox: %d entries left", n)
			}
			var added, removed int
			for _, d := range plan.Lists {
				added += d.Added
				removed += d.Removed
			}
			if added != 3 || removed != 3 {
				t.Errorf("segment deltas +%d/−%d, want +3/−3: %+v", added, removed, plan.Lists)
			}
		})
	}
}

// TestFieldsValidateAndProvision: validation finds every missing field;
// provisioning creates them once; a second provisioning creates nothing;
// validation then passes, and flags wrong types, read-only fields and
// lengths the field cannot hold.
func TestFieldsValidateAndProvision(t *testing.T) {
	createKey := map[string]string{
		config.KindSalesforce: "salesforce POST /tooling/sobjects/CustomField",
		config.KindHubSpot:    "hubspot POST /crm/v3/properties/{object}",
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, kind, 1, nil)
			ctx := context.Background()
			checks, err := writeback.CheckFields(ctx, r.conn, r.mappings)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range checks {
				if c.Status != writeback.StatusMissing {
					t.Errorf("before provisioning %s: %s", c.Field, c.Status)
				}
			}
			dry, err := writeback.ProvisionFields(ctx, r.conn, r.mappings, true)
			if err != nil {
				t.Fatal(err)
			}
			if dry[0].Action != writeback.ProvisionWould || r.sb.Counters.Snapshot()[createKey[kind]] != 0 {
				t.Errorf("dry-run provisioning: %+v, %d creates", dry[0], r.sb.Counters.Snapshot()[createKey[kind]])
			}
			res, err := writeback.ProvisionFields(ctx, r.conn, r.mappings, false)
			if err != nil {
				t.Fatal(err)
			}
			created := r.sb.Counters.Snapshot()[createKey[kind]]
			if created != int64(len(r.mappings)) {
				t.Errorf("create calls = %d, want %d", created, len(r.mappings))
			}
			for _, p := range res {
				if p.Action != writeback.ProvisionCreated || !p.Info.Updateable {
					t.Errorf("provision %s: %s %+v", p.Field, p.Action, p.Info)
				}
			}
			again, err := writeback.ProvisionFields(ctx, r.conn, r.mappings, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range again {
				if p.Action != writeback.ProvisionExists {
					t.Errorf("second provisioning of %s: %s", p.Field, p.Action)
				}
			}
			if n := r.sb.Counters.Snapshot()[createKey[kind]]; n != created {
				t.Errorf("second provisioning made %d create calls", n-created)
			}

			// Add problems: a type that cannot hold the output, a read-only
			// field, a max_length beyond the field's own.
			ms := append([]config.Mapping(nil), r.mappings...)
			for i := range ms {
				switch ms[i].Output {
				case config.OutRiskBand:
					ms[i].MaxLength = 70000
				case config.OutCrossSell:
					ms[i].Field = r.field(config.OutChurnScore)
				case config.OutSegment:
					ms[i].Field = map[string]string{config.KindSalesforce: "LastModifiedDate", config.KindHubSpot: "hs_object_id"}[kind]
				case config.OutLastAnalyzedAt:
					ms[i].Field = map[string]string{config.KindSalesforce: "CreatedDate", config.KindHubSpot: "hs_lastmodifieddate"}[kind]
				}
			}
			checks, err = writeback.CheckFields(ctx, r.conn, ms)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := writeback.WriteChecks(&out, checks); err != nil {
				t.Fatal(err)
			}
			golden(t, "validate_"+kind+".golden", out.Bytes())
		})
	}
}

// TestDescribeLength: provisioned text fields report their length, which
// bounds truncation.
func TestDescribeLength(t *testing.T) {
	r := newRig(t, config.KindSalesforce, 1, nil)
	r.provision(t)
	infos, err := r.conn.DescribeFields(context.Background(), connectors.Accounts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range infos {
		if f.Name == r.field(config.OutRiskBand) && f.Length != 20 {
			t.Errorf("%s length = %d, want 20", f.Name, f.Length)
		}
	}
}
