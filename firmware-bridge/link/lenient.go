package link

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// lenientDec reads just the command id out of a COMMAND body that failed
// the strict decode, so the device can answer it (PROTOCOL.md §5.7). The
// same limits apply; only unknown and invalid fields are tolerated.
var lenientDec, _ = cbor.DecOptions{
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	IndefLength:      cbor.IndefLengthForbidden,
	TagsMd:           cbor.TagsForbidden,
	MaxNestedLevels:  msg.MaxNesting,
	MaxArrayElements: msg.MaxArrayElements,
	MaxMapPairs:      msg.MaxMapPairs,
}.DecMode()

func commandID(body []byte) (string, bool) {
	var m map[uint64]cbor.RawMessage
	if lenientDec == nil || lenientDec.Unmarshal(body, &m) != nil {
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
