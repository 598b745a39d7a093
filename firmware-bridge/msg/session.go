package msg

import (
	"errors"
	"fmt"

	"github.com/officegate/officegate/firmware-bridge/frame"
)

// Session and link-control messages (PROTOCOL.md §4.2–4.8).

// Hello opens or resumes a session; the device sends it first (§6.1).
type Hello struct {
	HardwareID  string     `cbor:"1,keyasint"`
	Model       string     `cbor:"2,keyasint"`
	Kind        Kind       `cbor:"3,keyasint"`
	Firmware    string     `cbor:"4,keyasint"`
	Boot        uint32     `cbor:"5,keyasint"`
	Caps        Caps       `cbor:"6,keyasint"`
	ProtoMin    uint8      `cbor:"7,keyasint"`
	ProtoMax    uint8      `cbor:"8,keyasint"`
	GatewayBoot uint32     `cbor:"9,keyasint"`  // session the device's Ack refers to; 0 = none
	Ack         uint32     `cbor:"10,keyasint"` // last gateway seq the device delivered in that session
	MTU         uint16     `cbor:"11,keyasint"` // largest decoded frame the device accepts
	Window      uint8      `cbor:"12,keyasint"` // most unacknowledged frames the device can hold per direction
	ConfigHash  []byte     `cbor:"13,keyasint,omitempty"`
	Image       ImageState `cbor:"14,keyasint,omitempty"`
	Reverted    string     `cbor:"15,keyasint,omitempty"` // version that failed its test boot
	RevertCode  Code       `cbor:"16,keyasint,omitempty"`
	Time        uint64     `cbor:"17,keyasint,omitempty"` // device clock, ms since the Unix epoch
	Clock       ClockState `cbor:"18,keyasint,omitempty"`
	// EnrollPub is the X25519 public key of a device without a link key,
	// for agreeing one when it is approved (§6.7); absent once it has one.
	EnrollPub []byte `cbor:"19,keyasint,omitempty"`
}

// Welcome accepts a HELLO and fixes the session's parameters (§6.2).
type Welcome struct {
	DeviceID    string   `cbor:"1,keyasint"`
	Time        uint64   `cbor:"2,keyasint"` // gateway clock, ms since the Unix epoch, UTC
	ConfigHash  []byte   `cbor:"3,keyasint,omitempty"`
	Window      uint8    `cbor:"4,keyasint"`
	Heartbeat   uint32   `cbor:"5,keyasint"` // ms
	Proto       uint8    `cbor:"6,keyasint"`
	Caps        Caps     `cbor:"7,keyasint"`
	GatewayBoot uint32   `cbor:"8,keyasint"`
	Resume      bool     `cbor:"9,keyasint"`
	Ack         uint32   `cbor:"10,keyasint"` // last device seq the gateway delivered; 0 unless Resume
	EventAck    *EventID `cbor:"11,keyasint,omitempty"`
	MTU         uint16   `cbor:"12,keyasint"`
	RTO         uint32   `cbor:"13,keyasint"` // initial retransmit timeout, ms
}

// EventID names one event for ever: the boot it was recorded in and its
// number within that boot (§6.4).
type EventID struct {
	_    struct{} `cbor:",toarray"`
	Boot uint32
	Seq  uint32
}

// Close refuses a HELLO or ends a session (§6.5).
type Close struct {
	Code  Code   `cbor:"1,keyasint"`
	Text  string `cbor:"2,keyasint,omitempty"`
	Retry uint32 `cbor:"3,keyasint,omitempty"` // ms before the next HELLO; 0 = the default
	// Enroll completes a key agreement (§6.7), with code enrolled.
	Enroll *Enroll `cbor:"4,keyasint,omitempty"`
}

// Enroll is the gateway's half of a key agreement (§6.7): with the device's
// HELLO key 19 it gives both ends the link key.
type Enroll struct {
	Pub   []byte `cbor:"1,keyasint"` // the gateway's X25519 public key for this agreement
	Epoch uint16 `cbor:"2,keyasint"` // the key's epoch, ≥ 1
}

// EnrollKeyLen is the length of an X25519 public key.
const EnrollKeyLen = 32

// Heartbeat keeps an idle link alive (§6.3).
type Heartbeat struct {
	Uptime uint64 `cbor:"1,keyasint,omitempty"` // ms since the sender booted
}

// Ack acknowledges cumulatively through the header's ack field; its body is
// empty (§5.3).
type Ack struct{}

// Busy refuses the sequenced frame Seq without acknowledging it (§5.5).
type Busy struct {
	Seq   uint32 `cbor:"1,keyasint"`
	Retry uint32 `cbor:"2,keyasint"` // ms to wait before retransmitting Seq
}

// TimeReq starts a time-sync exchange (§8).
type TimeReq struct {
	ID     uint32 `cbor:"1,keyasint"`
	T1     uint64 `cbor:"2,keyasint"`           // gateway clock at send, ms
	Adjust int64  `cbor:"3,keyasint,omitempty"` // ms to add to the device clock
}

// TimeResp answers a TimeReq (§8).
type TimeResp struct {
	ID    uint32     `cbor:"1,keyasint"`
	T1    uint64     `cbor:"2,keyasint"` // echoed
	T2    uint64     `cbor:"3,keyasint"` // device clock at receipt, ms
	T3    uint64     `cbor:"4,keyasint"` // device clock at send, ms
	Clock ClockState `cbor:"5,keyasint,omitempty"`
	// Next is the seq the device will give its next event in this boot,
	// read atomically with applying Adjust: events with a lower seq were
	// recorded before the step (§8). 0: the device does not say.
	Next uint32 `cbor:"6,keyasint,omitempty"`
}

