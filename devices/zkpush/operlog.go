package zkpush

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ErrBiometric is wrapped by ParseOperLine's error for a record that carries
// a biometric template, a photo or identity-document data: refused by rule,
// counted, and acknowledged to the terminal so that it does not retry.
var ErrBiometric = errors.New("zkpush: biometric or identity record refused")

// MaxName bounds a user name in bytes (a Chinese name in GB18030 is 2–4
// bytes a character; terminals allow 24 characters at most).
const MaxName = 96

// Kinds of OPERLOG records this package understands.
const (
	KindOpLog = "OPLOG"
	KindUser  = "USER"
)

// biometricKinds are the OPERLOG record kinds whose body is a template, a
// photo or an identity document (§11.6, §11.9–§11.13, §11.15).
var biometricKinds = map[string]bool{
	"FP": true, "FACE": true, "FVEIN": true, "BIODATA": true, "USERPIC": true,
	"BIOPHOTO": true, "IDCARD": true,
}

// OperRecord is one OPERLOG line: an operation (OpLog set) or a user (User
// set).
type OperRecord struct {
	Kind  string // KindOpLog or KindUser
	OpLog *OpLog
	User  *User
}

// OpLog is an operation record (§11.4, Appendix 3).
type OpLog struct {
	Op     int    // operation code, Appendix 3 (0 startup, 3 alarm, 4 menu, 21 set time…)
	Who    string // the operator's PIN, "0" for none
	Time   string // zkteco.TimeLayout, terminal local time
	Values [3]int // operands 1–3 (Appendix 4); the fourth (Reserved) is ignored
}

// User is a user record (§11.5) without what must not leave the terminal:
// Passwd is never kept, templates are separate records and refused.
type User struct {
	PIN   string
	Name  string // UTF-8 (decoded from GB18030 when the terminal sent that)
	Pri   int    // privilege: 0 user, 2 registrar, 6 admin, 14 super admin (§12.1.1.1)
	Card  string // as sent: decimal digits, or "[xxxxxxxx]" hex; "" or "0" for none. Hash before journaling.
	Group int
}

// ParseOperLine parses one OPERLOG line. A biometric or identity record gives
// an error wrapping ErrBiometric whose text names the kind and nothing else.
func ParseOperLine(line []byte) (OperRecord, error) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	kind, rest, _ := bytes.Cut(line, []byte(" "))
	k := string(kind)
	if len(k) > 16 {
		k = k[:16] + "…"
	}
	if biometricKinds[string(kind)] || bytes.Contains(line, []byte("TMP=")) || bytes.Contains(line, []byte("Tmp=")) {
		return OperRecord{}, fmt.Errorf("%w: a %q record", ErrBiometric, k)
	}
	if len(line) > MaxLine {
		return OperRecord{}, fmt.Errorf("%w: %d bytes, at most %d", ErrLine, len(line), MaxLine)
	}
	switch string(kind) {
	case KindOpLog:
		op, err := parseOpLog(rest)
		return OperRecord{Kind: KindOpLog, OpLog: op}, err
	case KindUser:
		u, err := parseUser(rest)
		return OperRecord{Kind: KindUser, User: u}, err
	}
	return OperRecord{}, fmt.Errorf("%w: unknown OPERLOG record kind %q", ErrLine, k)
}

func parseOpLog(b []byte) (*OpLog, error) {
	cols := bytes.Split(b, []byte("\t"))
	if len(cols) < 3 {
		return nil, fmt.Errorf("%w: OPLOG has %d columns, need at least 3 (OpType, OpWho, OpTime)", ErrLine, len(cols))
	}
	var op OpLog
	var err error
	if op.Op, err = checkUint("OpType", cols[0], 65535); err != nil {
		return nil, err
	}
	if op.Who, err = checkPIN(cols[1]); err != nil {
		return nil, err
	}
	if op.Time, err = checkTime(cols[2]); err != nil {
		return nil, err
	}
	for i := 0; i < 3 && 3+i < len(cols); i++ {
		if op.Values[i], err = checkUint(fmt.Sprintf("Value%d", i+1), cols[3+i], 1<<31-1); err != nil {
			return nil, err
		}
	}
	return &op, nil
}

func parseUser(b []byte) (*User, error) {
	var u User
	seen := map[string]bool{}
	for i, f := range bytes.Split(b, []byte("\t")) {
		key, val, ok := bytes.Cut(f, []byte("="))
		if !ok {
			// Not quoted: a mangled field may be a password or card number.
			return nil, fmt.Errorf("%w: USER field %d is not key=value", ErrLine, i+1)
		}
		k := string(key)
		if seen[k] {
			return nil, fmt.Errorf("%w: USER field %q twice", ErrLine, clip(key))
		}
		seen[k] = true
		var err error
		switch k {
		case "PIN":
			u.PIN, err = checkPIN(val)
		case "Name":
			u.Name, err = decodeName(val)
		case "Pri":
			u.Pri, err = checkUint("Pri", val, 255)
		case "Card":
			u.Card, err = checkCard(val)
		case "Grp":
			if len(val) > 0 {
				u.Group, err = checkUint("Grp", val, 65535)
			}
		case "Passwd", "TZ", "Verify", "ViceCard":
			// Passwd is a secret; the others are access-control settings the
			// contract does not carry. None is kept.
		default:
			// Newer firmware adds fields; an unknown one is not an error,
			// and is not kept.
		}
		if err != nil {
			return nil, err
		}
	}
	if u.PIN == "" {
		return nil, fmt.Errorf("%w: USER without PIN", ErrLine)
	}
	return &u, nil
}

// decodeName returns a name as UTF-8: as is when it is valid UTF-8 (§1.2:
// terminals not set to Chinese), else decoded from GB18030, the superset of
// the GB2312 §1.2 names. Control characters are refused in either.
func decodeName(b []byte) (string, error) {
	if len(b) > MaxName {
		return "", fmt.Errorf("%w: Name is %d bytes, at most %d", ErrLine, len(b), MaxName)
	}
	s := string(b)
	if !utf8.Valid(b) {
		d, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		if err != nil || !utf8.Valid(d) || bytes.ContainsRune(d, utf8.RuneError) {
			return "", fmt.Errorf("%w: Name is neither UTF-8 nor GB18030", ErrLine)
		}
		s = string(d)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: Name holds control character %U", ErrLine, r)
		}
	}
	return s, nil
}

// checkCard accepts the two card spellings of §11.5: decimal digits, or
// "[" eight hex digits "]".
func checkCard(b []byte) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	if len(b) == 10 && b[0] == '[' && b[9] == ']' {
		for _, c := range b[1:9] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", fmt.Errorf("%w: Card is neither digits nor [8 hex digits]", ErrLine)
			}
		}
		return string(b), nil
	}
	if len(b) > 20 {
		return "", fmt.Errorf("%w: Card is %d bytes, at most 20 digits", ErrLine, len(b))
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			// Not quoted: a card number is personal data.
			return "", fmt.Errorf("%w: Card is neither digits nor [8 hex digits]", ErrLine)
		}
	}
	return string(b), nil
}

// checkUint accepts decimal 0..max, one spelling per value.
func checkUint(name string, b []byte, max int) (int, error) {
	if len(b) == 0 || len(b) > 10 || len(b) > 1 && b[0] == '0' {
		return 0, fmt.Errorf("%w: %s %q is not a decimal 0-%d", ErrLine, name, clip(b), max)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > max {
		return 0, fmt.Errorf("%w: %s %q is not a decimal 0-%d", ErrLine, name, clip(b), max)
	}
	return n, nil
}

// clip keeps quoted input in errors short.
func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
