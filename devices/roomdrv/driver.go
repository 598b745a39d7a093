package roomdrv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/pir"
	"github.com/officegate/officegate/devices/room"
	"github.com/officegate/officegate/internal/clock"
)

// Kind is the registry kind of the driver.
const Kind = "room"

// Panel event types PanelEvent acts on ("Panel" in the package
// documentation).
const (
	PanelButton    = "room.button"
	PanelOccupancy = pir.EventOccupancy
)

// Errors of Run and Handle.
var (
	ErrRunning    = errors.New("roomdrv: already running")
	ErrNotRunning = errors.New("roomdrv: not running")
)

// PanelFunc sends command name with args to the room's panel (the device
// the configuration key panel names), e.g. "panel.display" {"line": …}. It
// returns once the panel answered, or with ctx's error once ctx is done.
type PanelFunc func(ctx context.Context, name string, args map[string]any) error

// With holds what the gateway, tests and the demo inject.
type With struct {
	Opener gpio.Opener      // opens the LED and PIR pins; nil: gpio.Open, the board's
	Clock  gpio.Clock       // times the tick, the sensor and retries; nil: the real clock
	Now    func() time.Time // the room's time; nil: devices.Options.Now, else Clock.Now
	Panel  PanelFunc        // nil: nothing is sent to the panel
}

// Driver is the driver of one meeting room.
type Driver struct {
	// Immutable.
	id     string
	set    settings
	log    zerolog.Logger
	now    func() time.Time
	clock  gpio.Clock
	open   gpio.Opener
	panel  PanelFunc   // nil: none
	sensor *pir.Sensor // nil: no PIR
	q      *queue
	kick   chan struct{} // 1-buffered: an input changed the room, refresh now

	ran            atomic.Bool
	emitted        atomic.Uint64
	lost           atomic.Uint64
	busyRetries    atomic.Uint64
	panelSent      atomic.Uint64
	panelFailed    atomic.Uint64
	panelEvents    atomic.Uint64
	panelIgnored   atomic.Uint64
	buttons        atomic.Uint64
	buttonsRefused atomic.Uint64
	ledErrors      atomic.Uint64
	saveErrors     atomic.Uint64

	// inMu serialises the calls into the room, so that the events a call
	// stages go to the queue together, after what preceded them.
	inMu    sync.Mutex
	rm      *room.Room      // guarded by inMu; nil before Run opened it and after
	stopped bool            // guarded by inMu; Run has returned
	staged  []devices.Event // guarded by inMu; what the room emitted in the current call

	mu       sync.Mutex
	online   bool          // guarded by mu
	lastSeen time.Time     // guarded by mu; the last input from the panel or sensor
	lit      room.LEDState // guarded by mu; what the pins show, "" before Run set them
}

var (
	_ devices.Driver        = (*Driver)(nil)
	_ devices.Commander     = (*Driver)(nil)
	_ devices.Statuser      = (*Driver)(nil)
	_ devices.PanelListener = (*Driver)(nil)
	_ devices.Factory       = New
)

// New is the driver's devices.Factory on the board's GPIO, with no way to
// reach the panel; the gateway uses Factory, which has one.
func New(id string, opts devices.Options) (devices.Driver, error) {
	return NewWith(id, opts, With{})
}

// Factory returns the devices.Factory of rooms whose pins open opens (nil:
// the board's), timed by clock (nil: the real clock), that reach their
// panel through send, given the panel's device id (nil: not at all).
func Factory(open gpio.Opener, clock gpio.Clock, send func(ctx context.Context, panel, name string, args map[string]any) error) devices.Factory {
	return func(id string, opts devices.Options) (devices.Driver, error) {
		var panel string
		w := With{Opener: open, Clock: clock}
		if send != nil {
			w.Panel = func(ctx context.Context, name string, args map[string]any) error {
				return send(ctx, panel, name, args)
			}
		}
		d, err := NewWith(id, opts, w)
		if err != nil {
			return nil, err
		}
		panel = d.PanelID()
		return d, nil
	}
}

