package zk4370

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// Stamp is a terminal's wall-clock reading, without a zone (doc.go §3.1).
type Stamp struct {
	Year, Month, Day, Hour, Minute, Second int
}

// TimeLayout formats a Stamp; it is what the PUSH protocol sends and what
// the punch key takes.
const TimeLayout = "2006-01-02 15:04:05"

// String formats s as "YYYY-MM-DD HH:MM:SS".
func (s Stamp) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", s.Year, s.Month, s.Day, s.Hour, s.Minute, s.Second)
}

// In returns s as a time in loc.
func (s Stamp) In(loc *time.Location) time.Time {
	return time.Date(s.Year, time.Month(s.Month), s.Day, s.Hour, s.Minute, s.Second, 0, loc)
}

// StampOf reads t's wall clock (in t's own location).
func StampOf(t time.Time) Stamp {
	return Stamp{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()}
}

// check refuses a stamp that names no calendar second, or one the 4-byte
// encoding cannot hold.
func (s Stamp) check() error {
	if s.Year < 2000 || s.Year > 2099 || s.Hour > 23 || s.Minute > 59 || s.Second > 59 || s.Hour < 0 || s.Minute < 0 || s.Second < 0 {
		return fmt.Errorf("%w: time %s out of range", ErrRecord, s)
	}
	if s.Month < 1 || s.Month > 12 || s.Day < 1 || s.Day > daysIn(s.Year, s.Month) {
		return fmt.Errorf("%w: time %s names no calendar day", ErrRecord, s)
	}
	return nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// EncodeTime encodes s as the 4-byte time (doc.go §3.1). s must be in range
// (2000–2099, as in the SDK, which encodes the year modulo 100); callers
// encode stamps they made from a clock.
func EncodeTime(s Stamp) uint32 {
	return uint32(((((s.Year-2000)*12+s.Month-1)*31+s.Day-1)*24+s.Hour)*60+s.Minute)*60 + uint32(s.Second)
}

// DecodeTime decodes the 4-byte time; it fails for a value that names no
// calendar day.
func DecodeTime(v uint32) (Stamp, error) {
	var s Stamp
	s.Second = int(v % 60)
	v /= 60
	s.Minute = int(v % 60)
	v /= 60
	s.Hour = int(v % 24)
	v /= 24
	s.Day = int(v%31) + 1
	v /= 31
	s.Month = int(v%12) + 1
	s.Year = int(v/12) + 2000
	return s, s.check()
}

func decodeTime6(b []byte) (Stamp, error) {
	s := Stamp{2000 + int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5])}
	return s, s.check()
}

func appendTime6(dst []byte, s Stamp) []byte {
	return append(dst, byte(s.Year-2000), byte(s.Month), byte(s.Day), byte(s.Hour), byte(s.Minute), byte(s.Second))
}

// AttRecord is one punch, from the stored log or a real-time event.
type AttRecord struct {
	UserSN   uint16 // the terminal's internal user number (8- and 40-byte logs)
	PIN      string // the user id shown on the terminal
	Time     Stamp
	Verify   uint8  // how the person was recognised (PUSH "Verify")
	State    uint8  // the in/out state chosen (PUSH "Status")
	WorkCode uint32 // 16-byte log only
}

// Log record sizes (doc.go §3.2).
const (
	RecordSize8  = 8
	RecordSize16 = 16
	RecordSize40 = 40
	pinLen       = 24
)

// checkPIN refuses what cannot be a PIN: empty, longer than 24, or not
// printable ASCII.
func checkPIN(pin string) error {
	if pin == "" || len(pin) > pinLen {
		return fmt.Errorf("%w: PIN %q is %d bytes, need 1 to %d", ErrRecord, pin, len(pin), pinLen)
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] <= ' ' || pin[i] > '~' {
			return fmt.Errorf("%w: PIN %q: byte 0x%02x at %d is not printable ASCII", ErrRecord, pin, pin[i], i)
		}
	}
	return nil
}

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func appendPadded(dst []byte, s string, n int) []byte {
	s = s[:min(len(s), n)]
	dst = append(dst, s...)
	for range n - len(s) {
		dst = append(dst, 0)
	}
	return dst
}

