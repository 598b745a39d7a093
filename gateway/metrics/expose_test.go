package metrics

import (
	"errors"
	"math"
	"testing"
)

// TestAppendFamily checks the text format's escapes and values exactly
// (expose.go); the golden scrape covers the rest.
func TestAppendFamily(t *testing.T) {
	f := family{desc{"x_total", "Help with a \\ backslash,\na line feed and \"quotes\" kept.", typeCounter}, []sample{
		{label: "l", value: "back\\slash \"quoted\"\nnext é \xff", v: 1},
		{label: "l", value: "", v: 0.1},
		{label: "l", value: "big", v: 1e21},
		{label: "l", value: "inf", v: math.Inf(1)},
		{label: "l", value: "-inf", v: math.Inf(-1)},
		{label: "l", value: "nan", v: math.NaN()},
		{v: -2.5},
	}}
	want := `# HELP x_total Help with a \\ backslash,\na line feed and "quotes" kept.
# TYPE x_total counter
x_total{l="back\\slash \"quoted\"\nnext é ` + "\uFFFD" + `"} 1
x_total{l=""} 0.1
x_total{l="big"} 1e+21
x_total{l="inf"} +Inf
x_total{l="-inf"} -Inf
x_total{l="nan"} NaN
x_total -2.5
`
	if got := string(appendFamily([]byte("prefix\n"), &f)); got != "prefix\n"+want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestHistogramBounds(t *testing.T) {
	h := newHistogram("h_seconds", "H.", []float64{0.5, 1})
	for _, v := range []float64{0.5, 0.50001, 1, 7, math.NaN(), -3} {
		h.observe(v)
	}
	h.sum = 0 // NaN; not what is being tested
	want := `# HELP h_seconds H.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.5"} 2
h_seconds_bucket{le="1"} 4
h_seconds_bucket{le="+Inf"} 6
h_seconds_sum 0
h_seconds_count 6
`
	if got := string(appendFamily(nil, &h.collect(nil)[0])); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRegister(t *testing.T) {
	var r registry
	s := newScalar(typeGauge, "a_b", "A.")
	if err := r.register(s, s.name); err != nil {
		t.Fatal(err)
	}
	if err := r.register(s, s.name); !errors.Is(err, errDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	for _, bad := range []string{"", "1a", "a-b", "a b", "é"} {
		if err := r.register(s, bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}
