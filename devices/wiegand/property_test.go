package wiegand_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// TestRoundTrip encodes random cards as jittered pulse trains at every reader timing and
// decodes them back exactly, as one stream.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	card := func(f wiegand.Format) (facility, card uint64) {
		switch f {
		case wiegand.H10301:
			return rng.Uint64N(1 << 8), rng.Uint64N(1 << 16)
		case wiegand.W34:
			return rng.Uint64N(1 << 16), rng.Uint64N(1 << 16)
		case wiegand.W34Number:
			return 0, rng.Uint64N(1 << 32)
		}
		return rng.Uint64N(1 << 16), rng.Uint64N(1 << 19)
	}
	for _, timing := range []wiegandsim.Timing{wiegandsim.Typical, wiegandsim.WidePulse, wiegandsim.Slowest} {
		for _, both := range []bool{false, true} {
			for _, f := range []wiegand.Format{wiegand.H10301, wiegand.W34, wiegand.W34Number, wiegand.H10304} {
				r := wiegandsim.NewReader(rng.Uint64())
				r.Timing, r.BothEdges, r.Jitter = timing, both, 0.2
				var edges []wiegand.Edge
				var want []wiegand.Frame
				for range 200 {
					fac, c := card(f)
					start := len(edges)
					var err error
					if edges, err = r.AppendCard(edges, f, fac, c); err != nil {
						t.Fatal(err)
					}
					raw, _ := wiegand.Encode(f, fac, c)
					want = append(want, wiegand.Frame{Format: f, Bits: f.Bits(), Raw: raw, Facility: fac, Card: c, Time: edges[start].Time})
					r.Idle(time.Duration(rng.Int64N(int64(time.Second))))
				}
				formats := []wiegand.Format{wiegand.H10301, f, wiegand.H10304, wiegand.Keypad4, wiegand.Keypad8}
				if f == wiegand.H10301 || f == wiegand.H10304 {
					formats[1] = wiegand.W34
				}
				got, st := decodeAll(t, &wiegand.Config{Formats: formats}, edges)
				if len(got) != len(want) || rejected(st) != 0 {
					t.Fatalf("%v %v both=%v: %d frames of %d, stats %+v", timing, f, both, len(got), len(want), st)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%v %v both=%v frame %d: got %v, want %v", timing, f, both, i, got[i], want[i])
					}
				}
			}
		}
	}
}