// DecodeAttRecord decodes one stored-log record of size 8, 16 or 40 bytes
// (doc.go §3.2).
func DecodeAttRecord(b []byte) (AttRecord, error) {
	var r AttRecord
	var err error
	switch len(b) {
	case RecordSize8:
		r.UserSN = binary.LittleEndian.Uint16(b)
		if r.UserSN == 0 {
			return AttRecord{}, fmt.Errorf("%w: 8-byte log record of user number 0", ErrRecord)
		}
		r.PIN = strconv.Itoa(int(r.UserSN))
		r.Verify = b[2]
		r.Time, err = DecodeTime(binary.LittleEndian.Uint32(b[3:]))
		r.State = b[7]
	case RecordSize16:
		r.PIN = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10)
		r.Time, err = DecodeTime(binary.LittleEndian.Uint32(b[4:]))
		r.Verify, r.State = b[8], b[9]
		r.WorkCode = binary.LittleEndian.Uint32(b[12:])
	case RecordSize40:
		r.UserSN = binary.LittleEndian.Uint16(b)
		r.PIN = cstring(b[2 : 2+pinLen])
		r.Verify = b[26]
		r.Time, err = DecodeTime(binary.LittleEndian.Uint32(b[27:]))
		r.State = b[31]
	default:
		return AttRecord{}, fmt.Errorf("%w: a log record is 8, 16 or 40 bytes, not %d", ErrRecord, len(b))
	}
	if err != nil {
		return AttRecord{}, err
	}
	if err := checkPIN(r.PIN); err != nil {
		return AttRecord{}, err
	}
	return r, nil
}

