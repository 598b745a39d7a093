package journal

import (
	"encoding/binary"
	"hash/crc32"
)

// Record framing, FORMAT.md §3. Every record starts on an 8-byte boundary, so its
// first 8 bytes (length and CRC) never straddle a 512-byte sector and a length is
// never torn on its own.
const (
	recordHeaderSize  = 24
	segmentHeaderSize = 32
	recordAlign       = 8

	flagCBOR   = 1 << 0 // the body is a CBOR data item
	flagHole   = 1 << 1 // a repaired gap: body is the u64 last lost sequence number
	knownFlags = flagCBOR | flagHole

	// maxTimeMs is the largest append time the 48-bit field holds (year 10889).
	maxTimeMs = 1<<48 - 1
	// hardMaxBody bounds MaxRecordSize: a length above it is corruption, whatever
	// the options say, which keeps a flipped length bit from sending a scan far off.
	hardMaxBody = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type recordHeader struct {
	Len    uint32 // body bytes, excluding padding
	CRC    uint32 // CRC-32C over header bytes 8..24 and the body
	Seq    uint64
	TimeMs int64 // append time, ms since the Unix epoch (48 bits on disk)
	Stream uint8
	Flags  uint8
}

func paddedLen(n int) int { return (n + recordAlign - 1) &^ (recordAlign - 1) }

// recordSize is the bytes a record with an n-byte body occupies in a segment.
func recordSize(n int) int { return recordHeaderSize + paddedLen(n) }

// appendRecord appends a complete record (header, body, zero padding) to dst.
func appendRecord(dst []byte, seq uint64, timeMs int64, stream, flags uint8, body []byte) []byte {
	start := len(dst)
	dst = appendUnsealed(dst, timeMs, stream, flags, body)
	sealRecord(dst[start:], seq)
	return dst
}

// appendUnsealed appends a record whose sequence number and CRC are not yet
// known: the committer assigns them (sealRecord) in log order.
func appendUnsealed(dst []byte, timeMs int64, stream, flags uint8, body []byte) []byte {
	if timeMs < 0 {
		timeMs = 0
	}
	if timeMs > maxTimeMs {
		timeMs = maxTimeMs
	}
	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(body)))
	putUint48(h[16:22], uint64(timeMs))
	h[22] = stream
	h[23] = flags
	dst = append(dst, h[:]...)
	dst = append(dst, body...)
	for i := len(body); i < paddedLen(len(body)); i++ {
		dst = append(dst, 0)
	}
	return dst
}

// sealRecord writes seq into the record at b[0:] and computes its CRC.
func sealRecord(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b[8:16], seq)
	n := binary.LittleEndian.Uint32(b[0:4])
	binary.LittleEndian.PutUint32(b[4:8], recordCRC(b[:recordHeaderSize+int(n)]))
}

// recordCRC is the checksum of a record whose header and body are rec.
func recordCRC(rec []byte) uint32 {
	return crc32.Checksum(rec[8:], castagnoli)
}

func decodeHeader(b []byte) recordHeader {
	return recordHeader{
		Len:    binary.LittleEndian.Uint32(b[0:4]),
		CRC:    binary.LittleEndian.Uint32(b[4:8]),
		Seq:    binary.LittleEndian.Uint64(b[8:16]),
		TimeMs: int64(uint48(b[16:22])),
		Stream: b[22],
		Flags:  b[23],
	}
}

// plausible reports whether h could be a record header: the cheap checks done
// before a CRC, both when reading and when searching for the next good record.
func (h recordHeader) plausible(maxBody int) bool {
	if h.Len == 0 || h.Seq == 0 || h.Flags&^knownFlags != 0 {
		return false
	}
	if h.Flags&flagHole != 0 {
		// A hole spans whatever was damaged; its length is checked against the
		// segment's end by the reader.
		return h.Stream == 0 && h.Len >= 8 && h.Len%recordAlign == 0
	}
	return h.Stream != 0 && int(h.Len) <= maxBody
}

func putUint48(b []byte, v uint64) {
	for i := 0; i < 6; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func uint48(b []byte) uint64 {
	var v uint64
	for i := 0; i < 6; i++ {
		v |= uint64(b[i]) << (8 * i)
	}
	return v
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
