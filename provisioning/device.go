package provisioning

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// State is a device's standing in the registry (FORMAT.md §3).
type State uint8

const (
	StatePending  State = iota + 1 // said HELLO, not approved: the link answers CLOSE pending
	StateActive                    // approved, holds a key: the session opens
	StateDisabled                  // approved but switched off by a person; keeps its key
	StateRetired                   // gone for good; its key is destroyed, its record kept for history
)

var stateNames = [...]string{StatePending: "pending", StateActive: "active", StateDisabled: "disabled", StateRetired: "retired"}

func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState is the inverse of State.String for the four states.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n != "" && n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown state %q", ErrInvalid, s)
}

// ParseKind is the inverse of msg.Kind.String, including the "kind(N)" form
// of kinds this build does not name.
func ParseKind(s string) (msg.Kind, error) {
	for k := range 256 {
		if msg.Kind(k).String() == s {
			return msg.Kind(k), nil
		}
	}
	if rest, ok := strings.CutPrefix(s, "kind("); ok {
		if n, ok := strings.CutSuffix(rest, ")"); ok {
			if v, err := strconv.ParseUint(n, 10, 8); err == nil && strconv.FormatUint(v, 10) == n {
				return msg.Kind(v), nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unknown kind %q", ErrInvalid, s)
}

// Device is what the registry holds about one unit. Values returned by the
// Registry are copies.
type Device struct {
	HardwareID string   // from HELLO: stable and unique per unit
	DeviceID   string   // MQTT topic level, assigned at approval; "" while pending
	Kind       msg.Kind // from HELLO
	Model      string   // from HELLO
	Name       string   // for people; unique among devices not retired
	Room       string   // room or location, free text
	Profile    string   // configuration profile name
	Port       string   // serial port it last said HELLO on; "" if unknown
	Firmware   string   // version it last reported
	ConfigHash []byte   // configuration it last said it has
	State      State
	KeyRef     string // names its link key in the key store; "" unless active or disabled
	LastSeen   time.Time
	Created    time.Time
	Updated    time.Time
}

func (d Device) clone() Device {
	if d.ConfigHash != nil {
		d.ConfigHash = append([]byte(nil), d.ConfigHash...)
	}
	return d
}

// Sentinel errors. Errors returned by this package wrap one of them with the
// identifying fact.
var (
	ErrNotFound = errors.New("provisioning: no such device")
	ErrState    = errors.New("provisioning: not allowed in the device's state")
	ErrConflict = errors.New("provisioning: already in use")
	ErrInvalid  = errors.New("provisioning: invalid value")
	ErrCorrupt  = errors.New("provisioning: corrupt file")
)

// CheckDeviceID accepts what a device id may be: an MQTT topic level and
// metric value, 1–32 bytes of [a-z0-9_-], the rule of the link's WELCOME
// (firmware-bridge/msg, checkName).
func CheckDeviceID(id string) error {
	if len(id) < 1 || len(id) > msg.MaxNameLen {
		return fmt.Errorf("%w: device id %q is %d bytes, need 1 to %d", ErrInvalid, id, len(id), msg.MaxNameLen)
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return fmt.Errorf("%w: device id %q: byte 0x%02x at %d is not in [a-z0-9_-]", ErrInvalid, id, id[i], i)
		}
	}
	return nil
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// CheckHardwareID accepts what HELLO accepts as a hardware id (PROTOCOL.md
// §4.2): 1–64 bytes of UTF-8 without control characters.
func CheckHardwareID(hw string) error {
	return checkText("hardware id", hw, 1, msg.MaxIDLen)
}

// checkText bounds free text (names, rooms, profiles, models).
func checkText(what, s string, min, max int) error {
	if len(s) < min || len(s) > max {
		return fmt.Errorf("%w: %s %q is %d bytes, need %d to %d", ErrInvalid, what, s, len(s), min, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not utf-8", ErrInvalid, what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s %q holds a control character", ErrInvalid, what, s)
		}
	}
	return nil
}

// Limits on the free-text fields. Names are shown in tables and on panels;
// 64 bytes is the link's limit for ids and models too.
const (
	maxText = 64
)
