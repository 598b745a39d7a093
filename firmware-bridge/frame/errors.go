package frame

import (
	"errors"
	"fmt"
)

// Reason classifies why a frame was rejected (PROTOCOL.md §2.6). Receivers
// count drops per reason; the numbers are not sent on the wire.
type Reason uint8

// Reasons, in the order a receiver checks them.
const (
	ReasonNone       Reason = iota
	ReasonOversize          // more bytes than the frame size cap before a delimiter
	ReasonBadCOBS           // the COBS encoding is malformed
	ReasonShort             // decoded frame shorter than header + CRC, or cut off by end of stream
	ReasonBadCRC            // CRC-32C mismatch
	ReasonBadVersion        // header version this implementation does not speak
	ReasonBadLength         // header body length disagrees with the frame's size
	ReasonBadMAC            // tag missing, or present and wrong, while a key is in force
	NumReasons              // number of reasons, for arrays indexed by Reason
)

var reasonNames = [NumReasons]string{
	ReasonNone:       "none",
	ReasonOversize:   "oversize",
	ReasonBadCOBS:    "bad cobs",
	ReasonShort:      "short",
	ReasonBadCRC:     "bad crc",
	ReasonBadVersion: "bad version",
	ReasonBadLength:  "bad length",
	ReasonBadMAC:     "bad mac",
}

// String returns the reason as used in error texts and metric labels.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Sentinel errors, one per reason; errors.Is(err, ErrBadCRC) matches every
// *Error with that reason.
var (
	ErrOversize   = errors.New("frame: oversize")
	ErrBadCOBS    = errors.New("frame: bad cobs")
	ErrShort      = errors.New("frame: short")
	ErrBadCRC     = errors.New("frame: bad crc")
	ErrBadVersion = errors.New("frame: bad version")
	ErrBadLength  = errors.New("frame: bad length")
	ErrBadMAC     = errors.New("frame: bad mac")
)

var sentinels = [NumReasons]error{
	ReasonOversize:   ErrOversize,
	ReasonBadCOBS:    ErrBadCOBS,
	ReasonShort:      ErrShort,
	ReasonBadCRC:     ErrBadCRC,
	ReasonBadVersion: ErrBadVersion,
	ReasonBadLength:  ErrBadLength,
	ReasonBadMAC:     ErrBadMAC,
}

// Error is a rejected frame: the reason (for counting) and the identifying
// fact (for the log).
type Error struct {
	Reason Reason
	Detail string
}

func newError(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }

func (e *Error) Error() string {
	if e.Detail == "" {
		return "frame: " + e.Reason.String()
	}
	return "frame: " + e.Reason.String() + ": " + e.Detail
}

// Is reports whether target is the sentinel for e's reason.
func (e *Error) Is(target error) bool {
	return e.Reason < NumReasons && sentinels[e.Reason] != nil && target == sentinels[e.Reason]
}

// ReasonOf returns the reason carried by err, or ReasonNone if err is not a
// frame rejection.
func ReasonOf(err error) Reason {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return ReasonNone
}
