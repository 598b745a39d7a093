package metrics

import (
	"slices"
	"strings"

	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
)

// SerialPort is one serial port's counters as a scrape reads them: a
// firmware-bridge link's or a scanner's (one of the two is set).
type SerialPort struct {
	// Port is the port's path, as configured or as provisioning found it.
	Port string
	// Device is the configured device id; "" for a port provisioning found
	// (its registry id is not a configured name).
	Device  string
	Link    *link.Stats     // a link's counters; nil for a scanner
	Scanner *scanner.Counts // a scanner's line counters; nil for a link
}

// SerialSource lists the gateway's serial ports at each scrape. It must be
// quick and must not block: it runs in the /metrics handler.
type SerialSource func() []SerialPort

// FrameReasons are the reason label values of
// officegate_serial_frames_dropped_total, in the order FrameDrops returns
// them: the frame reader's (PROTOCOL.md §2.6, in snake_case), then bodies
// that failed to decode (malformed), frames of a type not known or not
// expected (unknown) and frames dropped because a queue inside the link was
// full (overrun). A fixed set: a bounded label.
var FrameReasons = func() []string {
	var out []string
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		out = append(out, strings.ReplaceAll(r.String(), " ", "_"))
	}
	return append(out, "malformed", "unknown", "overrun")
}()

// FrameDrops returns a link's dropped frames in the order of FrameReasons.
func FrameDrops(s link.Stats) []uint64 {
	out := slices.Clone(s.Dropped[1:])
	return append(out, s.Malformed, s.Unknown, s.Overruns)
}

var (
	dFramesIn = desc{fqName("serial", "frames_received_total"),
		"Valid frames received on a firmware-bridge link's port.", typeCounter}
	dFramesDropped = desc{fqName("serial", "frames_dropped_total"),
		"Frames a firmware-bridge link's port dropped, by reason: oversize, bad_cobs, short, bad_crc, bad_version, bad_length, bad_mac (the frame reader's), malformed (a body that does not decode), unknown (a type not known or not expected), overrun (a queue inside the link full).", typeCounter}
	dLinesAccepted = desc{fqName("serial", "lines_accepted_total"),
		"Scans a scanner's port delivered to its driver.", typeCounter}
	dLinesRefused = desc{fqName("serial", "lines_refused_total"),
		"Lines a scanner's port refused, by reason: too_long, non_printable, empty, unterminated (the line rules), too_short, bad_alphabet, noise, rate_limited (the driver's plausible-scan rules).", typeCounter}
	serialDesc = []desc{dFramesIn, dFramesDropped, dLinesAccepted, dLinesRefused}
)

// WatchSerial registers a collector that reads src at each scrape. Call it
// once; a second call is refused (errDuplicate). Series carry port and
// device labels (a reason label for the drops), every reason of a port
// present from its first scrape, so that a rate starts at the first drop.
func (m *Metrics) WatchSerial(src SerialSource) error {
	names := make([]string, len(serialDesc))
	for i, d := range serialDesc {
		names[i] = d.name
	}
	return m.reg.register(funcCollector(func(dst []family) []family { return collectSerial(dst, src()) }), names...)
}

func collectSerial(dst []family, ports []SerialPort) []family {
	ports = slices.Clone(ports)
	slices.SortFunc(ports, func(a, b SerialPort) int {
		if c := strings.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		return strings.Compare(a.Device, b.Device)
	})
	in, dropped := family{desc: dFramesIn}, family{desc: dFramesDropped}
	accepted, refused := family{desc: dLinesAccepted}, family{desc: dLinesRefused}
	for _, p := range ports {
		at := []labelPair{{"device", p.Device}}
		if p.Link != nil {
			in.samples = append(in.samples, sample{label: "port", value: p.Port, pairs: at, v: float64(p.Link.FramesIn)})
			for i, n := range FrameDrops(*p.Link) {
				dropped.samples = append(dropped.samples, sample{label: "port", value: p.Port,
					pairs: append(slices.Clip(at), labelPair{"reason", FrameReasons[i]}), v: float64(n)})
			}
		}
		if p.Scanner != nil {
			accepted.samples = append(accepted.samples, sample{label: "port", value: p.Port, pairs: at, v: float64(p.Scanner.Accepted)})
			for i, n := range p.Scanner.ByReason() {
				refused.samples = append(refused.samples, sample{label: "port", value: p.Port,
					pairs: append(slices.Clip(at), labelPair{"reason", scanner.Reasons[i]}), v: float64(n)})
			}
		}
	}
	return append(dst, in, dropped, accepted, refused)
}
