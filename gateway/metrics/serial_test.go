package metrics_test

import (
	"strings"
	"testing"

	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/gateway/metrics"
)

func TestSerialCollector(t *testing.T) {
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	var ls link.Stats
	ls.FramesIn = 40
	ls.Dropped[frame.ReasonBadCRC] = 3
	ls.Dropped[frame.ReasonBadCOBS] = 2
	ls.Malformed, ls.Unknown, ls.Overruns = 1, 4, 5
	sc := scanner.Counts{Accepted: 7, NonPrintable: 11, Noise: 2, RateLimited: 1}
	ports := []metrics.SerialPort{
		{Port: "/dev/serial/by-id/usb-Newland_HR22-if00", Device: "kiosk-lobby", Scanner: &sc},
		{Port: "/dev/officegate/ftdi-0001", Link: &ls}, // found by provisioning: no device name
		{Port: "/dev/ttyUSB0", Device: "terminal-lobby", Link: &link.Stats{}},
	}
	if err := m.WatchSerial(func() []metrics.SerialPort { return ports }); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	wantLines(t, out,
		`officegate_serial_frames_received_total{port="/dev/officegate/ftdi-0001",device=""} 40`,
		`officegate_serial_frames_dropped_total{port="/dev/officegate/ftdi-0001",device="",reason="bad_cobs"} 2`,
		`officegate_serial_frames_dropped_total{port="/dev/officegate/ftdi-0001",device="",reason="bad_crc"} 3`,
		`officegate_serial_frames_dropped_total{port="/dev/officegate/ftdi-0001",device="",reason="malformed"} 1`,
		`officegate_serial_frames_dropped_total{port="/dev/officegate/ftdi-0001",device="",reason="unknown"} 4`,
		`officegate_serial_frames_dropped_total{port="/dev/officegate/ftdi-0001",device="",reason="overrun"} 5`,
		`officegate_serial_frames_dropped_total{port="/dev/ttyUSB0",device="terminal-lobby",reason="bad_crc"} 0`,
		`officegate_serial_lines_accepted_total{port="/dev/serial/by-id/usb-Newland_HR22-if00",device="kiosk-lobby"} 7`,
		`officegate_serial_lines_refused_total{port="/dev/serial/by-id/usb-Newland_HR22-if00",device="kiosk-lobby",reason="non_printable"} 11`,
		`officegate_serial_lines_refused_total{port="/dev/serial/by-id/usb-Newland_HR22-if00",device="kiosk-lobby",reason="noise"} 2`,
		`officegate_serial_lines_refused_total{port="/dev/serial/by-id/usb-Newland_HR22-if00",device="kiosk-lobby",reason="rate_limited"} 1`,
		`officegate_serial_lines_refused_total{port="/dev/serial/by-id/usb-Newland_HR22-if00",device="kiosk-lobby",reason="too_short"} 0`,
	)
	// Bounded: every reason of every port, nothing else.
	n := strings.Count(out, "officegate_serial_frames_dropped_total{")
	if want := 2 * len(metrics.FrameReasons); n != want {
		t.Errorf("%d dropped series, want %d", n, want)
	}
	if n := strings.Count(out, "officegate_serial_lines_refused_total{"); n != len(scanner.Reasons) {
		t.Errorf("%d refused series, want %d", n, len(scanner.Reasons))
	}
	if _, err := parseText(out); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchSerial(func() []metrics.SerialPort { return nil }); err == nil {
		t.Error("second WatchSerial accepted")
	}
}
