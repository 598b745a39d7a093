package msg

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/officegate/officegate/firmware-bridge/frame"
)

// Application messages (PROTOCOL.md §4.9–4.17). All are sequenced.

// Event is something that happened at the device: a punch, a button press,
// a change of occupancy (§9.1). ID names it for ever.
type Event struct {
	ID    EventID        `cbor:"1,keyasint"`
	Kind  string         `cbor:"2,keyasint"`           // event type, e.g. "punch"
	Time  uint64         `cbor:"3,keyasint"`           // device clock, ms since the Unix epoch
	Clock ClockState     `cbor:"4,keyasint,omitempty"` // whether Time comes from a set clock
	Data  map[string]any `cbor:"5,keyasint,omitempty"`
}

// Command asks the device to do something (§9.2).
type Command struct {
	ID       string         `cbor:"1,keyasint"`
	Name     string         `cbor:"2,keyasint"`
	Args     map[string]any `cbor:"3,keyasint,omitempty"`
	Deadline uint64         `cbor:"4,keyasint,omitempty"` // gateway clock, ms since the Unix epoch; 0 = none
}

// Result answers a Command exactly once (§9.2).
type Result struct {
	ID     string         `cbor:"1,keyasint"`
	Status Status         `cbor:"2,keyasint"`
	Error  string         `cbor:"3,keyasint,omitempty"`
	Data   map[string]any `cbor:"4,keyasint,omitempty"`
}

// Config pushes a configuration, named by its SHA-256 (§9.3).
type Config struct {
	Hash   []byte `cbor:"1,keyasint"`
	Config []byte `cbor:"2,keyasint"` // a CBOR map whose keys depend on the device kind
}

// ConfigStatus answers a Config (§9.3).
type ConfigStatus struct {
	Hash  []byte      `cbor:"1,keyasint"`
	State ConfigState `cbor:"2,keyasint"`
	Code  Code        `cbor:"3,keyasint,omitempty"`
	Error string      `cbor:"4,keyasint,omitempty"`
}

// FwOffer announces a firmware image (§10.1).
type FwOffer struct {
	Xfer      uint32 `cbor:"1,keyasint"` // transfer id, names the transfer in chunks and status
	Size      uint32 `cbor:"2,keyasint"`
	SHA256    []byte `cbor:"3,keyasint"`
	Signature []byte `cbor:"4,keyasint"` // Ed25519 over FirmwareSigningInput(SHA256)
	Version   string `cbor:"5,keyasint"`
}

// FwChunk carries image bytes from Offset (§10.2).
type FwChunk struct {
	Xfer   uint32 `cbor:"1,keyasint"`
	Offset uint32 `cbor:"2,keyasint"`
	Data   []byte `cbor:"3,keyasint"`
}

// FwStatus reports how much of an image the device holds and in what state
// (§10.2).
type FwStatus struct {
	Xfer   uint32  `cbor:"1,keyasint"`
	Offset uint32  `cbor:"2,keyasint"` // bytes held contiguously from 0: the next chunk's offset
	State  FwState `cbor:"3,keyasint"`
	Code   Code    `cbor:"4,keyasint,omitempty"`
	Error  string  `cbor:"5,keyasint,omitempty"`
}

// FwActivate boots a verified image for a test (Confirm false), or makes
// the running test image permanent (Confirm true) (§10.3).
type FwActivate struct {
	SHA256  []byte `cbor:"1,keyasint"`
	Confirm bool   `cbor:"2,keyasint"`
}

func (*Event) Type() frame.Type        { return frame.TypeEvent }
func (*Command) Type() frame.Type      { return frame.TypeCommand }
func (*Result) Type() frame.Type       { return frame.TypeResult }
func (*Config) Type() frame.Type       { return frame.TypeConfig }
func (*ConfigStatus) Type() frame.Type { return frame.TypeConfigStatus }
func (*FwOffer) Type() frame.Type      { return frame.TypeFwOffer }
func (*FwChunk) Type() frame.Type      { return frame.TypeFwChunk }
func (*FwStatus) Type() frame.Type     { return frame.TypeFwStatus }
func (*FwActivate) Type() frame.Type   { return frame.TypeFwActivate }

// MaxChunk is the largest FW_CHUNK payload: a power of two that, with the
// map, the tag and the header, fits the 1024-byte frame cap (§10.2).
const MaxChunk = 512

