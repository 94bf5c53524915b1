package writeback

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// cell makes a value printable on one table line: newlines and tabs as
// spaces, at most 48 runes, "∅" for empty.
func cell(s string) string {
	if s == "" {
		return "∅"
	}
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\t", " ").Replace(s)
	return Truncate(s, 48)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// WritePlan prints a dry-run plan: the field diff, then the segment list
// deltas, then a summary line.
func WritePlan(w io.Writer, p *Plan) error {
	tw := table(w)
	fmt.Fprintf(tw, "RECORD\tFIELD\tOLD\t→\tNEW\tACTION\n")
	for _, c := range p.Changes {
		action := c.Action
		if c.Note != "" {
			action += " (" + c.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t→\t%s\t%s\n", c.Record, c.Field, cell(c.Old), cell(c.New), action)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Lists) > 0 {
		fmt.Fprintln(w)
		tw = table(w)
		fmt.Fprintf(tw, "SEGMENT LIST\tVALUE\tMEMBERS\n")
		for _, d := range p.Lists {
			fmt.Fprintf(tw, "%s\t%s\t+%d/−%d\n", d.List, d.Value, d.Added, d.Removed)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	writes := 0
	for _, c := range p.Changes {
		if c.Action == ActionWrite || c.Action == ActionOverwrite {
			writes++
		}
	}
	_, err := fmt.Fprintf(w, "\n%s: %d records queued (%d entries), %d unchanged, %d field values to write; dry run, nothing written\n",
		p.Connection, p.Records, p.Entries, p.Unchanged, writes)
	return err
}

// WriteAudit prints audit entries.
func WriteAudit(w io.Writer, entries []AuditEntry) error {
	tw := table(w)
	fmt.Fprintf(tw, "TIME\tRECORD\tFIELD\tOLD\t→\tNEW\tRESULT\tNOTE\n")
	for _, a := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t→\t%s\t%s\t%s\n", a.At.Format(time.RFC3339), a.Record, a.Field, cell(a.Old), cell(a.New), a.Result, a.Note)
	}
	return tw.Flush()
}

// WriteDeadLetters prints dead letters.
func WriteDeadLetters(w io.Writer, dls []DeadLetter) error {
	tw := table(w)
	fmt.Fprintf(tw, "ENTRY\tTIME\tRECORD\tFIELDS\tCODE\tMESSAGE\n")
	for _, d := range dls {
		fields := make([]string, 0, len(d.Fields))
		for f := range d.Fields {
			fields = append(fields, f)
		}
		sortStrings(fields)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.At.Format(time.RFC3339), d.Record, strings.Join(fields, ","), d.Code, d.Message)
	}
	return tw.Flush()
}

// WriteChecks prints a field validation table.
func WriteChecks(w io.Writer, checks []FieldCheck) error {
	tw := table(w)
	fmt.Fprintf(tw, "CONNECTION\tOUTPUT\tFIELD\tCRM TYPE\tSTATUS\tPROBLEM\n")
	for _, c := range checks {
		crm := c.CRMType
		if crm == "" {
			crm = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Connection, c.Output, c.Field, crm, c.Status, c.Problem)
	}
	return tw.Flush()
}

// WriteSummary prints a run summary on one line.
func WriteSummary(w io.Writer, s Summary) error {
	_, err := fmt.Fprintf(w, "%s: %d records (%d entries): %d written (%d fields), %d unchanged, %d already set, %d kept (edited in the CRM), %d overwrote edits, %d dead-lettered, %d left queued; %s write calls, %d read calls\n",
		s.Connection, s.Records, s.Entries, s.Written, s.Fields, s.Unchanged, s.Already, s.Kept, s.Overwrote, s.Dead, s.Pending, strconv.Itoa(s.WriteCalls), s.ReadCalls)
	return err
}
