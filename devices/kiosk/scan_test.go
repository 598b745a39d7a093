package kiosk_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/devices/scanner"
)

// lines sums the kiosk's line counters: every line the scanner saw.
func lines(c map[string]uint64) uint64 {
	n := c["lines_accepted"]
	for _, r := range scanner.Reasons {
		n += c[r]
	}
	return n
}

// Random bytes on the scanner's port are refused quietly and counted: no
// visitor.scan_rejected, so no prompt at the front desk. A code of the
// invite format the kiosk does not know is still rejected, and scans faster
// than the rate limit are refused and counted.
func TestScanPlausibility(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "OG-INV-7Q4X9K2M", "Alice")

	rng := rand.New(rand.NewPCG(7, 13))
	noise := make([]byte, 256<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	// A line of the invite format in the middle, as noise now and then
	// makes one; and the last line ends.
	noise = append(noise[:128<<10:128<<10], append([]byte("\rNOISE-LIKE-A-CODE\r"), noise[128<<10:]...)...)
	noise = append(noise, '\n')
	// What a LineReader makes of the same bytes: every printable line would
	// have been a rejected scan before the kiosk knew the token format.
	lr := scanner.NewLineReader(bytes.NewReader(noise), 0)
	for {
		if _, err := lr.Next(); err != nil {
			break
		}
	}
	ref := lr.Counts()
	if ref.Accepted == 0 {
		t.Fatal("the noise has no printable line: the test tests nothing")
	}
	if _, err := r.scanM.Write(noise); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the noise judged", func() bool { return lines(r.k.Status().Counters) == ref.Total() })
	c := r.k.Status().Counters
	if n := len(r.sink.ofType(kiosk.TypeScanRejected)); n != 0 || c["scans_rejected"] != 0 || c["lines_accepted"] != 0 {
		t.Fatalf("%d visitor.scan_rejected from noise; counters %v", n, c)
	}
	if c["non_printable"] != ref.NonPrintable || c["too_short"]+c["bad_alphabet"]+c["noise"] != ref.Accepted || c["noise"] == 0 {
		t.Fatalf("counters %v, want the %d printable lines of the noise refused by reason", c, ref.Accepted)
	}
	t.Logf("%d bytes of noise: %d lines, %d printable (each a scan_rejected before), refused: %d too_short, %d bad_alphabet, %d noise",
		len(noise), ref.Total(), ref.Accepted, c["too_short"], c["bad_alphabet"], c["noise"])

	// A real but unknown code, once the line is quiet.
	r.clk.advance(time.Second)
	r.scan("OG-INV-UNKNOWN1")
	if got := r.sink.wait(t, kiosk.TypeScanRejected, 1).Data["reason"]; got != kiosk.ReasonUnknown {
		t.Fatalf("reason %v", got)
	}

	// A burst over the limit (5 back to back, then one a second).
	r.clk.advance(time.Minute)
	for range kiosk.DefaultScanBurst + 2 {
		r.scan("OG-INV-UNKNOWN2")
	}
	// The scanner counts a refusal as it reads the line; an accepted scan's
	// rejection is emitted later by the kiosk's flow: wait for both.
	eventually(t, "the burst judged", func() bool {
		return r.k.Status().Counters["rate_limited"] == 2 && len(r.sink.ofType(kiosk.TypeScanRejected)) >= 1+kiosk.DefaultScanBurst
	})
	if n := len(r.sink.ofType(kiosk.TypeScanRejected)); n != 1+kiosk.DefaultScanBurst {
		t.Fatalf("%d visitor.scan_rejected, want %d", n, 1+kiosk.DefaultScanBurst)
	}
	// A second later the invited visitor gets in.
	r.clk.advance(time.Second)
	r.scan("OG-INV-7Q4X9K2M")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
}
