// Package door drives a door strike through a relay and watches the door's
// contact. The relay is on a GPIO pin; it reports openings, forced openings and
// doors held open.
//
// # Configuration
//
// The device's section decodes into Config:
//
//	relay_pin        = "GPIO17"  # required
//	relay_active     = "high"    # required: the level that releases the strike
//	max_pulse        = "5s"      # longest unlock (the default); at most 30s
//	contact_pin      = "GPIO4"   # optional door contact
//	contact_closed   = "low"     # required with contact_pin: the level while shut
//	contact_pull     = "up"      # "up", "down", "none"; left out: the board's
//	contact_debounce = "50ms"    # the default
//	held_open_after  = "30s"     # the default
//
// Levels have no default on purpose: a default that guessed the relay's
// polarity wrong would unlock the door whenever the gateway starts.
//
// # Fail-secure
//
// The strike's safe level is "locked": Open drives it at once, and Close and
// the cancellation of Open's context drive it again, whatever a pulse or
// mode was doing. Software covers only the time the program runs; at boot
// and after a crash the pin is an input and the board's pull sets the line.
// Choose the pin so that its reset pull is the locked level (a module that
// energises on High on GPIO 9–27, pulled down; one that energises on Low on
// GPIO 0–8, pulled up; never GPIO14), and use a fail-secure strike, so that
// power loss leaves the door locked too. See package gpio for the wiring.
// Fire-alarm release stays hard-wired, outside the gateway.
//
// # Unlocking
//
// Pulse releases the strike for a given time (0: max_pulse) and returns once
// it is released; the Door locks it again when the time is up. A longer
// request than max_pulse is an error (ErrPulseTooLong), never quietly
// shortened: a caller asking for a minute has a bug worth seeing, and a
// door that should stand open is a mode. While the strike is released,
// Pulse returns ErrBusy, so a retried command cannot stretch an unlock.
//
// Modes: normal (locked, pulses allowed), held_open (released until the
// mode changes: reception hours; pulses return ErrBusy) and locked (pulses
// refused with ErrLocked: lockdown). Changing to normal or locked locks the
// strike at once, ending a running pulse.
//
// # The contact
//
// The contact is debounced (package gpio) and reported on Events, one Event
// per settled movement, never per bounce:
//
//	open       opened while the strike was released (a pulse or held_open)
//	forced     opened while the strike was locked: an alarm
//	held_open  still open held_open_after after it opened (once per opening;
//	           not in held_open mode, where an open door is the intent)
//	closed     shut again
//
// An opening's time is when the contact first moved, before debouncing
// settled, and "forced" is decided at that time: a door pushed open in the
// last moments of a pulse is not forced although the strike has relocked by
// the time the contact settles, nor made forced by the next pulse beginning
// before it settles. A pulse ends at its time, however late the scheduler
// runs the relock: a door opened after that is forced. A door already open at start-up is open
// without an event (nothing moved), and counts toward held_open from then.
package door
