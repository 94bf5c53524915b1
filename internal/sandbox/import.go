package sandbox

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ImportProblem is one rejected row.
type ImportProblem struct {
	File string // base name, e.g. "contacts.csv"
	Line int    // 1-based line of the row (CSV: the record's first line; JSON: the object's first line)
	Err  string
}

func (p ImportProblem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Err) }

// ImportReport is the outcome of loading a customer base from files.
type ImportReport struct {
	Files    []string       // files read, in load order
	Loaded   map[string]int // rows loaded per file
	Problems []ImportProblem
}

// importFiles are the accepted inputs, in load order; each may be .csv or .json.
var importFiles = []string{"accounts", "contacts", "opportunities", "activities"}

// ErrNoImportFiles means the import directory holds none of the known files.
var ErrNoImportFiles = errors.New("no accounts.csv or accounts.json")

type importRow struct {
	line int
	cols map[string]string
}

func (sb *Sandbox) importDir(dir string) (*ImportReport, error) {
	rep := &ImportReport{Loaded: map[string]int{}}
	data := map[string][]importRow{}
	names := map[string]string{}
	for _, base := range importFiles {
		for _, ext := range []string{".csv", ".json"} {
			name := base + ext
			b, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			var rows []importRow
			if ext == ".csv" {
				rows, err = readCSV(b)
			} else {
				rows, err = readJSON(b)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			rep.Files = append(rep.Files, name)
			data[base], names[base] = append(data[base], rows...), name
		}
	}
	if _, ok := names["accounts"]; !ok {
		return nil, ErrNoImportFiles
	}
	now := sb.Opt.Now
	sb.Truth.Horizon, sb.Truth.Cutoff = now, now.Add(-sb.Opt.Holdout)
	g := &generator{sb: sb, now: now, start: now.Add(-sb.Opt.History), cutoff: sb.Truth.Cutoff, simEnd: now.Add(sb.Opt.Holdout)}
	var order []*customer
	byKey := map[string]*customer{}
	bad := func(file string, line int, format string, a ...any) {
		p := ImportProblem{File: file, Line: line, Err: fmt.Sprintf(format, a...)}
		rep.Problems = append(rep.Problems, p)
		sb.Opt.Log.Warn("import: bad row", "file", p.File, "line", p.Line, "error", p.Err)
	}
	file := names["accounts"]
	for _, r := range data["accounts"] {
		c, err := importAccount(r, now, len(order))
		if err == nil && byKey[c.key] != nil {
			err = fmt.Errorf("duplicate key %q", c.key)
		}
		if err != nil {
			bad(file, r.line, "%v", err)
			continue
		}
		byKey[c.key] = c
		order = append(order, c)
		rep.Loaded[file]++
	}
	lookup := func(file string, r importRow) (*customer, bool) {
		k := r.cols["account_key"]
		c := byKey[k]
		if c == nil {
			bad(file, r.line, "unknown account_key %q", k)
		}
		return c, c != nil
	}
	file = names["contacts"]
	for _, r := range data["contacts"] {
		c, ok := lookup(file, r)
		if !ok {
			continue
		}
		ct, champion, err := importContact(r, c)
		if err != nil {
			bad(file, r.line, "%v", err)
			continue
		}
		if champion {
			c.champion = len(c.contacts)
		}
		c.contacts = append(c.contacts, ct)
		rep.Loaded[file]++
	}
	file = names["opportunities"]
	for _, r := range data["opportunities"] {
		c, ok := lookup(file, r)
		if !ok {
			continue
		}
		d, err := importDeal(r, c, now)
		if err != nil {
			bad(file, r.line, "%v", err)
			continue
		}
		if SalesforceStages[d.stage].Won {
			c.owned[d.product] = true
			c.prospect = false
		}
		c.deals = append(c.deals, d)
		rep.Loaded[file]++
	}
	file = names["activities"]
	for _, r := range data["activities"] {
		c, ok := lookup(file, r)
		if !ok {
			continue
		}
		a, err := importActivity(r, c, now)
		if err != nil {
			bad(file, r.line, "%v", err)
			continue
		}
		c.acts = append(c.acts, a)
		c.lastAct = maxTime(c.lastAct, a.at)
		rep.Loaded[file]++
	}
	sb.gen = &genState{}
	for _, c := range order {
		if len(c.contacts) == 0 {
			// Activities need a counterpart; a placeholder keeps the account usable.
			c.contacts = append(c.contacts, genContact{last: "Unknown", first: "Contact", ja: c.ja, created: c.created, modified: c.created})
		}
		slices.SortStableFunc(c.acts, func(x, y genActivity) int { return x.at.Compare(y.at) })
		c.modified = c.created
		if err := g.writeSalesforce(c); err != nil {
			return nil, err
		}
		if err := g.writeHubSpot(c); err != nil {
			return nil, err
		}
		t := AccountTruth{Key: c.key, SalesforceID: c.sfID, HubSpotID: c.hsID, Name: c.name, Industry: c.industryName,
			SizeBand: bands[c.band].name, Language: map[bool]string{true: "ja", false: "en"}[c.ja], Customer: !c.prospect,
			AliveAtCutoff: !c.prospect, Situation: "imported"}
		for k, ok := range c.owned {
			if ok {
				t.Products = append(t.Products, Products[k])
			}
		}
		sb.Truth.Register(t)
		sb.gen.accounts = append(sb.gen.accounts, c.genAccount)
	}
	return rep, nil
}

func readCSV(b []byte) ([]importRow, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(header[i]))
	}
	var rows []importRow
	for {
		line, _ := r.FieldPos(0)
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		row := importRow{line: line, cols: map[string]string{}}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				row.line = pe.StartLine
			}
			row.cols["!error"] = err.Error()
			rows = append(rows, row)
			continue
		}
		row.line, _ = r.FieldPos(0)
		if len(rec) != len(header) {
			row.cols["!error"] = fmt.Sprintf("%d fields, header has %d", len(rec), len(header))
		}
		for i, v := range rec {
			if i < len(header) {
				row.cols[header[i]] = strings.TrimSpace(v)
			}
		}
		rows = append(rows, row)
	}
}

