// Package fwemu is an emulated device firmware: the device side of the
// firmware-bridge protocol as a microcontroller in an attendance terminal
// or a meeting-room panel would run it, for tests, the demo and the
// benchmarks.
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
// occupancy and buttons for panels), deterministically from a seed; tests
// add their own with Emit. Commands: ping and echo answer with their
// arguments, set_time sets the clock, and Options.Commands adds more.
//
// The emulator serves whatever line it is given (a PTY in tests, a tty in
// cmd/fwemu) through link.Device; see Emulator.Run.
package fwemu
