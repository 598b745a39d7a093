// Package provisioning owns the gateway's registry of devices. It records who
// each unit on the serial links is, whether it may talk, and the key it proves
// it with.
//
// How the gateway uses it:
//
//   - The daemon opens one Registry in its state directory at start (Open).
//     A damaged registry stops the start with an error naming the file; it
//     is never reset, because resetting would re-enroll or lock out a floor.
//   - Each serial port's link.Gateway gets reg.OnPort(port) as its
//     link.Directory. A HELLO from an unknown hardware id is recorded as
//     pending (facilities see it as a retained MQTT message); an approved
//     device gets its device id, then agrees its link key with the link at
//     its next HELLO (firmware-bridge/PROTOCOL.md §6.7: the registry is the
//     link's KeyStore, SetKey), and the link authenticates every frame from
//     then on; disabled and retired units are refused.
//   - Facilities approve pending devices (Approve, from the CLI or an MQTT
//     command through the daemon's admin service), or open an enrollment
//     window with rules (SetWindow, `officegate enroll --for 10m`) that
//     approve matching devices as they say HELLO, or import a CSV manifest
//     (Import, `officegate devices import FILE`) that approves known pending
//     units and leaves preapprovals for the others.
//   - Rename, Disable, Enable, Retire and Replace serve the device commands;
//     Replace lets a new unit take over a broken one's device id, name, room
//     and profile; the new unit agrees a key of its own.
//   - The link's status watcher calls Seen; last-seen reaches the disk at
//     most once a minute per device.
//
// Every mutation is durable before it returns. The files are specified in
// FORMAT.md; the sections cited in the code are its sections.
package provisioning
