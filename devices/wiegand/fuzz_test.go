package wiegand_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// fuzzEdgeSize is the bytes the fuzzer spends on one edge:
//
//	byte 0    bit 0 line (D1), bit 1 rising, bits 2–3 extra sequence step (a gap),
//	          bit 4 report quiet after this edge, bit 5 time steps back
//	bytes 1–2 time since the previous edge, in 4 µs steps (up to 262 ms, past EndGap)
//	byte 3    the quiet reported, in ms
const fuzzEdgeSize = 4

// edgesToFuzz is the inverse of the fuzzer's reading, for seeds.
func edgesToFuzz(edges []wiegand.Edge) []byte {
	var b []byte
	var prev wiegand.Edge
	for i, e := range edges {
		var flags byte
		flags |= byte(e.Line & 1)
		if !e.Falling {
			flags |= 2
		}
		if i > 0 {
			if step := e.Seq - prev.Seq - 1; step < 4 {
				flags |= byte(step) << 2
			}
		}
		dt := min((e.Time-prev.Time)/(4*time.Microsecond), 0xffff)
		if i == 0 {
			dt = 0
		}
		b = append(b, flags)
		b = binary.BigEndian.AppendUint16(b, uint16(dt))
		b = append(b, 0)
		prev = e
	}
	return b
}

func FuzzDecode(f *testing.F) {
	r := wiegandsim.NewReader(1)
	for _, g := range goldenCards {
		f.Add(edgesToFuzz(bitsEdges(0, 1, g.bits)))
	}
	for _, fm := range []wiegand.Format{wiegand.H10301, wiegand.W34, wiegand.H10304} {
		e, _ := r.Card(fm, 1, 2)
		f.Add(edgesToFuzz(e))
	}
	r.BothEdges = true
	e, _ := r.Card(wiegand.H10304, 3, 4)
	f.Add(edgesToFuzz(e))
	e, _ = r.Keys("1234#")
	f.Add(edgesToFuzz(e))
	r.Keypad = wiegand.Keypad4
	e, _ = r.Keys("5*6#")
	f.Add(edgesToFuzz(e))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, formats := range [][]wiegand.Format{nil, {wiegand.W34Number}} {
			d, err := wiegand.New(&wiegand.Config{Formats: formats, MaxPIN: 6})
			if err != nil {
				t.Fatal(err)
			}
			var frames []wiegand.Frame
			var e wiegand.Edge
			for i := 0; i+fuzzEdgeSize <= len(data); i += fuzzEdgeSize {
				b := data[i : i+fuzzEdgeSize]
				e.Line = wiegand.Line(b[0] & 1)
				e.Falling = b[0]&2 == 0
				e.Seq += 1 + uint32(b[0]>>2&3)
				dt := time.Duration(binary.BigEndian.Uint16(b[1:])) * 4 * time.Microsecond
				if b[0]&0x20 != 0 {
					dt = -dt
				}
				e.Time += dt
				frames = d.Append(frames, e)
				if b[0]&0x10 != 0 {
					frames = d.AppendIdle(frames, time.Duration(b[3])*time.Millisecond)
				}
			}
			frames = d.Flush(frames)
			for _, fr := range frames {
				checkFrame(t, fr)
			}
			if st := d.Stats(); st.Frames != uint64(len(frames)) {
				t.Fatalf("Stats.Frames %d, delivered %d", st.Frames, len(frames))
			}
		}
	})
}

// checkFrame fails unless fr is a frame its format allows: valid parity, consistent
// fields, a PIN of digits only.
func checkFrame(t *testing.T, fr wiegand.Frame) {
	t.Helper()
	if fr.Format == wiegand.PIN {
		if len(fr.Keys) == 0 || len(fr.Keys) > 6 || fr.Raw != 0 || fr.Bits != 0 {
			t.Fatalf("bad PIN frame: %d keys, raw %#x", len(fr.Keys), fr.Raw)
		}
		for i := 0; i < len(fr.Keys); i++ {
			if fr.Keys[i] < '0' || fr.Keys[i] > '9' {
				t.Fatalf("PIN holds a non-digit")
			}
		}
		return
	}
	if fr.Bits != fr.Format.Bits() || fr.Keys != "" {
		t.Fatalf("frame %v has %d bits", fr, fr.Bits)
	}
	// Re-encoding from the decoded fields must give the same bits, parity included.
	raw, err := wiegand.Encode(fr.Format, fr.Facility, fr.Card)
	if err != nil || raw != fr.Raw {
		t.Fatalf("frame %v raw %#x re-encodes to %#x, %v", fr, fr.Raw, raw, err)
	}
}
