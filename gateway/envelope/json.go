package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The JSON wire form is rendered from the journaled body directly: the data
// body is transcoded from its CBOR without decoding it into maps, and the
// envelope's fields are appended in wireEvent's (wireResult's) order. The
// bytes are those encoding/json writes for the decoded form (TestRenderGolden,
// FuzzRenderDirect): the same string escapes (HTML characters, U+2028 and
// U+2029), the same float formatting, map keys in byte order. A body the
// direct path does not take (a tag, an integer beyond int64, a limit
// exceeded, anything malformed) is rendered the old way, which also reports
// the error.

// appendEventJSON appends the event's JSON wire form; ok is false when its
// data must take the decoding path.
func appendEventJSON(dst []byte, e *Event) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(e.V), 10)
	dst = appendField(dst, `,"id":`, e.ID)
	dst = appendField(dst, `,"type":`, e.Type)
	dst = appendField(dst, `,"gateway":`, e.Gateway)
	dst = appendField(dst, `,"device":`, e.Device)
	dst = append(dst, `,"boot":`...)
	dst = strconv.AppendUint(dst, uint64(e.Boot), 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = appendStampJSON(dst, `,"time":`, e.Time)
	dst = appendField(dst, `,"time_raw":`, e.TimeRaw)
	dst = appendField(dst, `,"clock":`, e.Clock)
	if e.ClockOffsetMS != nil {
		dst = append(dst, `,"clock_offset_ms":`...)
		dst = strconv.AppendInt(dst, *e.ClockOffsetMS, 10)
	}
	dst = appendStampJSON(dst, `,"received":`, e.Received)
	dst = append(dst, `,"data":`...)
	dst, ok := appendDataJSON(dst, e.Data)
	if !ok {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

// appendResultJSON is appendEventJSON for a result.
func appendResultJSON(dst []byte, r *Result) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(r.V), 10)
	dst = appendField(dst, `,"id":`, r.ID)
	dst = appendField(dst, `,"gateway":`, r.Gateway)
	if r.Device != "" {
		dst = appendField(dst, `,"device":`, r.Device)
	}
	dst = appendField(dst, `,"command":`, r.Command)
	dst = appendField(dst, `,"status":`, r.Status)
	if r.Error != "" {
		dst = appendField(dst, `,"error":`, r.Error)
	}
	dst = appendStampJSON(dst, `,"time":`, r.Time)
	dst = append(dst, `,"data":`...)
	dst, ok := appendDataJSON(dst, r.Data)
	if !ok {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

// appendStampJSON appends a stamp field: its text needs no escaping.
func appendStampJSON(dst []byte, name string, s Stamp) []byte {
	dst = append(append(dst, name...), '"')
	return append(s.AppendText(dst), '"')
}

func appendField(dst []byte, name, v string) []byte {
	return appendJSONString(append(dst, name...), v)
}

// appendDataJSON transcodes a data body: a map, or nothing or null for {}
// (DecodeData's rules), within DecodeData's limits.
func appendDataJSON(dst []byte, raw []byte) ([]byte, bool) {
	if len(raw) == 0 || (len(raw) == 1 && raw[0] == 0xf6) {
		return append(dst, '{', '}'), true
	}
	if raw[0]>>5 != 5 {
		return dst, false
	}
	dst, rest, ok := appendCBORJSON(dst, raw, 1)
	return dst, ok && len(rest) == 0
}

// The decoding path's limits (dataDec).
const (
	jsonMaxLevels = 8
	jsonMaxArray  = 1024
	jsonMaxPairs  = 256
)

// cborHead reads a data item's head: major type, argument, and the rest.
func cborHead(b []byte) (major byte, arg uint64, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, 0, nil, false
	}
	major, info := b[0]>>5, b[0]&0x1f
	b = b[1:]
	switch {
	case info < 24:
		return major, uint64(info), b, true
	case info == 24 && len(b) >= 1:
		return major, uint64(b[0]), b[1:], true
	case info == 25 && len(b) >= 2:
		return major, uint64(binary.BigEndian.Uint16(b)), b[2:], true
	case info == 26 && len(b) >= 4:
		return major, uint64(binary.BigEndian.Uint32(b)), b[4:], true
	case info == 27 && len(b) >= 8:
		return major, binary.BigEndian.Uint64(b), b[8:], true
	}
	return 0, 0, nil, false // reserved, indefinite length (forbidden), or short
}

// appendCBORJSON transcodes one data item at nesting level (the outermost
// container is level 1) and returns what follows it.
func appendCBORJSON(dst, b []byte, level int) ([]byte, []byte, bool) {
	major, arg, rest, ok := cborHead(b)
	if !ok {
		return dst, nil, false
	}
	switch major {
	case 0:
		return strconv.AppendUint(dst, arg, 10), rest, true
	case 1:
		if arg > math.MaxInt64 {
			return dst, nil, false // a big.Int on the decoding path
		}
		return strconv.AppendInt(dst, -1-int64(arg), 10), rest, true
	case 2:
		if arg > uint64(len(rest)) {
			return dst, nil, false
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, rest[:arg])
		return append(dst, '"'), rest[arg:], true
	case 3:
		if arg > uint64(len(rest)) || !utf8.Valid(rest[:arg]) {
			return dst, nil, false
		}
		return appendJSONString(dst, string(rest[:arg])), rest[arg:], true
	case 4:
		if level > jsonMaxLevels || arg > jsonMaxArray {
			return dst, nil, false
		}
		dst = append(dst, '[')
		for i := uint64(0); i < arg; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, rest, ok = appendCBORJSON(dst, rest, level+1); !ok {
				return dst, nil, false
			}
		}
		return append(dst, ']'), rest, true
	case 5:
		return appendMapJSON(dst, rest, arg, level)
	case 7:
		switch b[0] & 0x1f {
		case 20:
			return append(dst, "false"...), rest, true
		case 21:
			return append(dst, "true"...), rest, true
		case 22, 23:
			return append(dst, "null"...), rest, true
		case 25:
			return appendFloatJSON(dst, float64(float16(uint16(arg)))), rest, !math.IsNaN(float16(uint16(arg))) && !math.IsInf(float16(uint16(arg)), 0)
		case 26:
			f := float64(math.Float32frombits(uint32(arg)))
			return appendFloatJSON(dst, f), rest, !math.IsNaN(f) && !math.IsInf(f, 0)
		case 27:
			f := math.Float64frombits(arg)
			return appendFloatJSON(dst, f), rest, !math.IsNaN(f) && !math.IsInf(f, 0)
		}
	}
	return dst, nil, false // a tag (forbidden), or a simple value the decoding path keeps as a number
}

