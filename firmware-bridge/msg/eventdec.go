package msg

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// An EVENT body is decoded without reflection: every event a device sends
// is decoded once, and the reflective decoder cost more than the rest of the
// link's work on it (and grew the session loop's stack each time the
// collector had shrunk it). The fast path reads the bodies devices send —
// the five known keys, once each, data of text, integers, byte strings,
// booleans, null, arrays and text-keyed maps within §4.1's limits — into the
// same Event the reflective decoder gives (FuzzEventDecode). Anything else
// (an unknown key, floats, a duplicate key, a tag, an indefinite length,
// anything malformed) takes the reflective decoder, which decides and words
// the error, so what is accepted and refused is unchanged.

// decodeEvent decodes body as an EVENT; ok is false when the fast path
// does not vouch for the result.
func decodeEvent(body []byte) (*Event, bool) {
	n, b, ok := cborHead(body, 5)
	if !ok || n > MaxMapPairs {
		return nil, false
	}
	m := new(Event)
	d := eventDecoder{all: string(body)} // one copy: every text is a slice of it
	var seen uint8
	for range n {
		var key uint64
		if key, b, ok = cborHead(b, 0); !ok || key < 1 || key > 5 || seen&(1<<key) != 0 {
			return nil, false // unknown (must-ignore) or repeated: the reflective decoder's
		}
		seen |= 1 << key
		switch key {
		case 1:
			var l, boot, seq uint64
			if l, b, ok = cborHead(b, 4); !ok || l != 2 {
				return nil, false
			}
			if boot, b, ok = cborHead(b, 0); !ok || boot > math.MaxUint32 {
				return nil, false
			}
			if seq, b, ok = cborHead(b, 0); !ok || seq > math.MaxUint32 {
				return nil, false
			}
			m.ID = EventID{Boot: uint32(boot), Seq: uint32(seq)}
		case 2:
			if m.Kind, b, ok = d.text(body, b); !ok {
				return nil, false
			}
		case 3:
			if m.Time, b, ok = cborHead(b, 0); !ok {
				return nil, false
			}
		case 4:
			var c uint64
			if c, b, ok = cborHead(b, 0); !ok || c > math.MaxUint8 {
				return nil, false
			}
			m.Clock = ClockState(c)
		case 5:
			var v any
			// The event's map is level 1, its data level 2 (MaxNesting).
			if v, b, ok = d.value(body, b, 2); !ok {
				return nil, false
			}
			if m.Data, ok = v.(map[string]any); !ok {
				return nil, false
			}
		}
	}
	return m, len(b) == 0
}

// cborHead reads a data item head of the given major type with a definite
// argument (any length of head, as the reflective decoder accepts).
func cborHead(b []byte, major byte) (uint64, []byte, bool) {
	if len(b) == 0 || b[0]>>5 != major {
		return 0, nil, false
	}
	ai := b[0] & 0x1f
	switch {
	case ai < 24:
		return uint64(ai), b[1:], true
	case ai == 24 && len(b) >= 2:
		return uint64(b[1]), b[2:], true
	case ai == 25 && len(b) >= 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), b[3:], true
	case ai == 26 && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), b[5:], true
	case ai == 27 && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), b[9:], true
	}
	return 0, nil, false // reserved, indefinite, or truncated
}

// eventDecoder holds the body as one string, so that the texts of an
// event (its kind, the data's keys and values) cost one allocation, not one
// each. A body is at most frame.MaxBody bytes: what a text keeps alive is
// small.
type eventDecoder struct {
	all string
}

// text reads a text string of valid UTF-8 at b, a suffix of body.
func (d eventDecoder) text(body, b []byte) (string, []byte, bool) {
	l, rest, ok := cborHead(b, 3)
	if !ok || l > uint64(len(rest)) || !utf8.Valid(rest[:l]) {
		return "", nil, false
	}
	at := len(body) - len(rest)
	return d.all[at : at+int(l)], rest[l:], true
}

// value reads a free-form data value at b, a suffix of body, at nesting
// level (arrays and maps count; MaxNesting is the deepest) as the
// reflective decoder does into an interface: uint64, int64, []byte, string,
// bool, nil, []any and map[string]any.
func (d eventDecoder) value(body, b []byte, level int) (any, []byte, bool) {
	if len(b) == 0 {
		return nil, nil, false
	}
	switch b[0] >> 5 {
	case 0:
		return cborHead(b, 0)
	case 1:
		v, rest, ok := cborHead(b, 1)
		if !ok || v > math.MaxInt64 {
			return nil, nil, false // a big.Int to the reflective decoder
		}
		return -1 - int64(v), rest, true
	case 2:
		l, rest, ok := cborHead(b, 2)
		if !ok || l > uint64(len(rest)) {
			return nil, nil, false
		}
		return append(make([]byte, 0, l), rest[:l]...), rest[l:], true
	case 3:
		return d.text(body, b)
	case 4:
		l, rest, ok := cborHead(b, 4)
		if !ok || level > MaxNesting || l > MaxArrayElements || l > uint64(len(rest)) {
			return nil, nil, false
		}
		a := make([]any, l)
		for i := range a {
			if a[i], rest, ok = d.value(body, rest, level+1); !ok {
				return nil, nil, false
			}
		}
		return a, rest, true
	case 5:
		l, rest, ok := cborHead(b, 5)
		if !ok || level > MaxNesting || l > MaxMapPairs || 2*l > uint64(len(rest)) {
			return nil, nil, false
		}
		m := make(map[string]any, l)
		for range l {
			var k string
			if k, rest, ok = d.text(body, rest); !ok {
				return nil, nil, false
			}
			if _, dup := m[k]; dup {
				return nil, nil, false
			}
			if m[k], rest, ok = d.value(body, rest, level+1); !ok {
				return nil, nil, false
			}
		}
		return m, rest, true
	case 7:
		switch b[0] {
		case 0xf4:
			return false, b[1:], true
		case 0xf5:
			return true, b[1:], true
		case 0xf6:
			return nil, b[1:], true
		}
	}
	return nil, nil, false // a tag, undefined, a float, another simple value
}
