// Package rollout owns firmware rollouts: one signed image taken to a list of
// devices. A rollout goes canary first and is durable, so that a gateway
// restart resumes it.
//
// How the gateway uses it:
//
//   - The admin service makes one Orchestrator at start (New) on a state
//     directory, with the firmware public key from its configuration, a
//     Fleet that resolves a device id to the link of the port it is on
//     (Link adapts a *link.Gateway), a Busy hook ("kiosk mid check-in",
//     "room occupied") and a Progress callback that publishes on MQTT and
//     feeds the CLI's progress bar. It then calls Resume, which continues
//     every rollout the previous process left unfinished.
//   - `officegate firmware rollout IMAGE --devices …` and the MQTT command
//     call Images.Read (IMAGE and IMAGE.sig, regular files of the one
//     firmware directory, within its size cap; anything else is ErrNoImage,
//     one error that tells nothing about files elsewhere) and Start. Start checks the
//     signature over "officegate/fw/v1" ‖ SHA-256(image) (PROTOCOL.md
//     §10.1) with the gateway's key before anything else: a bad image, an
//     unknown device, a device listed twice, or a device already in an
//     unfinished rollout (ErrInRollout, naming that rollout) is refused and
//     nothing is written or sent.
//
// # Plan
//
// The first Canary devices (default 1) are updated one at a time. If a
// canary does not end confirmed, the rollout is halted: the devices after
// it are not touched and stay "waiting", and the reason names the canary.
// Then the rest go, Parallel at a time (default 1). A failure after the
// canaries is reported for that device and the others go on. A device is
// in at most one unfinished rollout, so it never receives two updates at
// once; it is freed when it reaches a final phase or its rollout ends.
//
// # One device
//
//  1. Busy is asked; while it says busy the device is "deferred" with the
//     reason and asked again every DeferRetry. It is never skipped.
//  2. "transferring": Device.Transfer sends the image; the link resumes from
//     the bytes the device holds (§10.2), so a retry never starts over. A
//     refusal or TransferTimeout: "failed".
//  3. Busy is asked again, since the test boot reboots the device.
//  4. "testing": Device.TestBoot; the device comes back running the image
//     in test state. A revert (the HELLO says reverted, with a code such
//     as test_boot_failed), or no return within BootTimeout, is
//     "rolled_back" with the reason.
//  5. The image must stay up, same boot, for Probation (§10.3: 60 s by
//     default); then Device.Confirm: "confirmed".
//
// Every phase change is written to the state file before the next step
// and reported as an Event; the rollout's start, halt and end are Events
// without a device, and the last carries a Summary (confirmed, rolled
// back, failed, deferred at least once, untouched). If the state file
// cannot be written the rollout stops (Rollout.Err), since going on would
// leave the disk behind the devices.
//
// # Resuming
//
// Close stops every rollout where it is without marking anything failed.
// A later New on the same directory claims the devices of every rollout
// in state "running", and Resume continues each: final devices are left
// alone; waiting and deferred ones start from step 1; a device that was
// "transferring" transfers again, from what it holds; a device that was
// "testing" is waited for (up to BootTimeout) and judged by what it runs:
// the new version in test state is kept under probation and confirmed,
// the new version confirmed is "confirmed", a revert of the new version
// is "rolled_back", and the old version with no revert (the test boot was
// never carried out) starts over at step 1. The image is read back from
// the copy kept in the state directory and checked against the hash and
// signature recorded; if it is missing or differs, the rollout is halted
// with that reason.
//
// # State directory
//
// For each rollout, named ID (start time in UTC and the first four bytes
// of the image hash in hex, "20260314T091500Z-3fa2c4d1", with "-2", "-3"…
// if taken), the directory holds ID.rollout, the state file, and while
// the rollout runs ID.img, a copy of the image, so that a resume does not
// depend on the file the operator named. Both are replaced atomically:
// a temporary file in the same directory, fsync, rename, fsync of the
// directory; the image is written before the state file, so a state file
// always has its image. Temporary files ("ID.rollout.*.tmp") left by a
// crash are removed by New. Finished rollouts keep their state file as
// history; their image copy is removed.
//
// The state file is one JSON object, in UTF-8, indented with tabs:
//
//   - "format": 1. A reader refuses any other value.
//   - "id": the rollout ID; it must equal the file's name without ".rollout".
//   - "created", "updated": RFC 3339 UTC times of the start and of the last
//     write.
//   - "state": "running" (Resume continues it), "done" (every device
//     reached a final phase) or "halted" (a canary failed, or the kept
//     image was unusable); "reason" says why it halted.
//   - "firmware": "path" of the image, its name in the firmware directory (reported only), "version"
//     (sent in FW_OFFER), "size" in bytes, "sha256" and "signature" in
//     lower-case hex (32 and 64 bytes).
//   - "canary", "parallel": the plan, each at least 1.
//   - "devices": the targets in order, each an object with "id", "phase"
//     (waiting, deferred, transferring, testing, confirmed, rolled_back,
//     failed; the last three are final), "attempts" (transfers started,
//     counting resumes), "deferrals" (times Busy put the device off),
//     "reason" (why deferred, rolled back or failed), and the times
//     "started" (first transfer), "updated" (last change) and "finished"
//     (final phase), each omitted while unset.
//
// A file that does not parse, has unknown fields, an unknown state or
// phase, no devices, a device listed twice, or an id that does not match
// its name stops New with an error naming the file. It is never reset or
// skipped: a reset would forget a device left in its test boot.
package rollout
