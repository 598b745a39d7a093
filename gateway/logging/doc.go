// Package logging builds the daemon's logger: JSON for journald, or a console
// on a terminal. It is zerolog writing JSON to stdout under systemd (journald)
// and a human console format on a terminal, at the configured level, with child
// loggers per device.
//
// Errors are never sampled: no sampler is installed, because a sampler applies
// to every level unless it is a LevelSampler, and a dropped error is a lost
// diagnosis. Nothing below main calls Fatal or Panic: Fatal calls os.Exit and
// skips the shutdown that flushes the journal and publishes "offline" (a test
// in this package keeps it so).
package logging
