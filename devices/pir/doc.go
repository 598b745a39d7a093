// Package pir turns a PIR motion sensor on a GPIO input into room occupancy
// transitions.
//
// The sensor is an HC-SR501 class module: its output goes active on motion
// and, in retrigger mode, stays active while motion goes on; after power-up
// it triggers falsely for about a minute. A Sensor debounces the line
// (package gpio), ignores it for the warm-up, and keeps the room occupied
// for the hold time after the output last went inactive, because a PIR
// misses people sitting still. It reports transitions only: a sensor that
// triggers ten times a second for an hour gives one "occupied" and, once it
// stops, one "vacant".
//
// # Configuration
//
// The device's section (kind "pir") decodes into Config:
//
//	pir_pin    = "GPIO23"  # the sensor's output (required)
//	pir_active = "high"    # the level on motion: "high" (HC-SR501, the default) or "low"
//	pir_pull   = ""        # "up", "down", "none"; left out: the board's pull
//	debounce   = "50ms"    # how long a level must hold to count (the default)
//	hold       = "5m"      # occupied until this long after the last motion; 1s–1h
//	warmup     = "60s"     # motion ignored this long after start; "0s" for none; at most 10m
//
// On a Raspberry Pi, prefer a pin from 9–27 (pulled down) for an active-high
// sensor, so an unplugged sensor reads as no motion.
//
// # Events
//
// One type, room.occupancy (reserved in MQTT.md), on every transition:
//
//	room.occupancy {state: "occupied", initial?: true}
//	room.occupancy {state: "vacant", initial?: true,
//	                last_motion?: "2026-11-24T09:04:03.000Z", hold_s?: 300}
//
// Event.Time is the moment of the transition: for "occupied", when the
// motion that started it was first seen (before debouncing); for "vacant",
// when the hold expired (the output's fall plus the hold), not when the
// timer happened to fire. The first report, at the end of the warm-up, is
// marked initial: it is the state the sensor read then (occupied if its
// output was active, else vacant), not a change anyone saw happen. A vacant
// report names the motion it counted from (last_motion, the start of the
// latest active period) and the hold.
//
// Event.Clock is "synced" (the gateway's clock) and Event.Source is zero: a
// PIR remembers nothing, so the gateway draws each event's id. A busy sink
// is retried for 30 s; a transition it never takes is counted in
// events_lost and logged, and not re-sent, since the next transition
// carries the state anyway.
//
// # Status
//
// Counters: motions (counted after the warm-up), ignored_warmup,
// events_emitted, events_lost, busy_retries.
package pir
