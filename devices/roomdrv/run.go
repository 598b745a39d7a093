package roomdrv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/room"
)

// Run implements devices.Driver: it opens the state file and the pins,
// then ticks the room every tick and after every input, emits its events
// in order, drives the LEDs and keeps the panel's display current, until
// ctx is cancelled. It returns an error for what needs a person: a state
// file that cannot be read (room.ErrCorrupt), a pin that cannot be opened.
// The LEDs are dark once it returns.
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	if !d.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: device %q", ErrRunning, d.id)
	}
	rm, err := room.Open(d.set.room, d.stage)
	if err != nil {
		d.stop()
		return fmt.Errorf("roomdrv: device %q: %w", d.id, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	leds, err := d.openLEDs(runCtx)
	if err != nil {
		d.stop()
		return err
	}

	var wg sync.WaitGroup
	wg.Go(func() { d.emitLoop(runCtx, sink) })
	sensorErr := make(chan error, 1)
	if d.sensor != nil {
		wg.Go(func() { sensorErr <- d.sensor.Run(runCtx, sensorSink{d}) })
	}
	var ps *panelSender
	if d.panel != nil {
		ps = newPanelSender()
		wg.Go(func() { ps.run(runCtx, d) })
	}
	d.inMu.Lock()
	d.rm = rm
	d.inMu.Unlock()
	d.setOnline(true)

	err = d.loop(runCtx, leds, ps, sensorErr)

	// Inputs first, so nothing reaches the room once the emitter stops.
	d.setOnline(false)
	d.stop()
	cancel()
	wg.Wait()
	for _, o := range leds {
		if o != nil {
			o.Close() // the safe level: dark (the context already drove it)
		}
	}
	return err
}

// stop ends the room's inputs for good.
func (d *Driver) stop() {
	d.inMu.Lock()
	d.rm, d.stopped = nil, true
	d.inMu.Unlock()
}

// loop refreshes the room every tick and whenever poked.
func (d *Driver) loop(ctx context.Context, leds [3]*gpio.Output, ps *panelSender, sensorErr <-chan error) error {
	for {
		// The next tick counts from the time read before this refresh, so a
		// clock that jumps meanwhile (a test's, or NTP's) brings it at once.
		t := d.clock.Now()
		d.refresh(leds, ps)
		timer, stop := timerAt(d.clock, t.Add(d.set.tick))
		select {
		case <-ctx.Done():
			stop()
			return nil
		case err := <-sensorErr:
			stop()
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("the sensor stopped")
			}
			return fmt.Errorf("roomdrv: device %q: %w", d.id, err)
		case <-timer:
		case <-d.kick:
			stop()
		}
	}
}

// timerAt returns a timer that fires once clock reaches deadline (at once
// if it has). gpio.Clock arms by duration, so a clock that moves between
// reading it and arming would push the deadline back by the move: the timer
// is armed again until the clock stood still (within a millisecond, which
// a real clock's reads stay within and a test's manual steps do not).
func timerAt(clock gpio.Clock, deadline time.Time) (<-chan time.Time, func()) {
	for {
		now := clock.Now()
		ch, stop := gpio.After(clock, deadline.Sub(now))
		if moved := clock.Now().Sub(now); moved < time.Millisecond {
			return ch, stop
		}
		stop()
	}
}

// refresh ticks the room at now, lights the LEDs for its state and tells
// the panel what to show.
func (d *Driver) refresh(leds [3]*gpio.Output, ps *panelSender) {
	now := d.now()
	var (
		led  room.LEDState
		line string
	)
	err := d.withRoom(func(r *room.Room) error {
		err := r.Tick(now)
		led = r.LED(now)
		holder, held := r.Holder(now)
		line = d.line(now, led, r.Schedule(), holder, held)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return
		}
		// The suggestions are tried again next tick; the state file is
		// what it was.
		d.saveErrors.Add(1)
		d.log.Error().Err(err).Msg("roomdrv: tick not saved")
	}
	d.light(leds, led)
	if ps != nil {
		ps.want(line, led)
	}
}

// openLEDs opens the configured LED pins, dark.
func (d *Driver) openLEDs(ctx context.Context) ([3]*gpio.Output, error) {
	var leds [3]*gpio.Output
	for i, name := range d.set.leds {
		if name == "" {
			continue
		}
		err := func() error {
			pin, err := d.open(name)
			if err != nil {
				return err
			}
			leds[i], err = gpio.NewOutput(ctx, pin, !d.set.ledActive, &gpio.OutputOpts{Clock: d.clock})
			return err
		}()
		if err != nil {
			for _, o := range leds {
				if o != nil {
					o.Close()
				}
			}
			return leds, fmt.Errorf("roomdrv: device %q: option %s: pin %q: %w", d.id, ledKeys[i], name, err)
		}
	}
	return leds, nil
}

// lights returns which LEDs show state l. Without a yellow LED, pending
// lights green and red together, which a red/green bi-colour LED shows as
// amber; offline lights nothing.
func (d *Driver) lights(l room.LEDState) [3]bool {
	switch l {
	case room.LEDAvailable:
		return [3]bool{ledGreen: true}
	case room.LEDPending:
		if d.set.leds[ledYellow] == "" {
			return [3]bool{ledGreen: true, ledRed: true}
		}
		return [3]bool{ledYellow: true}
	case room.LEDOccupied:
		return [3]bool{ledRed: true}
	}
	return [3]bool{}
}

// light sets the pins for l if they show something else; a pin that fails
// is tried again at the next refresh.
func (d *Driver) light(leds [3]*gpio.Output, l room.LEDState) {
	d.mu.Lock()
	lit := d.lit
	d.mu.Unlock()
	if l == lit {
		return
	}
	on := d.lights(l)
	ok := true
	for i, o := range leds {
		if o == nil {
			continue
		}
		if err := o.Set(on[i]); err != nil {
			ok = false
			d.ledErrors.Add(1)
			d.log.Error().Err(err).Str("pin", d.set.leds[i]).Msg("roomdrv: LED not set")
		}
	}
	if !ok {
		l = ""
	}
	d.mu.Lock()
	d.lit = l
	d.mu.Unlock()
}

func (d *Driver) setOnline(on bool) {
	d.mu.Lock()
	d.online = on
	if !on {
		d.lit = ""
	}
	d.mu.Unlock()
}
