package door

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/devices/gpio"
)

// watchContact opens the contact pin, reads its settled level and starts
// the goroutine that turns its edges into Events.
func (d *Door) watchContact(pins gpio.Opener, cfg Config) error {
	p, err := pins(cfg.ContactPin)
	if err != nil {
		return fmt.Errorf("door: contact_pin %q: %w", cfg.ContactPin, err)
	}
	closedLevel, _ := parseLevel(cfg.ContactClosed)
	pull, _ := parsePull(cfg.ContactPull)
	in, err := gpio.NewInput(p, &gpio.InputOpts{Pull: pull, Debounce: cfg.ContactDebounce, Clock: cfg.Clock})
	if err != nil {
		return fmt.Errorf("door: contact_pin %q: %w", cfg.ContactPin, err)
	}
	edges, err := in.Run(d.ctx)
	if err != nil {
		return fmt.Errorf("door: contact_pin %q: %w", cfg.ContactPin, err)
	}
	d.closedLevel = closedLevel
	open := in.Level() != closedLevel
	var held <-chan time.Time
	stopHeld := func() {}
	d.mu.Lock()
	d.state = StateClosed
	if open {
		// Open at start-up: not an event (nothing moved), but the
		// held-open clock runs from now.
		d.state = StateOpen
		held, stopHeld = gpio.After(d.clock, d.heldOpenAfter)
	}
	d.mu.Unlock()
	d.wg.Add(1)
	go d.watch(edges, open, held, stopHeld)
	return nil
}

// watch turns settled contact edges into Events, and arms the held-open
// timer while the door stands open.
func (d *Door) watch(edges <-chan gpio.Edge, open bool, held <-chan time.Time, stopHeld func()) {
	defer d.wg.Done()
	defer close(d.events)
	defer func() { stopHeld() }()
	arm := func(openedAt time.Time) {
		stopHeld()
		held, stopHeld = gpio.After(d.clock, d.heldOpenAfter-d.clock.Now().Sub(openedAt))
	}
	for {
		select {
		case e, ok := <-edges:
			if !ok {
				return // the Input ended: the Door's context is done
			}
			nowOpen := e.Level != d.closedLevel
			if nowOpen == open {
				continue // not a transition
			}
			open = nowOpen
			var ev Event
			if open {
				arm(e.Time)
				ev = Event{State: StateOpen, Time: e.Time}
				if d.forced(e.Time) {
					ev.State = StateForced
				}
			} else {
				stopHeld()
				held, stopHeld = nil, func() {}
				ev = Event{State: StateClosed, Time: e.Time}
			}
			d.emit(ev)
		case t := <-held:
			held, stopHeld = nil, func() {}
			if d.Mode() == ModeHeldOpen {
				continue // held open on purpose
			}
			d.emit(Event{State: StateHeldOpen, Time: t})
		case <-d.ctx.Done():
			for range edges {
				// Wait for the Input's goroutine: it closes edges within
				// its poll interval.
			}
			return
		}
	}
}

// forced reports whether the strike was locked at t, when the contact
// opened: not released by a pulse or held_open mode then. The edge's time
// is when the contact first moved, so a door pushed open in the last
// moments of a pulse is not forced even though debouncing settles after
// the strike relocked; and it is judged by the releases around t, not by
// the strike's state now, since a pulse that began while the contact was
// settling says nothing about the moment it moved.
func (d *Door) forced(t time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settle()
	for _, r := range d.releases {
		if !r.start.After(t) && (r.end.IsZero() || !r.end.Before(t)) {
			return false
		}
	}
	return true
}

// emit records ev as the current state and sends it, giving up when the
// Door's context ends.
func (d *Door) emit(ev Event) {
	d.mu.Lock()
	d.state = ev.State
	d.mu.Unlock()
	select {
	case d.events <- ev:
	case <-d.ctx.Done():
	}
}
