package wiegand_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
)

// decodeAll feeds edges to a decoder for cfg, flushes it, and returns frames and stats.
func decodeAll(t testing.TB, cfg *wiegand.Config, edges []wiegand.Edge) ([]wiegand.Frame, wiegand.Stats) {
	t.Helper()
	d, err := wiegand.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	frames := d.Append(nil, edges...)
	frames = d.Flush(frames)
	return frames, d.Stats()
}

// bitsEdges makes falling edges for a bit string ("0110", spaces ignored), spaced 2 ms,
// starting at start with sequence numbers from seq.
func bitsEdges(start time.Duration, seq uint32, s string) []wiegand.Edge {
	var out []wiegand.Edge
	t := start
	for _, c := range s {
		if c != '0' && c != '1' {
			continue
		}
		out = append(out, wiegand.Edge{Time: t, Seq: seq, Line: wiegand.Line(c - '0'), Falling: true})
		seq++
		t += 2 * time.Millisecond
	}
	return out
}

// parseBits turns a bit string with spaces into a number.
func parseBits(t testing.TB, s string) uint64 {
	t.Helper()
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			b = append(b, s[i])
		}
	}
	v, err := strconv.ParseUint(string(b), 2, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rejected sums the rejection counters.
func rejected(s wiegand.Stats) uint64 {
	return s.BitCount + s.Parity + s.SeqGap + s.BothLow + s.Spacing + s.BadKey + s.PINTimeout + s.PINTooLong
}
