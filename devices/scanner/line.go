package scanner

import (
	"errors"
	"io"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxLine is the longest line accepted unless configured otherwise:
// a QR code holds at most 2953 bytes, but visitor invitations and badge
// codes are URLs or ids well under 512, and a cap this size keeps a
// scanner stuck in a loop from filling memory.
const DefaultMaxLine = 512

// readChunk is the size of the LineReader's read buffer: one read of a
// USB-CDC endpoint brings at most 512 bytes on a high-speed bus, 64 on a
// full-speed one, so a larger buffer would only sit empty.
const readChunk = 512

// maxEmptyReads bounds consecutive (0, nil) reads before giving up, as
// bufio does: a Reader that never makes progress is a bug, not a quiet line.
const maxEmptyReads = 100

// Counts are the cumulative line counters of a LineReader or a Scanner.
// Every line seen ends up in exactly one of them, so they add up to the
// number of line endings (CR, LF or CRLF, each once) plus one for a line cut
// off by the end of the input. A LineReader counts only the first five; a
// Scanner also refuses by its format, noise and rate rules, so of the lines
// its LineReader accepted only the scans it sent count as Accepted.
type Counts struct {
	Accepted     uint64 // returned by Next (a Scanner: sent as a Scan)
	TooLong      uint64 // longer than the cap; discarded up to its end
	NonPrintable uint64 // a control or format character, or invalid UTF-8
	Empty        uint64 // nothing between two endings (CRLF is one ending)
	Unterminated uint64 // cut off by the end of the input (EOF, unplug) or Reset
	TooShort     uint64 // shorter than the Scanner's MinLine
	BadAlphabet  uint64 // outside visible ASCII where the Scanner wants it
	Noise        uint64 // ended within the Scanner's Quiet of a refused line
	RateLimited  uint64 // over the Scanner's Limit
}

// Total is the number of lines seen.
func (c Counts) Total() uint64 {
	return c.Accepted + c.Refused()
}

// Refused is the number of lines refused, for any reason.
func (c Counts) Refused() uint64 {
	return c.TooLong + c.NonPrintable + c.Empty + c.Unterminated + c.TooShort + c.BadAlphabet + c.Noise + c.RateLimited
}

// Reasons are the names of the refusal counters, in the order of Counts:
// a fixed set, fit to be a metric's label values.
var Reasons = []string{"too_long", "non_printable", "empty", "unterminated", "too_short", "bad_alphabet", "noise", "rate_limited"}

// ByReason returns the refusal counters in the order of Reasons.
func (c Counts) ByReason() []uint64 {
	return []uint64{c.TooLong, c.NonPrintable, c.Empty, c.Unterminated, c.TooShort, c.BadAlphabet, c.Noise, c.RateLimited}
}

// Map returns the counters by their snake_case names, as devices.Status
// carries them: "lines_accepted" and the Reasons.
func (c Counts) Map() map[string]uint64 {
	m := map[string]uint64{"lines_accepted": c.Accepted}
	for i, n := range c.ByReason() {
		m[Reasons[i]] = n
	}
	return m
}

// LineReader splits a byte stream into scanned lines. It accepts CR, LF and
// CRLF endings in any mix (a CRLF split across two reads is still one
// ending), and keeps a line only if it is 1 to max bytes of printable UTF-8;
// every other line is counted by reason and skipped. Its memory is bounded
// by max and a fixed read buffer, whatever the input.
//
// Next is for one goroutine; Counts may be called from any.
type LineReader struct {
	// Immutable.
	max int

	// Mutable, owned by the goroutine calling Next and Reset.
	r          io.Reader
	buf        [readChunk]byte
	start, end int    // unread bytes are buf[start:end]
	line       []byte // the line so far; cap max, never grown past it
	pending    bool   // bytes of an unfinished line were seen (line may be empty if discarding)
	discarding bool   // the line passed max: skip to its end
	afterCR    bool   // the last byte was a CR: an LF now completes a CRLF
	err        error  // sticky error from r, returned once buf is drained
	// onRefuse, if set, is called (from Next) as a line is refused as
	// too_long or non_printable: the Scanner's noise rule needs when.
	onRefuse func()

	// Counters, readable from any goroutine.
	accepted, tooLong, nonPrintable, empty, unterminated atomic.Uint64
}

// NewLineReader returns a LineReader over r that accepts lines of up to max
// bytes, not counting the ending; max ≤ 0 means DefaultMaxLine.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLine
	}
	return &LineReader{r: r, max: max, line: make([]byte, 0, max)}
}

