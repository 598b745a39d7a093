package envelope

import (
	"math"
	"slices"
	"unicode/utf8"

	"github.com/officegate/officegate/internal/cbormode"
)

// The journaled form of an event (Outbound{Event}) is written and read
// without reflection: every event the gateway takes in is encoded once and
// decoded once per sink, and the reflective codec cost as much as the rest
// of the envelope together. The fast paths write exactly storeEnc's bytes
// (integer keys in ascending order, shortest heads, omitempty fields left
// out; TestRenderGolden's bodies, FuzzStoreEvent) and read only what they
// can read exactly as dataDec does; anything else (a result, a marker, a
// body in any other shape) takes the reflective codec.

// appendStoreEvent appends Outbound{Event: e} as storeEnc encodes it; ok is
// false when e's data is not a body the fast path vouches for (storeEnc then
// checks it is well formed).
func appendStoreEvent(dst []byte, e *Event) ([]byte, bool) {
	if len(e.Data) > 0 {
		if rest, ok := checkCanonical(e.Data, 3); !ok || len(rest) != 0 {
			return dst, false
		}
	}
	n := uint64(11)
	if len(e.Data) > 0 {
		n++
	}
	if e.ClockOffsetMS != nil {
		n++
	}
	dst = append(dst, 0xa1, 0x01) // {1: event}
	dst = cbormode.AppendHead(dst, 5, n)
	dst = appendCBORInt(append(dst, 0x01), int64(e.V))
	dst = appendCBORText(append(dst, 0x02), e.ID)
	dst = appendCBORText(append(dst, 0x03), e.Type)
	dst = appendCBORText(append(dst, 0x04), e.Gateway)
	dst = appendCBORText(append(dst, 0x05), e.Device)
	dst = cbormode.AppendHead(append(dst, 0x06), 0, uint64(e.Boot))
	dst = cbormode.AppendHead(append(dst, 0x07), 0, e.Seq)
	dst = appendStoreStamp(append(dst, 0x08), e.Time)
	dst = appendCBORText(append(dst, 0x09), e.TimeRaw)
	dst = appendCBORText(append(dst, 0x0a), e.Clock)
	dst = appendStoreStamp(append(dst, 0x0b), e.Received)
	if len(e.Data) > 0 {
		dst = append(append(dst, 0x0c), e.Data...)
	}
	if e.ClockOffsetMS != nil {
		dst = appendCBORInt(append(dst, 0x0d), *e.ClockOffsetMS)
	}
	return dst, true
}

func appendStoreStamp(dst []byte, s Stamp) []byte {
	dst = append(dst, 0xa2, 0x01)
	dst = appendCBORInt(dst, s.UnixMs)
	dst = append(dst, 0x02)
	return appendCBORInt(dst, int64(s.OffsetMin))
}

// decodeStoreEvent reads a journaled event written as appendStoreEvent
// writes it (any subset of its fields, in ascending key order); ok is false
// for anything else, which dataDec then reads or refuses. The strings share
// one copy of body; Data is a copy of its own.
func decodeStoreEvent(body []byte) (*Outbound, bool) {
	if len(body) < 3 || body[0] != 0xa1 || body[1] != 0x01 {
		return nil, false
	}
	major, n, b, ok := cborHead(body[2:])
	if !ok || major != 5 || n > 13 {
		return nil, false
	}
	// The Outbound and its Event in one allocation.
	both := new(struct {
		o Outbound
		e Event
	})
	var (
		e    = &both.e
		all  string // body as one string: every text field is a slice of it
		last uint64
	)
	text := func(b []byte) (string, []byte, bool) {
		major, l, rest, ok := cborHead(b)
		if !ok || major != 3 || l > uint64(len(rest)) || !utf8.Valid(rest[:l]) {
			return "", nil, false
		}
		if all == "" {
			all = string(body)
		}
		at := len(body) - len(rest)
		return all[at : at+int(l)], rest[l:], true
	}
	for i := uint64(0); i < n; i++ {
		var key uint64
		if key, b, ok = smallKey(b); !ok || key <= last || key > 13 {
			return nil, false // unknown, repeated or out of order: dataDec's to judge
		}
		last = key
		switch key {
		case 1:
			var v int64
			if v, b, ok = cborInt(b); !ok {
				return nil, false
			}
			e.V = int(v)
		case 2:
			e.ID, b, ok = text(b)
		case 3:
			e.Type, b, ok = text(b)
		case 4:
			e.Gateway, b, ok = text(b)
		case 5:
			e.Device, b, ok = text(b)
		case 6:
			var major byte
			var v uint64
			if major, v, b, ok = cborHead(b); !ok || major != 0 || v > math.MaxUint32 {
				return nil, false
			}
			e.Boot = uint32(v)
		case 7:
			var major byte
			if major, e.Seq, b, ok = cborHead(b); !ok || major != 0 {
				return nil, false
			}
		case 8:
			e.Time, b, ok = storeStamp(b)
		case 9:
			e.TimeRaw, b, ok = text(b)
		case 10:
			e.Clock, b, ok = text(b)
		case 11:
			e.Received, b, ok = storeStamp(b)
		case 12:
			// The data body within dataDec's limits, counted from the
			// outermost map (level 1: Outbound, 2: Event, 3: data).
			var rest []byte
			if rest, ok = checkCanonical(b, 3); !ok {
				return nil, false
			}
			e.Data, b = slices.Clone(b[:len(b)-len(rest)]), rest
		case 13:
			var v int64
			if v, b, ok = cborInt(b); !ok {
				return nil, false
			}
			e.ClockOffsetMS = &v
		}
		if !ok {
			return nil, false
		}
	}
	if len(b) != 0 {
		return nil, false
	}
	both.o.Event = e
	return &both.o, true
}

// smallKey reads an unsigned integer map key below 24 (one byte).
func smallKey(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 || b[0] >= 24 {
		return 0, nil, false
	}
	return uint64(b[0]), b[1:], true
}

// cborInt reads an integer that fits an int64.
func cborInt(b []byte) (int64, []byte, bool) {
	major, arg, rest, ok := cborHead(b)
	if !ok || arg > math.MaxInt64 {
		return 0, nil, false
	}
	switch major {
	case 0:
		return int64(arg), rest, true
	case 1:
		return -1 - int64(arg), rest, true
	}
	return 0, nil, false
}

// storeStamp reads a Stamp: {1: unix ms, 2: offset minutes}, either
// omitted, in ascending order.
func storeStamp(b []byte) (Stamp, []byte, bool) {
	var s Stamp
	major, n, b, ok := cborHead(b)
	if !ok || major != 5 || n > 2 {
		return s, nil, false
	}
	var last uint64
	for i := uint64(0); i < n; i++ {
		var key uint64
		if key, b, ok = smallKey(b); !ok || key <= last || key > 2 {
			return s, nil, false
		}
		last = key
		var v int64
		if v, b, ok = cborInt(b); !ok {
			return s, nil, false
		}
		if key == 1 {
			s.UnixMs = v
		} else {
			if v < math.MinInt16 || v > math.MaxInt16 {
				return s, nil, false
			}
			s.OffsetMin = int16(v)
		}
	}
	return s, b, true
}
