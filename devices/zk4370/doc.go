// Package zk4370 speaks the ZKTeco binary protocol on port 4370, TCP or UDP. It holds
// a codec, and the driver that calls a terminal and journals its attendance
// log.
//
// ZKTeco never published this protocol. What follows is the subset we
// implement, taken from the community description (github.com/adrobinoga/
// zk-protocol, protocol.md and sections/) and the constants and record
// layouts of the pyzk client (github.com/fananimi/pyzk, zk/const.py and
// zk/base.py), read for facts only. The gateway is the client; the terminal
// is the server.
//
// # 1. Frames
//
// A packet's payload is, all integers little-endian:
//
//	offset size field
//	0      2    command      a request (CMD_*) or a reply code (CMD_ACK_*)
//	2      2    checksum     see 1.1
//	4      2    session id   0 in CMD_CONNECT; then the id the terminal assigned
//	6      2    reply number see 1.2
//	8      n    data         command-specific, may be empty
//
// Over TCP every payload is preceded by an 8-byte prefix: the magic bytes
// 50 50 82 7D, then the payload's length as a uint32 (the community
// description splits it into a uint16 length and two zero bytes; pyzk reads a
// uint32; the two agree for every length we accept). Over UDP (the same
// port, 4370) a datagram is the bare payload, one packet a datagram. The
// codec does both (AppendPayload/DecodePayload, AppendFrame/DecodeFrame);
// the client speaks both (Dial, DialNetwork; §4.5). A datagram whose
// checksum is wrong was damaged on the way: the client skips it (the
// request it answered times out) and counts it; on TCP a bad frame ends the
// connection.
//
// A payload is at least 8 bytes and at most MaxPayload: a bulk read returns
// chunks of up to 0xFFC0 bytes (what pyzk asks for, "below 0x10008"), so
// MaxPayload leaves room for a chunk and its header; a length beyond it is
// refused before anything is allocated.
//
// ## 1.1 Checksum
//
// The payload with the checksum field taken as zero is summed as uint16
// little-endian words (an odd last byte is the low byte of a word whose high
// byte is zero) into a 32-bit sum; the carries above bit 15 are folded back
// into the low 16 bits until none is left; the checksum is the one's
// complement of the result. Both public captures in the community
// description check out (testdata/frames.txt holds them). pyzk computes the
// complement as 65534−sum, one less, but over the header with the reply
// number before it increments it, one more: its packets carry the same
// checksum as ours. Decoding refuses a packet whose checksum is wrong
// (ErrChecksum).
//
// ## 1.2 Session and reply number
//
// CMD_CONNECT goes with session 0; the terminal's reply carries the session
// id, which every later packet of the connection repeats. The client numbers
// its requests 0, 1, 2, …, wrapping from 65535 to 0, and the terminal's reply
// (and every data packet of a bulk reply) carries the request's number.
//
// ## 1.3 Real-time packets
//
// After CMD_REG_EVENT the terminal sends packets on its own: command 500
// (CMD_REG_EVENT), the event flag (EF_ATTLOG = 1) in the session field, reply
// number 0. The client answers each with CMD_ACK_OK, its session id and reply
// number 0. They arrive interleaved with replies to the client's requests; the
// client tells them apart by the command field.
//
// # 2. Commands used
//
//	CMD_CONNECT 1000       open a session → CMD_ACK_OK, or CMD_ACK_UNAUTH 2005
//	                       when the terminal has a comm key (the session id
//	                       is in either reply)
//	CMD_AUTH 1102          data: the scrambled comm key (2.1) → CMD_ACK_OK
//	                       or CMD_ACK_UNAUTH
//	CMD_EXIT 1001          close the session → CMD_ACK_OK
//	CMD_OPTIONS_RRQ 11     data "~SerialNumber\0" → CMD_ACK_OK with
//	                       "~SerialNumber=<serial>\0"
//	CMD_GET_VERSION 1100   → CMD_ACK_OK with the firmware version, NUL-ended
//	CMD_GET_FREE_SIZES 50  → CMD_ACK_OK with 20 int32 counters (2.4)
//	CMD_GET_TIME 201       → CMD_ACK_OK with a 4-byte time (3.1)
//	CMD_SET_TIME 202       data: a 4-byte time → CMD_ACK_OK
//	CMD_REG_EVENT 500      data: uint32 event flags (EF_ATTLOG 1; 0 for
//	                       none) → CMD_ACK_OK; then 1.3
//	CMD_DISABLEDEVICE 1003 / CMD_ENABLEDEVICE 1002
//	                       the keypad and readers off / on again, around a
//	                       read of the log, so the count and the log agree
//	                       (as the vendor's SDK does; if the link drops
//	                       between the two, the emulator enables itself
//	                       when the session ends; we could not check what
//	                       every firmware does, so OPERATIONS.md says what
//	                       to look for)
//	CMD_USER_WRQ 8         data: a 72-byte user record (3.4) → CMD_ACK_OK
//	CMD_DELETE_USER 18     data: uint16 user number → CMD_ACK_OK
//	CMD_REFRESHDATA 1013   after a user change, so it takes effect
//	CMD_ATTLOG_RRQ 13, CMD_USERTEMP_RRQ 9
//	                       not sent alone: named inside a buffered read (2.2)
//
// CMD_CLEAR_ATTLOG 15 exists and the emulated terminal obeys it; the gateway
// never sends it: the terminal's log is the device-side store of every punch.
//
// Any reply other than the ones named is a failure carrying its code
// (ReplyError): CMD_ACK_ERROR 2001, CMD_ACK_UNKNOWN 0xFFFF, ….
//
// ## 2.1 Comm key
//
// A terminal with a comm key (a number, 0 for none) answers CMD_CONNECT with
// CMD_ACK_UNAUTH. The client then sends CMD_AUTH with four bytes computed
// from the key and the session id (pyzk make_commkey, from the SDK's
// MakeKey): reverse the order of the key's 32 bits; add the session id; XOR
// the four little-endian bytes with 'Z', 'K', 'S', 'O'; swap the two 16-bit
// halves; XOR bytes 0, 1 and 3 with a tick byte and set byte 2 to it (the SDK
// sends tick 50). The terminal, knowing the key, recomputes it; the tick
// travels in clear in byte 2, so any tick works (and the low byte of the sum
// is not checked at all: the tick overwrites it). It is a scrambling, not
// cryptography: the key can be recovered from one captured login.
//
// ## 2.2 Buffered reads
//
// A table (the attendance log, the user table) is read in four steps:
//
//	CMD_PREPARE_BUFFER 1503  data: 01, uint16 table command (13 for the log,
//	                         9 for users), uint32 fct (5 for users, else 0),
//	                         uint32 0 (11 bytes)
//	   → CMD_DATA 1501 with the whole table when it is small, or
//	   → CMD_ACK_OK with data: one byte, then the table's size as uint32
//	CMD_READ_BUFFER 1504     data: uint32 offset, uint32 size (at most 0xFFC0)
//	   → CMD_PREPARE_DATA 1500 with the chunk's size as uint32, then one or
//	     more CMD_DATA 1501 packets with the chunk's bytes, then CMD_ACK_OK;
//	     or one CMD_DATA with the chunk
//	CMD_FREE_DATA 1502       release the terminal's buffer → CMD_ACK_OK
//
// The issue that asked for this package named the buffered-data commands
// 1500–1503; the sources add CMD_READ_BUFFER 1504, without which no large
// table can be read. A table's bytes start with its length as a uint32 (the
// bytes that follow it), then its records.
//
// ## 2.3 Free sizes
//
// CMD_GET_FREE_SIZES returns at least 80 bytes: 20 int32 of which index 4 is
// the number of users, 8 the number of attendance records, 15 the user
// capacity, 16 the record capacity and 19 the records still free. The log's
// record size is its byte length divided by index 8 (2.4).
//
// # 3. Records
//
// ## 3.1 Time
//
// A time in the log and in CMD_GET_TIME/CMD_SET_TIME is a uint32 of seconds
// in a calendar of 12 months of 31 days from 2000-01-01 00:00:00, terminal
// local time (no zone): ((((year−2000)·12 + month−1)·31 + day−1)·24 + hour)·60
// + minute)·60 + second, for years 2000–2099 (the SDK encodes the year
// modulo 100). A real-time packet carries six bytes instead: year −
// 2000, month, day, hour, minute, second. Both are the terminal's wall clock;
// the driver applies the configured zone. A time that names no calendar day
// (February 31) is refused (ErrRecord).
//
// ## 3.2 The attendance log
//
// Records are 8, 16 or 40 bytes by firmware generation:
//
//	8 bytes   0 uint16 user number, 2 verify, 3 time (3.1), 7 state
//	16 bytes  0 uint32 user id (the PIN, decimal), 4 time, 8 verify,
//	          9 state, 10 two reserved bytes, 12 uint32 work code
//	40 bytes  0 uint16 user number, 2 the PIN (24 bytes, NUL-padded),
//	          26 verify, 27 time, 31 state, 32 eight reserved bytes
//
// "verify" is how the person was recognised (the PUSH protocol's Verify: 0
// password, 1 fingerprint, 2 card, 15 face, …), "state" is the in/out state
// the person chose (PUSH's Status: 0 check-in, 1 check-out, …). pyzk calls
// them "status" and "punch", the community description "verify type" and
// "verify state". The 8-byte layout holds no PIN: its user number stands for
// it, in decimal. The terminal's log is append-only, oldest first; it grows
// until the terminal's capacity and is emptied only by CMD_CLEAR_ATTLOG or at
// the terminal's menu.
//
// ## 3.3 Real-time attendance events
//
// The data of an EF_ATTLOG packet is one or more punches: a PIN, then verify,
// state and the six-byte time. The layout is told by the data's length:
//
//	10  uint16 PIN, verify, state, time
//	12  uint32 PIN, verify, state, time
//	14  as 10, then 4 reserved bytes
//	32  24-byte PIN, verify, state, time
//	36  as 32, then 4 reserved bytes
//	37  as 32, then 5 reserved bytes
//	≥52 as 32, then 20 reserved bytes; the rest, if any, is the next punch
//
// Any other length is refused (ErrRecord). A PIN is 1–24 printable ASCII
// characters.
//
// ## 3.4 Users
//
// A user record of TCP firmware is 72 bytes: uint16 user number, privilege (0
// user, 14 admin), password (8 bytes), name (24), uint32 card, one zero byte,
// group (7 bytes, text), one zero byte, the PIN (24). The gateway never writes
// a password (PINs and passwords are set at the terminal). The user table
// read with CMD_USERTEMP_RRQ is a uint32 length and 72-byte records.
//
// # 4. The driver
//
// ## 4.1 Configuration
//
// Kind "zk4370". The device's section decodes into Options:
//
//	address         = "10.0.3.21"    # host or host:port; port 4370 (required)
//	comm_key        = 0              # the terminal's Comm Key (COMM menu); 0: none
//	time_zone       = "Asia/Shanghai" # the zone the terminal's clock shows; default the gateway's
//	clock_threshold = "2s"           # set the terminal's clock when off by more (2s–1h)
//	clock_check     = "1h"           # how often the clock is checked while connected
//	timeout         = "5s"           # one reply's wait
//	backoff_min     = "1s"           # reconnect wait, doubling up to backoff_max
//	backoff_max     = "1m"
//	transport       = "tcp"          # or "udp" (§4.5)
//	keepalive       = "10s"          # over UDP: how often the session is checked
//
// New validates it without touching the network: a terminal that is off at
// start-up does not stop the gateway; Run connects and reconnects.
//
// ## 4.2 Custody: the terminal's log is the store
//
// A terminal stores every punch in its log whatever the gateway does, so the
// driver never needs a punch acknowledged: it needs to know how far into the
// log it holds every punch durably. That position (the terminal's serial, the
// number of log records covered, the key of the last one, and the keys of
// real-time punches journaled beyond it) is kept per device in the gateway's
// state directory, in "zk4370-<device id>.json", replaced atomically, and
// moved only after Sink.Emit returned nil for the punches it covers.
//
// On every connection the driver registers for real-time punches, then reads
// the whole log (keypad disabled meanwhile, §2) and journals, oldest first,
// each record past the position that is not among the real-time ones already
// journaled; then it follows real-time punches, journaling each one that the
// read did not already hold. When the real-time queue overflows, an event is
// unreadable, or 256 real-time punches have piled up past the position, it
// reads the log again. So a gateway restart, a network cut or a refusal of
// the journal loses nothing the terminal stored: the next read finds it. A
// crash between a punch being journaled and the position being saved sends
// it again (at most 64 during a read, one in real time), under the same id.
//
// If the record at the position no longer matches (the log was cleared at
// the terminal, or rolled over), the driver looks for that record elsewhere
// in the log and resumes after it; failing that it sends the whole log again,
// under the same ids (counted as log_resets, logged). Another serial at the
// address starts a new position. The gateway never clears the terminal's log.
//
// ## 4.3 Events, ids and the clock
//
// A punch becomes an attendance.punch event (gateway/MQTT.md §5.1) with the
// data a PUSH upload of it gets (zkteco.PunchData): "person" is the PIN,
// "state" the state code (0–5 named), "credential" the verify code (1
// fingerprint, 3 password, 4 card, 15 face, 25 palm, else unknown), the
// serial and both codes under "raw". Its source is
// zkteco.PunchKey(serial, PIN, "YYYY-MM-DD HH:MM:SS", state, verify): the id
// the same punch gets when a PUSH terminal uploads it. Event.Time is the
// record's wall clock in time_zone; TimeRaw is the record's text.
//
// At connect and every clock_check the driver reads the terminal's clock;
// off by more than clock_threshold, it sets it to the gateway's, read in
// time_zone, and reads it again. Punches carry "synced" once it is within the
// threshold, "drifted" when it could not be brought there, "unknown" before
// the first check. Status reports online (a session following real-time
// punches), last seen, firmware, the clock and the counters punches,
// backfilled, realtime, realtime_malformed, reconnects, clock_sets,
// log_resets and busy_retries.
//
// ## 4.4 Commands
//
// user.upsert, user.delete and attendance.fetch (devices/terminal's doc has
// their args and results), checked by terminal.CheckCommand like every
// terminal's, and time.set (the clock check of §4.3, now: its result says
// the offset found, corrected_ms, whether the clock was stepped and the
// offset left), over the live session: "busy" while the terminal is not
// connected. attendance.fetch reads the log and journals the punches whose
// time (in time_zone) falls in the window, oldest first, up to limit, again
// and under their own ids; it never moves the position and never clears the
// log. The user is found
// by PIN in the user table (CMD_USERTEMP_RRQ); a new one gets the lowest free
// user number. A PIN is at most 24 characters and a name 24 bytes; a card is
// decimal, or facility:number as facility·65536 + number; "enabled": false is
// refused (the 72-byte record has no such flag: delete the user instead).
// Passwords and templates are never written.
//
// ## 4.5 UDP
//
// Some terminals (and some networks) allow only the UDP transport. A bulk
// read then asks for chunks of at most MaxChunkUDP (16 KiB, as pyzk does),
// which the terminal sends as CMD_DATA datagrams of about 1 KiB. UDP loses
// and tells nothing, and the driver makes up for both with the terminal's
// record count (CMD_GET_FREE_SIZES):
//   - before journaling real-time punches it compares the count with the
//     position, the real-time punches journaled past it and the new ones: a
//     record more means a datagram was lost, and the log is read first, so
//     that no punch overtakes the lost one (per-device order holds);
//   - every keepalive it asks the count: no answer within timeout ends the
//     session (a terminal gone away sends no error), and records missing at
//     two checks in a row (a lost datagram with no punch after it) make it
//     read the log.
//
// Counted as datagrams_lost and datagrams_damaged. Custody is unchanged: the
// log is the store, and a read finds what any datagram lost.
package zk4370
