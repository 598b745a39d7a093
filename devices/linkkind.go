package devices

// LinkKind is what the gateway knows of one kind of device on the
// firmware-bridge link (the kind a device declares in its HELLO): how its
// events are named and read, and which commands it takes and how. A kind's
// package declares its LinkKind (terminal.Link); the registry of kinds
// (devices/linkdev) lists each in one line. The gateway calls these rules
// wherever it handles the kind's devices, and has none of its own.
type LinkKind struct {
	// Name is the kind's name in statuses, the registry and the command
	// table: "terminal", "panel", "kiosk".
	Name string
	// Prefix is the type prefix of the kind's events: a terminal's "punch"
	// is published as "attendance.punch". An event the device names with a
	// dot is published under that name.
	Prefix string
	// Events are the kind's rules for its event types, by contract type
	// ("attendance.punch"). A rule is applied to an event of its type from
	// any device on the link.
	Events map[string]EventRule
	// Commands are the contract's command names the kind takes over MQTT;
	// Internal those only other drivers send it (a room driver writing its
	// panel's display), never accepted from MQTT.
	Commands, Internal []string
	// CheckCommand, if set, validates a command of Commands and returns its
	// args as the link carries them; its error refuses the command (one
	// wrapping ErrBiometric is also an alarm).
	CheckCommand func(name string, args map[string]any) (map[string]any, error)
	// ResultData, if set, maps a device's result data back to the
	// contract's names.
	ResultData func(name string, data map[string]any) map[string]any
}

// LinkEvent is one event of a device on the firmware-bridge link as a kind's
// EventRule sees it.
type LinkEvent struct {
	// Event: Type is the contract's name, Source the event's own (hardware
	// id, boot, seq), Data exactly as the device sent it (biometric keys
	// included: the rule must not publish them).
	Event
	Name    string // the event's name as the device sent it ("punch")
	CardKey []byte // the site's card key; nil: card numbers in clear
}

// EventRule applies a kind's rules to one of its events. It returns the event
// to publish: the same, its data mapped to the contract's, or one published
// under the id of another (a replayed punch, whose Source names its first
// sending). An error says in the gateway's words (never quoting what the
// device sent) why the event is unusable: the gateway then publishes a
// device.alarm under the id of the returned event's Source in its stead.
type EventRule func(e LinkEvent) (Event, error)
