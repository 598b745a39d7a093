package wiegand

import (
	"fmt"
	"time"
)

// Frame is one decoded card read or keypad entry.
type Frame struct {
	Format Format
	Bits   int    // pulses in the frame; 0 for a PIN entry
	Raw    uint64 // the pulses, first most significant, parity included; 0 for a PIN entry
	// Facility and Card split the data bits as Format says (W34Number: Card only).
	Facility, Card uint64
	// Keys is a PIN entry's digits, without the final '#'. Secret: String omits it.
	Keys string
	// Time is the kernel timestamp of the frame's first pulse (for a PIN entry, of the
	// '#' key), on the source's monotonic clock.
	Time time.Duration
}

// Payload returns a card frame's data bits without the two parity bits: for W34 and
// W34Number alike the reader's 32-bit number, whichever split is configured.
func (f Frame) Payload() uint64 {
	if !f.Format.isCard() {
		return 0
	}
	return f.Raw >> 1 & mask(specs[f.Format].bits-2)
}

// String describes the frame. It never prints a PIN's digits, only how many there are,
// so frames can be logged.
func (f Frame) String() string {
	switch {
	case f.Format == PIN:
		return fmt.Sprintf("PIN (%d keys)", len(f.Keys))
	case f.Format == W34Number:
		return fmt.Sprintf("%v card %d", f.Format, f.Card)
	case f.Format.isCard():
		return fmt.Sprintf("%v facility %d card %d", f.Format, f.Facility, f.Card)
	}
	return fmt.Sprintf("%v %d bits %#x", f.Format, f.Bits, f.Raw)
}

// GoString keeps %#v from printing a PIN's digits as well.
func (f Frame) GoString() string { return "wiegand.Frame{" + f.String() + "}" }