func (*Hello) Type() frame.Type     { return frame.TypeHello }
func (*Welcome) Type() frame.Type   { return frame.TypeWelcome }
func (*Close) Type() frame.Type     { return frame.TypeClose }
func (*Heartbeat) Type() frame.Type { return frame.TypeHeartbeat }
func (*Ack) Type() frame.Type       { return frame.TypeAck }
func (*Busy) Type() frame.Type      { return frame.TypeBusy }
func (*TimeReq) Type() frame.Type   { return frame.TypeTimeReq }
func (*TimeResp) Type() frame.Type  { return frame.TypeTimeResp }

// Normative session limits (PROTOCOL.md §5.1, §6).
const (
	MinMTU       = 256
	MaxWindow    = 16
	MaxHashLen   = 32
	MaxIDLen     = 64
	MaxNameLen   = 32
	MaxTextLen   = 200
	MaxVersion   = 32
	ProtoVersion = 1
)

func (m *Hello) Validate() error {
	if err := checkText("hardware id", m.HardwareID, 1, MaxIDLen); err != nil {
		return err
	}
	if err := checkText("model", m.Model, 1, MaxIDLen); err != nil {
		return err
	}
	if err := checkText("firmware version", m.Firmware, 1, MaxVersion); err != nil {
		return err
	}
	if m.Boot == 0 {
		return errors.New("boot id is 0")
	}
	if m.ProtoMin == 0 || m.ProtoMin > m.ProtoMax {
		return fmt.Errorf("protocol range [%d, %d] is empty", m.ProtoMin, m.ProtoMax)
	}
	if m.MTU < MinMTU || m.MTU > frame.MaxLen {
		return fmt.Errorf("mtu %d outside [%d, %d]", m.MTU, MinMTU, frame.MaxLen)
	}
	if m.Window < 1 || m.Window > MaxWindow {
		return fmt.Errorf("window %d outside [1, %d]", m.Window, MaxWindow)
	}
	if m.GatewayBoot == 0 && m.Ack != 0 {
		return fmt.Errorf("ack %d without a gateway boot id", m.Ack)
	}
	if err := checkHash("config hash", m.ConfigHash, true); err != nil {
		return err
	}
	if m.Image > ImageReverted {
		return fmt.Errorf("image state %d unknown", m.Image)
	}
	if (m.Image == ImageReverted) != (m.Reverted != "") {
		return fmt.Errorf("image state %d with reverted version %q", m.Image, m.Reverted)
	}
	if err := checkText("reverted version", m.Reverted, 0, MaxVersion); err != nil {
		return err
	}
	if m.EnrollPub != nil && len(m.EnrollPub) != EnrollKeyLen {
		return fmt.Errorf("enrollment key is %d bytes, need %d", len(m.EnrollPub), EnrollKeyLen)
	}
	return checkClock(m.Clock)
}

func (m *Welcome) Validate() error {
	if err := checkText("device id", m.DeviceID, 1, MaxIDLen); err != nil {
		return err
	}
	if err := checkHash("config hash", m.ConfigHash, true); err != nil {
		return err
	}
	if m.Window < 1 || m.Window > MaxWindow {
		return fmt.Errorf("window %d outside [1, %d]", m.Window, MaxWindow)
	}
	if m.Heartbeat < 100 || m.Heartbeat > 60_000 {
		return fmt.Errorf("heartbeat %d ms outside [100, 60000]", m.Heartbeat)
	}
	if m.Proto == 0 {
		return errors.New("protocol version is 0")
	}
	if m.GatewayBoot == 0 {
		return errors.New("gateway boot id is 0")
	}
	if !m.Resume && m.Ack != 0 {
		return fmt.Errorf("ack %d in a new session", m.Ack)
	}
	if m.MTU < MinMTU || m.MTU > frame.MaxLen {
		return fmt.Errorf("mtu %d outside [%d, %d]", m.MTU, MinMTU, frame.MaxLen)
	}
	if m.RTO < 10 || m.RTO > 60_000 {
		return fmt.Errorf("rto %d ms outside [10, 60000]", m.RTO)
	}
	if m.EventAck != nil && m.EventAck.Boot == 0 {
		return errors.New("event ack with boot id 0")
	}
	return nil
}

func (m *Close) Validate() error {
	if e := m.Enroll; e != nil {
		if m.Code != CodeEnrolled {
			return fmt.Errorf("enrollment offer in a CLOSE %v", m.Code)
		}
		if len(e.Pub) != EnrollKeyLen || e.Epoch == 0 {
			return fmt.Errorf("enrollment offer with a %d-byte key, epoch %d", len(e.Pub), e.Epoch)
		}
	}
	return checkText("text", m.Text, 0, MaxTextLen)
}

func (m *Heartbeat) Validate() error { return nil }

func (m *Ack) Validate() error { return nil }

func (m *Busy) Validate() error {
	if m.Seq == 0 {
		return errors.New("busy for seq 0")
	}
	return nil
}

func (m *TimeReq) Validate() error { return nil }

func (m *TimeResp) Validate() error { return checkClock(m.Clock) }

func checkClock(c ClockState) error {
	if c > ClockSet {
		return fmt.Errorf("clock state %d unknown", c)
	}
	return nil
}
