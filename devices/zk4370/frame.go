package zk4370

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Commands and reply codes (doc.go §2).
const (
	CmdUserWRQ        = 8
	CmdUserTempRRQ    = 9
	CmdOptionsRRQ     = 11
	CmdAttLogRRQ      = 13
	CmdClearAttLog    = 15
	CmdDeleteUser     = 18
	CmdGetFreeSizes   = 50
	CmdGetTime        = 201
	CmdSetTime        = 202
	CmdRegEvent       = 500
	CmdConnect        = 1000
	CmdExit           = 1001
	CmdEnableDevice   = 1002
	CmdDisableDevice  = 1003
	CmdRefreshData    = 1013
	CmdGetVersion     = 1100
	CmdAuth           = 1102
	CmdPrepareData    = 1500
	CmdData           = 1501
	CmdFreeData       = 1502
	CmdPrepareBuffer  = 1503
	CmdReadBuffer     = 1504
	CmdAckOK          = 2000
	CmdAckError       = 2001
	CmdAckData        = 2002
	CmdAckUnauth      = 2005
	CmdAckUnknown     = 0xFFFF
	CmdAckErrorCmd    = 0xFFFD
	CmdAckErrorInit   = 0xFFFC
	CmdAckErrorData   = 0xFFFB
	EFAttLog          = 1 // CMD_REG_EVENT flag and real-time event code: a punch
	FctUser           = 5 // the fct of a buffered read of the user table
	HeaderLen         = 8 // command, checksum, session, reply
	PrefixLen         = 8 // TCP: magic and length
	MaxPayload        = 0x10000 + 2*HeaderLen
	MaxChunk          = 0xFFC0 // the largest CMD_READ_BUFFER we ask for (doc.go §1)
	defaultCommKeyTix = 50
)

// magic starts every TCP frame (doc.go §1).
var magic = [4]byte{0x50, 0x50, 0x82, 0x7D}

// Decoding errors. A decoder's error wraps one of them with the offending
// fact.
var (
	ErrShort    = errors.New("zk4370: truncated")
	ErrMagic    = errors.New("zk4370: no frame magic")
	ErrTooLarge = errors.New("zk4370: payload too large")
	ErrChecksum = errors.New("zk4370: bad checksum")
	ErrRecord   = errors.New("zk4370: malformed record")
)

// Packet is one payload (doc.go §1). Data aliases the decoded buffer.
type Packet struct {
	Cmd     uint16
	Session uint16 // the event code in a real-time packet
	Reply   uint16
	Data    []byte
}

// String names the packet for logs and errors (its data only by length: it
// may hold a name).
func (p Packet) String() string {
	return fmt.Sprintf("cmd %d session %d reply %d (%d data bytes)", p.Cmd, p.Session, p.Reply, len(p.Data))
}

// Checksum computes the checksum of p (doc.go §1.1).
func Checksum(p Packet) uint16 {
	sum := uint32(p.Cmd) + uint32(p.Session) + uint32(p.Reply)
	d := p.Data
	for len(d) >= 2 {
		sum += uint32(binary.LittleEndian.Uint16(d))
		d = d[2:]
	}
	if len(d) == 1 {
		sum += uint32(d[0])
	}
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}

// AppendPayload appends p's payload (a UDP datagram) to dst.
func AppendPayload(dst []byte, p Packet) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, p.Cmd)
	dst = binary.LittleEndian.AppendUint16(dst, Checksum(p))
	dst = binary.LittleEndian.AppendUint16(dst, p.Session)
	dst = binary.LittleEndian.AppendUint16(dst, p.Reply)
	return append(dst, p.Data...)
}

// AppendFrame appends p as a TCP frame (prefix and payload) to dst.
func AppendFrame(dst []byte, p Packet) []byte {
	dst = append(dst, magic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(HeaderLen+len(p.Data)))
	return AppendPayload(dst, p)
}

