package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/gateway/metrics"
)

// scannerDriver is a driver reading a scanner on a serial port (the kiosk):
// its refused lines are serial errors like a link's dropped frames.
type scannerDriver interface {
	Scanner() (port string, c scanner.Counts)
}

// Serial error reporting: how often the counters are read for the log, and
// at most how often a port's errors are logged. A port flooded with garbage
// makes thousands of drops a second; one line a minute names it, says how
// many and why, and the metrics carry the rest.
const (
	serialPoll     = 2 * time.Second
	serialLogEvery = time.Minute
)

// watchSerial exports every serial port's error counters on /metrics (the
// configured links, the ports provisioning finds, the drivers' scanners)
// and logs them, rate-limited, until ctx ends. Its goroutine is in wg.
func watchSerial(ctx context.Context, wg *sync.WaitGroup, m *metrics.Metrics, o Options, g *Gateway, log zerolog.Logger) {
	ports := func() []metrics.SerialPort { return serialPorts(o, g) }
	if err := m.WatchSerial(ports); err != nil {
		log.Error().Err(err).Msg("serial port metrics not exported")
	}
	sl := &serialLog{now: time.Now, every: serialLogEvery, log: log.With().Str("part", "serial").Logger()}
	if o.serialNow != nil {
		sl.now = o.serialNow
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(serialPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sl.check(ports())
			}
		}
	}()
}

// serialPorts reads the counters of every serial port of the gateway.
func serialPorts(o Options, g *Gateway) []metrics.SerialPort {
	var out []metrics.SerialPort
	for _, d := range o.Devices {
		if lg := g.Links[d.ID]; lg != nil {
			s := lg.Stats()
			out = append(out, metrics.SerialPort{Port: d.Port, Device: d.ID, Link: &s})
		}
	}
	g.links.mu.Lock()
	for port, lg := range g.links.ports {
		s := lg.Stats()
		out = append(out, metrics.SerialPort{Port: port, Link: &s})
	}
	g.links.mu.Unlock()
	for _, d := range o.Drivers {
		if sd, ok := d.(scannerDriver); ok {
			port, c := sd.Scanner()
			out = append(out, metrics.SerialPort{Port: port, Device: d.Describe().ID, Scanner: &c})
		}
	}
	return out
}

// serialLog logs a port's serial errors at most once per every: the first
// errors at once, then, while they go on, one line per window with how many
// came since the last line and why.
type serialLog struct {
	now   func() time.Time
	every time.Duration
	log   zerolog.Logger
	last  map[string]serialLogged // by port; owned by the caller of check
}

type serialLogged struct {
	at     time.Time
	counts []uint64 // by reason, as last logged
}

// check logs the ports whose error counters moved since their last line, if
// that line is at least every old.
func (l *serialLog) check(ports []metrics.SerialPort) {
	if l.last == nil {
		l.last = map[string]serialLogged{}
	}
	now := l.now()
	for _, p := range ports {
		reasons, counts := serialErrors(p)
		prev, ok := l.last[p.Port]
		if ok && now.Sub(prev.at) < l.every {
			continue
		}
		if len(prev.counts) != len(counts) {
			prev.counts = make([]uint64, len(counts)) // first look, or the port changed kind
		}
		var total uint64
		by := zerolog.Dict()
		for i, n := range counts {
			if d := n - prev.counts[i]; n > prev.counts[i] {
				total += d
				by.Uint64(reasons[i], d)
			}
		}
		if total == 0 {
			continue
		}
		what := "frames dropped"
		if p.Scanner != nil {
			what = "lines refused"
		}
		ev := l.log.Warn().Str("port", p.Port)
		if p.Device != "" {
			ev = ev.Str("device", p.Device)
		}
		ev.Uint64("count", total).Dict("reasons", by).Dur("window", l.every).
			Msg("serial errors: " + what + " on the port (logged at most once per window; officegate_serial_* metrics count every one)")
		l.last[p.Port] = serialLogged{at: now, counts: counts}
	}
}

// serialErrors returns the counters a port's log line reports, by reason:
// a link's dropped frames; a scanner's lines refused for their content or
// rate. A scanner's empty and unterminated lines are left out: an extra
// suffix configured on the scanner, or an unplug mid-scan (logged as such),
// is no noise.
func serialErrors(p metrics.SerialPort) ([]string, []uint64) {
	if p.Link != nil {
		return metrics.FrameReasons, metrics.FrameDrops(*p.Link)
	}
	if p.Scanner == nil {
		return nil, nil
	}
	var names []string
	var counts []uint64
	for i, n := range p.Scanner.ByReason() {
		if r := scanner.Reasons[i]; r != "empty" && r != "unterminated" {
			names, counts = append(names, r), append(counts, n)
		}
	}
	return names, counts
}