func readJSON(b []byte) ([]importRow, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("want a JSON array of objects")
	}
	var rows []importRow
	for dec.More() {
		off := int(dec.InputOffset())
		for off < len(b) && (b[off] == ' ' || b[off] == '\n' || b[off] == '\r' || b[off] == '\t' || b[off] == ',') {
			off++
		}
		row := importRow{line: 1 + bytes.Count(b[:off], []byte("\n")), cols: map[string]string{}}
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("line %d: %w", row.line, err)
		}
		for k, v := range obj {
			switch v := v.(type) {
			case nil:
			case string:
				row.cols[strings.ToLower(k)] = strings.TrimSpace(v)
			default:
				row.cols[strings.ToLower(k)] = fmt.Sprint(v)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func need(r importRow, cols ...string) error {
	if e := r.cols["!error"]; e != "" {
		return errors.New(e)
	}
	for _, c := range cols {
		if r.cols[c] == "" {
			return fmt.Errorf("missing %s", c)
		}
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q (want YYYY-MM-DD or RFC 3339)", s)
}

func optWhen(r importRow, col string, def time.Time) (time.Time, error) {
	if r.cols[col] == "" {
		return def, nil
	}
	t, err := parseWhen(r.cols[col])
	if err != nil {
		return t, fmt.Errorf("%s: %w", col, err)
	}
	return t, nil
}

func optNumber(r importRow, col string) (float64, error) {
	s := strings.ReplaceAll(r.cols[col], ",", "")
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%s: bad number %q", col, r.cols[col])
	}
	return f, nil
}

func importAccount(r importRow, now time.Time, n int) (*customer, error) {
	if err := need(r, "key", "name"); err != nil {
		return nil, err
	}
	c := &customer{genAccount: &genAccount{key: r.cols["key"], name: r.cols["name"], prospect: true}}
	c.industryName = r.cols["industry"]
	if c.industryName != "" && !slices.Contains(SalesforceIndustries, c.industryName) {
		return nil, fmt.Errorf("industry %q is not a Salesforce Industry value", c.industryName)
	}
	c.ind = slices.IndexFunc(industries, func(d industryDef) bool { return d.sf == c.industryName })
	emp, err := optNumber(r, "employees")
	if err != nil {
		return nil, err
	}
	c.employees = int(emp)
	c.band = slices.Index(SizeBands, SizeBandOf(max(c.employees, 1)))
	if c.revenue, err = optNumber(r, "annual_revenue"); err != nil {
		return nil, err
	}
	switch lang := r.cols["language"]; lang {
	case "ja":
		c.ja = true
	case "", "en":
	default:
		return nil, fmt.Errorf("language %q: want ja or en", lang)
	}
	c.country, c.city, c.phone, c.description = r.cols["country"], r.cols["city"], r.cols["phone"], r.cols["description"]
	c.domain = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(r.cols["website"], "https://"), "http://"), "www.")
	if c.created, err = optWhen(r, "created", now.Add(-365*day)); err != nil {
		return nil, err
	}
	if c.created.After(now) {
		return nil, fmt.Errorf("created %s is after the sandbox now", r.cols["created"])
	}
	c.owner = n % len(reps)
	if c.ja {
		c.owner = n % 4
	} else {
		c.owner = 4 + n%4
	}
	return c, nil
}

