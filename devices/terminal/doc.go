// Package terminal owns what an attendance terminal's punches and commands
// mean. It maps the vendor's verify and state codes onto the MQTT contract's
// vocabulary (credential, state), keeps the device's own codes for audit,
// checks the commands the gateway forwards to a terminal, and never lets
// biometric material through in either direction.
//
// # Punches
//
// Punch maps a terminal's punch body to the contract's attendance.punch data
// (gateway/MQTT.md §5.1). Biometric fields are removed and listed under
// "redacted"; unknown codes become "unknown" with the raw values kept.
//
// # Commands
//
// Commands lists the commands a terminal takes. CheckCommand validates their
// args as they arrive from MQTT (JSON: integers as int64, other numbers as
// float64; an integral float64 is taken as an integer) and returns them
// normalised for the serial link: only strings, booleans and uint64, with
// every default filled in. On the serial link a command goes by LinkName
// ("user_upsert": link command names have no '.'). An arg key the command does not define is an
// error naming the key. "time.set" is not a terminal command: the gateway
// sets device clocks itself.
//
// user.upsert creates a user or replaces the whole record (a field left out
// is cleared, not kept):
//
//	args  {"user": "10042", "name": "Li Wei", "card": "12:34567", "role": "user", "enabled": true}
//	      user     required, 1–64 of A-Z a-z 0-9 _ -
//	      name     optional, valid UTF-8, at most 64 characters, no control characters
//	      card     optional, decimal digits or "facility:number", each part 1–20 digits
//	      role     "user" (default) or "admin"
//	      enabled  boolean, default true
//	data  {"user": "10042", "created": true}  (false: an existing user was replaced)
//
// user.delete removes a user:
//
//	args  {"user": "10042"}
//	data  {"user": "10042", "deleted": true}  (false: there was no such user)
//
// door.pulse releases the door relay wired to the terminal:
//
//	args  {"duration_ms": 3000}  integer 100–10000, default 3000
//	link  {"ms": 3000}
//	data  {"duration_ms": 3000}  (the link's {"ms"}, renamed by ResultData)
//	status "busy" while a pulse is running; "error" on a terminal without a relay
//
// attendance.fetch asks the terminal to send again the punches it logged in a
// window, for a back-end that lost some; the terminal keeps its log after it
// sends them (a fetch that clears the log loses data):
//
//	args  {"since": "2026-11-24T00:00:00+08:00", "until": "2026-11-25T00:00:00+08:00", "limit": 500}
//	      since  required, RFC 3339 with an offset ("Z" or ±hh:mm)
//	      until  optional, RFC 3339 with an offset, after since (exclusive)
//	      limit  integer 1–5000, default 500
//	link  {"since_ms": 1795449600000, "until_ms": 1795536000000, "limit": 500}  (until_ms 0: none)
//	data  {"count": 120, "more": false}  (more: the window holds punches past limit)
//
// The selected punches, oldest first, then arrive as new attendance.punch
// events whose data carries "replay": {"boot", "seq"}, the id the punch had
// when it was first sent, from which the gateway derives the original event
// id; consumers deduplicate by it.
//
// # Errors
//
// CheckCommand's error wraps ErrUnknownCommand for a name not in Commands,
// and ErrBiometric (which wraps devices.ErrBiometric) when args hold
// biometric material: anything devices.Redact removes, or a key naming
// fingerprint, face, palm, iris or vein data, templates, photos or images.
// The error lists the offending keys; the gateway answers the command with
// an error and raises a device.alarm biometric_refused. Templates are
// enrolled on the terminal itself. A PIN or password key is refused too:
// PINs are set on the terminal, never pushed through the gateway. Any other
// fault names the command, the key and the bad value.
package terminal
