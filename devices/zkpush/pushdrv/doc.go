// Package pushdrv is the driver of ZKTeco terminals that call the gateway over PUSH (ADMS).
//
// Each configured terminal is one device (kind "zkpush") named by its serial
// number; terminals configured with the same listen address share one HTTP
// listener, owned by a Hub that the program builds once and hands to Factory.
// The listener is the gateway's first LAN-facing one: it caps header and body
// sizes, lines per body, times out slow clients (slowloris), limits
// concurrent connections, and serves each terminal's requests one at a time
// so that a terminal that floods the gateway delays only itself.
//
// Chain of custody: an ATTLOG upload is answered "OK: n" only once its
// punches are durable (devices.BatchSink: one journal commit per 256 punches,
// the journal bounding a commit to 1 MiB by default).
// A punch's id derives from zkteco.PunchKey (serial, PIN, local time, status,
// verify), so a batch re-sent after a gateway crash, a stamp reset or a
// DATA QUERY ATTLOG publishes under the same ids. A line that cannot be parsed
// becomes a device.alarm naming it — an ATTLOG line quoted and clipped, an
// OPERLOG line only by its record kind (a USER record holds a password and a
// card number in clear) — with an id of its own derived from the line, and
// is counted; it costs no good line.
// Biometric and identity records (OPERLOG FP/FACE/…, ATTPHOTO) are never
// journaled: they are counted and acknowledged so that the terminal does not
// retry them for ever. A request from a serial number that is not configured
// is answered 403 with a reason: the terminal keeps its records and retries.
// With an enroller (Hub.SetEnroll: the daemon hands it the provisioning
// registry when provisioning is configured) such a serial is asked about at
// every request: pending, disabled or retired it is answered 403 with the
// registry's reason; approved, it is served like a configured terminal
// under its registry device id, with the time zone, clock and sink of a
// configured terminal on the same listener (its host, whose Hosted lists
// it: the daemon gives it status and commands like a configured one).
//
// Commands: user.upsert and user.delete (checked by terminal.CheckCommand
// like every terminal's) wait in the terminal's queue until its next poll
// (§12), go out as DATA UPDATE/DELETE USERINFO, and are answered from the
// Return code the terminal posts (§13): 0 ok, -10 on a delete "deleted":
// false, -1005 busy, -1002 unsupported, anything else an error naming the
// code. PUSH does not say whether an upserted user existed, so the result has
// no "created". A command whose deadline passes while queued is answered
// expired and never sent; one sent without a result before its deadline is
// an error saying it may have been done. attendance.fetch becomes DATA QUERY
// ATTLOG over the window in the terminal's wall clock; the terminal re-sends
// the window's punches as uploads, under their ids, after the result (which
// has "more": false and no "count": PUSH does not count them, and sends the
// whole window whatever the limit). time.set goes out as INFO (§12.4.3): the
// terminal sets its clock from the Date header of every reply (§5), so the
// reply carrying the command sets it, and the INFO result proves the
// terminal had that reply; the result is {"clock": "synced",
// "clock_offset_ms": the Date header's rounding, "stepped": true} (no
// corrected_ms: PUSH does not report the clock it had). door.pulse goes
// out as AC_UNLOCK (§12.7.2), which opens the lock for the lock time set on
// the terminal: only a terminal configured with door_pulse takes it, and a
// duration_ms other than that lock time is refused, not ignored.
// Operation records (OPLOG) are journaled as device.operation and user
// records (USER) as attendance.user (oper.go), durable before OK like
// punches, under ids derived from what they carry; a USER record's
// password is never read and its card number becomes card_hash under the
// site card key (has_card without one). Counters (Status().Counters, every
// one of CounterNames from the start; on /metrics through the daemon):
// punches, lines_refused, templates_refused, photos_refused, oper_records,
// uploads_truncated, uploads_refused, command_results,
// requests_refused_address, address_changes, requests_unknown,
// requests_unreadable, tables_ignored.
//
// Clocks (clock.go): a punch is synced when the terminal recorded it, by
// its own clock, while the gateway was answering it — every reply's Date
// header sets that clock, rounded to the second — and unknown otherwise;
// the envelope builder flags one recorded after it arrived drifted. The
// handshake's TimeZone is the configured zone's offset then; when the offset
// changes (daylight saving), the terminal's next poll is answered with CHECK
// so that it shakes hands again and takes the new one (zone_changes).
//
// What PUSH authenticates: nothing but the serial number in the query
// string, which is printed on the terminal and visible on the LAN. Anyone on
// the LAN who knows a configured serial can post punches in its name. The
// driver's defences: only configured or approved serials are accepted; an optional
// allow-list of source addresses per terminal (allow_from); an alarm the
// first time a serial is seen from a second address; per-terminal
// serialisation so that a forger cannot starve the others.
package pushdrv