func importContact(r importRow, c *customer) (genContact, bool, error) {
	if err := need(r, "account_key", "last_name"); err != nil {
		return genContact{}, false, err
	}
	ct := genContact{first: r.cols["first_name"], last: r.cols["last_name"], email: r.cols["email"], title: r.cols["title"],
		ja: c.ja, created: c.created, modified: c.created}
	if ct.email != "" && !strings.Contains(ct.email, "@") {
		return ct, false, fmt.Errorf("bad email %q", ct.email)
	}
	champion := false
	if s := r.cols["champion"]; s != "" {
		var err error
		if champion, err = strconv.ParseBool(s); err != nil {
			return ct, false, fmt.Errorf("champion: bad boolean %q", s)
		}
	}
	return ct, champion, nil
}

func importDeal(r importRow, c *customer, now time.Time) (genDeal, error) {
	if err := need(r, "account_key", "product", "stage", "close_date"); err != nil {
		return genDeal{}, err
	}
	d := genDeal{product: slices.Index(Products, r.cols["product"]), typ: r.cols["type"], source: "Other",
		lossReason: r.cols["loss_reason"], competitor: r.cols["competitor"], name: r.cols["name"]}
	if d.product < 0 {
		return d, fmt.Errorf("product %q: want one of %s", r.cols["product"], strings.Join(Products, ", "))
	}
	d.stage = slices.IndexFunc(SalesforceStages, func(s Stage) bool { return s.Name == r.cols["stage"] })
	if d.stage < 0 {
		return d, fmt.Errorf("stage %q is not an opportunity stage", r.cols["stage"])
	}
	if d.typ == "" {
		d.typ = OppNewBusiness
	}
	if !slices.Contains([]string{OppNewBusiness, OppUpgrade, OppRenewal}, d.typ) {
		return d, fmt.Errorf("type %q: want %q, %q or %q", d.typ, OppNewBusiness, OppUpgrade, OppRenewal)
	}
	if d.lossReason != "" && !slices.Contains(LossReasons, d.lossReason) {
		return d, fmt.Errorf("loss_reason %q is not a Loss_Reason__c value", d.lossReason)
	}
	if d.competitor != "" && !slices.Contains(Competitors, d.competitor) {
		return d, fmt.Errorf("competitor %q is not a Competitor__c value", d.competitor)
	}
	var err error
	if d.amount, err = optNumber(r, "amount"); err != nil {
		return d, err
	}
	if d.close, err = optWhen(r, "close_date", now); err != nil {
		return d, err
	}
	if d.created, err = optWhen(r, "created", maxTime(c.created, minTime(d.close, now).Add(-60*day))); err != nil {
		return d, err
	}
	if d.created.After(now) {
		return d, fmt.Errorf("created %s is after the sandbox now", r.cols["created"])
	}
	d.created = maxTime(d.created, c.created)
	d.modified = minTime(maxTime(d.close, d.created), now)
	return d, nil
}

func importActivity(r importRow, c *customer, now time.Time) (genActivity, error) {
	if err := need(r, "account_key", "kind", "timestamp"); err != nil {
		return genActivity{}, err
	}
	a := genActivity{kind: r.cols["kind"], subject: r.cols["subject"], body: r.cols["body"], deal: -1, ja: c.ja,
		inbound: r.cols["direction"] == "inbound", duration: 30}
	if !slices.Contains(activityKinds, a.kind) {
		return a, fmt.Errorf("kind %q: want one of %s", a.kind, strings.Join(activityKinds, ", "))
	}
	if d := r.cols["direction"]; d != "" && d != "inbound" && d != "outbound" {
		return a, fmt.Errorf("direction %q: want inbound or outbound", d)
	}
	if a.subject == "" && a.body == "" {
		return a, errors.New("missing subject and body")
	}
	var err error
	if a.at, err = parseWhen(r.cols["timestamp"]); err != nil {
		return a, err
	}
	if a.at.After(now) {
		return a, fmt.Errorf("timestamp %s is after the sandbox now", r.cols["timestamp"])
	}
	a.logged = a.at
	if e := r.cols["contact_email"]; e != "" {
		a.contact = slices.IndexFunc(c.contacts, func(ct genContact) bool { return strings.EqualFold(ct.email, e) })
		if a.contact < 0 {
			return a, fmt.Errorf("contact_email %q is not a contact of account %s", e, c.key)
		}
	}
	return a, nil
}
