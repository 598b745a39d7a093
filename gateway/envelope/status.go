package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Gateway and device states, retained on the status topics.
const (
	StateOnline   = "online"
	StateOffline  = "offline"
	StatePending  = "pending"  // a device waiting for enrollment approval
	StateDisabled = "disabled" // enrolled, refused until enabled again
	StateRetired  = "retired"
)

// GatewayStatus is the retained message on {root}/{gw}/status. Its Last Will is
// the same message with state "offline" and the same boot id, so a consumer can
// tell a stale will from the current session.
type GatewayStatus struct {
	V       int    `json:"v"`
	Gateway string `json:"gateway"`
	State   string `json:"state"`
	Boot    string `json:"boot"`    // random per process start
	Version string `json:"version"` // officegate's version
	Since   string `json:"since"`   // when this state began (gateway clock, RFC 3339)
	// Journal is set while the gateway's journal is full and refuses events
	// (devices are told busy and keep them); absent otherwise.
	Journal *JournalStatus `json:"journal,omitempty"`
}

// JournalStatus says why and since when the journal refuses events.
type JournalStatus struct {
	State string `json:"state"` // JournalFull
	Cause string `json:"cause"` // "cap" (the configured max_bytes) or "disk" (the file system)
	Since string `json:"since"` // when refusing began (gateway clock, UTC, RFC 3339)
}

// JournalFull is JournalStatus.State while the journal refuses events.
const JournalFull = "full"

// DeviceStatus is the retained message on {root}/{gw}/devices/{device}/status.
type DeviceStatus struct {
	V        int    `json:"v"`
	Gateway  string `json:"gateway"`
	Device   string `json:"device"`
	State    string `json:"state"`
	Kind     string `json:"kind"` // terminal, kiosk, panel, reader, …
	Model    string `json:"model,omitempty"`
	Firmware string `json:"firmware,omitempty"`
	Clock    string `json:"clock,omitempty"`     // synced | drifted | unknown
	LastSeen string `json:"last_seen,omitempty"` // RFC 3339, gateway clock
}

// Payload renders a status message (always JSON or CBOR like events).
func StatusPayload(f Format, v any) ([]byte, error) { return marshal(f, v) }

// Command is what an admin service publishes on a command topic.
type Command struct {
	ID        string          `json:"id"`
	ExpiresAt *time.Time      `json:"expires_at"`
	Args      json.RawMessage `json:"args"`
}

// Limits on commands.
const (
	MaxCommandBytes = 64 << 10 // a command payload larger than this is refused unread
	DefaultTTL      = 5 * time.Minute
	MaxTTL          = 24 * time.Hour
)

// ErrBadCommand marks a command payload that cannot be executed; the result
// explains why (status "error").
var ErrBadCommand = errors.New("bad command")

// ParseCommand decodes and validates a command payload (JSON only: admin
// services write commands by hand and by script). Unknown fields are refused so
// a misspelt "expires_at" cannot turn into a command that never expires. now is
// the gateway clock: a command without expires_at expires DefaultTTL after it
// arrives; one further out than MaxTTL is refused.
func ParseCommand(payload []byte, now time.Time) (*Command, error) {
	if len(payload) > MaxCommandBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadCommand, len(payload), MaxCommandBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var c Command
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadCommand)
	}
	if c.ID == "" || len(c.ID) > 128 {
		return nil, fmt.Errorf("%w: id must be 1..128 characters", ErrBadCommand)
	}
	for _, r := range c.ID {
		if r < 0x21 || r > 0x7e {
			return nil, fmt.Errorf("%w: id %q: only printable ASCII without spaces", ErrBadCommand, c.ID)
		}
	}
	if c.ExpiresAt == nil {
		t := now.Add(DefaultTTL)
		c.ExpiresAt = &t
	} else if c.ExpiresAt.Sub(now) > MaxTTL {
		return nil, fmt.Errorf("%w: expires_at %s is more than %v ahead", ErrBadCommand, c.ExpiresAt.Format(time.RFC3339), MaxTTL)
	}
	if len(c.Args) == 0 || string(c.Args) == "null" {
		c.Args = json.RawMessage("{}")
	}
	if c.Args[0] != '{' {
		return nil, fmt.Errorf("%w: args must be a JSON object", ErrBadCommand)
	}
	return &c, nil
}
