// Package scanner reads QR and barcode scans from a reception kiosk's scanner,
// one per line. The scanner is in USB-CDC serial mode (/dev/ttyACM*).
//
// # Configuration
//
// The device's section decodes into Config:
//
//	port     = "/dev/serial/by-id/usb-Newland_HR22_0123-if00"  # required
//	baud     = 115200  # ignored by USB-CDC, must be a standard rate (the default)
//	max_line = 512     # longest scan accepted, bytes (the default; at most 4096)
//
// Scanners ship as USB keyboards (HID); switch them to USB-CDC ("virtual COM
// port") with the vendor's configuration barcode, so that scans arrive here
// and not as keystrokes into whatever window has the focus. Bind the port by
// /dev/serial/by-id, which names the scanner, not the order of plugging.
//
// # Lines
//
// A scan is the bytes before a line ending. Scanners are configured with a
// CR, LF or CRLF suffix, so all three are endings, in any mix: CRLF counts
// once, even when the CR and LF arrive in different reads. A LineReader
// keeps a line only if it is 1 to max_line bytes of printable UTF-8
// (Printable: letters, marks, numbers, punctuation, symbols, spaces); it
// drops and counts every other line by reason:
//
//	too_long       longer than max_line; skipped up to its ending, never buffered
//	non_printable  a control or format character, or invalid UTF-8
//	empty          nothing between two endings
//	unterminated   cut off by an unplug (or end of input) before its ending
//
// # Plausible scans
//
// A line the LineReader keeps is a scan only if it also passes the rules the
// driver sets in Config for its codes; the rest is refused quietly — never
// sent, counted by reason:
//
//	too_short     shorter than MinLine bytes
//	bad_alphabet  with ASCII set, anything but visible ASCII (0x21–0x7E)
//	noise         ended within Quiet of a line refused for its content
//	              (too_long, non_printable, too_short, bad_alphabet, noise)
//	rate_limited  over Limit: Burst scans back to back, then one per Every
//
// The noise rule is what keeps random bytes from ever making a scan: they
// arrive back to back, so once one of their lines is refused every line
// that follows within Quiet is too, however code-like it looks. A person
// presents the next code long after. The limit is a token bucket on the
// gateway's clock (Opts.Now) and takes only scans that passed every other
// rule.
//
// Accepted lines count as lines_accepted; with the reasons above they add up
// to every line seen (Counts.Total).
// Memory stays bounded whatever the scanner sends: a 10 KB line or an endless
// stream of garbage without an ending costs max_line bytes and a 512-byte
// read buffer. GS1 codes that carry group separators (0x1D) and scanners that
// add an AIM symbology prefix with control bytes are refused as
// non_printable: configure the scanner to send plain text.
//
// # Running
//
// A Scanner runs on the port through a serialport.Supervisor: when the
// scanner is unplugged it goes offline, counts port_unplugged, and re-opens
// the port with backoff (port_open_failed while away) until the scanner is
// back, with no restart. Each accepted scan is sent on the caller's channel
// as a Scan: the text and the gateway's time when its ending arrived (the
// scanner has no clock). Run returns nil once its context is cancelled,
// having closed the port and ended its reads. Status reports online, the
// time of the last scan and all the counters above.
//
// The scan text may be a visitor's invitation: the caller decides what of it
// travels (the design sends a scanned invite upstream as a hash).
package scanner
