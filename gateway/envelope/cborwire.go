package envelope

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/officegate/officegate/internal/cbormode"
)

// The CBOR wire form is rendered from the journaled body directly too: the
// data body was written in RFC 8949 core deterministic encoding (storeEnc),
// the same as the wire form's (wireEnc), so once checked to be in that form
// it is copied as it is; the envelope around it is appended with its keys in
// that encoding's order. A body not in that form, or with a value the
// decoding path would change (undefined, NaN, infinity), is rendered the
// old way (FuzzCBORFromCBOR checks the two agree).

// cborHeadLen is the length of the shortest head with argument arg.
func cborHeadLen(arg uint64) int {
	switch {
	case arg < 24:
		return 1
	case arg <= math.MaxUint8:
		return 2
	case arg <= math.MaxUint16:
		return 3
	case arg <= math.MaxUint32:
		return 5
	}
	return 9
}

func appendCBORText(dst []byte, s string) []byte {
	return append(cbormode.AppendHead(dst, 3, uint64(len(s))), s...)
}

// appendCBORStamp appends a stamp as text.
func appendCBORStamp(dst []byte, s Stamp) []byte {
	var buf [40]byte
	t := s.AppendText(buf[:0])
	return append(cbormode.AppendHead(dst, 3, uint64(len(t))), t...)
}

func appendCBORInt(dst []byte, v int64) []byte {
	if v < 0 {
		return cbormode.AppendHead(dst, 1, uint64(-1-v))
	}
	return cbormode.AppendHead(dst, 0, uint64(v))
}

// appendEventCBOR appends the event's CBOR wire form; ok is false when it
// must take the decoding path.
func appendEventCBOR(dst []byte, e *Event) ([]byte, bool) {
	data, ok := canonicalData(e.Data)
	if !ok || !utf8Strings(e.ID, e.Type, e.Gateway, e.Device, e.TimeRaw, e.Clock) {
		return dst, false
	}
	n := uint64(12)
	if e.ClockOffsetMS != nil {
		n++
	}
	// Keys in core deterministic order: by length, then bytes.
	dst = cbormode.AppendHead(dst, 5, n)
	dst = appendCBORInt(appendCBORText(dst, "v"), int64(e.V))
	dst = appendCBORText(appendCBORText(dst, "id"), e.ID)
	dst = cbormode.AppendHead(appendCBORText(dst, "seq"), 0, e.Seq)
	dst = cbormode.AppendHead(appendCBORText(dst, "boot"), 0, uint64(e.Boot))
	dst = append(appendCBORText(dst, "data"), data...)
	dst = appendCBORStamp(appendCBORText(dst, "time"), e.Time)
	dst = appendCBORText(appendCBORText(dst, "type"), e.Type)
	dst = appendCBORText(appendCBORText(dst, "clock"), e.Clock)
	dst = appendCBORText(appendCBORText(dst, "device"), e.Device)
	dst = appendCBORText(appendCBORText(dst, "gateway"), e.Gateway)
	dst = appendCBORStamp(appendCBORText(dst, "received"), e.Received)
	dst = appendCBORText(appendCBORText(dst, "time_raw"), e.TimeRaw)
	if e.ClockOffsetMS != nil {
		dst = appendCBORInt(appendCBORText(dst, "clock_offset_ms"), *e.ClockOffsetMS)
	}
	return dst, true
}

// appendResultCBOR is appendEventCBOR for a result.
func appendResultCBOR(dst []byte, r *Result) ([]byte, bool) {
	data, ok := canonicalData(r.Data)
	if !ok || !utf8Strings(r.ID, r.Gateway, r.Device, r.Command, r.Status, r.Error) {
		return dst, false
	}
	n := uint64(7)
	if r.Error != "" {
		n++
	}
	if r.Device != "" {
		n++
	}
	dst = cbormode.AppendHead(dst, 5, n)
	dst = appendCBORInt(appendCBORText(dst, "v"), int64(r.V))
	dst = appendCBORText(appendCBORText(dst, "id"), r.ID)
	dst = append(appendCBORText(dst, "data"), data...)
	dst = appendCBORStamp(appendCBORText(dst, "time"), r.Time)
	if r.Error != "" {
		dst = appendCBORText(appendCBORText(dst, "error"), r.Error)
	}
	if r.Device != "" {
		dst = appendCBORText(appendCBORText(dst, "device"), r.Device)
	}
	dst = appendCBORText(appendCBORText(dst, "status"), r.Status)
	dst = appendCBORText(appendCBORText(dst, "command"), r.Command)
	dst = appendCBORText(appendCBORText(dst, "gateway"), r.Gateway)
	return dst, true
}

