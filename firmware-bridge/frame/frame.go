package frame

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Layout of a decoded frame (PROTOCOL.md §2.2). All integers are big-endian.
//
//	off  size  field
//	0    1     version
//	1    1     type
//	2    1     flags
//	3    4     seq
//	7    4     ack
//	11   2     body length (n)
//	13   n     body (CBOR)
//	     2     key epoch   } only if flags has FlagAuth
//	     16    tag         }
//	     4     CRC-32C over every preceding byte
const (
	// Version is the header version this package speaks.
	Version = 1
	// HeaderLen is the fixed header size.
	HeaderLen = 13
	// CRCLen is the size of the trailing CRC-32C.
	CRCLen = 4
	// TagLen is the truncated HMAC-SHA256 tag size: 128 bits is the
	// truncation RFC 4868 uses for HMAC-SHA256-128 and leaves forgery odds
	// of 2^-128 per attempt, while a full tag would cost 16 more bytes.
	TagLen = 16
	// AuthLen is the key epoch plus the tag.
	AuthLen = 2 + TagLen
	// MinLen is the shortest valid decoded frame: header and CRC, no body.
	MinLen = HeaderLen + CRCLen
	// MaxLen is the normative cap on a decoded frame (PROTOCOL.md §2.4):
	// 1024 bytes keep a frame under 90 ms on the wire at 115200 baud and let
	// a microcontroller hold a window of 8 frames in 8 KiB of RAM.
	MaxLen = 1024
	// MaxBody is the largest body a frame without a tag can carry.
	MaxBody = MaxLen - MinLen
	// MaxBodyAuth is the largest body a frame with a tag can carry.
	MaxBodyAuth = MaxBody - AuthLen
	// MaxWireLen is the most bytes a frame occupies on the wire, delimiter
	// included.
	MaxWireLen = (MaxLen + MaxLen/maxRun + 1) + 1
)

// castagnoli is CRC-32C: reflected polynomial 0x82F63B78, initial value
// 0xFFFFFFFF, final xor 0xFFFFFFFF; the check value of "123456789" is
// 0xE3069283. Hardware-accelerated on arm64 and amd64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC-32C of b as the protocol computes it.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Flags is the header flags byte (PROTOCOL.md §2.3).
type Flags uint8

const (
	// FlagAuth says the frame carries a key epoch and a tag after the body.
	FlagAuth Flags = 1 << 0
	// FlagFromDevice is set on every frame a device sends and clear on every
	// frame a gateway sends, so a frame echoed back by a faulty adapter or
	// replayed in the other direction is recognised (and fails its MAC).
	FlagFromDevice Flags = 1 << 1
)

// Frame is one decoded frame. Body is CBOR (package msg gives it meaning).
type Frame struct {
	Version uint8 // 0 means Version when encoding
	Type    Type
	Flags   Flags
	Seq     uint32 // 0 for unsequenced types
	Ack     uint32 // cumulative ack of the peer's stream; 0 = nothing yet
	Body    []byte

	// KeyEpoch and Tag are meaningful only when Flags has FlagAuth.
	KeyEpoch uint16
	Tag      [TagLen]byte
}

// Authenticated reports whether the frame carries a tag.
func (f *Frame) Authenticated() bool { return f.Flags&FlagAuth != 0 }

func (f Frame) String() string {
	return fmt.Sprintf("%v seq=%d ack=%d flags=0x%02x body=%dB", f.Type, f.Seq, f.Ack, uint8(f.Flags), len(f.Body))
}

// rawLen is the decoded size of f when encoded.
func rawLen(f *Frame) int {
	n := MinLen + len(f.Body)
	if f.Flags&FlagAuth != 0 {
		n += AuthLen
	}
	return n
}

