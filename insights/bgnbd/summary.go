package bgnbd

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// SummaryError locates a problem in a customer summary file.
type SummaryError struct {
	Line   int    // 1-based line number; 1 is the header
	Column string // column name, empty when the problem is not in one column
	Err    error
}

func (e *SummaryError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, column %s: %v", e.Line, e.Column, e.Err)
}

func (e *SummaryError) Unwrap() error { return e.Err }

// summaryColumns maps each field to the header names accepted for it
// (compared case-sensitively for "T", which must not be confused with "t").
var summaryColumns = [3][]string{
	{"frequency", "x"},
	{"recency", "t_x"},
	{"T", "T_cal"},
}

// ReadSummary parses a customer summary CSV. The header must name the
// columns frequency, recency and T (also accepted: x, t_x, T_cal); they may
// appear in any order and other columns are ignored. Each data row becomes a
// [Customer], validated with [Customer.Validate]. Errors are *SummaryError
// values naming the line and the column.
func ReadSummary(r io.Reader) ([]Customer, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &SummaryError{Line: 1, Err: errors.New("empty file: want a header with frequency, recency, T")}
	}
	if err != nil {
		return nil, summaryCSVError(err)
	}
	idx := [3]int{-1, -1, -1}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		for f, names := range summaryColumns {
			for _, name := range names {
				match := h == name
				if name != "T" && name != "T_cal" {
					match = strings.EqualFold(h, name)
				}
				if match && idx[f] < 0 {
					idx[f] = i
				}
			}
		}
	}
	for f, i := range idx {
		if i < 0 {
			return nil, &SummaryError{Line: 1, Column: summaryColumns[f][0], Err: fmt.Errorf("header %q lacks this column", strings.Join(header, ","))}
		}
	}
	var out []Customer
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, summaryCSVError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		var v [3]float64
		for f, i := range idx {
			name := summaryColumns[f][0]
			if i >= len(rec) {
				return nil, &SummaryError{Line: line, Column: name, Err: fmt.Errorf("row has %d fields, want at least %d", len(rec), i+1)}
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, &SummaryError{Line: line, Column: name, Err: fmt.Errorf("not a finite number: %q", rec[i])}
			}
			v[f] = x
		}
		c := Customer{Frequency: v[0], Recency: v[1], T: v[2]}
		if err := c.Validate(); err != nil {
			col := ""
			switch {
			case c.Frequency < 0 || c.Frequency != float64(int64(c.Frequency)):
				col = "frequency"
			case c.T <= 0:
				col = "T"
			default:
				col = "recency"
			}
			return nil, &SummaryError{Line: line, Column: col, Err: err}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, &SummaryError{Line: 2, Err: errors.New("no data rows")}
	}
	return out, nil
}

func summaryCSVError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &SummaryError{Line: pe.Line, Err: pe.Err}
	}
	return err
}