func utf8Strings(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

var emptyMap = []byte{0xa0}

// canonicalData returns the data body as the wire form carries it: {} for
// nothing or null, else the body itself once checked.
func canonicalData(raw []byte) ([]byte, bool) {
	if len(raw) == 0 || (len(raw) == 1 && raw[0] == 0xf6) {
		return emptyMap, true
	}
	if raw[0]>>5 != 5 {
		return nil, false
	}
	rest, ok := checkCanonical(raw, 1)
	return raw, ok && len(rest) == 0
}

// checkCanonical checks one data item is in core deterministic encoding,
// within the decoding path's limits, and decodes to a value that encodes
// back to the same bytes; it returns what follows it.
func checkCanonical(b []byte, level int) ([]byte, bool) {
	major, arg, rest, ok := cborHead(b)
	if !ok || (major != 7 && len(b)-len(rest) != cborHeadLen(arg)) {
		return nil, false // not the shortest head
	}
	switch major {
	case 0:
		return rest, true
	case 1:
		return rest, arg <= math.MaxInt64
	case 2:
		if arg > uint64(len(rest)) {
			return nil, false
		}
		return rest[arg:], true
	case 3:
		if arg > uint64(len(rest)) || !utf8.Valid(rest[:arg]) {
			return nil, false
		}
		return rest[arg:], true
	case 4:
		if level > jsonMaxLevels || arg > jsonMaxArray {
			return nil, false
		}
		for i := uint64(0); i < arg; i++ {
			if rest, ok = checkCanonical(rest, level+1); !ok {
				return nil, false
			}
		}
		return rest, true
	case 5:
		if level > jsonMaxLevels || arg > jsonMaxPairs {
			return nil, false
		}
		var prev []byte
		for i := uint64(0); i < arg; i++ {
			kmajor, klen, krest, ok := cborHead(rest)
			if !ok || kmajor != 3 || klen > uint64(len(krest)) || !utf8.Valid(krest[:klen]) ||
				len(rest)-len(krest) != cborHeadLen(klen) {
				return nil, false
			}
			key := rest[:len(rest)-len(krest)+int(klen)]
			if prev != nil && bytes.Compare(prev, key) >= 0 {
				return nil, false // unsorted, or a duplicate
			}
			prev = key
			if rest, ok = checkCanonical(krest[klen:], level+1); !ok {
				return nil, false
			}
		}
		return rest, true
	case 7:
		switch b[0] & 0x1f {
		case 20, 21, 22:
			return rest, true
		case 25:
			f := float16(uint16(arg))
			return rest, !math.IsNaN(f) && !math.IsInf(f, 0)
		case 26:
			f := float64(math.Float32frombits(uint32(arg)))
			return rest, !math.IsNaN(f) && !math.IsInf(f, 0) && !fitsFloat16(f)
		case 27:
			f := math.Float64frombits(arg)
			return rest, !math.IsNaN(f) && !math.IsInf(f, 0) && float64(float32(f)) != f
		}
	}
	return nil, false // a tag, undefined, or another simple value
}

// fitsFloat16 reports whether f (finite) is exactly a half-precision float,
// which the core deterministic encoding would have used.
func fitsFloat16(f float64) bool {
	a := math.Abs(f)
	switch {
	case a == 0:
		return true
	case a > 65504:
		return false
	case a < 0x1p-14:
		s := a * 0x1p24 // subnormals are multiples of 2^-24
		return s == math.Trunc(s)
	}
	frac, _ := math.Frexp(a) // a = frac · 2^exp, frac in [0.5, 1): 11 significant bits
	s := frac * 0x1p11
	return s == math.Trunc(s)
}
