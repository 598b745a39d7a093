// Package fwcheck checks a device's side of the link against PROTOCOL.md by playing the gateway.
//
// A hardware maker runs it (officegate fwcheck PORT) against a unit on a
// serial port before shipping: it answers the unit's HELLO, enrolls it if
// it offers a key, opens a session and then drives it through the rules a
// gateway relies on — framing and CRC both ways, HELLO's fields, the window, the
// retransmission timer at the port's baud rate, BUSY, duplicate
// suppression, command results, time sync, resume without loss or
// duplicates after a forced session reset, tagged frames after enrollment,
// and refusal of a badly signed firmware image — and reports each check
// with the PROTOCOL.md section it enforces. A unit that passes works with
// the gateway.
//
// The event checks need records: make the unit record a few events (a
// dozen punches, button presses) before running; without any they are
// reported as skipped, not passed.
//
// The retransmission check times the unit by when frames are read, so a
// host that takes the CPU away from fwcheck (a build running beside it)
// would make a unit on time look late or early. fwcheck watches its own
// lateness while it times the unit, widens the bounds by what it finds, and
// says so in the check's line ("this host stalled up to … meanwhile,
// allowed for"); a unit fails only if it fails whatever the stalls did.
package fwcheck
