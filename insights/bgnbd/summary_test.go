package bgnbd

import (
	"errors"
	"strings"
	"testing"
)

func TestReadSummaryColumnsAnyOrder(t *testing.T) {
	in := "T,id,recency,note,frequency\n38.86,1,30.43,a,2\n27,2,0,b,0\n"
	cs, err := ReadSummary(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Customer{{2, 30.43, 38.86}, {0, 0, 27}}
	if len(cs) != len(want) || cs[0] != want[0] || cs[1] != want[1] {
		t.Errorf("got %+v, want %+v", cs, want)
	}
}

func TestReadSummaryErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     int
		column   string
	}{
		{"empty", "", 1, ""},
		{"missing column", "frequency,recency\n1,2\n", 1, "T"},
		{"lower-case t is not T", "frequency,recency,t\n1,2,3\n", 1, "T"},
		{"not a number", "frequency,recency,T\n1,2,3\n2,abc,5\n", 3, "recency"},
		{"NaN", "frequency,recency,T\nNaN,2,3\n", 2, "frequency"},
		{"fractional frequency", "frequency,recency,T\n1.5,2,3\n", 2, "frequency"},
		{"recency beyond T", "frequency,recency,T\n1,2,3\n1,9,3\n", 3, "recency"},
		{"zero T", "frequency,recency,T\n0,0,0\n", 2, "T"},
		{"short row", "frequency,recency,T\n1,2\n", 2, "T"},
		{"header only", "frequency,recency,T\n", 2, ""},
	} {
		_, err := ReadSummary(strings.NewReader(c.in))
		var se *SummaryError
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v is not a *SummaryError", c.name, err)
			continue
		}
		if se.Line != c.line || se.Column != c.column {
			t.Errorf("%s: line %d column %q, want line %d column %q (%v)", c.name, se.Line, se.Column, c.line, c.column, err)
		}
	}
}