// AppendAttRecord appends r in the log layout of the given size. A PIN the
// layout cannot hold (not a number for 8 and 16 bytes) is an error.
func AppendAttRecord(dst []byte, r AttRecord, size int) ([]byte, error) {
	if err := r.Time.check(); err != nil {
		return dst, err
	}
	if err := checkPIN(r.PIN); err != nil {
		return dst, err
	}
	switch size {
	case RecordSize8:
		n, err := strconv.ParseUint(r.PIN, 10, 16)
		if err != nil || n == 0 {
			return dst, fmt.Errorf("%w: PIN %q is not a user number 1–65535 (8-byte log)", ErrRecord, r.PIN)
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
		dst = append(dst, r.Verify)
		dst = binary.LittleEndian.AppendUint32(dst, EncodeTime(r.Time))
		return append(dst, r.State), nil
	case RecordSize16:
		n, err := strconv.ParseUint(r.PIN, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != r.PIN {
			return dst, fmt.Errorf("%w: PIN %q is not a canonical uint32 (16-byte log)", ErrRecord, r.PIN)
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
		dst = binary.LittleEndian.AppendUint32(dst, EncodeTime(r.Time))
		dst = append(dst, r.Verify, r.State, 0, 0)
		return binary.LittleEndian.AppendUint32(dst, r.WorkCode), nil
	case RecordSize40:
		dst = binary.LittleEndian.AppendUint16(dst, r.UserSN)
		dst = appendPadded(dst, r.PIN, pinLen)
		dst = append(dst, r.Verify)
		dst = binary.LittleEndian.AppendUint32(dst, EncodeTime(r.Time))
		dst = append(dst, r.State)
		return append(dst, 0, 0, 0, 0, 0xFF, 0, 0, 0), nil // reserved, as captured
	}
	return dst, fmt.Errorf("%w: no log layout of %d bytes", ErrRecord, size)
}

// DecodeAttLog decodes a buffered read of the attendance log: a uint32
// length, then records of recordSize bytes (doc.go §2.2, §3.2). It stops at
// nothing: every record is decoded, and the first bad one is an error naming
// its index.
func DecodeAttLog(b []byte, recordSize int) ([]AttRecord, error) {
	body, err := tableBody(b)
	if err != nil {
		return nil, err
	}
	if recordSize != RecordSize8 && recordSize != RecordSize16 && recordSize != RecordSize40 {
		return nil, fmt.Errorf("%w: no log layout of %d bytes", ErrRecord, recordSize)
	}
	if len(body)%recordSize != 0 {
		return nil, fmt.Errorf("%w: a log of %d bytes is not whole %d-byte records", ErrRecord, len(body), recordSize)
	}
	out := make([]AttRecord, 0, len(body)/recordSize)
	for i := 0; i < len(body); i += recordSize {
		r, err := DecodeAttRecord(body[i : i+recordSize])
		if err != nil {
			return nil, fmt.Errorf("log record %d: %w", i/recordSize, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// RecordSizeOf tells the log's record size from its byte length (without the
// length word) and its record count (CMD_GET_FREE_SIZES).
func RecordSizeOf(bodyLen, count int) (int, error) {
	if count <= 0 {
		if bodyLen == 0 {
			return RecordSize40, nil // nothing to decode: any size does
		}
		return 0, fmt.Errorf("%w: a log of %d bytes with %d records", ErrRecord, bodyLen, count)
	}
	if bodyLen%count == 0 {
		switch s := bodyLen / count; s {
		case RecordSize8, RecordSize16, RecordSize40:
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w: a log of %d bytes holds no whole number of 8-, 16- or 40-byte records for %d records", ErrRecord, bodyLen, count)
}

// tableBody checks a buffered table's length word and returns the bytes it
// covers.
func tableBody(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: table of %d bytes has no length word", ErrShort, len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) != uint64(len(b)-4) {
		return nil, fmt.Errorf("%w: table says %d bytes, holds %d", ErrRecord, n, len(b)-4)
	}
	return b[4:], nil
}

// AppendTable appends a table's length word and body.
func AppendTable(dst, body []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// Real-time event layouts (doc.go §3.3).
const (
	RTSize10 = 10
	RTSize12 = 12
	RTSize32 = 32
	RTSize36 = 36
	rtLong   = 52
)

// DecodeRealtime decodes the data of an EF_ATTLOG real-time packet: one or
// more punches (doc.go §3.3).
func DecodeRealtime(b []byte) ([]AttRecord, error) {
	var out []AttRecord
	for len(b) > 0 {
		var r AttRecord
		var t []byte
		n := len(b)
		switch {
		case n == 10 || n == 14:
			r.PIN = strconv.Itoa(int(binary.LittleEndian.Uint16(b)))
			r.Verify, r.State, t = b[2], b[3], b[4:10]
		case n == 12:
			r.PIN = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10)
			r.Verify, r.State, t = b[4], b[5], b[6:12]
		case n == 32 || n == 36 || n == 37 || n >= rtLong:
			r.PIN = cstring(b[:pinLen])
			r.Verify, r.State, t = b[24], b[25], b[26:32]
			if n >= rtLong {
				n = rtLong
			}
		default:
			return nil, fmt.Errorf("%w: real-time punch of %d bytes (after %d punches)", ErrRecord, len(b), len(out))
		}
		var err error
		if r.Time, err = decodeTime6(t); err != nil {
			return nil, fmt.Errorf("real-time punch %d: %w", len(out), err)
		}
		if err := checkPIN(r.PIN); err != nil {
			return nil, fmt.Errorf("real-time punch %d: %w", len(out), err)
		}
		out = append(out, r)
		b = b[n:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty real-time punch", ErrRecord)
	}
	return out, nil
}

// AppendRealtime appends r in the real-time layout of the given size (10,
// 12, 32 or 36).
func AppendRealtime(dst []byte, r AttRecord, size int) ([]byte, error) {
	if err := r.Time.check(); err != nil {
		return dst, err
	}
	if err := checkPIN(r.PIN); err != nil {
		return dst, err
	}
	switch size {
	case RTSize10:
		n, err := strconv.ParseUint(r.PIN, 10, 16)
		if err != nil || strconv.FormatUint(n, 10) != r.PIN {
			return dst, fmt.Errorf("%w: PIN %q is not a canonical uint16", ErrRecord, r.PIN)
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
	case RTSize12:
		n, err := strconv.ParseUint(r.PIN, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != r.PIN {
			return dst, fmt.Errorf("%w: PIN %q is not a canonical uint32", ErrRecord, r.PIN)
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	case RTSize32, RTSize36:
		dst = appendPadded(dst, r.PIN, pinLen)
	default:
		return dst, fmt.Errorf("%w: no real-time layout of %d bytes", ErrRecord, size)
	}
	dst = append(dst, r.Verify, r.State)
	dst = appendTime6(dst, r.Time)
	if size == RTSize36 {
		dst = append(dst, 0, 0, 0, 0)
	}
	return dst, nil
}