// NewWith is New with injected parts. It decodes and validates the
// configuration; it opens neither the state file nor a pin: Run does.
func NewWith(id string, opts devices.Options, w With) (*Driver, error) {
	c := DefaultConfig()
	if opts.Config != nil {
		if err := opts.Config.Decode(&c); err != nil {
			return nil, err
		}
	}
	set, err := c.validate(id)
	if err != nil {
		return nil, err
	}
	d := &Driver{
		id: id, set: set, log: opts.Log, open: w.Opener, clock: w.Clock, panel: w.Panel,
		q: newQueue(), kick: make(chan struct{}, 1),
	}
	if d.open == nil {
		d.open = gpio.Open
	}
	if d.clock == nil {
		d.clock = clock.System{}
	}
	switch {
	case w.Now != nil:
		d.now = w.Now
	case opts.Now != nil:
		d.now = opts.Now
	default:
		d.now = d.clock.Now
	}
	if set.pir != nil {
		o := *set.pir
		o.Clock = w.Clock
		if d.sensor, err = pir.New(id, d.open, &o); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Describe implements devices.Driver.
func (d *Driver) Describe() devices.Description {
	return devices.Description{ID: d.id, Kind: Kind, Model: "meeting-room", Commands: slices.Clone(room.Commands)}
}

// PanelID implements devices.PanelListener.
func (d *Driver) PanelID() string { return d.set.panel }

// withRoom calls fn with the room, then queues first and the events the
// room emitted during fn, in that order.
func (d *Driver) withRoom(fn func(r *room.Room) error, first ...devices.Event) error {
	d.inMu.Lock()
	defer d.inMu.Unlock()
	if d.rm == nil {
		if d.stopped {
			return fmt.Errorf("%w: device %q", ErrNotRunning, d.id)
		}
		return fmt.Errorf("%w: device %q is starting", ErrNotRunning, d.id)
	}
	err := fn(d.rm)
	es := append(first, d.staged...)
	clear(d.staged)
	d.staged = d.staged[:0]
	if !d.q.push(es...) {
		for _, e := range es {
			d.lose(e, errQueueFull, "the event queue was full or closed")
		}
	}
	return err
}

// stage is the room's emit function; the room calls it inside withRoom.
func (d *Driver) stage(e room.Event) {
	d.staged = append(d.staged, d.event(e.Type, e.Time, e.Data))
}

// poke asks Run's loop to refresh the LED and the panel now.
func (d *Driver) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Driver) seen(at time.Time) {
	d.mu.Lock()
	if at.After(d.lastSeen) {
		d.lastSeen = at
	}
	d.mu.Unlock()
}

// Handle implements devices.Commander: the room's commands (room.Commands),
// answered as package room answers them.
func (d *Driver) Handle(ctx context.Context, c devices.Command) devices.Result {
	if !slices.Contains(room.Commands, c.Name) {
		return devices.Unsupported(c)
	}
	now := d.now()
	if c.Expired(now) {
		return devices.Result{Status: devices.StatusExpired, Error: fmt.Sprintf("roomdrv: command %q expired at %s", c.Name, c.Deadline.Format(time.RFC3339))}
	}
	var res devices.Result
	err := d.withRoom(func(r *room.Room) error {
		res = r.Handle(now, c)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			d.inMu.Lock()
			starting := !d.stopped
			d.inMu.Unlock()
			if starting {
				return devices.Result{Status: devices.StatusBusy, Error: err.Error()}
			}
		}
		return devices.Failed(err)
	}
	d.poke()
	return res
}

// PanelEvent implements devices.PanelListener. A button press is done at the time
// the panel pressed it (at; zero or later than now: now), as source
// "panel"; an occupancy report from a panel's own sensor counts as the
// PIR's. Other types are ignored, and counted.
func (d *Driver) PanelEvent(ctx context.Context, typ string, data map[string]any, at time.Time) {
	d.panelEvents.Add(1)
	now := d.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	d.seen(at)
	body, known, err := PanelData(typ, data)
	if !known || err != nil {
		d.panelIgnored.Add(1)
		if err != nil {
			d.log.Warn().Err(err).Msg("roomdrv: panel event not taken")
		}
		return
	}
	switch typ {
	case PanelButton:
		action := d.set.buttons[body["button"].(int)]
		if action == "" {
			d.panelIgnored.Add(1)
			d.log.Info().Any("button", body["button"]).Msg("roomdrv: panel button has no action")
			return
		}
		err := d.withRoom(func(r *room.Room) error { return d.press(r, action, at) })
		if err != nil {
			d.buttonsRefused.Add(1)
			d.log.Info().Err(err).Str("action", action).Msg("roomdrv: panel button refused")
		} else {
			d.buttons.Add(1)
		}
	case PanelOccupancy:
		if err := d.occupancy(body, at); err != nil {
			d.panelIgnored.Add(1)
			d.log.Warn().Err(err).Msg("roomdrv: panel occupancy not taken")
		}
	}
	d.poke()
}

// press does a button's action at at.
func (d *Driver) press(r *room.Room, action string, at time.Time) error {
	var err error
	switch action {
	case ActionCheckIn:
		_, err = r.CheckIn(at, room.SourcePanel)
	case ActionExtend:
		_, err = r.Extend(at, d.set.extendMinutes, room.SourcePanel)
	case ActionEnd:
		_, err = r.End(at, room.SourcePanel)
	case ActionBook:
		_, err = r.BookNow(at, d.set.bookMinutes, room.SourcePanel, "", "")
	}
	return err
}

// occupancy feeds a room.occupancy report's state into the room, queueing
// first (the PIR's event) before what the room emits in answer.
func (d *Driver) occupancy(data map[string]any, at time.Time, first ...devices.Event) error {
	state, _ := data["state"].(string)
	return d.withRoom(func(r *room.Room) error {
		switch pir.State(state) {
		case pir.StateOccupied:
			return r.Motion(at)
		case pir.StateVacant:
			r.Vacant(at)
			return nil
		}
		return fmt.Errorf("roomdrv: occupancy state %q is not %q or %q", state, pir.StateOccupied, pir.StateVacant)
	}, first...)
}

// sensorSink takes the PIR's transitions: each goes into the room and out
// to the gateway, in that order of effect but with the occupancy event
// queued before the room's answer to it.
type sensorSink struct{ d *Driver }

func (s sensorSink) Emit(_ context.Context, e devices.Event) error {
	s.d.seen(e.Time)
	if err := s.d.occupancy(e.Data, e.Time, e); err != nil {
		if errors.Is(err, ErrNotRunning) {
			return err
		}
		// The state could not be saved; the event still went out.
		s.d.saveErrors.Add(1)
		s.d.log.Error().Err(err).Msg("roomdrv: motion not recorded")
	}
	s.d.poke()
	return nil
}

// Status implements devices.Statuser.
func (d *Driver) Status() devices.Status {
	d.mu.Lock()
	online, last := d.online, d.lastSeen
	d.mu.Unlock()
	c := map[string]uint64{
		"events_emitted":       d.emitted.Load(),
		"events_lost":          d.lost.Load(),
		"busy_retries":         d.busyRetries.Load(),
		"panel_sends":          d.panelSent.Load(),
		"panel_sends_failed":   d.panelFailed.Load(),
		"panel_events":         d.panelEvents.Load(),
		"panel_events_ignored": d.panelIgnored.Load(),
		"buttons":              d.buttons.Load(),
		"buttons_refused":      d.buttonsRefused.Load(),
		"led_errors":           d.ledErrors.Load(),
		"state_save_failed":    d.saveErrors.Load(),
	}
	if d.sensor != nil {
		st := d.sensor.Stats()
		c["pir_motions"] = st.Motions
		c["pir_ignored_warmup"] = st.IgnoredWarmup
		c["pir_events_lost"] = st.Lost
	}
	return devices.Status{Online: online, LastSeen: last, Clock: devices.ClockSynced, Counters: c}
}

// Busy says whether a firmware update of the room's panel would disturb a
// meeting now: the room is occupied (checked in, a booking people came to
// without checking in, or motion without a booking; a no-show's room is
// free). The gateway defers rollouts to the panel while
// it is.
func (d *Driver) Busy(device string) (bool, string) {
	if device != d.set.panel || device == "" {
		return false, ""
	}
	d.mu.Lock()
	lit := d.lit
	d.mu.Unlock()
	if lit == room.LEDOccupied {
		return true, fmt.Sprintf("room %s is occupied", d.id)
	}
	return false, ""
}
