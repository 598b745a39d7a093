package link

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/cbormode"
)

// lenientDec reads just the command id out of a COMMAND body that failed
// the strict decode, so the device can answer it (PROTOCOL.md §5.7). It is
// the message decoder's mode with its limits; decoding into raw values
// rather than msg.Command is what tolerates unknown and invalid fields.
var lenientDec = cbormode.MustHostile(msg.Limits)

func commandID(body []byte) (string, bool) {
	var m map[uint64]cbor.RawMessage
	if lenientDec.Unmarshal(body, &m) != nil {
		return "", false
	}
	var id string
	if raw, ok := m[1]; !ok || lenientDec.Unmarshal(raw, &id) != nil {
		return "", false
	}
	if len(id) == 0 || len(id) > msg.MaxIDLen {
		return "", false
	}
	return id, true
}
