// Package kiosk is the driver of a reception kiosk (kind "kiosk"). It checks
// visitors in from a QR scanner against a local invite cache, prints their
// badges and releases the lobby door, all on the gateway, so that it works with
// the uplink down (events wait in the gateway's journal).
//
// # Configuration
//
// The device's section ([devices.kiosk]) decodes into Options. Durations are
// Go duration strings.
//
//	scanner_port    = "/dev/serial/by-id/usb-Newland_HR22_0123-if00"  # default: the device's port; one is required
//	scanner_baud    = 115200     # default: the device's baud, else 115200
//	printer_port    = "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"  # left out: no printer
//	printer_baud    = 9600       # the default
//	printer_width   = 384        # dots: 384 (58 mm, the default) or 576 (80 mm)
//	invite_key_file = "/etc/officegate/invite.key"  # required: ≥ 16 bytes
//	state_file      = "/var/lib/officegate/kiosk-lobby.json"  # required
//	approve_timeout = "30s"      # the default; 1s to 10m
//	pulse           = "3s"       # door release on check-in (the default); 100ms to door.max_pulse
//	printer_poll    = "10s"      # the default; 100ms to 1h
//	location        = "HQ 3F"    # the badge's heading, ≤ 40 characters; default "VISITOR"
//	display         = "kiosk-lobby-panel"  # the kiosk's panel (a device on the serial link); default none
//	scan_burst      = 5          # scans accepted back to back (the default); 1 to 1000
//	scan_interval   = "1s"       # then one scan per interval (the default); 1ms to 1h
//
//	[devices.kiosk.door]         # left out: no door
//	relay_pin       = "GPIO17"   # required
//	relay_active    = "high"     # required: the level that releases the strike
//	max_pulse       = "5s"       # the default; at most 30s
//	contact_pin     = "GPIO4"    # optional door contact
//	contact_closed  = "low"      # required with contact_pin
//	held_open_after = "30s"      # the default
//
// The door keys are package door's (see its documentation for the
// fail-secure wiring). New validates everything, reads the key and loads the
// state file; it opens no port or pin, so an unplugged scanner does not stop
// the gateway. A door pin that cannot be opened makes Run return an error.
//
// # Privacy
//
// A scanned line is hashed at once: token_hash is devices.KeyedHash(key,
// line), 64 lower-case hex digits of HMAC-SHA256 under invite_key_file. The
// clear token is neither stored, logged, quoted in an error nor sent. The
// admin service computes the same hash over the token it put in the QR code,
// or sends the clear token in invite.upsert, which hashes it on arrival.
// ForgetHost erases a host from the cache (officegate people forget): every
// invite and every visit of today whose host is one of the given keys goes,
// and the state file is rewritten before it returns.
//
// # Scans
//
// An invite token — the text of the invitation's QR code — is 6 to 512
// bytes of visible ASCII (0x21–0x7E: letters, digits, the punctuation of
// URLs and ids; no space): "OG1-7F3K-Q9ZP-WANG", "https://visit.example.com/i/Ab9?x=1".
// invite.upsert refuses a token outside this format, since it could never
// be scanned. A badge's code ("OGB1:" and 64 hex digits) fits it too.
//
// The scanner (package scanner, "Plausible scans") refuses every other line
// quietly: no event, no prompt at the front desk, only a counter by reason
// (too_long, non_printable, empty, unterminated, too_short, bad_alphabet).
// A line ending within 500 ms of a line refused for its content is noise,
// refused too: random bytes on the port (a loose cable, a wrong baud rate, a
// scanner in a debug mode) arrive back to back, so they make no
// visitor.scan_rejected however code-like some of their lines are. Scans
// faster than scan_burst back to back and then one per scan_interval are
// refused as rate_limited (a scanner stuck in continuous mode, codes waved
// at it). Only a scan that passes all this is decided below; a code of the
// right format that no invite holds is still visitor.scan_rejected.
//
// # Flow
//
// A scan whose token has an open visit today (checked in on the gateway's
// calendar day, not checked out) checks that visit out: visitor.checked_out.
// Otherwise the token's invite decides: valid now (valid_from ≤ now <
// valid_until, not revoked) checks the visitor in: visitor.checked_in, then
// the door is released for pulse (no event: door.state comes from the
// contact), then the badge is queued for the printer (badge.print_result
// follows). The door goes before the badge, so a slow or missing printer
// never keeps a valid visitor waiting, and a printer fault never keeps the
// door shut. A strike already released (a pulse running, held_open mode)
// admits the visitor anyway; in locked mode the door stays shut and the
// check-in still counts (counter door_refused).
//
// Any other scan is rejected: visitor.scan_rejected with a fresh scan_id,
// and the admin service may answer it with visitor.approve within
// approve_timeout of the scan (measured on the gateway's clock). The last 256
// rejected scans are remembered, not persisted: after a restart, or past the
// window, visitor.approve is an error saying the approval window closed.
// Scanning again after checking out checks in again (a valid invite) or is
// rejected again (an approved walk-in).
//
// Without printer_port there are no badges: no badge.print_result and no
// printer.status are emitted (a kiosk without a printer is not a fault).
//
// # Events
//
// Every event has the gateway's time (a scan: when its line ending arrived;
// a door change: when the contact first moved), Clock "synced" and a zero
// Source. Fields marked ? are left out when empty.
//
//	visitor.checked_in    {invite_id, token_hash, name, host, company?, method: "qr"|"approved", scan_id? (approved only)}
//	visitor.checked_out   {invite_id, token_hash, name, method: "qr"|"command"}
//	visitor.scan_rejected {token_hash, reason: "unknown"|"expired"|"not_yet_valid"|"revoked",
//	                       pending_approval: true, scan_id, invite_id? (the invite the token matched)}
//	badge.print_result    {invite_id, result: "printed"|"paper_end"|"cover_open"|"offline"|"error", detail? (why, when not printed)}
//	printer.status        {state: "ok"|"paper_end"|"paper_near_end"|"cover_open"|"offline"|"error"}
//	door.state            {state: "open"|"closed"|"forced"|"held_open"}
//
// invite_id of an approved walk-in is the approve command's invite_id, else
// the invite the token matched (expired, revoked, …), else "walkin-<scan_id>".
// printer.status is emitted on change only, the first state after start
// included; badge.print_result "offline" means nothing answered or the port is
// away, "error" a printer fault, a broken line, an unprintable name (more
// than 24 characters or characters the printer's font lacks: see package
// escpos) or a full badge queue (8).
//
// Events go through one goroutine, in order. A busy sink (devices.ErrBusy) is
// retried with backoff (10 ms doubling to 1 s) for as long as Run runs; up to
// 10 000 events wait meanwhile, beyond which, or when the sink refuses one or
// the gateway stops, an event is counted in events_lost and logged (type and
// time only).
//
// # Commands
//
// An argument a command does not define is an error naming it. Every error
// names the argument at fault; ids are 1–64 bytes of A-Z a-z 0-9 . _ : -.
//
//	invite.upsert    args {invite_id, token | token_hash (exactly one), name, host, company?,
//	                       valid_from, valid_until}
//	                 name, host, company: ≤ 64 characters of UTF-8 without control
//	                 characters (trimmed; Chinese is fine); times RFC 3339 with an
//	                 offset, valid_from < valid_until, valid_until not yet passed;
//	                 token: 6–512 bytes of visible ASCII ("Scans"), hashed on arrival
//	                 result {invite_id, created: bool} (false: replaced, whole record)
//	                 error: another valid invite has the token; cache full (10 000 after
//	                 pruning); state not saved (the invite is in effect until restart)
//	invite.revoke    args {invite_id} or {token} or {token_hash}
//	                 result {invite_id, revoked: true}; error: no such invite
//	visitor.approve  args {scan_id, name, host, company?, invite_id?}
//	                 result {invite_id, scan_id}; then as a valid scan, method "approved"
//	                 error: "approval window closed", no such rejected scan, already approved
//	visitor.checkout args {invite_id}
//	                 result {invite_id}; error: not checked in today
//	door.pulse       args {duration_ms?} integer 100 to the door's max_pulse, default pulse
//	                 result {duration_ms}; busy while the strike is released (a pulse
//	                 or held_open mode); error above the cap (the text says it),
//	                 in locked mode, or without a door
//	door.mode        args {mode: "normal"|"held_open"|"locked"}
//	                 result {mode}
//
// A revoked invite is kept (so its scans say "revoked") until it expires.
// Invites are pruned 24 h after valid_until (until then a scan says
// "expired"), visits at the end of their day. A token held by a revoked or
// expired invite may be given to a new one; held by a valid one, it is an
// error.
//
// # State file
//
// state_file holds the invite cache and today's visits, one JSON object
// rewritten whole on every change: a temporary file in the same directory,
// fsync'd, renamed over the old one, and the directory fsync'd. invite.upsert
// and invite.revoke answer ok only once it is on disk. A missing file is an
// empty cache; a file that does not decode or breaks any rule below is an
// error wrapping ErrCorrupt and the kiosk does not start: a silently emptied
// cache would turn every invited visitor away. Move the file aside to start
// empty.
//
//	{"format": "officegate.kiosk.state", "version": 1,
//	 "invites": [{"invite_id", "token_hash", "name", "host", "company"?,
//	              "valid_from", "valid_until", "revoked"?: true}, …],
//	 "visits":  [{"invite_id", "token_hash", "name", "host", "company"?,
//	              "method": "qr"|"approved", "checked_in", "checked_out"?}, …]}
//
// Unknown keys are refused; both lists are present (possibly empty), sorted
// by invite_id, at most 10 000 entries each; ids unique in each list; no two
// invites share a token_hash; fields obey the invite.upsert rules; times are
// RFC 3339; checked_out is not before checked_in. The file is at most 32 MiB.
// Every change rewrites it (10 000 invites make about 3 MB), so loading that
// many one command at a time is slow on an SD card.
//
// # Badges
//
// A badge carries the visitor's name (Chinese names print in GB18030), their
// company, host, the date and a QR code: "OGB1:" and the visit's token_hash
// (BadgePrefix) — never the invite's token. Scanned at the kiosk, a badge
// checks its visitor out; it never checks anyone in (a token_hash is no
// secret: events carry it).
//
// # Counters
//
// Status().Counters: the scanner's (lines_accepted, too_long, non_printable,
// empty, unterminated, too_short, bad_alphabet, noise, rate_limited,
// port_opened, port_unplugged, port_open_failed) and
// events_emitted, events_lost, events_queued, busy_retries, checked_in,
// checked_out, scans_rejected, approved, badges_printed, badges_failed,
// door_released, door_busy, door_refused, state_save_failed, printer_opened,
// printer_open_failed, display_sent, display_failed, display_dropped. Online
// is the scanner's port being open.
//
// # Display
//
// With display set (the device id of the kiosk's own panel, a device on the
// firmware-bridge link), the kiosk tells the visitor what happened: it sends
// kiosk.display {"line": text} — "Welcome, 王芳 · Li Na is on the way",
// "Please wait: the front desk will help you", "Goodbye, 王芳" — through
// devices.Options.Send. The flow never waits for the panel: lines queue (8)
// to one sender, and a slow or absent panel only loses lines, counted.
//
// # Performance
//
// A valid scan written to the scanner's PTY until the relay pin is released
// (simulated board, no printer, 1 invite; state file in t.TempDir on
// the VM's disk), 300 scans, three runs on a shared 2-vCPU AMD EPYC virtual
// machine, amd64, Go 1.26 (a Pi is several times slower):
//
//	go test -run '^$' -bench ScanToRelease -benchtime 300x -count 3 ./devices/kiosk
//
//	p50 ≈ 210–260 µs, p99 ≈ 430–590 µs
//
// The state file is written after the release, so the disk is not in that
// path; it is in the path of the next scan, which waits for the write.
package kiosk
