package writeback_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/connectors/hubspot"
	"github.com/crmpulse/crmpulse/connectors/salesforce"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/httpx"
	"github.com/crmpulse/crmpulse/internal/redistest"
	"github.com/crmpulse/crmpulse/internal/sandbox"
	"github.com/crmpulse/crmpulse/internal/sandbox/sandboxsrv"
	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/writeback"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is one CRM of the sandbox with n accounts, its connection, a store on
// a fresh Redis database and the default mappings, fields provisioned.
type rig struct {
	kind     string
	sb       *sandbox.Sandbox
	srv      *httptest.Server
	st       *store.Store
	conn     *connectors.Conn
	table    string
	ids      []string
	mappings []config.Mapping
	target   *writeback.Target
}

var kinds = []string{config.KindSalesforce, config.KindHubSpot}

func noWait(int, time.Duration) time.Duration { return 0 }

// newRig builds a rig; mut adjusts the HTTP chain (e.g. RetryMax -1).
func newRig(t testing.TB, kind string, n int, mut func(*httpx.Options)) *rig {
	t.Helper()
	sb, srv := sandboxsrv.StartTest(t, sandbox.Options{Empty: true, Now: epoch})
	r := &rig{kind: kind, sb: sb, srv: srv}
	hopt := httpx.Options{Wait: noWait, RequestsPerSecond: 10000, Burst: 10000, Logger: quiet}
	if mut != nil {
		mut(&hopt)
	}
	tokenClient := &http.Client{Transport: httpx.NewTransport(httpx.Options{Wait: noWait})}
	switch kind {
	case config.KindSalesforce:
		r.table = sandbox.SFAccount
		sess := httpx.NewSession(nil, salesforce.ClientCredentialsMinter(srv.URL, sb.Opt.ClientID, sb.Opt.ClientSecret, tokenClient), nil)
		d, err := salesforce.New(salesforce.Options{Name: "sf", Session: sess, HTTP: hopt, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		r.conn = connectors.New("sf", d)
	default:
		r.table = sandbox.HSCompanies
		d, err := hubspot.New(hubspot.Options{Name: "hs", Session: httpx.StaticSession(sb.Opt.HubSpotToken), BaseURL: srv.URL, HTTP: hopt, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		r.conn = connectors.New("hs", d)
	}
	store := r.sbStore()
	name := "Name"
	if kind == config.KindHubSpot {
		name = "name"
	}
	for i := range n {
		row, err := store.Insert(r.table, map[string]any{name: fmt.Sprintf("Account %04d", i)}, sandbox.ActorUser)
		if err != nil {
			t.Fatal(err)
		}
		r.ids = append(r.ids, row.ID)
	}
	st, err := newStore(t)
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	r.mappings = config.DefaultMappings(kind)
	return r
}

func newStore(t testing.TB) (*store.Store, error) {
	return store.New(redistest.Client(t), &store.Options{Namespace: "wbt"})
}

func (r *rig) sbStore() *sandbox.Store {
	if r.kind == config.KindSalesforce {
		return r.sb.SF
	}
	return r.sb.HS
}

// provision creates the mapped fields and loads the target.
func (r *rig) provision(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if _, err := writeback.ProvisionFields(ctx, r.conn, r.mappings, false); err != nil {
		t.Fatal(err)
	}
	r.loadTarget(t)
}

func (r *rig) loadTarget(t testing.TB) {
	t.Helper()
	infos, err := r.conn.DescribeFields(context.Background(), connectors.Accounts)
	if err != nil {
		t.Fatal(err)
	}
	r.target, err = writeback.NewTarget(r.conn.Name(), r.kind, r.mappings, infos)
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) field(output string) string {
	for _, m := range r.mappings {
		if m.Output == output {
			return m.Field
		}
	}
	panic("no mapping for " + output)
}

// writeCalls counts the CRM's write-back calls served so far.
func (r *rig) writeCalls() int64 {
	snap := r.sb.Counters.Snapshot()
	if r.kind == config.KindSalesforce {
		return snap["salesforce PATCH /composite/sobjects"]
	}
	return snap["hubspot POST /crm/v3/objects/{type}/batch/update"]
}

// value reads a field of a record straight from the sandbox.
func (r *rig) value(t testing.TB, id, field string) any {
	t.Helper()
	row, ok := r.sbStore().Get(r.table, id)
	if !ok {
		t.Fatalf("record %s not found", id)
	}
	v, _ := row.Get(field)
	return v
}

func (r *rig) writer(opt *writeback.Options) *writeback.Writer {
	o := writeback.Options{Logger: quiet, Backoff: func(int) time.Duration { return 0 }, Now: func() time.Time { return epoch.Add(time.Hour) }}
	if opt != nil {
		o = *opt
		if o.Logger == nil {
			o.Logger = quiet
		}
		if o.Backoff == nil {
			o.Backoff = func(int) time.Duration { return 0 }
		}
	}
	return writeback.NewWriter(r.st, r.conn, r.target, &o)
}

// insight returns account i's insight of analysis version v.
func insight(id string, i, v int) writeback.Insight {
	segs := []string{"VIP", "Loyal", "At Risk", "Dormant"}
	return writeback.Insight{
		AccountID:     id,
		ChurnScore:    float64((i*7+v*13)%100) / 100,
		RiskBand:      []string{"low", "medium", "high"}[(i+v)%3],
		TopDrivers:    []string{"fewer emails", fmt.Sprintf("no purchase for %d days", 30+i%90)},
		NextAction:    fmt.Sprintf("Call the champion about renewal (v%d)", v),
		NextActionDue: epoch.AddDate(0, 0, 7+i%5),
		CrossSell:     []string{"Analytics", "Support Plus"},
		Segment:       segs[(i+v)%len(segs)],
		Summary:       "Engagement fell over the last quarter.",
		Evidence:      []writeback.Evidence{{Kind: "email", ID: "00T000000000001", Title: "Budget review", Date: epoch.AddDate(0, 0, -3)}},
		AnalyzedAt:    epoch.Add(time.Duration(v) * time.Minute),
	}
}

func (r *rig) enqueue(t testing.TB, v int, ids ...string) {
	t.Helper()
	if len(ids) == 0 {
		ids = r.ids
	}
	ins := make([]writeback.Insight, len(ids))
	for i, id := range ids {
		ins[i] = insight(id, i, v)
	}
	if err := writeback.EnqueueInsights(context.Background(), r.st, r.target, ins); err != nil {
		t.Fatal(err)
	}
}

func runOnce(t testing.TB, w *writeback.Writer) writeback.Summary {
	t.Helper()
	sum, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