// appendMapJSON transcodes a map of n pairs: text keys only, each once,
// written in byte order as encoding/json writes a map[string]any. Nothing
// is allocated for it: the values' JSON is written at the end of dst in the
// order they come, the map after them in key order, and the map then moved
// where the values were; the pairs are gathered on the stack (event data has
// a handful) and keys compared where they lie in b.
func appendMapJSON(dst, b []byte, n uint64, level int) ([]byte, []byte, bool) {
	if level > jsonMaxLevels || n > jsonMaxPairs {
		return dst, nil, false
	}
	type pair struct {
		key        []byte // in b
		start, end int    // of the value's JSON in dst
	}
	var pbuf [16]pair
	pairs, base := pbuf[:0], len(dst)
	for i := uint64(0); i < n; i++ {
		major, arg, rest, ok := cborHead(b)
		if !ok || major != 3 || arg > uint64(len(rest)) || !utf8.Valid(rest[:arg]) {
			return dst[:base], nil, false
		}
		p := pair{key: rest[:arg:arg], start: len(dst)}
		if dst, b, ok = appendCBORJSON(dst, rest[arg:], level+1); !ok {
			return dst[:base], nil, false
		}
		p.end = len(dst)
		pairs = append(pairs, p)
	}
	if !slices.IsSortedFunc(pairs, func(a, c pair) int { return bytes.Compare(a.key, c.key) }) {
		slices.SortFunc(pairs, func(a, c pair) int { return bytes.Compare(a.key, c.key) })
	}
	out := len(dst)
	dst = append(dst, '{')
	for i, p := range pairs {
		if i > 0 {
			if bytes.Equal(pairs[i-1].key, p.key) {
				return dst[:base], nil, false // a duplicate key: the decoding path refuses it
			}
			dst = append(dst, ',')
		}
		dst = appendJSONBytes(dst, p.key)
		dst = append(dst, ':')
		dst = append(dst, dst[p.start:p.end]...)
	}
	dst = append(dst, '}')
	return dst[:base+copy(dst[base:], dst[out:])], b, true
}

// appendFloatJSON formats f as encoding/json formats a float64.
func appendFloatJSON(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// float16 decodes an IEEE 754 half-precision float.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(frac+1024, exp-25)
}

// appendJSONBytes is appendJSONString for text held in a byte slice: keys
// in plain ASCII (all of the contract's) are copied as they are.
func appendJSONBytes(dst []byte, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSONString(dst, string(s))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping (the
// default of json.Marshal). s is valid UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
