package kiosk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/kiosk"
)

// BenchmarkScanToRelease measures a valid scan written to the scanner's PTY
// until the relay pin is released (High on the simulated board): the serial
// line, line splitting, hashing, the cache, queueing the event and the
// pulse. No printer, so the badge is not in the path either way (it is
// queued after the release). Between scans, untimed, the door is locked
// again and the visitor checked out.
func BenchmarkScanToRelease(b *testing.B) {
	r := newRig(b, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "OG-INV-7Q4X9K2M", "Alice")
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		n := len(r.relay.History()) + 1
		start := time.Now()
		r.scan("OG-INV-7Q4X9K2M")
		h, err := r.relay.WaitChanges(ctx, n)
		d := time.Since(start)
		if err != nil || h[n-1].Level != gpio.High {
			b.Fatalf("relay: %v %v", err, h)
		}
		lat = append(lat, d)
		b.StopTimer()
		r.mustOK("door.mode", map[string]any{"mode": "locked"})
		r.mustOK("door.mode", map[string]any{"mode": "normal"})
		eventually(b, "the check-in recorded", func() bool { return r.cmd("visitor.checkout", map[string]any{"invite_id": "inv-1"}).Error == "" })
		r.clk.advance(kiosk.DefaultScanInterval) // the next visitor, within the scan rate limit
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op") // the loop's ns/op includes nothing meaningful beyond the metrics above
}
