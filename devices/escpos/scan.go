package escpos

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var (
	// ErrUnsupported is wrapped by the error for a byte or command the encoder never
	// emits: Render reads the encoder's dialect (FORMAT.md, "Commands") and nothing else.
	ErrUnsupported = errors.New("escpos: unsupported command")
	// ErrTruncated is wrapped by the error for a command cut short by the end of the stream.
	ErrTruncated = errors.New("escpos: truncated command")
	// ErrBadArgument is wrapped by the error for a known command with an invalid argument.
	ErrBadArgument = errors.New("escpos: invalid argument")
)

// StreamError is the error for a stream Render cannot read: Offset is where the command
// at fault starts. Err wraps ErrUnsupported, ErrTruncated, ErrBadArgument or ErrTooLarge.
type StreamError struct {
	Offset int
	Err    error
}

func (e *StreamError) Error() string { return fmt.Sprintf("escpos: at offset %d: %v", e.Offset, e.Err) }
func (e *StreamError) Unwrap() error { return e.Err }

type opcode int

const (
	opText       opcode = iota // one printable character: ASCII, or GB18030 in Chinese mode
	opLineFeed                 // LF
	opInit                     // ESC @
	opChineseOn                // FS &
	opChineseOff               // FS .
	opAlign                    // ESC a n
	opBold                     // ESC E n
	opSize                     // GS ! n
	opQRModel                  // GS ( k fn 65
	opQRModule                 // GS ( k fn 67
	opQREC                     // GS ( k fn 69
	opQRStore                  // GS ( k fn 80
	opQRPrint                  // GS ( k fn 81
	opCut                      // GS V m [n]
	opCodePage                 // ESC t n
)

// token is one command or character of a stream.
type token struct {
	off  int
	n    int // bytes taken
	op   opcode
	arg  int    // the command's argument; for opText the rune
	wide bool   // opText: a double-byte character
	data []byte // opQRStore: the data, aliasing the stream
}

// qrFixedSize is pL + 256 pH for the QR functions of fixed length.
var qrFixedSize = map[byte]int{65: 4, 67: 3, 69: 3, 81: 3}

// Limits of GS ( k (Epson: the QR store function holds up to 7089 bytes).
const maxQRStore = 7089

// scanner reads one token at a time; it tracks Chinese mode, which decides how bytes
// from 0x80 up are read.
type scanner struct {
	b        []byte
	off      int
	chinese  bool
	codePage int // ESC t n; 0 (PC437) after ESC @
}

func (s *scanner) fail(err error, format string, a ...any) error {
	return &StreamError{Offset: s.off, Err: fmt.Errorf("%w: "+format, append([]any{err}, a...)...)}
}

func (s *scanner) need(n int, what string) error {
	if len(s.b)-s.off < n {
		return s.fail(ErrTruncated, "%s needs %d bytes, %d left", what, n, len(s.b)-s.off)
	}
	return nil
}

// next returns the token at s.off and moves past it; ok is false at the end.
func (s *scanner) next() (t token, ok bool, err error) {
	if s.off >= len(s.b) {
		return token{}, false, nil
	}
	t, err = s.read()
	if err != nil {
		return token{}, false, err
	}
	t.off = s.off
	s.off += t.n
	switch t.op {
	case opInit:
		s.chinese, s.codePage = false, 0
	case opChineseOff:
		s.chinese = false
	case opChineseOn:
		s.chinese = true
	case opCodePage:
		s.codePage = t.arg
	}
	return t, true, nil
}

func (s *scanner) read() (token, error) {
	b := s.b[s.off:]
	c := b[0]
	switch {
	case c >= 0x20 && c < 0x7F:
		return token{n: 1, op: opText, arg: int(c)}, nil
	case c == 0x0A:
		return token{n: 1, op: opLineFeed}, nil
	case c >= 0x80 && s.chinese:
		return s.wide()
	case c >= 0x80 && s.codePage == 19:
		return token{n: 1, op: opText, arg: int(charmap.CodePage858.DecodeByte(c))}, nil
	case c >= 0x80:
		return token{}, s.fail(ErrUnsupported, "byte 0x%02X outside Chinese mode in code page %d (only 19, PC858, is read)", c, s.codePage)
	}
	if len(b) < 2 {
		return token{}, s.fail(ErrTruncated, "0x%02X at the end of the stream", c)
	}
	switch c {
	case 0x1B:
		switch b[1] {
		case 0x40:
			return token{n: 2, op: opInit}, nil
		case 0x61:
			return s.arg3(opAlign, "ESC a", func(n byte) bool { return n <= 2 || (n >= 48 && n <= 50) })
		case 0x45:
			return s.arg3(opBold, "ESC E", func(n byte) bool { return true })
		case 0x74:
			return s.arg3(opCodePage, "ESC t", func(n byte) bool { return true })
		}
	case 0x1C:
		switch b[1] {
		case 0x26:
			return token{n: 2, op: opChineseOn}, nil
		case 0x2E:
			return token{n: 2, op: opChineseOff}, nil
		}
	case 0x1D:
		switch b[1] {
		case 0x21:
			return s.arg3(opSize, "GS !", func(n byte) bool { return n&0x88 == 0 })
		case 0x28:
			if b2 := b[2:]; len(b2) > 0 && b2[0] == 0x6B {
				return s.qr()
			}
		case 0x56:
			return s.cut()
		}
	}
	return token{}, s.fail(ErrUnsupported, "% X", b[:2])
}

