package pir

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
)

// timeLayout is the contract's UTC-millisecond form for times inside data.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Run implements devices.Driver: it opens the pin, ignores it for the
// warm-up, then emits a room.occupancy event at every transition until ctx
// is cancelled. It returns an error only when the pin cannot be opened or
// configured: a GPIO line does not come and go, so that is configuration.
func (s *Sensor) Run(ctx context.Context, sink devices.Sink) error {
	if !s.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: device %q", ErrRunning, s.id)
	}
	pin, err := s.open(s.opts.Pin)
	if err != nil {
		return fmt.Errorf("pir: device %q: open pin %q: %w", s.id, s.opts.Pin, err)
	}
	in, err := gpio.NewInput(pin, &gpio.InputOpts{Pull: s.opts.Pull, Debounce: s.opts.Debounce, Clock: s.opts.Clock})
	if err != nil {
		return fmt.Errorf("pir: device %q: %w", s.id, err)
	}
	inCtx, stopInput := context.WithCancel(ctx)
	edges, err := in.Run(inCtx)
	if err != nil {
		stopInput()
		return fmt.Errorf("pir: device %q: %w", s.id, err)
	}
	s.setOnline(true)
	defer func() {
		stopInput()
		for range edges { // the input's goroutine closes it when it ends
		}
		s.setOnline(false)
	}()
	l := &loop{s: s, sink: sink, in: in, active: s.opts.active()}
	l.run(ctx, edges)
	return nil
}

// loop is Run's state; only Run's goroutine touches it.
type loop struct {
	s      *Sensor
	sink   devices.Sink
	in     *gpio.Input
	active gpio.Level

	warmed    bool
	warmEnd   time.Time
	releaseAt time.Time        // when the running hold expires
	hold      <-chan time.Time // nil: no hold running
	stopHold  func()
}

func (l *loop) run(ctx context.Context, edges <-chan gpio.Edge) {
	clk := l.s.opts.Clock
	l.stopHold = func() {}
	defer func() { l.stopHold() }()
	l.warmEnd = clk.Now()
	var warm <-chan time.Time
	if w := l.s.opts.Warmup; w != NoWarmup {
		l.warmEnd = l.warmEnd.Add(w)
		ch, stop := gpio.After(clk, w)
		defer stop()
		warm = ch
	} else {
		l.endWarmup(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-warm:
			warm = nil
			l.endWarmup(ctx)
		case <-l.hold:
			// Edges already waiting happened before the timer fired was
			// seen: a motion among them cancels this hold.
			fired := l.hold
			if !l.drain(ctx, edges) {
				return
			}
			if l.hold != fired {
				continue
			}
			l.hold = nil
			l.stopHold = func() {}
			l.transition(ctx, StateVacant, l.releaseAt)
		case e, ok := <-edges:
			if !ok {
				return
			}
			l.edge(ctx, e)
		}
	}
}

// drain handles the edges waiting on the channel; false if it closed.
func (l *loop) drain(ctx context.Context, edges <-chan gpio.Edge) bool {
	for {
		select {
		case e, ok := <-edges:
			if !ok {
				return false
			}
			l.edge(ctx, e)
		default:
			return true
		}
	}
}

// endWarmup reports the state the level shows when the warm-up ends: a
// sensor held active then is motion at that moment.
func (l *loop) endWarmup(ctx context.Context) {
	l.warmed = true
	if l.in.Level() == l.active {
		l.motion(ctx, l.warmEnd)
		return
	}
	l.transition(ctx, StateVacant, l.warmEnd)
}

func (l *loop) edge(ctx context.Context, e gpio.Edge) {
	l.s.mu.Lock()
	l.s.lastSeen = e.Time
	state := l.s.state
	l.s.mu.Unlock()
	if e.Level == l.active {
		if !l.warmed || e.Time.Before(l.warmEnd) {
			l.s.ignored.Add(1)
			return
		}
		l.motion(ctx, e.Time)
		return
	}
	if !l.warmed || state != StateOccupied {
		return
	}
	// The output fell: motion ended now, and the hold counts from here (an
	// HC-SR501 in retrigger mode keeps its output active while motion
	// goes on, so a long active period is motion all along).
	l.stopHold()
	l.releaseAt = e.Time.Add(l.s.opts.Hold)
	l.hold, l.stopHold = gpio.After(l.s.opts.Clock, l.releaseAt.Sub(l.s.opts.Clock.Now()))
}

// motion counts a motion that began at and occupies the room if it was not.
func (l *loop) motion(ctx context.Context, at time.Time) {
	l.s.motions.Add(1)
	l.stopHold()
	l.hold, l.stopHold = nil, func() {}
	l.s.mu.Lock()
	l.s.lastMotion = at
	state := l.s.state
	l.s.mu.Unlock()
	if state != StateOccupied {
		l.transition(ctx, StateOccupied, at)
	}
}

// transition records the new state and emits it.
func (l *loop) transition(ctx context.Context, st State, at time.Time) {
	l.s.mu.Lock()
	prev := l.s.state
	l.s.state = st
	last := l.s.lastMotion
	l.s.mu.Unlock()
	data := map[string]any{"state": string(st)}
	if prev == StateUnknown {
		data["initial"] = true // the first report after the warm-up
	}
	if st == StateVacant && !last.IsZero() {
		data["last_motion"] = last.UTC().Format(timeLayout)
		data["hold_s"] = int64(l.s.opts.Hold / time.Second)
	}
	l.s.deliver(ctx, l.sink, devices.Event{
		Device: l.s.id, Type: EventOccupancy, Time: at, Clock: devices.ClockSynced, Data: data,
	})
}

// deliver emits e, retrying a busy sink for BusyRetry of waiting, and counts
// it lost otherwise. A lost transition is not re-sent: the state it carried
// is reported again by the next one.
func (s *Sensor) deliver(ctx context.Context, sink devices.Sink, e devices.Event) {
	err := devices.EmitRetry(ctx, sink, e, s.opts.BusyRetry, func(d time.Duration) (<-chan time.Time, func()) { return gpio.After(s.opts.Clock, d) }, func() { s.busyRetries.Add(1) })
	switch {
	case err == nil:
		s.emitted.Add(1)
	case ctx.Err() != nil:
		s.lose(e, err, "the gateway stopped")
	case errors.Is(err, devices.ErrBusy):
		s.lose(e, err, "the sink stayed busy")
	default:
		s.lose(e, err, "the sink refused it")
	}
}

func (s *Sensor) lose(e devices.Event, err error, why string) {
	n := s.lost.Add(1)
	s.log.Error().Err(err).Str("state", fmt.Sprint(e.Data["state"])).Time("at", e.Time).
		Uint64("events_lost", n).Msg("pir: occupancy transition lost: " + why)
}

func (s *Sensor) setOnline(on bool) {
	s.mu.Lock()
	s.online = on
	s.mu.Unlock()
}
