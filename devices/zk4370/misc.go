package zk4370

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// CommKey scrambles a terminal's comm key with the session id for CMD_AUTH
// (doc.go §2.1).
func CommKey(key uint32, session uint16, tick byte) [4]byte {
	k := bits.Reverse32(key) + uint32(session)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], k)
	b[0] ^= 'Z'
	b[1] ^= 'K'
	b[2] ^= 'S'
	b[3] ^= 'O'
	b = [4]byte{b[2], b[3], b[0], b[1]} // swap the 16-bit halves
	return [4]byte{b[0] ^ tick, b[1] ^ tick, tick, b[3] ^ tick}
}

// CheckCommKey reports whether got is key scrambled with session, whatever
// tick the client chose (it travels in byte 2).
func CheckCommKey(got []byte, key uint32, session uint16) bool {
	return len(got) == 4 && [4]byte(got) == CommKey(key, session, got[2])
}

// FreeSizes is what CMD_GET_FREE_SIZES reports (doc.go §2.3).
type FreeSizes struct {
	Users, Records, UserCap, RecordCap, RecordsFree int32
}

// freeSizesLen is the part of the reply we read: 20 int32.
const freeSizesLen = 80

// DecodeFreeSizes decodes a CMD_GET_FREE_SIZES reply.
func DecodeFreeSizes(b []byte) (FreeSizes, error) {
	if len(b) < freeSizesLen {
		return FreeSizes{}, fmt.Errorf("%w: free sizes of %d bytes, need %d", ErrShort, len(b), freeSizesLen)
	}
	f := func(i int) int32 { return int32(binary.LittleEndian.Uint32(b[4*i:])) }
	s := FreeSizes{Users: f(4), Records: f(8), UserCap: f(15), RecordCap: f(16), RecordsFree: f(19)}
	if s.Users < 0 || s.Records < 0 {
		return FreeSizes{}, fmt.Errorf("%w: free sizes report %d users and %d records", ErrRecord, s.Users, s.Records)
	}
	return s, nil
}

// AppendFreeSizes appends s as a CMD_GET_FREE_SIZES reply (the other
// counters zero).
func AppendFreeSizes(dst []byte, s FreeSizes) []byte {
	var v [20]int32
	v[4], v[8], v[15], v[16], v[19] = s.Users, s.Records, s.UserCap, s.RecordCap, s.RecordsFree
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(x))
	}
	return dst
}

// User is one entry of the terminal's user table (doc.go §3.4). The
// password is never read out or written by the gateway.
type User struct {
	SN        uint16 // the terminal's internal user number, 1–65535
	Privilege uint8  // 0 user, 14 admin
	Name      string // at most 24 bytes
	Card      uint32 // 0 for none
	Group     string // at most 7 bytes
	PIN       string
}

// UserRecordSize is the size of a user record on TCP firmware.
const UserRecordSize = 72

// Privileges.
const (
	PrivUser  = 0
	PrivAdmin = 14
)

// AppendUser appends u as a 72-byte user record, with an empty password.
func AppendUser(dst []byte, u User) ([]byte, error) {
	if err := checkPIN(u.PIN); err != nil {
		return dst, err
	}
	if u.SN == 0 {
		return dst, fmt.Errorf("%w: user %q has user number 0", ErrRecord, u.PIN)
	}
	if len(u.Name) > 24 || len(u.Group) > 7 || bytes.IndexByte([]byte(u.Name+u.Group), 0) >= 0 {
		return dst, fmt.Errorf("%w: user %q: name of %d bytes (at most 24) or group of %d (at most 7), or a NUL in one", ErrRecord, u.PIN, len(u.Name), len(u.Group))
	}
	dst = binary.LittleEndian.AppendUint16(dst, u.SN)
	dst = append(dst, u.Privilege)
	dst = appendPadded(dst, "", 8)
	dst = appendPadded(dst, u.Name, 24)
	dst = binary.LittleEndian.AppendUint32(dst, u.Card)
	dst = append(dst, 0)
	dst = appendPadded(dst, u.Group, 7)
	dst = append(dst, 0)
	return appendPadded(dst, u.PIN, pinLen), nil
}

// DecodeUser decodes one 72-byte user record; the password is skipped.
func DecodeUser(b []byte) (User, error) {
	if len(b) != UserRecordSize {
		return User{}, fmt.Errorf("%w: a user record is %d bytes, not %d", ErrRecord, UserRecordSize, len(b))
	}
	u := User{
		SN:        binary.LittleEndian.Uint16(b),
		Privilege: b[2],
		Name:      cstring(b[11:35]),
		Card:      binary.LittleEndian.Uint32(b[35:]),
		Group:     cstring(b[40:47]),
		PIN:       cstring(b[48:72]),
	}
	if err := checkPIN(u.PIN); err != nil {
		return User{}, fmt.Errorf("user number %d: %w", u.SN, err)
	}
	return u, nil
}

// DecodeUsers decodes a buffered read of the user table: a uint32 length,
// then 72-byte records.
func DecodeUsers(b []byte) ([]User, error) {
	body, err := tableBody(b)
	if err != nil {
		return nil, err
	}
	if len(body)%UserRecordSize != 0 {
		return nil, fmt.Errorf("%w: a user table of %d bytes is not whole %d-byte records", ErrRecord, len(body), UserRecordSize)
	}
	out := make([]User, 0, len(body)/UserRecordSize)
	for i := 0; i < len(body); i += UserRecordSize {
		u, err := DecodeUser(body[i : i+UserRecordSize])
		if err != nil {
			return nil, fmt.Errorf("user record %d: %w", i/UserRecordSize, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// PrepareBuffer is the data of CMD_PREPARE_BUFFER (doc.go §2.2).
type PrepareBuffer struct {
	Table uint16 // CmdAttLogRRQ or CmdUserTempRRQ
	Fct   uint32
	Ext   uint32
}

// AppendPrepareBuffer appends the 11-byte request data.
func AppendPrepareBuffer(dst []byte, p PrepareBuffer) []byte {
	dst = append(dst, 1)
	dst = binary.LittleEndian.AppendUint16(dst, p.Table)
	dst = binary.LittleEndian.AppendUint32(dst, p.Fct)
	return binary.LittleEndian.AppendUint32(dst, p.Ext)
}

// DecodePrepareBuffer decodes the request data.
func DecodePrepareBuffer(b []byte) (PrepareBuffer, error) {
	if len(b) != 11 {
		return PrepareBuffer{}, fmt.Errorf("%w: prepare-buffer data of %d bytes, want 11", ErrRecord, len(b))
	}
	return PrepareBuffer{Table: binary.LittleEndian.Uint16(b[1:]), Fct: binary.LittleEndian.Uint32(b[3:]),
		Ext: binary.LittleEndian.Uint32(b[7:])}, nil
}

// ParseOption reads "name=value\0" from a CMD_OPTIONS_RRQ reply; the name
// must be the one asked for.
func ParseOption(b []byte, name string) (string, error) {
	s := cstring(b)
	if len(s) < len(name)+1 || s[:len(name)] != name || s[len(name)] != '=' {
		return "", fmt.Errorf("%w: option reply %q is not %s=…", ErrRecord, s, name)
	}
	return s[len(name)+1:], nil
}