// arg3 reads a three-byte command whose last byte is an argument valid when ok says so.
func (s *scanner) arg3(op opcode, name string, ok func(byte) bool) (token, error) {
	if err := s.need(3, name); err != nil {
		return token{}, err
	}
	n := s.b[s.off+2]
	if !ok(n) {
		return token{}, s.fail(ErrBadArgument, "%s %d", name, n)
	}
	return token{n: 3, op: op, arg: int(n)}, nil
}

// wide reads a double-byte GB18030 character: lead 0x81–0xFE, trail 0x40–0xFE but 0x7F.
// Four-byte GB18030 sequences are not read: the printer's font has none of them.
func (s *scanner) wide() (token, error) {
	if err := s.need(2, "a double-byte character"); err != nil {
		return token{}, err
	}
	b := s.b[s.off : s.off+2]
	if b[0] == 0x80 || b[0] == 0xFF || b[1] < 0x40 || b[1] == 0x7F || b[1] == 0xFF {
		return token{}, s.fail(ErrUnsupported, "% X is not a double-byte GB18030 character", b)
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	r, size := utf8.DecodeRune(out)
	if err != nil || size != len(out) || r == utf8.RuneError {
		return token{}, s.fail(ErrUnsupported, "% X is not a GB18030 character", b)
	}
	return token{n: 2, op: opText, arg: int(r), wide: true}, nil
}

// cut reads GS V m (m = 0, 1, 48, 49) or GS V m n (m = 65, 66: feed n, then cut).
func (s *scanner) cut() (token, error) {
	if err := s.need(3, "GS V"); err != nil {
		return token{}, err
	}
	switch m := s.b[s.off+2]; m {
	case 0, 1, 48, 49:
		return token{n: 3, op: opCut}, nil
	case 65, 66:
		if err := s.need(4, "GS V"); err != nil {
			return token{}, err
		}
		return token{n: 4, op: opCut, arg: int(s.b[s.off+3])}, nil
	default:
		return token{}, s.fail(ErrBadArgument, "GS V %d", m)
	}
}

// qr reads GS ( k pL pH cn fn …, the QR code functions of FORMAT.md, "QR code".
func (s *scanner) qr() (token, error) {
	if err := s.need(7, "GS ( k"); err != nil {
		return token{}, err
	}
	b := s.b[s.off:]
	size := int(b[3]) | int(b[4])<<8 // bytes after pL pH: cn fn and the parameters
	cn, fn := b[5], b[6]
	if cn != 0x31 {
		return token{}, s.fail(ErrUnsupported, "GS ( k symbol cn=%d (only 49, QR code)", cn)
	}
	if size < 3 { // cn, fn and at least one parameter
		return token{}, s.fail(ErrBadArgument, "GS ( k with pL pH = %d", size)
	}
	if want, ok := qrFixedSize[fn]; ok && size != want {
		return token{}, s.fail(ErrBadArgument, "GS ( k fn=%d with pL pH = %d (want %d)", fn, size, want)
	}
	if fn == 80 && (size < 4 || size-3 > maxQRStore) {
		return token{}, s.fail(ErrBadArgument, "GS ( k store of %d bytes (want 1–%d)", size-3, maxQRStore)
	}
	if err := s.need(5+size, fmt.Sprintf("GS ( k fn=%d", fn)); err != nil {
		return token{}, err
	}
	p := b[7 : 5+size]
	t := token{n: 5 + size}
	switch fn {
	case 65:
		if p[0] != 50 || p[1] != 0 {
			return token{}, s.fail(ErrUnsupported, "QR model %d %d (only model 2: 50 0)", p[0], p[1])
		}
		t.op = opQRModel
	case 67:
		if p[0] < 1 || p[0] > MaxModuleSize {
			return token{}, s.fail(ErrBadArgument, "QR module size %d (want 1–%d)", p[0], MaxModuleSize)
		}
		t.op, t.arg = opQRModule, int(p[0])
	case 69:
		if p[0] < 48 || p[0] > 51 {
			return token{}, s.fail(ErrBadArgument, "QR error correction %d (want 48–51)", p[0])
		}
		t.op, t.arg = opQREC, int(p[0])
	case 80, 81:
		if p[0] != 48 {
			return token{}, s.fail(ErrBadArgument, "GS ( k fn=%d m=%d (want 48)", fn, p[0])
		}
		t.op, t.data = opQRPrint, nil
		if fn == 80 {
			t.op, t.data = opQRStore, p[1:]
		}
	default:
		return token{}, s.fail(ErrUnsupported, "GS ( k QR function fn=%d", fn)
	}
	return t, nil
}
