// Package serialport owns the gateway's serial ports. It opens a tty by name
// (preferably /dev/serial/by-id/…), keeps it raw 8N1 at a standard baud rate,
// tells a quiet line from an unplugged adapter, closes promptly, and re-opens
// the port when the adapter comes back.
//
// # Using it
//
// Open returns a Port, an io.ReadWriteCloser whose Read blocks until data arrives and
// fails only when the device has gone (ErrUnplugged) or the port was closed (ErrClosed).
// A Supervisor keeps one configured port alive: it runs a Session on each opening, and
// after an unplug retries with jittered exponential backoff until the device is back,
// reporting every state change as an Event. It never needs a process restart.
//
// The goroutine that reads must not wait on anything slow, least of all the disk: the
// kernel's tty buffer holds 4 KiB, about 355 ms at 115200 baud, and drops what arrives
// after. Hand the bytes to another goroutine; acknowledge to the device once they are
// committed.
//
// # tarm/serial and the defects contained
//
// The port is opened and configured by github.com/tarm/serial, as the design chose. Its
// defects were measured on Linux with real kernel PTYs (the master plays the device;
// closing it hangs the slave up as unplugging a USB adapter does); TestMeasureTarmClose
// reproduces the figures (go test -run MeasureTarmClose -v -serialport.measure):
//
//   - A read timeout and a hang-up both come back as (0, io.EOF); a read already waiting
//     when the hang-up happens may get EIO instead. Port therefore never reads through
//     tarm/serial (below) and asks the tty after every empty read: a termios ioctl
//     (TCGETS) on a second descriptor of the same tty fails with EIO once it is hung up
//     (ENXIO and ENODEV are taken the same way), and a stat of the configured name shows
//     a node that has gone or now belongs to another device. Only then is it
//     ErrUnplugged; otherwise the read is retried. A hang-up was seen by a blocked Read
//     within a millisecond.
//   - Close blocks while another goroutine is in Read: tarm opens the file O_NONBLOCK,
//     so Go polls it, then switches the descriptor to blocking behind Go's back, so
//     Close waits for the read system call to return. Without a ReadTimeout that was
//     still blocked after 1 s (until the device sent a byte or hung up); with one
//     (VTIME, 100 ms at least) Close took ≈ 100 ms with a Read blocked, but every quiet
//     port then woke ten times a second, each time a thread returning from a read system
//     call and blocking in the next (≈ 40 thread wake-ups a second per port, measured,
//     and one thread held per port). Port therefore reads through its second
//     descriptor, which it opens O_NONBLOCK and leaves to Go's poller: a quiet port holds
//     no thread and costs nothing until a byte arrives, the poller reports a hang-up at
//     once, and Close wakes the Read at once with ErrClosed. Its only clock is the check
//     of the device node, every PollInterval (1 s), on the same multiples of it for every
//     port so that they fall in one wake-up.
//   - The same holds for Write: Close behind a Write to a peer that does not read was
//     still blocked after 1 s, and flushing the output queue (TCFLSH) did not release
//     it. Port writes through the second descriptor too: Close wakes such a Write at
//     once (measured well under 1 ms) with ErrClosed.
//   - ReadTimeout is VTIME, counted in deciseconds from 0.1 to 25.5 s (150 ms becomes
//     100 ms). Config.PollInterval, which was VTIME before reads left tarm/serial, keeps
//     its range: multiples of 100 ms from 0.1 to 25.5 s.
//   - Only the Bxxx rates exist ("Unrecognized baud rate" otherwise): Config.Validate
//     rejects any other rate up front, quoting it.
//
// With these workarounds tarm/serial passes every test here, so go.bug.st/serial, the
// fallback the design allows, is not used.
//
// Close discards output not yet sent, so that the kernel does not hold the close while
// a stalled line drains. The second descriptor also sets exclusive mode (TIOCEXCL): other
// non-root processes, ModemManager among them, cannot open the port while it is ours.
// Close clears it again: a pty slave would otherwise keep it (measured) and refuse the next
// non-root open with EBUSY. Run the gateway as a non-root user in the dialout group; root
// ignores exclusive mode.
package serialport
