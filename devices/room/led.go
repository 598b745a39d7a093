package room

import (
	"fmt"
	"time"
)

// LEDState is what the room's status light shows.
type LEDState string

// LED states, and the colour each lights (Robin's convention).
const (
	LEDAvailable LEDState = "available" // green: free now
	LEDPending   LEDState = "pending"   // yellow: booked, in the check-in window, not checked in
	LEDOccupied  LEDState = "occupied"  // red: checked in, reserved, or in use without a booking
	LEDOffline   LEDState = "offline"   // dark: no schedule, or the booking system is out of reach
)

// Color returns the LED colour of s: "green", "yellow", "red", or "" (off).
func (s LEDState) Color() string {
	switch s {
	case LEDAvailable:
		return "green"
	case LEDPending:
		return "yellow"
	case LEDOccupied:
		return "red"
	}
	return ""
}

func (s LEDState) valid() bool { return s.Color() != "" || s == LEDOffline }

// Override is an LED state set by room.led_set, in force until Until.
type Override struct {
	State LEDState  `json:"state"`
	Until time.Time `json:"until"`
}

// led derives the LED state at now; r.mu must be held. In order: an
// override in force; offline; the booking that holds the room (holder);
// without one, occupied while the sensor reads motion, else available.
func (r *Room) led(now time.Time) LEDState {
	if o := r.st.Override; o != nil && now.Before(o.Until) {
		return o.State
	}
	if !r.online || r.st.Schedule.Version == 0 {
		return LEDOffline
	}
	if _, l, ok := r.holder(now); ok {
		return l
	}
	if r.occupied {
		return LEDOccupied
	}
	return LEDAvailable
}

// holder returns the booking that holds the room at now and the LED state
// it gives; r.mu must be held. A booking holds the room while it is in
// progress or its check-in window is open: checked in, occupied; in its
// window, pending; past its window unchecked, occupied if it had presence
// (people came and did not check in: still reserved until the booking
// system releases it). A booking past its window with neither check-in nor
// presence — a no-show, suggested for release at the first Tick after the
// window — no longer holds the room: it shows as free (or in use, with
// motion) until the booking system releases it or it ends.
func (r *Room) holder(now time.Time) (Booking, LEDState, bool) {
	for _, b := range r.st.Schedule.Bookings {
		open, close := r.window(b)
		inProgress := !now.Before(b.Start) && now.Before(b.End)
		inWindow := !now.Before(open) && !now.After(close)
		if !inProgress && !inWindow {
			continue
		}
		if _, ok := r.st.CheckIns[b.ID]; ok {
			return b, LEDOccupied, true
		}
		if inWindow {
			return b, LEDPending, true
		}
		if _, ok := r.st.Present[b.ID]; ok || r.occupiedAt(close) {
			return b, LEDOccupied, true
		}
	}
	return Booking{}, "", false
}

// Holder returns the booking that holds the room at now (see LED), if any:
// none while the room is free, in use without a booking, or its booking
// was a no-show.
func (r *Room) Holder(now time.Time) (Booking, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _, ok := r.holder(now)
	return b, ok
}

// LED returns the LED state at now.
func (r *Room) LED(now time.Time) LEDState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.led(now)
}

// SetLED overrides the LED with state until until (zero: for
// DefaultLEDOverride); state "auto" ends an override. It emits room.led
// when the shown state changes.
func (r *Room) SetLED(now time.Time, state string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.st.clone()
	if state == "auto" {
		next.Override = nil
	} else {
		s := LEDState(state)
		if !s.valid() {
			return fmt.Errorf("%w: LED state %q is not available, pending, occupied, offline or auto", ErrBadRequest, state)
		}
		if until.IsZero() {
			until = now.Add(DefaultLEDOverride)
		}
		if !until.After(now) || until.Sub(now) > MaxLEDOverride {
			return fmt.Errorf("%w: LED override until %s is not within %v from now", ErrBadRequest, until.Format(time.RFC3339), MaxLEDOverride)
		}
		next.Override = &Override{State: s, Until: until}
	}
	return r.commit(now, next, nil)
}