// Max returns the longest line accepted, in bytes.
func (lr *LineReader) Max() int { return lr.max }

// Counts returns a snapshot of the counters.
func (lr *LineReader) Counts() Counts {
	return Counts{
		Accepted:     lr.accepted.Load(),
		TooLong:      lr.tooLong.Load(),
		NonPrintable: lr.nonPrintable.Load(),
		Empty:        lr.empty.Load(),
		Unterminated: lr.unterminated.Load(),
	}
}

// Reset makes lr read from r, as after a re-plug: a line left unfinished is
// counted Unterminated and dropped, and the counters carry on.
func (lr *LineReader) Reset(r io.Reader) {
	lr.dropPartial()
	lr.r, lr.start, lr.end, lr.err, lr.afterCR = r, 0, 0, nil, false
}

// Next returns the next accepted line, without its ending. At the end of
// the input it returns the reader's error (io.EOF, or why the port failed),
// and keeps returning it; an unfinished last line is counted Unterminated.
func (lr *LineReader) Next() (string, error) {
	empties := 0
	for {
		for lr.start < lr.end {
			c := lr.buf[lr.start]
			lr.start++
			if lr.afterCR {
				lr.afterCR = false
				if c == '\n' {
					continue // the LF of a CRLF: the line already ended at the CR
				}
			}
			switch c {
			case '\r', '\n':
				lr.afterCR = c == '\r'
				if s, ok := lr.finish(); ok {
					return s, nil
				}
			default:
				lr.pending = true
				switch {
				case lr.discarding:
				case len(lr.line) == lr.max:
					lr.discarding = true
					lr.line = lr.line[:0]
				default:
					lr.line = append(lr.line, c)
				}
			}
		}
		if lr.err != nil {
			lr.dropPartial()
			return "", lr.err
		}
		n, err := lr.r.Read(lr.buf[:])
		if n < 0 || n > len(lr.buf) {
			// A broken Reader must not make us index out of range.
			n, err = 0, errors.New("scanner: reader returned an impossible count")
		}
		lr.start, lr.end, lr.err = 0, n, err
		if n == 0 && err == nil {
			if empties++; empties >= maxEmptyReads {
				lr.err = io.ErrNoProgress
			}
			continue
		}
		empties = 0
	}
}

// finish ends the current line at an ending and counts it; ok is true when
// the line is accepted.
func (lr *LineReader) finish() (s string, ok bool) {
	defer lr.clear()
	switch {
	case lr.discarding:
		lr.tooLong.Add(1)
		lr.refuse()
	case len(lr.line) == 0:
		lr.empty.Add(1)
	case !Printable(lr.line):
		lr.nonPrintable.Add(1)
		lr.refuse()
	default:
		lr.accepted.Add(1)
		return string(lr.line), true
	}
	return "", false
}

func (lr *LineReader) refuse() {
	if lr.onRefuse != nil {
		lr.onRefuse()
	}
}

func (lr *LineReader) dropPartial() {
	if lr.pending {
		lr.unterminated.Add(1)
	}
	lr.clear()
}

func (lr *LineReader) clear() {
	lr.line, lr.pending, lr.discarding = lr.line[:0], false, false
}

// Printable reports whether b is valid UTF-8 made only of graphic
// characters and spaces (Unicode categories L, M, N, P, S, Zs). It refuses
// control characters (C0, DEL, C1: a scanner's AIM prefix or a GS1 group
// separator, 0x1D, among them), format characters (bidirectional overrides
// that would make a logged code read differently from what it is) and
// line or paragraph separators.
func Printable(b []byte) bool {
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return false // invalid encoding; an encoded U+FFFD has size 3
		}
		if !unicode.IsGraphic(r) {
			return false
		}
		b = b[size:]
	}
	return true
}
