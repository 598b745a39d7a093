// Package room owns a meeting room's bookings, check-ins, release suggestions
// and status light. That state persists across restarts.
//
// It is pure logic: no GPIO, no MQTT. The gateway feeds a Room the booking
// system's schedule (room.schedule_set), the panel's buttons, the PIR's
// room.occupancy events (package pir) and the time, and publishes the
// events the Room emits. Every input takes the time explicitly (Tick, and
// now on each call), so a test drives a Room through a day without a clock.
//
// # Configuration
//
// The keys the gateway exposes for a meeting-room panel, and where each
// goes:
//
//	pir_pin        = "GPIO23"  # package pir: the PIR's output
//	pir_active     = "high"    # package pir: "high" or "low"
//	hold           = "5m"      # package pir: occupied until this long after the last motion (1s–1h)
//	warmup         = "60s"     # package pir: motion ignored after start
//	checkin_before = "5m"      # Config.CheckinBefore: check-in opens this long before a start (0–1h)
//	checkin_after  = "10m"     # Config.CheckinAfter: and closes this long after it (0–1h)
//	led_pins       = { green = "GPIO5", yellow = "GPIO6", red = "GPIO13" }  # LEDState.Color → pin
//	button_pins    = { checkin = "GPIO17", extend = "GPIO27", end = "GPIO22", book = "GPIO24" }
//	extend_minutes = 15        # what the extend button asks for (1–240)
//	book_minutes   = 30        # what the book-now button asks for (1–240)
//	state_file     = "/var/lib/officegate/rooms/<device>.json"  # Config.StatePath
//
// Keep the hold no longer than the check-in window (5 min against 15 by
// default): see "Presence".
//
// # Check-in window and release suggestions
//
// A booking's check-in window runs from CheckinBefore before its start to
// CheckinAfter after it (or to its end, if sooner), both instants included.
// CheckIn ("panel" button or "command") checks in the booking whose window
// holds now. On the first Tick after a window closed, a booking that is
// still running, was not checked in, had no presence and was never
// suggested gets one room.release_suggested. The gateway only suggests:
// the booking system decides, and tells the room with its next schedule.
//
// # Presence
//
// Motion is presence, not a check-in. A booking had presence if Motion
// reported a time inside its window, or if the sensor still read occupied
// when the window closed: a PIR that reads occupied at an instant saw
// motion within its hold before it, which falls in the window when the
// hold is no longer than the window. The room remembers only the sensor's
// latest occupied span, which is all this needs. A gateway that was down
// for a whole window saw no presence, and suggests a release on its first
// Tick; the booking system weighs it.
//
// # Schedules
//
// A schedule carries a version that only grows; a push whose version is
// not above the current one is refused, naming both. A schedule with
// overlapping bookings, an end not after a start, a missing or repeated
// id, text over MaxTextLen or more than MaxBookings bookings is refused,
// naming the booking. A new schedule replaces the old whole: a booking
// that stays (same id and start) keeps its check-in and presence, one that
// moved or went loses them. Suggestions are kept by booking id across
// schedules, so one booking is never suggested twice; one whose booking
// left the schedule is forgotten a day later.
//
// # LED
//
// LED(now), in order: an unexpired override from room.led_set; "offline"
// (no schedule yet, or SetOnline(false)); the booking that holds the room
// (Holder): "occupied" (red) if checked in, "pending" (yellow) while its
// window is open (also before its start, or "occupied" if checked in
// early), and after its window "occupied" if it had presence without a
// check-in (people came: still reserved until the booking system releases
// it); no booking holding the room: "occupied" while the sensor reads
// motion, else "available" (green). "offline" lights nothing.
//
// A no-show — a booking past its window with neither check-in nor
// presence, the one release_suggested is about — does not hold the room:
// from the Tick that suggests its release until the booking system
// releases it or it ends, the room is "available" (or "occupied" while
// someone walks in and the sensor reads motion), and the panel says free.
// room.release_suggested comes first, then the room.led that frees the
// room, in the same Tick. A schedule that keeps the booking changes
// nothing: its suggestion is remembered; a booking system that wants the
// room shown as taken anyway sets room.led_set.
//
// Whenever the derived state changes, on any input or Tick, the Room
// emits room.led; the gateway drives led_pins from it.
//
// # Events
//
// Event.Time is now of the call that caused the event; times in data are
// UTC with milliseconds ("2026-11-24T10:00:00.000Z").
//
//	room.checkin            {booking, source, start, end, organizer?, title?}
//	room.release_suggested  {booking, reason: "no_checkin_no_motion", start, end, window_end, organizer?, title?}
//	room.booking_extended   {booking, source, start, end, previous_end, minutes, organizer?, title?}
//	room.booking_ended      {booking, source, start, end (now), previous_end, organizer?, title?}
//	room.booked             {booking: "adhoc-<unix ns>", source, start, end, minutes,
//	                         checked_in: true, organizer?, title?}
//	room.led                {state, color: "green"|"yellow"|"red"|"", previous?, override_until?}
//
// # Commands
//
// Handle takes:
//
//	room.schedule_set {version, bookings: [{id, start, end, organizer?, title?}]}
//	                   times as RFC 3339 text or Unix seconds → {version, bookings: count}
//	room.led_set      {state: available|pending|occupied|offline|auto, until?}
//	                   until: RFC 3339 or Unix seconds, within 24 h; left out: 1 h → {state}
//	room.checkin      {}                                   → the booking
//	room.extend       {minutes}                            → the booking
//	room.end          {}                                   → the booking
//	room.book         {minutes, organizer?, title?}        → the booking
//
// A button (source "panel") calls CheckIn, Extend, End or BookNow directly.
//
// # State file
//
// Config.StatePath holds the persisted state as one JSON object (written
// indented, with a final newline):
//
//	format        "officegate.room.state"; anything else is not this file
//	version       1, the layout described here
//	schedule      {version, bookings: [{id, start, end, organizer?, title?}]},
//	              times RFC 3339; version 0 with no bookings before the first push
//	checkins      {booking id: {at, source: "panel"|"command"}}
//	present       {booking id: time of the first motion in its window}
//	suggested     {booking id: when its release was suggested}
//	led_override  {state, until}, absent when none was set
//
// Every key but led_override is required; unknown keys, data after the
// object, a schedule that fails Schedule.Check, a check-in or presence for
// a booking not in the schedule, an unknown source or LED state, and more
// than 2×MaxBookings suggestions make the file corrupt. A corrupt file is
// an error (ErrCorrupt) and is left as it is for someone to look at, never
// replaced by an empty state: a room that forgot its suggestions would
// suggest again. A missing file is a new room.
//
// Every change is written whole, before its events are emitted: to a
// temporary file in the same directory, fsync'd, renamed over the file,
// and the directory fsync'd, so the file is always the old state or the
// new one. A change whose write fails is refused and emits nothing. The
// sensor's occupancy and SetOnline are not persisted: the PIR reports its
// state again after its warm-up.
package room