// AppendRaw appends the decoded (not yet COBS-encoded) bytes of f to dst:
// header, body, key epoch and tag, CRC.
//
// If auth is non-nil, FlagAuth is set and the tag is computed with it. If
// auth is nil and f has FlagAuth, f.KeyEpoch and f.Tag are written as they
// are, so a decoded frame re-encodes byte for byte. A zero Version is
// written as Version.
func AppendRaw(dst []byte, f Frame, auth *Auth) ([]byte, error) {
	if f.Version == 0 {
		f.Version = Version
	}
	if auth != nil {
		f.Flags |= FlagAuth
		f.KeyEpoch = auth.Epoch
	}
	if n := rawLen(&f); n > MaxLen {
		return dst, newError(ReasonOversize, fmt.Sprintf("%v body of %d bytes makes a %d-byte frame, cap is %d", f.Type, len(f.Body), n, MaxLen))
	}
	start := len(dst)
	dst = append(dst, f.Version, byte(f.Type), byte(f.Flags))
	dst = binary.BigEndian.AppendUint32(dst, f.Seq)
	dst = binary.BigEndian.AppendUint32(dst, f.Ack)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(f.Body)))
	dst = append(dst, f.Body...)
	if f.Flags&FlagAuth != 0 {
		dst = binary.BigEndian.AppendUint16(dst, f.KeyEpoch)
		if auth != nil {
			tag, err := auth.tag(f.Type, dst[start:])
			if err != nil {
				return dst[:start], err
			}
			f.Tag = tag
		}
		dst = append(dst, f.Tag[:]...)
	}
	dst = binary.BigEndian.AppendUint32(dst, Checksum(dst[start:]))
	return dst, nil
}

// Append appends f to dst exactly as it goes on the wire: COBS-encoded and
// followed by the 0x00 delimiter. See AppendRaw for auth.
func Append(dst []byte, f Frame, auth *Auth) ([]byte, error) {
	var scratch [MaxLen]byte
	raw, err := AppendRaw(scratch[:0], f, auth)
	if err != nil {
		return dst, err
	}
	dst = AppendEncode(dst, raw)
	return append(dst, 0), nil
}

// Parse decodes raw, one decoded (un-COBS'd) frame, checking size, CRC,
// version and body length in that order. Body aliases raw. Parse does not
// check the tag; see Frame.Verify.
func Parse(raw []byte) (Frame, error) {
	if len(raw) > MaxLen {
		return Frame{}, newError(ReasonOversize, fmt.Sprintf("%d bytes, cap is %d", len(raw), MaxLen))
	}
	if len(raw) < MinLen {
		return Frame{}, newError(ReasonShort, fmt.Sprintf("%d bytes, need at least %d", len(raw), MinLen))
	}
	end := len(raw) - CRCLen
	got, want := binary.BigEndian.Uint32(raw[end:]), Checksum(raw[:end])
	if got != want {
		return Frame{}, newError(ReasonBadCRC, fmt.Sprintf("got 0x%08x, computed 0x%08x over %d bytes", got, want, end))
	}
	f := Frame{
		Version: raw[0],
		Type:    Type(raw[1]),
		Flags:   Flags(raw[2]),
		Seq:     binary.BigEndian.Uint32(raw[3:]),
		Ack:     binary.BigEndian.Uint32(raw[7:]),
	}
	if f.Version != Version {
		return Frame{}, newError(ReasonBadVersion, fmt.Sprintf("version %d, speak %d", f.Version, Version))
	}
	n := int(binary.BigEndian.Uint16(raw[11:]))
	if want := rawLen(&Frame{Flags: f.Flags}) + n; want != len(raw) {
		return Frame{}, newError(ReasonBadLength, fmt.Sprintf("body length %d and flags 0x%02x make %d bytes, frame has %d", n, uint8(f.Flags), want, len(raw)))
	}
	f.Body = raw[HeaderLen : HeaderLen+n : HeaderLen+n]
	if f.Flags&FlagAuth != 0 {
		a := raw[HeaderLen+n:]
		f.KeyEpoch = binary.BigEndian.Uint16(a)
		copy(f.Tag[:], a[2:])
	}
	return f, nil
}

// Decode decodes one COBS-encoded frame; a single trailing 0x00 delimiter
// is allowed. The returned Body does not alias enc. It never panics.
func Decode(enc []byte) (Frame, error) {
	if n := len(enc); n > 0 && enc[n-1] == 0 {
		enc = enc[:n-1]
	}
	f, _, err := appendDecodeFrame(make([]byte, 0, len(enc)), enc)
	return f, err
}

// appendDecodeFrame decodes the COBS-encoded frame enc (no delimiter) onto
// the end of dst and parses it there; Body aliases the returned slice,
// which is dst grown. Decoding never takes more bytes than enc has.
func appendDecodeFrame(dst, enc []byte) (Frame, []byte, error) {
	if len(enc) > MaxWireLen-1 {
		return Frame{}, dst, newError(ReasonOversize, fmt.Sprintf("%d encoded bytes, cap is %d", len(enc), MaxWireLen-1))
	}
	start := len(dst)
	dst, err := AppendDecode(dst, enc)
	if err != nil {
		return Frame{}, dst, err
	}
	f, err := Parse(dst[start:])
	return f, dst, err
}