// DecodePayload decodes one payload (a UDP datagram, or a TCP frame without
// its prefix). The packet's Data aliases b.
func DecodePayload(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return Packet{}, fmt.Errorf("%w: payload of %d bytes, need at least %d", ErrShort, len(b), HeaderLen)
	}
	if len(b) > MaxPayload {
		return Packet{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxPayload)
	}
	p := Packet{
		Cmd:     binary.LittleEndian.Uint16(b[0:]),
		Session: binary.LittleEndian.Uint16(b[4:]),
		Reply:   binary.LittleEndian.Uint16(b[6:]),
		Data:    b[HeaderLen:],
	}
	if got, want := binary.LittleEndian.Uint16(b[2:]), Checksum(p); got != want {
		return Packet{}, fmt.Errorf("%w: %s carries 0x%04x, want 0x%04x", ErrChecksum, p, got, want)
	}
	return p, nil
}

// parsePrefix checks a TCP prefix and returns the payload length it
// announces.
func parsePrefix(b []byte) (int, error) {
	if [4]byte(b[:4]) != magic {
		return 0, fmt.Errorf("%w: % x", ErrMagic, b[:4])
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if n < HeaderLen {
		return 0, fmt.Errorf("%w: frame announces a %d-byte payload, need at least %d", ErrShort, n, HeaderLen)
	}
	if n > MaxPayload {
		return 0, fmt.Errorf("%w: frame announces %d bytes, at most %d", ErrTooLarge, n, MaxPayload)
	}
	return int(n), nil
}

// DecodeFrame decodes the TCP frame at the start of b and returns it and the
// number of bytes it took. An incomplete frame is an error wrapping ErrShort:
// read more and call again.
func DecodeFrame(b []byte) (Packet, int, error) {
	if len(b) < PrefixLen {
		return Packet{}, 0, fmt.Errorf("%w: %d bytes, a frame prefix is %d", ErrShort, len(b), PrefixLen)
	}
	n, err := parsePrefix(b)
	if err != nil {
		return Packet{}, 0, err
	}
	if len(b) < PrefixLen+n {
		return Packet{}, 0, fmt.Errorf("%w: frame of %d bytes, have %d", ErrShort, PrefixLen+n, len(b))
	}
	p, err := DecodePayload(b[PrefixLen : PrefixLen+n])
	return p, PrefixLen + n, err
}

// ReadFrame reads one TCP frame from r into buf (grown as needed) and
// returns it with the buffer to reuse; the packet's Data aliases that buffer
// until the next call. The announced length is checked before the payload is
// read, so a hostile length allocates nothing. A clean end of stream before a
// frame starts is io.EOF; within one, io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, buf []byte) (Packet, []byte, error) {
	var pre [PrefixLen]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return Packet{}, buf, err
	}
	n, err := parsePrefix(pre[:])
	if err != nil {
		return Packet{}, buf, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, buf, err
	}
	p, err := DecodePayload(buf)
	return p, buf, err
}

// ReplyError is a reply code other than the one a request expected.
type ReplyError struct {
	Request uint16 // the command sent
	Code    uint16 // the reply's command field
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("zk4370: command %d answered with code %d (%s)", e.Request, e.Code, codeName(e.Code))
}

func codeName(c uint16) string {
	switch c {
	case CmdAckOK:
		return "ACK_OK"
	case CmdAckError:
		return "ACK_ERROR"
	case CmdAckData:
		return "ACK_DATA"
	case CmdAckUnauth:
		return "ACK_UNAUTH"
	case CmdAckUnknown:
		return "ACK_UNKNOWN"
	case CmdAckErrorCmd:
		return "ACK_ERROR_CMD"
	case CmdAckErrorInit:
		return "ACK_ERROR_INIT"
	case CmdAckErrorData:
		return "ACK_ERROR_DATA"
	case CmdData:
		return "DATA"
	case CmdPrepareData:
		return "PREPARE_DATA"
	}
	return "unexpected"
}
