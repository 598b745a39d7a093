// Package reader is the driver of a Wiegand card reader or keypad on the
// gateway's GPIO lines. It turns the frames package wiegand decodes into
// devices.Events.
//
// # Configuration
//
// The device's section ([devices.reader] in the gateway's file) decodes into Options:
//
//	chip          = "/dev/gpiochip0"      # GPIO character device (the default)
//	d0            = 17                    # line offsets of D0 and D1 on the chip (required)
//	d1            = 27
//	formats       = ["h10301", "w34"]     # h10301 w34 w34number h10304 keypad4 keypad8;
//	                                      # left out: all but w34number
//	end_gap       = "25ms"                # quiet that ends a frame (the default)
//	emit          = "read"                # "read" (the default) or "punch"
//	card_text     = "facility:number"     # or "number"
//	card_key_file = "/etc/officegate/card.key"  # default: the site's [privacy] card_key_file
//
// New validates all of it without touching the hardware, so a reader that is unplugged at
// start-up does not stop the gateway; Run opens the chip and reopens it, with backoff,
// whenever it fails.
//
// # Card text and hashing
//
// A card is sent as text: "facility:number" in decimal for formats with a facility
// (h10301, w34, h10304; e.g. "12:3456"), the number in decimal for w34number. With
// card_text = "number" every format sends the decimal of all its data bits (the facility
// and card together, without the parity bits), which is what some readers print on the card.
//
// With card_key_file set — or, when the reader does not set it, the site's key ([privacy]
// card_key_file in the gateway's configuration, or the key the gateway makes in its state
// directory when none is configured, passed as devices.Options.CardKey: in the gateway there
// is always one) — the card never leaves the driver in clear: the event carries
// card_hash, the lower-case hex HMAC-SHA256 of the card text under the key, and no card.
// The key is the file's bytes without a final line ending ("\n" or "\r\n"), so a key made
// with `openssl rand -hex 32 > card.key` works; it must be at least 16 bytes. New reads
// the file, so a missing or short key is a configuration error at start-up, never a
// reader that silently sends numbers in clear. A back end matches a card by computing the
// same HMAC over the text printed in its own records.
//
// # Events
//
// emit = "punch" (a reader used as a time clock):
//
//	attendance.punch {credential: "card", state: "unknown",
//	                  card: "12:3456" | card_hash: "<64 hex>",
//	                  raw: {format: "h10301", bits: 26}}
//
// emit = "read" (a reader that is not a time clock, e.g. at a door):
//
//	credential.read {card: "12:3456" | card_hash: "<64 hex>", format: "h10301", bits: 26}
//
// A keypad entry (digits ended by '#') is, in either mode:
//
//	credential.read {pin_entered: true, keys: 4}
//
// The digits never leave the driver: not in events, logs or errors.
//
// Event.Clock is "synced": the time is the gateway's own clock. Event.Source is zero: a
// reader keeps no record of what it sent, so the gateway draws the event's id.
//
// # Time
//
// Edges carry kernel timestamps on the monotonic clock, which says nothing about the time
// of day. Each read of edges records the wall clock when it returns; a frame's time is that
// wall time, taken from the read that delivered the frame's first edge, back-dated by the
// kernel-clock time between the frame's first edge and the last edge of that read. The
// error is the read's latency (microseconds, more if the process stalled), and a step of
// the wall clock (NTP setting the time on a board without an RTC) is followed from the next
// read on, where one offset fixed at start would keep the old time for ever.
//
// # Back-pressure
//
// Emit returning devices.ErrBusy is retried with backoff (10 ms doubling to 500 ms) for
// 2 s of waiting; then the event is counted in Status().Counters["events_lost"] and logged,
// as it is when the sink refuses it outright or the gateway stops during the retries: a
// reader has no memory to keep it in. The retries run on the decoding goroutine; the kernel
// keeps the edges that arrive meanwhile (512 in the chip's buffer, about 19 26-bit frames,
// more than anyone presents in 2 s) and the decoder times them by their kernel
// timestamps, so a pause does not split or merge frames.
//
// # Counters
//
// Status().Counters: frames (decoded), events_emitted, events_lost, busy_retries,
// frames_rejected (all rejections) and one per reason: rejected_bit_count,
// rejected_parity, rejected_seq_gap, rejected_both_low, rejected_spacing,
// rejected_bad_key; keypad entries abandoned: pin_timeout, pin_too_long.
//
// # Performance
//
// 26-bit punches from a simulated reader through the driver into a sink that only counts,
// per event including a share of building the driver and queueing the 26 000 edges of
// 1000 cards: medians of three runs on a shared 2-vCPU AMD EPYC virtual machine, amd64,
// Go 1.26 (a Pi is several times slower; a person presents a card every few seconds):
//
//	go test -run '^$' -bench Run -benchmem -count 3 ./devices/reader
//
//	BenchmarkRunClear   ≈ 640 ns/event    ≈ 1.5 M events/s
//	BenchmarkRunHashed  ≈ 1.33 µs/event   ≈ 750 k events/s   (HMAC-SHA256 per card)
package reader
