package roomdrv

import (
	"context"
	"sync"
	"time"

	"github.com/officegate/officegate/devices/room"
)

// Commands sent to the panel ("Panel" in the package documentation).
const (
	PanelDisplay = "panel.display" // {"line": "Aurora · free until 14:00"}
	PanelLED     = "panel.led"     // {"state": "available"}
)

const (
	// panelTimeout bounds one call of the Panel hook: a link round trip
	// takes well under a second, and a stuck one must not hold the next
	// line back for long. It is a guard on real I/O, so real time.
	panelTimeout = 10 * time.Second
	// panelRefresh is how often an unchanged line and LED are sent again,
	// so a panel that restarted (and lost them) shows them again.
	panelRefresh = 10 * time.Minute
)

// panelSender sends the panel the latest line and LED state from its own
// goroutine, so a slow or failing panel never holds up events or the LEDs.
// Only the latest wanted state is kept: a line superseded while a send was
// under way is never sent.
type panelSender struct {
	mu    sync.Mutex
	line  string        // guarded by mu; wanted
	led   room.LEDState // guarded by mu; wanted
	ready chan struct{} // 1-buffered: the wanted state was set
}

func newPanelSender() *panelSender { return &panelSender{ready: make(chan struct{}, 1)} }

// want sets what the panel should show.
func (p *panelSender) want(line string, led room.LEDState) {
	p.mu.Lock()
	p.line, p.led = line, led
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// run sends what is wanted whenever it differs from what was sent, or was
// sent panelRefresh ago, until ctx ends. A failed send is tried again at the
// next want (every tick).
func (p *panelSender) run(ctx context.Context, d *Driver) {
	var (
		line     string
		led      room.LEDState
		lineAt   time.Time // when line was sent; zero: never, or failed
		ledAt    time.Time
		failures int // in a row, to log the first only
	)
	send := func(name string, args map[string]any) bool {
		cctx, cancel := context.WithTimeout(ctx, panelTimeout)
		err := d.panel(cctx, name, args)
		cancel()
		if err == nil {
			d.panelSent.Add(1)
			if failures > 0 {
				d.log.Info().Int("failures", failures).Msg("roomdrv: panel reachable again")
			}
			failures = 0
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d.panelFailed.Add(1)
		failures++
		ev := d.log.Debug()
		if failures == 1 {
			ev = d.log.Warn()
		}
		ev.Err(err).Str("panel", d.set.panel).Str("command", name).Msg("roomdrv: panel command failed")
		return false
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.ready:
		}
		p.mu.Lock()
		wantLine, wantLED := p.line, p.led
		p.mu.Unlock()
		now := d.clock.Now()
		if wantLine != line || lineAt.IsZero() || now.Sub(lineAt) >= panelRefresh {
			lineAt = time.Time{}
			if send(PanelDisplay, map[string]any{"line": wantLine}) {
				line, lineAt = wantLine, now
			}
		}
		if wantLED != led || ledAt.IsZero() || now.Sub(ledAt) >= panelRefresh {
			ledAt = time.Time{}
			if send(PanelLED, map[string]any{"state": string(wantLED)}) {
				led, ledAt = wantLED, now
			}
		}
	}
}

// sep separates the parts of a display line.
const sep = " · "

// line is what the panel shows at now for LED state led: the room's name
// and the state in a few words, with times of day in the configured zone.
// holder is the booking holding the room, if any (room.Room.Holder): a
// no-show booking does not, so the room shows free, or in use with motion.
// Titles and organizers stay off it: the panel faces the corridor.
func (d *Driver) line(now time.Time, led room.LEDState, s room.Schedule, holder room.Booking, held bool) string {
	hm := func(t time.Time) string { return t.In(d.set.loc).Format("15:04") }
	name := d.set.name
	switch led {
	case room.LEDPending:
		if held {
			return name + sep + "booked " + hm(holder.Start) + "–" + hm(holder.End) + sep + "please check in"
		}
		return name + sep + "booked" + sep + "please check in"
	case room.LEDOccupied:
		if held {
			return name + sep + "busy until " + hm(holder.End)
		}
		return name + sep + "in use"
	case room.LEDAvailable:
		y, m, dd := now.In(d.set.loc).Date()
		for _, b := range s.Bookings {
			if !b.Start.After(now) {
				continue
			}
			if by, bm, bd := b.Start.In(d.set.loc).Date(); by == y && bm == m && bd == dd {
				return name + sep + "free until " + hm(b.Start)
			}
			break
		}
		return name + sep + "free"
	}
	if s.Version == 0 {
		return name + sep + "waiting for the schedule"
	}
	return name + sep + "offline"
}
