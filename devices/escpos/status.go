package escpos

import (
	"errors"
	"fmt"
)

// ErrBadStatus is wrapped by the error for a status answer whose fixed bits are wrong: the
// byte is not an answer to DLE EOT (line noise, a wrong baud rate, another device).
var ErrBadStatus = errors.New("escpos: invalid status byte")

// StatusRequest is the real-time status request DLE EOT n for each n = 1…4 (FORMAT.md,
// "Status"), sent as one write: printer, offline cause, error cause, paper roll sensor.
// A printer answers each with one byte, even while offline or with its buffer full.
var StatusRequest = []byte{
	0x10, 0x04, 0x01,
	0x10, 0x04, 0x02,
	0x10, 0x04, 0x03,
	0x10, 0x04, 0x04,
}

// Every answer to DLE EOT has bit 0 and bit 7 clear and bits 1 and 4 set: that is how
// an answer is told from other bytes on the line.
const (
	fixedMask = 0x93
	fixedBits = 0x12
)

// Bits of the answers (Epson ESC/POS reference, DLE EOT).
const (
	bitDrawer      = 1 << 2 // n=1: drawer kick-out connector pin 3 is high
	bitOffline     = 1 << 3 // n=1: offline
	bitCoverOpen   = 1 << 2 // n=2: cover open
	bitFeedButton  = 1 << 3 // n=2: paper being fed by the feed button
	bitPaperStop   = 1 << 5 // n=2: printing stopped by paper end
	bitErrorOccurs = 1 << 6 // n=2: an error has occurred
	bitCutterError = 1 << 3 // n=3: autocutter error
	bitUnrecover   = 1 << 5 // n=3: unrecoverable error
	bitAutoRecover = 1 << 6 // n=3: automatically recoverable error (head too hot, …)
	bitsNearEnd    = 3 << 2 // n=4: roll paper near-end sensor: both bits set when near end
	bitsPaperEnd   = 3 << 5 // n=4: roll paper end sensor: both bits set when no paper
)

// Status is a printer's state as its four real-time status answers report it.
type Status struct {
	Online       bool // n=1 bit 3 clear
	DrawerHigh   bool // n=1 bit 2: drawer kick-out connector pin 3 is high
	CoverOpen    bool // n=2 bit 2
	FeedButton   bool // n=2 bit 3: paper is being fed by the feed button
	PaperStop    bool // n=2 bit 5: printing stopped because the paper ran out
	Error        bool // n=2 bit 6, or any of the error causes below
	CutterError  bool // n=3 bit 3
	Unrecover    bool // n=3 bit 5: needs a power cycle or service
	AutoRecover  bool // n=3 bit 6: clears by itself (print head too hot, …)
	PaperNearEnd bool // n=4 bits 2–3
	PaperEnd     bool // n=4 bits 5–6, or n=2 bit 5

	Raw [4]byte // the answers as read, for logs
}

// DecodeStatus decodes the answers to StatusRequest, in order. An answer whose fixed bits
// are wrong gives an error wrapping ErrBadStatus that names it and quotes the byte.
// Undefined bits are ignored, n=3 bit 2 among them: some models call it a recoverable
// error, others leave it undefined, so it cannot refuse a print.
func DecodeStatus(answers [4]byte) (Status, error) {
	for i, b := range answers {
		if b&fixedMask != fixedBits {
			return Status{}, fmt.Errorf("%w: answer %d to DLE EOT %d is 0x%02X (want fixed bits 0x%02X under mask 0x%02X)",
				ErrBadStatus, i+1, i+1, b, fixedBits, fixedMask)
		}
	}
	p, off, e, roll := answers[0], answers[1], answers[2], answers[3]
	s := Status{
		Online:       p&bitOffline == 0,
		DrawerHigh:   p&bitDrawer != 0,
		CoverOpen:    off&bitCoverOpen != 0,
		FeedButton:   off&bitFeedButton != 0,
		PaperStop:    off&bitPaperStop != 0,
		CutterError:  e&bitCutterError != 0,
		Unrecover:    e&bitUnrecover != 0,
		AutoRecover:  e&bitAutoRecover != 0,
		PaperNearEnd: roll&bitsNearEnd == bitsNearEnd,
		Raw:          answers,
	}
	// One bit of a two-bit sensor field set means the sensor disagrees with itself; a
	// printer that reports half a paper end is treated as out of paper, the safe side.
	s.PaperEnd = roll&bitsPaperEnd != 0 || s.PaperStop
	s.Error = off&bitErrorOccurs != 0 || s.CutterError || s.Unrecover || s.AutoRecover
	return s, nil
}

// Outcome is what became of a badge: the label in the kiosk's events and metrics.
type Outcome string

// The outcomes of a print (FORMAT.md, "Outcomes").
const (
	Printed   Outcome = "printed"    // the printer took the job and reported no fault after it
	PaperEnd  Outcome = "paper_end"  // out of paper: refused, or ran out during the job
	CoverOpen Outcome = "cover_open" // cover open: refused, or opened during the job
	Offline   Outcome = "offline"    // no answer, or offline for no reported cause
	Failed    Outcome = "error"      // a printer error, a broken line or an invalid badge
)

// Classify says what outcome a print has when the printer reports s: Printed only when
// it is online with no fault. Paper end and an open cover are named first, because
// someone at the kiosk can fix them; both also make the printer offline.
func Classify(s Status) Outcome {
	switch {
	case s.PaperEnd:
		return PaperEnd
	case s.CoverOpen:
		return CoverOpen
	case s.Error:
		return Failed
	case !s.Online:
		return Offline
	}
	return Printed
}
