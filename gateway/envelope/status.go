package envelope

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
