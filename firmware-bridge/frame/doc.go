// Package frame owns the firmware-bridge wire format below the message body. It
// holds COBS framing with a 0x00 delimiter, the 13-byte header, the optional
// HMAC-SHA256 tag and the CRC-32C trailer (PROTOCOL.md §2), the frame type
// registry (§3), and a Reader that splits a noisy byte stream into frames
// (§2.6).
//
// Encoding is append-style and allocation-free apart from dst:
//
//	wire, err := frame.Append(buf[:0], frame.Frame{Type: frame.TypeAck, Ack: 41}, nil)
//
// Decoding never panics on any input. Every rejection is an *Error whose
// Reason says why (oversize, bad cobs, short, bad crc, bad version, bad
// length, bad mac) and which errors.Is matches against the sentinels
// ErrOversize, ErrBadCRC, ….
//
// The package knows nothing of sessions: sequence numbers, acks and
// retransmission belong to the link above it, message bodies to package
// msg. The numbers that are normative on the wire (header layout, CRC
// parameters, tag length, the 1024-byte cap) are constants here and in
// PROTOCOL.md, and testvectors.txt pins them.
package frame
