// Package roomdrv is the driver of a meeting room (kind "room"). It runs a
// room.Room with its PIR sensor, status LEDs and panel.
//
// One driver serves one room. It combines an optional PIR motion sensor on
// GPIO (package pir), optional status LEDs on GPIO, and the room's state
// (package room: schedule, check-in window, release suggestions, LED
// state), which it keeps in a state file. The panel by the door (buttons
// and a display line) is a separate device on the firmware-bridge serial
// link; the gateway passes the panel's events to the driver (devices.PanelListener)
// and the driver sends the panel commands through the hook the gateway
// injects (With.Panel, or the send function of Factory).
//
// # Configuration
//
// The device's section decodes into Config:
//
//	state_file     = "/var/lib/officegate/rooms/aurora.json"  # required (package room, "State file")
//	name           = "Aurora"      # shown on the panel; left out: the device id (at most 32 bytes)
//	panel          = "panel-3f-aurora"  # the panel's device id; left out: no panel
//	checkin_before = "5m"          # check-in opens this long before a start (1s–1h)
//	checkin_after  = "10m"         # and closes this long after it (1s–1h)
//	pir_pin        = "GPIO23"      # the PIR's output; left out: no sensor
//	pir_active     = "high"        # "high" (HC-SR501, the default) or "low"
//	pir_pull       = ""            # "up", "down", "none"; left out: the board's pull
//	hold           = "5m"          # occupied until this long after the last motion (1s–1h,
//	                               # at most checkin_before + checkin_after)
//	warmup         = "60s"         # motion ignored this long after start; "0s" for none
//	led_green      = "GPIO16"      # LED pins; any may be left out
//	led_yellow     = "GPIO20"
//	led_red        = "GPIO21"
//	led_active     = "high"        # the level that lights an LED: "high" (the default) or "low"
//	buttons        = { 1 = "checkin", 2 = "extend", 3 = "end", 4 = "book" }  # the default
//	extend_minutes = 15            # what "extend" asks for (1–240)
//	book_minutes   = 30            # what "book" asks for (1–240)
//	tick           = "5s"          # how often the room is ticked (1s–1m)
//	timezone       = "Asia/Shanghai"  # times on the display; left out: the system's zone
//
// The check-in window cannot be zero on either side: package room reads a
// zero as its default. A buttons table replaces the default whole: a
// button it leaves out does nothing. The hold is bounded by the window
// because presence at a window's close is judged from the sensor's state
// then ("Presence" in package room). Errors name the key and quote the
// value. New checks all of it without touching the state file or a pin;
// Run opens them.
//
// # LEDs
//
// available lights green, pending yellow, occupied red (Robin's
// convention, via room.LEDState), offline none. Without led_yellow, pending
// lights green and red together, which a red/green bi-colour LED shows as
// amber. An LED's safe level is dark: every pin is dark when opened, and
// again when Run returns or its context ends (package gpio). Between
// power-up and Run only the board's pull sets the line: for LEDs lit by
// High, use pins from GPIO9–27 (pulled down on a Raspberry Pi), for LEDs lit
// by Low, GPIO0–8 (pulled up), so they stay dark.
//
// # Panel
//
// The gateway calls PanelEvent for every event of the device PanelID
// names (the panel key); the driver acts on two types, whose bodies are
// specified in firmware-bridge PROTOCOL.md §9.4 and checked by PanelData
// (which the gateway also uses to publish them):
//
//	room.button    {button: 1–32}     the action buttons maps it to, as source "panel":
//	                                  checkin → Room.CheckIn, extend → Room.Extend(extend_minutes),
//	                                  end → Room.End, book → Room.BookNow(book_minutes)
//	room.occupancy {state: "occupied"|"vacant"}  a panel's own sensor, taken as the PIR's
//
// A body that breaks §9.4 (e.g. {occupied: true}) is not acted on: it is
// logged and counted in panel_events_ignored.
//
// A press is done at its event's time (the time of the press; now if zero
// or ahead of the gateway's clock). A press the room refuses (no booking
// to check in to, the room not free) is logged and counted in
// buttons_refused; the room emits nothing for it. Other types and unmapped
// buttons are counted in panel_events_ignored.
//
// The driver sends the panel two commands, when what they carry changes,
// again every 10 minutes (a panel that restarted shows them again), and
// again at the next tick after a failure:
//
//	panel.display {line: "Aurora · free until 14:00"}
//	panel.led     {state: "available"|"pending"|"occupied"|"offline"}
//
// Lines: "<name> · free until 14:00" (the next booking today), "<name> ·
// free", "<name> · booked 10:00–11:00 · please check in", "<name> · busy
// until 11:00", "<name> · in use" (motion without a booking holding the
// room, or an override), "<name> · waiting for the schedule", "<name> ·
// offline". The line, the LED pins, panel.led and room.led always show the
// same state. After a no-show's release suggestion the room is free
// (package room, "LED"): green, "free until …" or "free", until the
// booking system releases the booking or it ends — never "busy" for a
// booking nobody came to.
// Titles and organizers are not shown: the panel faces the corridor. The
// sends run on their own goroutine, each bounded by 10 s; a failure is
// logged (the first of a series as a warning) and counted in
// panel_sends_failed, never fatal, and never holds up events or the LEDs.
//
// # Events
//
// Every event the room emits (package room, "Events"), and the PIR's:
//
//	room.checkin            {booking, source, start, end, organizer?, title?}
//	room.release_suggested  {booking, reason: "no_checkin_no_motion", start, end, window_end}
//	room.booking_extended   {booking, source, start, end, previous_end, minutes, organizer?, title?}
//	room.booking_ended      {booking, source, start, end, previous_end, organizer?, title?}
//	room.booked             {booking, source, start, end, minutes, checked_in: true, organizer?, title?}
//	room.led                {state, color, previous?, override_until?}
//	room.occupancy          {state: "occupied"|"vacant", initial?, last_motion?, hold_s?}  (package pir)
//
// Event.Time is the room's time of the event (room.occupancy: the
// transition's, package pir), Event.Clock "synced" (the gateway's clock),
// Event.Source zero. Events leave in the order they happened, from one
// goroutine; a room.occupancy comes before the room.led it caused. A busy
// sink is retried with backoff (10 ms doubling to 1 s) for as long as it
// stays busy: the room saved its decisions before emitting them and will
// not make them again. An event the sink refuses, or that is still queued
// when Run returns, is logged and counted in events_lost.
//
// # Commands
//
// Handle takes room.schedule_set, room.led_set, room.checkin, room.extend,
// room.end and room.book, with the args and results of package room
// ("Commands"); anything else is unsupported, and an expired command is
// answered expired. A command before Run has opened the state file is
// answered busy, after Run returned an error.
//
// # Status
//
// Online while Run runs. Counters: events_emitted, events_lost,
// busy_retries, panel_sends, panel_sends_failed, panel_events,
// panel_events_ignored, buttons, buttons_refused, led_errors,
// state_save_failed, and with a sensor pir_motions, pir_ignored_warmup,
// pir_events_lost.
package roomdrv
