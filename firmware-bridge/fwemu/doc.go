// Package fwemu is an emulated device firmware, for tests, the demo and the
// benchmarks. It runs the device side of the firmware-bridge protocol as a
// microcontroller in an attendance terminal or a meeting-room panel would.
//
// It is faithful where the guarantees live:
//   - Events go to a bounded, flash-like record store first, with an id
//     [boot, n] that never changes, and leave it only when the gateway has
//     acknowledged them (or a WELCOME high-water mark covers them). The store
//     survives the emulator's own restart: every new record is written to
//     the state file before it is sent (temp file, fsync, rename, fsync of
//     the directory). Deletions are written lazily, with the next record,
//     so a crash only makes the gateway see records again that it already
//     has, which it drops by their ids. When the store is full, new events
//     are dropped and their ids are still used up, so the gateway sees the
//     gap (PROTOCOL.md §9.1).
//   - The boot id is a counter in the state file, incremented and written
//     at every boot before anything is sent (§6.4).
//   - Configuration is applied by hash and kept in the state file (§9.3).
//   - Firmware goes to a spare slot (a file beside the state file), is
//     checked against its SHA-256 and an Ed25519 signature, boots once for
//     a test, and is reverted by the "bootloader" if it is not confirmed
//     before the next reset (§10). A partial transfer survives a restart.
//
// Events are generated at a configurable rate (punches for terminals,
// occupancy and buttons for panels; none for a kiosk's panel, a display),
// deterministically from a seed; tests add their own with Emit. Commands: ping and echo answer with their
// arguments, set_time sets the clock, and Options.Commands adds more (and
// takes precedence over the terminal's).
//
// # Attendance terminal
//
// An emulator of Kind msg.KindAttendance runs a terminal application (see
// devices/terminal for the gateway's side of these commands; on the link
// their names have '_' for '.', as link names must, §4.1):
//   - A user table in the state file (key 12): user_upsert {user, name,
//     card, role, enabled} creates or replaces a user and answers {user,
//     created}; user_delete {user} answers {user, deleted}. At most MaxUsers.
//     Any key naming a template, photo, image, fingerprint, face, palm, iris
//     or vein, or a byte string over 64 bytes, is refused whatever the
//     gateway let through: biometrics are enrolled at the terminal. Other
//     unknown keys are ignored.
//   - door_pulse {ms: 100–10000, default 3000} on a terminal with a relay
//     (Options.Door; otherwise RESULT error "no door relay wired") holds the
//     relay for ms on a real timer and answers {ms}; another pulse meanwhile
//     answers RESULT busy. DoorPulses lists them for tests.
//   - An attendance log in the state file (key 13): every "punch" event
//     recorded, as first encoded, also when the record store was full.
//     Acknowledgement does not remove it; beyond Options.LogCapacity the
//     oldest is dropped, as a terminal's cyclic log does.
//   - attendance_fetch {since_ms, until_ms (0: none), limit (1–5000,
//     default 500)} selects the logged punches with since_ms ≤ time <
//     until_ms, oldest first by device time, at most limit and at most the
//     record store's free room, and answers {count, more}; RESULT busy when
//     the store has no room. Each selected punch is recorded again as a new
//     event (a new id): kind "punch", Time and Clock of the original, Data
//     the original's plus "replay": {"boot", "seq"}, the original id. Replays
//     are not logged again. The log is never cleared by a fetch.
//
// # Meeting-room panel
//
// An emulator of Kind msg.KindRoomPanel runs a panel application: the
// commands the gateway's room driver sends, named with '_' on the link,
// are taken and kept in RAM (a boot clears them; the driver sends them
// again), for Panel, PanelLine and PanelLED to show:
//   - panel_display {line: UTF-8 text of at most MaxPanelLine bytes}
//     answers {line}.
//   - panel_led {state: "available"|"pending"|"occupied"|"offline"}
//     answers {state}.
//
// Other args are ignored; a missing or bad line or state is RESULT error.
// An emulator of Kind msg.KindKiosk (a reception kiosk's own panel) takes
// kiosk_display {line} the same way (PanelLine shows it).
// A panel's events have the bodies of PROTOCOL.md §9.4, built by PanelButton
// and PanelOccupancy: "button" {button: 1–32} and "occupancy" {state:
// "occupied"|"vacant"}; the generator makes both (keys 1–4).
// Options.Rate 0 leaves a panel quiet: Emit("button", PanelButton(1))
// presses a key as a person would.
//
// The emulator serves whatever line it is given (a PTY in tests, a tty in
// cmd/fwemu) through link.Device; see Emulator.Run.
package fwemu
