package wiegand_test

import (
	"testing"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

func BenchmarkDecode26(b *testing.B) { benchDecode(b, wiegand.H10301) }
func BenchmarkDecode34(b *testing.B) { benchDecode(b, wiegand.W34) }
func BenchmarkDecode37(b *testing.B) { benchDecode(b, wiegand.H10304) }

// benchDecode measures one frame per iteration: its edges through Append, then the quiet
// that completes it. A stream of distinct frames is prepared beforehand and replayed;
// Reset at each wrap keeps the sequence numbers continuous.
func benchDecode(b *testing.B, f wiegand.Format) {
	const frames = 1024
	r := wiegandsim.NewReader(1)
	stream := make([][]wiegand.Edge, frames)
	for i := range stream {
		var err error
		if stream[i], err = r.Card(f, uint64(i%256), uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	d, err := wiegand.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]wiegand.Frame, 0, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%frames == 0 {
			d.Reset()
		}
		out = d.Append(out[:0], stream[i%frames]...)
		out = d.AppendIdle(out, 25*time.Millisecond)
		if len(out) != 1 {
			b.Fatalf("frame %d: %v", i, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(f.Bits()), "ns/edge")
}
