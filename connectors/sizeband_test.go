package connectors

import "testing"

func TestSizeBand(t *testing.T) {
	for n, want := range map[int]string{-3: "", 0: "", 1: "1-50", 50: "1-50", 51: "51-200", 200: "51-200",
		201: "201-1000", 1000: "201-1000", 1001: "1001-5000", 5000: "1001-5000", 5001: "5000+"} {
		if got := SizeBand(n); got != want {
			t.Errorf("SizeBand(%d) = %q, want %q", n, got, want)
		}
	}
}
