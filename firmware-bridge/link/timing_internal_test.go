package link

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

type nopSink struct{}

func (nopSink) Commit(context.Context, Record) error { return nil }

// TestTimingTable checks the timer table of PROTOCOL.md §5.4 against what
// the code computes, at every baud rate the table has a column for: a
// firmware engineer who applies the formulas gets the gateway's values.
func TestTimingTable(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(doc), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "| timer | formula |") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal("PROTOCOL.md has no timer table (a row starting \"| timer | formula |\")")
	}
	cells := func(l string) []string {
		c := strings.Split(strings.Trim(l, "| "), "|")
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		return c
	}
	var bauds []int
	for _, c := range cells(lines[start])[2:] {
		b, err := strconv.Atoi(c)
		if err != nil {
			t.Fatalf("column %q is not a baud rate", c)
		}
		bauds = append(bauds, b)
	}
	ceilMS := func(d time.Duration) time.Duration {
		return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
	}
	rows := map[string]func(Timing, TimeSync) string{
		"longest frame on the wire":  func(tm Timing, _ TimeSync) string { return ms(ceilMS(bitsTime(maxFrameBits, tm.Baud))) },
		"standalone ACK on the wire": func(tm Timing, _ TimeSync) string { return ms(ceilMS(bitsTime(ackFrameBits, tm.Baud))) },
		"ack delay":                  func(tm Timing, _ TimeSync) string { return ms(tm.AckDelay) },
		"initial retransmit timeout": func(tm Timing, _ TimeSync) string { return ms(tm.RTO) },
		"retransmit timeout cap":     func(tm Timing, _ TimeSync) string { return ms(tm.RTOMax) },
		"window":                     func(tm Timing, _ TimeSync) string { return strconv.Itoa(tm.Window) },
		"heartbeat interval":         func(tm Timing, _ TimeSync) string { return ms(tm.Heartbeat) },
		"link down":                  func(tm Timing, _ TimeSync) string { return ms(missedBeats * tm.Heartbeat) },
		"HELLO retry, first":         func(tm Timing, _ TimeSync) string { return ms(tm.HelloMin) },
		"HELLO retry, longest":       func(tm Timing, _ TimeSync) string { return ms(tm.HelloMax) },
		"BUSY retry":                 func(tm Timing, _ TimeSync) string { return ms(tm.BusyRetry) },
		"time-sync sample limit":     func(_ Timing, ts TimeSync) string { return ms(ts.MaxDelay) },
	}
	seen := map[string]bool{}
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		c := cells(l)
		var f func(Timing, TimeSync) string
		for name, g := range rows {
			if strings.HasPrefix(c[0], name) {
				f, seen[name] = g, true
			}
		}
		if f == nil {
			t.Errorf("row %q: no check for it", c[0])
			continue
		}
		if len(c) != 2+len(bauds) {
			t.Fatalf("row %q has %d cells, want %d", c[0], len(c), 2+len(bauds))
		}
		for i, b := range bauds {
			g, err := NewGateway(GatewayConfig{Sink: nopSink{}, Timing: Timing{Baud: b}})
			if err != nil {
				t.Fatal(err)
			}
			if got := f(g.timing, g.tsync); got != c[2+i] {
				t.Errorf("%s at %d baud: the code computes %s, PROTOCOL.md says %s", c[0], b, got, c[2+i])
			}
		}
	}
	for name := range rows {
		if !seen[name] {
			t.Errorf("PROTOCOL.md's timer table has no row %q", name)
		}
	}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
