package metrics

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// The Prometheus text exposition format, version 0.0.4, as far as this
// package writes it
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format):
//
//   - The body is UTF-8 lines ending in '\n', served as ContentType.
//   - Each family starts with "# HELP <name> <help>" and "# TYPE <name>
//     <type>", type one of counter, gauge, histogram; then its samples, one
//     per line: "<name>[{<label>="<value>"}] <value>".
//   - In help text a backslash is written \\ and a line feed \n. In a label
//     value a double quote is also escaped, as \". Invalid UTF-8 is written
//     as U+FFFD so the body stays UTF-8.
//   - Values are Go floats in the shortest form that reads back exactly
//     ("7", "0.25", "4.194304e+07"), and +Inf, -Inf, NaN.
//   - A histogram family <name> has, per series, one <name>_bucket sample per
//     upper bound with label le and the cumulative count of observations
//     ≤ that bound, ascending and ending with le="+Inf"; then <name>_sum and
//     <name>_count, the latter equal to the +Inf bucket.
//
// Families are written sorted by name and the series of a family sorted by
// label value (the serial families' by port and device, then the reasons in
// their fixed order), as client_golang did, so two scrapes of the same state are
// byte-identical and diffs of scrapes are readable.

// ContentType is the Content-Type of the text format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Family types, the words of a # TYPE line.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
)

// desc names and describes a family.
type desc struct {
	name, help, typ string
}

// A family is one metric name's samples at a scrape.
type family struct {
	desc
	samples []sample
}

// A sample is one line of a family: most carry at most one label pair
// (label "" means none); the serial families carry more, in pairs.
type sample struct {
	suffix       string // "", or "_bucket", "_sum", "_count" for histograms
	label, value string
	pairs        []labelPair // written after label, in this order
	v            float64
}

// labelPair is a label and its value.
type labelPair struct{ name, value string }

// appendFamily appends f in the text format.
func appendFamily(dst []byte, f *family) []byte {
	dst = append(dst, "# HELP "...)
	dst = append(dst, f.name...)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, f.help, false)
	dst = append(dst, "\n# TYPE "...)
	dst = append(dst, f.name...)
	dst = append(dst, ' ')
	dst = append(dst, f.typ...)
	dst = append(dst, '\n')
	for _, s := range f.samples {
		dst = append(dst, f.name...)
		dst = append(dst, s.suffix...)
		if s.label != "" || len(s.pairs) > 0 {
			dst = append(dst, '{')
			sep := false
			pair := func(name, value string) {
				if sep {
					dst = append(dst, ',')
				}
				sep = true
				dst = append(dst, name...)
				dst = append(dst, `="`...)
				dst = appendEscaped(dst, value, true)
				dst = append(dst, '"')
			}
			if s.label != "" {
				pair(s.label, s.value)
			}
			for _, p := range s.pairs {
				pair(p.name, p.value)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ' ')
		dst = appendFloat(dst, s.v)
		dst = append(dst, '\n')
	}
	return dst
}

// appendEscaped appends s escaped for help text or, if quoted, for a label
// value.
func appendEscaped(dst []byte, s string, quoted bool) []byte {
	for _, r := range s { // an invalid byte ranges as utf8.RuneError, U+FFFD
		switch {
		case r == '\\':
			dst = append(dst, `\\`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '"' && quoted:
			dst = append(dst, `\"`...)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// appendFloat appends v as the format writes a value or an le bound.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// validName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*, the metric
// and label name syntax (label names may not contain ':', and none here do).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}
