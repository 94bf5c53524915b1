package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/crmpulse/crmpulse/internal/app"
	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/writeback"
)

func init() {
	register(&command{name: "fields", summary: "validate and provision CRM fields", run: runFields})
}

const fieldsUsage = `fields validate|provision [--connection C] [--dry-run]

  validate   check every write-back mapping against the CRM's description of
             its object: the field exists, its type can hold the output, the
             integration user may edit it, and it is long enough for
             max_length. Prints a table; exits non-zero on any problem.
  provision  create the missing custom fields (Salesforce: Tooling API and
             field-level security; HubSpot: properties in the crmpulse group,
             enumeration options). Existing fields are left alone, so running
             it again creates nothing. --dry-run only says what it would do.`

func runFields(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "validate" && args[0] != "provision") {
		newFlagSet(e, "fields", fieldsUsage).Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return nil
		}
		return usagef("need a subcommand: validate or provision")
	}
	sub := args[0]
	fs := newFlagSet(e, "fields "+sub, fieldsUsage)
	connName := fs.String("connection", "", "only this connection (default: every connection written to)")
	dryRun := fs.Bool("dry-run", false, "provision: report what would be created, create nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *dryRun && sub != "provision" {
		return usagef("--dry-run applies to provision only")
	}
	a, targets, err := openWriteback(ctx, e, *connName, false)
	if err != nil {
		return err
	}
	defer a.Close()
	if sub == "validate" {
		var all []writeback.FieldCheck
		for _, t := range targets {
			conn, err := a.Conn(t.name)
			if err != nil {
				return err
			}
			checks, err := writeback.CheckFields(ctx, conn, t.mappings)
			if err != nil {
				return err
			}
			all = append(all, checks...)
		}
		if err := writeback.WriteChecks(e.stdout, all); err != nil {
			return err
		}
		bad := 0
		for _, c := range all {
			if !c.OK() {
				bad++
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d mappings have problems (see the table)", bad, len(all))
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CONNECTION\tOUTPUT\tFIELD\tACTION\tCRM TYPE\n")
	var errs []error
	for _, t := range targets {
		conn, err := a.Conn(t.name)
		if err != nil {
			return err
		}
		res, err := writeback.ProvisionFields(ctx, conn, t.mappings, *dryRun)
		for _, p := range res {
			crm := p.Info.CRMType
			if crm == "" {
				crm = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Connection, p.Output, p.Field, p.Action, crm)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// wbTarget is a connection written to and its mappings.
type wbTarget struct {
	name     string
	mappings []config.Mapping
}

// openWriteback loads the configuration and opens the connections written
// to (only name when set), without the vector index; redisOnly opens no
// connection at all.
func openWriteback(ctx context.Context, e *env, name string, redisOnly bool) (*app.App, []wbTarget, error) {
	cfg, err := app.LoadConfig(e.configPath)
	if err != nil {
		return nil, nil, configError{err}
	}
	var targets []wbTarget
	for _, c := range cfg.Connections {
		if name != "" && c.Name != name {
			continue
		}
		ms, ok := writeback.Mappings(cfg, c.Name)
		if !ok {
			if name != "" {
				return nil, nil, configError{fmt.Errorf("connection %q is not written to: add it under writeback.connections", name)}
			}
			continue
		}
		targets = append(targets, wbTarget{name: c.Name, mappings: ms})
	}
	if name != "" && len(targets) == 0 {
		return nil, nil, configError{fmt.Errorf("no connection named %q in the configuration", name)}
	}
	if len(targets) == 0 {
		return nil, nil, configError{errors.New("no connection is written to: list connections under writeback.connections")}
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.name
	}
	a, err := app.Open(ctx, cfg, &app.Options{Logger: e.log, NoIndex: true, Connections: names, NoConnections: redisOnly})
	if err != nil {
		return nil, nil, err
	}
	return a, targets, nil
}
