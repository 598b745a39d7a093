package terminal

import (
	"fmt"
	"math"
)

// ReplayOf reads a replayed punch's reference to its first sending: the
// {"boot", "seq"} it had, which must come before the replay itself — a
// device could otherwise claim the id of an event it has yet to send, and
// consumers would drop that event as a duplicate.
//
// Its error says what is wrong in the gateway's words, never with what the
// terminal sent: the alarm it becomes is published, and a replayed record can
// hold a card number this site publishes only hashed, or any length of text.
//
// v is the punch's "replay" value; boot and seq are the replay's own event id.
// It returns the id the punch had the first time.
func ReplayOf(v any, boot, seq uint32) (origBoot, origSeq uint32, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, 0, fmt.Errorf("replay is a %s, want a map with boot and seq", cborKind(v))
	}
	b, bok := m["boot"].(uint64)
	q, qok := m["seq"].(uint64)
	if !bok || !qok || b == 0 || q == 0 || b > math.MaxUint32 || q > math.MaxUint32 {
		return 0, 0, fmt.Errorf("replay lacks boot and seq as unsigned 32-bit integers, not 0 (%d keys)", len(m))
	}
	if b > uint64(boot) || b == uint64(boot) && q >= uint64(seq) {
		return 0, 0, fmt.Errorf("replay names event [%d %d], not before the replay itself [%d %d]",
			b, q, boot, seq)
	}
	return uint32(b), uint32(q), nil
}

// cborKind names the CBOR type of a decoded value, for messages that must not
// quote it.
func cborKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case uint64, int64:
		return "integer"
	case float32, float64:
		return "float"
	case string:
		return "text"
	case []byte:
		return "byte string"
	case []any:
		return "array"
	case map[string]any, map[any]any:
		return "map"
	}
	return "value"
}
