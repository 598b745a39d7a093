package daemon

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/gateway/metrics"
)

// The serial log's window, on an injected clock: the first errors of a port
// are logged at once, more within the window wait for its end and are then
// logged as the count since the last line; a quiet port logs nothing.
func TestSerialLogWindow(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	sl := &serialLog{now: func() time.Time { return now }, every: time.Minute, log: zerolog.New(&buf)}
	var ls link.Stats
	sc := scanner.Counts{}
	ports := func() []metrics.SerialPort {
		l, c := ls, sc
		return []metrics.SerialPort{{Port: "/dev/ttyUSB0", Device: "t-1", Link: &l}, {Port: "/dev/ttyACM0", Device: "k-1", Scanner: &c}}
	}
	logged := func() []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		buf.Reset()
		return out
	}

	sl.check(ports())
	if got := logged(); len(got) != 0 {
		t.Fatalf("quiet ports logged %v", got)
	}
	ls.Dropped[frame.ReasonBadCRC] = 7
	ls.Malformed = 1
	sc.Empty, sc.Unterminated = 3, 1 // not noise: no line
	sl.check(ports())
	got := logged()
	if len(got) != 1 || got[0]["port"] != "/dev/ttyUSB0" || got[0]["device"] != "t-1" || got[0]["count"] != 8.0 ||
		got[0]["reasons"].(map[string]any)["bad_crc"] != 7.0 || got[0]["reasons"].(map[string]any)["malformed"] != 1.0 {
		t.Fatalf("first errors: %v", got)
	}
	// Within the window: counted, not logged.
	now = now.Add(30 * time.Second)
	ls.Dropped[frame.ReasonBadCRC] = 100
	sc.NonPrintable, sc.Noise = 4, 2
	sl.check(ports())
	got = logged()
	if len(got) != 1 || got[0]["port"] != "/dev/ttyACM0" || got[0]["count"] != 6.0 {
		t.Fatalf("within the link's window: %v", got)
	}
	now = now.Add(29 * time.Second)
	sl.check(ports())
	if got := logged(); len(got) != 0 {
		t.Fatalf("within the window: %v", got)
	}
	// The window over: the link's errors since its last line.
	now = now.Add(time.Second)
	sl.check(ports())
	got = logged()
	if len(got) != 1 || got[0]["port"] != "/dev/ttyUSB0" || got[0]["count"] != 93.0 {
		t.Fatalf("after the window: %v", got)
	}
	// Quiet past the window: nothing; the next error is logged at once.
	now = now.Add(10 * time.Minute)
	sl.check(ports())
	if got := logged(); len(got) != 0 {
		t.Fatalf("quiet: %v", got)
	}
	sc.RateLimited = 1
	sl.check(ports())
	if got := logged(); len(got) != 1 || got[0]["reasons"].(map[string]any)["rate_limited"] != 1.0 {
		t.Fatalf("after a quiet spell: %v", got)
	}
}
