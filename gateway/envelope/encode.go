package envelope

import (
	"strings"
	"unicode/utf8"

	"github.com/officegate/officegate/internal/cbormode"
)

// A data body is encoded by appending it: the values a device or a driver
// puts in event data (text, integers, booleans, null, byte strings, lists and
// text-keyed maps of them) are written in RFC 8949 core deterministic
// encoding, byte for byte what storeEnc writes (FuzzAppendData), with map
// keys sorted as that encoding sorts them. Within the decoding path's
// limits, and with valid UTF-8 text only, a body so written is one the
// direct renderers (json.go, cborwire.go) take, so EncodeData need not
// render it to know it can be published. Anything else (floats, other Go
// types, a limit exceeded, invalid UTF-8) is encoded by storeEnc and checked
// by rendering, as before.

// appendData appends data's canonical encoding; ok is false when data holds
// what only the reflective encoder takes. A nil map is null, as storeEnc
// writes it.
func appendData(dst []byte, data map[string]any) ([]byte, bool) {
	if data == nil {
		return append(dst, 0xf6), true
	}
	return appendValue(dst, data, 1)
}

// appendValue appends v at nesting level (the outermost container is level
// 1; the limits are jsonMaxLevels, jsonMaxArray, jsonMaxPairs).
func appendValue(dst []byte, v any, level int) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(dst, 0xf6), true
	case string:
		if !utf8.ValidString(x) {
			return dst, false
		}
		return appendCBORText(dst, x), true
	case bool:
		if x {
			return append(dst, 0xf5), true
		}
		return append(dst, 0xf4), true
	case int:
		return appendCBORInt(dst, int64(x)), true
	case int8:
		return appendCBORInt(dst, int64(x)), true
	case int16:
		return appendCBORInt(dst, int64(x)), true
	case int32:
		return appendCBORInt(dst, int64(x)), true
	case int64:
		return appendCBORInt(dst, x), true
	case uint:
		return cbormode.AppendHead(dst, 0, uint64(x)), true
	case uint8:
		return cbormode.AppendHead(dst, 0, uint64(x)), true
	case uint16:
		return cbormode.AppendHead(dst, 0, uint64(x)), true
	case uint32:
		return cbormode.AppendHead(dst, 0, uint64(x)), true
	case uint64:
		return cbormode.AppendHead(dst, 0, x), true
	case []byte:
		if x == nil {
			return append(dst, 0xf6), true // storeEnc: a nil slice is null
		}
		return append(cbormode.AppendHead(dst, 2, uint64(len(x))), x...), true
	case []string:
		if x == nil {
			return append(dst, 0xf6), true
		}
		if level > jsonMaxLevels || len(x) > jsonMaxArray {
			return dst, false
		}
		dst = cbormode.AppendHead(dst, 4, uint64(len(x)))
		for _, s := range x {
			if !utf8.ValidString(s) {
				return dst, false
			}
			dst = appendCBORText(dst, s)
		}
		return dst, true
	case []any:
		if x == nil {
			return append(dst, 0xf6), true
		}
		if level > jsonMaxLevels || len(x) > jsonMaxArray {
			return dst, false
		}
		dst = cbormode.AppendHead(dst, 4, uint64(len(x)))
		for _, e := range x {
			var ok bool
			if dst, ok = appendValue(dst, e, level+1); !ok {
				return dst, false
			}
		}
		return dst, true
	case map[string]any:
		if x == nil {
			return append(dst, 0xf6), true
		}
		return appendMap(dst, x, level)
	}
	return dst, false
}

// appendMap appends a text-keyed map with its keys in core deterministic
// order: by their encoding's bytes, which for text keys in their shortest
// heads is by length, then by bytes.
func appendMap(dst []byte, m map[string]any, level int) ([]byte, bool) {
	if level > jsonMaxLevels || len(m) > jsonMaxPairs {
		return dst, false
	}
	// Event data has a handful of keys: sorted by insertion on the stack.
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		if !utf8.ValidString(k) {
			return dst, false
		}
		i := len(keys)
		keys = append(keys, k)
		for ; i > 0 && keyLess(k, keys[i-1]); i-- {
			keys[i] = keys[i-1]
		}
		keys[i] = k
	}
	dst = cbormode.AppendHead(dst, 5, uint64(len(keys)))
	for _, k := range keys {
		dst = appendCBORText(dst, k)
		var ok bool
		if dst, ok = appendValue(dst, m[k], level+1); !ok {
			return dst, false
		}
	}
	return dst, true
}

// keyLess orders text keys as core deterministic encoding orders their
// encodings.
func keyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return strings.Compare(a, b) < 0
}
