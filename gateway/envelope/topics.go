package envelope

import (
	"fmt"
	"strings"
)

// Topics builds the topic tree of one gateway (MQTT.md, "Topics"):
//
//	{root}/{gw}/status                            retained gateway status
//	{root}/{gw}/devices/{device}/status           retained device status
//	{root}/{gw}/devices/{device}/events/{type}    events
//	{root}/{gw}/devices/{device}/commands/{name}  commands in
//	{root}/{gw}/devices/{device}/results          results out
//	{root}/{gw}/commands/{name}                   gateway commands in
//	{root}/{gw}/results                           gateway results out
type Topics struct {
	Root    string // e.g. "officegate"
	Gateway string // the gateway id
}

func (t Topics) base() string { return t.Root + "/" + t.Gateway }

func (t Topics) GatewayStatus() string          { return t.base() + "/status" }
func (t Topics) Enrollment() string             { return t.base() + "/enrollment" }
func (t Topics) DeviceStatus(dev string) string { return t.base() + "/devices/" + dev + "/status" }
func (t Topics) Event(dev, typ string) string {
	return t.base() + "/devices/" + dev + "/events/" + typ
}
func (t Topics) DeviceResults(dev string) string { return t.base() + "/devices/" + dev + "/results" }
func (t Topics) GatewayResults() string          { return t.base() + "/results" }

// CommandFilters are the subscriptions for commands to this gateway.
func (t Topics) CommandFilters() []string {
	return []string{t.base() + "/devices/+/commands/+", t.base() + "/commands/+"}
}

// ParseCommand splits a command topic into the device (empty for a gateway
// command) and the command name.
func (t Topics) ParseCommand(topic string) (device, name string, err error) {
	rest, ok := strings.CutPrefix(topic, t.base()+"/")
	if !ok {
		return "", "", fmt.Errorf("envelope: topic %q is not under %q", topic, t.base())
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[0] == "commands":
		name = parts[1]
	case len(parts) == 4 && parts[0] == "devices" && parts[2] == "commands":
		device, name = parts[1], parts[3]
		if err := CheckLevel("device id", device); err != nil {
			return "", "", err
		}
	default:
		return "", "", fmt.Errorf("envelope: %q is not a command topic", topic)
	}
	if err := CheckLevel("command name", name); err != nil {
		return "", "", err
	}
	return device, name, nil
}

// CheckLevel validates a name used as one topic level: device ids, event types
// and command names are [a-z0-9._-], 1..64 bytes, so they never carry MQTT
// wildcards, separators or characters a consumer's ACL cannot express.
func CheckLevel(what, s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("envelope: %s %q: must be 1..64 bytes", what, s)
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("envelope: %s %q: only a-z 0-9 . _ - are allowed", what, s)
		}
	}
	return nil
}
