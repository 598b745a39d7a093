package zkpush

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkteco"
)

// Limits on what a terminal sends. A real record is under 100 bytes (§11.2's
// example lines are about 40); the caps only stop a hostile or broken client
// from making the gateway hold large values.
const (
	MaxLine     = 1024 // bytes in one record line (an OPERLOG USER line with a long name fits)
	MaxPIN      = 24   // the 4370 protocol's widest user id field
	MaxWorkcode = 24
)

// ErrLine is wrapped by every error about one record line: the line is
// refused, the others in its body are not.
var ErrLine = errors.New("zkpush: bad record line")

// Punch is one ATTLOG record (§11.2).
type Punch struct {
	PIN      string
	Time     string // the terminal's local wall clock, zkteco.TimeLayout, no zone
	Status   int    // 0–255: check-in, check-out, break… as configured on the terminal
	Verify   int    // 0–255: how the person was verified (Appendix 7)
	Workcode string // "" when absent or "0"-less firmware left it out
	Dropped  int    // columns past the seventh, counted and not kept (§11.7 adds an id number)
}

// ParseAttlogLine parses one ATTLOG line (no LF; a trailing CR is removed).
// It needs at least PIN, Time, Status and Verify; the Workcode column when
// present must be letters and digits; the two Reserved columns are ignored.
func ParseAttlogLine(line []byte) (Punch, error) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > MaxLine {
		return Punch{}, fmt.Errorf("%w: %d bytes, at most %d", ErrLine, len(line), MaxLine)
	}
	cols := bytes.Split(line, []byte("\t"))
	if len(cols) < 4 {
		return Punch{}, fmt.Errorf("%w: %d tab-separated columns, need at least 4 (PIN, Time, Status, Verify)", ErrLine, len(cols))
	}
	var p Punch
	var err error
	if p.PIN, err = checkPIN(cols[0]); err != nil {
		return Punch{}, err
	}
	if p.Time, err = checkTime(cols[1]); err != nil {
		return Punch{}, err
	}
	if p.Status, err = checkByte("Status", cols[2]); err != nil {
		return Punch{}, err
	}
	if p.Verify, err = checkByte("Verify", cols[3]); err != nil {
		return Punch{}, err
	}
	if len(cols) > 4 {
		if p.Workcode, err = checkToken("Workcode", cols[4], MaxWorkcode, true); err != nil {
			return Punch{}, err
		}
	}
	if len(cols) > 7 {
		p.Dropped = len(cols) - 7
	}
	return p, nil
}

// Key returns the punch's stable event source on the terminal with serial sn.
func (p Punch) Key(sn string) devices.EventSource {
	return zkteco.PunchKey(sn, p.PIN, p.Time, p.Status, p.Verify)
}

// checkPIN: a user id (§2 "Pin: ID"), letters and digits.
func checkPIN(b []byte) (string, error) { return checkToken("PIN", b, MaxPIN, false) }

func checkToken(name string, b []byte, max int, empty bool) (string, error) {
	if len(b) == 0 {
		if empty {
			return "", nil
		}
		return "", fmt.Errorf("%w: empty %s", ErrLine, name)
	}
	if len(b) > max {
		return "", fmt.Errorf("%w: %s is %d bytes, at most %d", ErrLine, name, len(b), max)
	}
	for i, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", fmt.Errorf("%w: %s %q: byte 0x%02x at %d is not a letter or digit", ErrLine, name, b, c, i)
		}
	}
	return string(b), nil
}

// checkTime accepts exactly zkteco.TimeLayout naming a real instant (no
// 2026-02-30, no 24:00:00): re-formatting must give the same bytes back.
func checkTime(b []byte) (string, error) {
	if len(b) != len(zkteco.TimeLayout) {
		return "", fmt.Errorf("%w: time %q is not YYYY-MM-DD HH:MM:SS", ErrLine, b)
	}
	t, err := time.Parse(zkteco.TimeLayout, string(b))
	if err != nil || t.Format(zkteco.TimeLayout) != string(b) {
		return "", fmt.Errorf("%w: time %q is not a calendar instant in YYYY-MM-DD HH:MM:SS", ErrLine, b)
	}
	return string(b), nil
}

// checkByte accepts decimal 0–255 without sign, spaces or leading zeros
// beyond "0" itself, so one value has one spelling (it is part of the key).
func checkByte(name string, b []byte) (int, error) {
	if len(b) == 0 || len(b) > 3 || len(b) > 1 && b[0] == '0' {
		return 0, fmt.Errorf("%w: %s %q is not a decimal 0-255", ErrLine, name, b)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("%w: %s %q is not a decimal 0-255", ErrLine, name, b)
	}
	return n, nil
}

// Lines calls fn for each non-empty line of body (LF-separated; a trailing
// CR is the line's) with its 1-based number, and stops at the first error fn
// returns.
func Lines(body []byte, fn func(n int, line []byte) error) error {
	n := 0
	for len(body) > 0 {
		n++
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSuffix(line, []byte("\r"))) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return nil
}
