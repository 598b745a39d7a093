package frame

import "fmt"

// Type is the header type byte (PROTOCOL.md §3). Types below 0x10 are
// unsequenced (seq is 0, never acknowledged or retransmitted); types from
// 0x10 to 0x7F are sequenced and reliable.
type Type uint8

// Message types. The direction is the normal one; HEARTBEAT, ACK, BUSY and
// CLOSE go both ways.
const (
	TypeHello     Type = 0x01 // device → gateway
	TypeWelcome   Type = 0x02 // gateway → device
	TypeClose     Type = 0x03 // both
	TypeHeartbeat Type = 0x04 // both
	TypeAck       Type = 0x05 // both
	TypeBusy      Type = 0x06 // both
	TypeTimeReq   Type = 0x07 // gateway → device
	TypeTimeResp  Type = 0x08 // device → gateway

	TypeEvent        Type = 0x10 // device → gateway
	TypeCommand      Type = 0x11 // gateway → device
	TypeResult       Type = 0x12 // device → gateway
	TypeConfig       Type = 0x13 // gateway → device
	TypeConfigStatus Type = 0x14 // device → gateway
	TypeFwOffer      Type = 0x20 // gateway → device
	TypeFwChunk      Type = 0x21 // gateway → device
	TypeFwStatus     Type = 0x22 // device → gateway
	TypeFwActivate   Type = 0x23 // gateway → device
)

var typeNames = map[Type]string{
	TypeHello:        "HELLO",
	TypeWelcome:      "WELCOME",
	TypeClose:        "CLOSE",
	TypeHeartbeat:    "HEARTBEAT",
	TypeAck:          "ACK",
	TypeBusy:         "BUSY",
	TypeTimeReq:      "TIME_REQ",
	TypeTimeResp:     "TIME_RESP",
	TypeEvent:        "EVENT",
	TypeCommand:      "COMMAND",
	TypeResult:       "RESULT",
	TypeConfig:       "CONFIG",
	TypeConfigStatus: "CONFIG_STATUS",
	TypeFwOffer:      "FW_OFFER",
	TypeFwChunk:      "FW_CHUNK",
	TypeFwStatus:     "FW_STATUS",
	TypeFwActivate:   "FW_ACTIVATE",
}

// String returns the PROTOCOL.md name of t, or a hex number if unknown.
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE(0x%02x)", uint8(t))
}

// Known reports whether t is defined by this protocol version.
func (t Type) Known() bool { _, ok := typeNames[t]; return ok }

// Sequenced reports whether frames of type t carry a sequence number and
// are acknowledged and retransmitted (PROTOCOL.md §5).
func (t Type) Sequenced() bool { return t >= 0x10 && t < 0x80 }

// Handshake reports whether t authenticates with the handshake context, in
// which the gateway boot id is 0 (PROTOCOL.md §2.5).
func (t Type) Handshake() bool { return t == TypeHello || t == TypeWelcome || t == TypeClose }
