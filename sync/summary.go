package sync

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Summary is what a run did.
type Summary struct {
	Started time.Time       `json:"started"`
	Elapsed time.Duration   `json:"elapsed_ns"`
	DryRun  bool            `json:"dry_run,omitempty"`
	Objects []ObjectSummary `json:"objects"`
	Conns   []ConnSummary   `json:"connections"`
}

// ObjectSummary counts one object of one connection.
type ObjectSummary struct {
	Conn        string `json:"conn"`
	Object      string `json:"object"`
	Pages       int    `json:"pages"`       // change-feed pages read
	Read        int    `json:"read"`        // records delivered by the feed
	New         int    `json:"new"`         // stored for the first time
	Updated     int    `json:"updated"`     // content changed
	Deleted     int    `json:"deleted"`     // removed (feed, deletion list)
	Purged      int    `json:"purged"`      // removed by id reconciliation
	Unchanged   int    `json:"unchanged"`   // same content (re-delivered or touched)
	Echo        int    `json:"echo"`        // only crmpulse's write-back fields changed
	Quarantined int    `json:"quarantined"` // malformed, see Quarantine
	Error       string `json:"error,omitempty"`
}

// Changed is New + Updated.
func (o ObjectSummary) Changed() int { return o.New + o.Updated }

// ConnSummary counts a connection's derived work and API use.
type ConnSummary struct {
	Conn           string `json:"conn"`
	APICalls       int64  `json:"api_calls"`       // HTTP requests sent, retries included
	Reconciled     bool   `json:"reconciled"`      // ids were reconciled
	Accounts       int    `json:"accounts"`        // accounts rebuilt
	OwnersReplaced int    `json:"owners_replaced"` // chunk owners re-chunked
	OwnersRemoved  int    `json:"owners_removed"`  // chunk owners removed
	Chunks         int    `json:"chunks"`          // chunks written
	Embedded       int    `json:"embedded"`        // texts sent to the embedder (cache hits included)
	Queued         int    `json:"queued"`          // analysis queue entries
}

// Totals sums the object rows.
func (s *Summary) Totals() ObjectSummary {
	t := ObjectSummary{Conn: "total"}
	for _, o := range s.Objects {
		t.Pages += o.Pages
		t.Read += o.Read
		t.New += o.New
		t.Updated += o.Updated
		t.Deleted += o.Deleted
		t.Purged += o.Purged
		t.Unchanged += o.Unchanged
		t.Echo += o.Echo
		t.Quarantined += o.Quarantined
	}
	return t
}

// WriteTable prints the per-object table and the per-connection lines.
func (s *Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "connection\tobject\tread\tchanged\tdeleted\tskipped\techo skipped\tquarantined\tpages\t")
	row := func(o ObjectSummary) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", o.Conn, o.Object, o.Read, o.Changed(),
			o.Deleted+o.Purged, o.Unchanged, o.Echo, o.Quarantined, o.Pages)
	}
	for _, o := range s.Objects {
		row(o)
	}
	row(s.Totals())
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "connection\tAPI calls\taccounts rebuilt\tchunks\tembedded\tqueued\treconciled\t")
	for _, c := range s.Conns {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%v\t\n", c.Conn, c.APICalls, c.Accounts, c.Chunks, c.Embedded, c.Queued, c.Reconciled)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	mode := ""
	if s.DryRun {
		mode = " (dry run: nothing written)"
	}
	_, err := fmt.Fprintf(w, "\nelapsed %s%s\n", s.Elapsed.Round(time.Millisecond), mode)
	return err
}

// WriteJSON writes the summary as indented JSON.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