// FirmwareSigningContext is prepended to the image's SHA-256 to form the
// message Ed25519 signs, so a firmware signature cannot be mistaken for a
// signature over anything else (§10.1).
const FirmwareSigningContext = "officegate/fw/v1"

// FirmwareSigningInput returns the bytes an FW_OFFER signature covers.
func FirmwareSigningInput(sha []byte) []byte {
	return append([]byte(FirmwareSigningContext), sha...)
}

func (m *Event) Validate() error {
	if m.ID.Boot == 0 || m.ID.Seq == 0 {
		return fmt.Errorf("event id [%d, %d] has a zero part", m.ID.Boot, m.ID.Seq)
	}
	if err := checkName("event type", m.Kind); err != nil {
		return err
	}
	if err := checkClock(m.Clock); err != nil {
		return err
	}
	return checkData("data", m.Data)
}

func (m *Command) Validate() error {
	if err := checkText("command id", m.ID, 1, MaxIDLen); err != nil {
		return err
	}
	if err := checkName("command name", m.Name); err != nil {
		return err
	}
	return checkData("args", m.Args)
}

func (m *Result) Validate() error {
	if err := checkText("command id", m.ID, 1, MaxIDLen); err != nil {
		return err
	}
	if m.Status > StatusExpired {
		return fmt.Errorf("status %d unknown", m.Status)
	}
	if err := checkText("error", m.Error, 0, MaxTextLen); err != nil {
		return err
	}
	return checkData("data", m.Data)
}

// Validate checks the hash's size only. Whether it matches the bytes is the
// device's check (§9.3): a mismatch must be answered CONFIG_STATUS rejected
// bad_hash, which a decode error would prevent. CheckHash does it.
func (m *Config) Validate() error { return checkHash("config hash", m.Hash, false) }

// CheckHash reports whether Hash is the SHA-256 of Config (§9.3).
func (m *Config) CheckHash() error {
	if sum := sha256.Sum256(m.Config); string(sum[:]) != string(m.Hash) {
		return fmt.Errorf("config hash %x does not match the config's sha-256 %x", m.Hash, sum)
	}
	return nil
}

func (m *ConfigStatus) Validate() error {
	if err := checkHash("config hash", m.Hash, false); err != nil {
		return err
	}
	if m.State > ConfigRejected {
		return fmt.Errorf("config state %d unknown", m.State)
	}
	return checkText("error", m.Error, 0, MaxTextLen)
}

func (m *FwOffer) Validate() error {
	if m.Xfer == 0 {
		return errors.New("transfer id is 0")
	}
	if m.Size == 0 {
		return errors.New("image size is 0")
	}
	if err := checkHash("image sha-256", m.SHA256, false); err != nil {
		return err
	}
	if len(m.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("signature is %d bytes, need %d", len(m.Signature), ed25519.SignatureSize)
	}
	return checkText("firmware version", m.Version, 1, MaxVersion)
}

func (m *FwChunk) Validate() error {
	if m.Xfer == 0 {
		return errors.New("transfer id is 0")
	}
	if len(m.Data) == 0 || len(m.Data) > MaxChunk {
		return fmt.Errorf("chunk of %d bytes outside [1, %d]", len(m.Data), MaxChunk)
	}
	if uint64(m.Offset)+uint64(len(m.Data)) > 1<<32-1 {
		return fmt.Errorf("chunk at offset %d of %d bytes passes 4 GiB", m.Offset, len(m.Data))
	}
	return nil
}

func (m *FwStatus) Validate() error {
	if m.State > FwConfirmed {
		return fmt.Errorf("firmware state %d unknown", m.State)
	}
	return checkText("error", m.Error, 0, MaxTextLen)
}

func (m *FwActivate) Validate() error { return checkHash("image sha-256", m.SHA256, false) }

// CommandName is the link's name of a command the gateway names with dots
// ("door.pulse" → "door_pulse"): a link command name is [a-z0-9_-] (§4.1).
// The mapping is one way: a link name is never a name the gateway accepts
// from its own senders, which use the dotted names only (the gateway's
// table of command names per device kind refuses "door_pulse").
func CommandName(name string) string { return strings.ReplaceAll(name, ".", "_") }
