package reader_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/reader"
	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// benchRun plays cards through a driver into a sink that counts, and reports events/s.
func benchRun(b *testing.B, section string, key bool) {
	const cards = 1000
	r := wiegandsim.NewReader(42)
	var edges []wiegand.Edge
	for i := range uint64(cards) {
		edges, _ = r.AppendCard(edges, wiegand.H10301, 7, i)
	}
	if key {
		p := b.TempDir() + "/card.key"
		writeFile(b, p, "0123456789abcdef0123456789abcdef")
		section += "card_key_file = '" + p + "'\n"
	}
	var n atomic.Uint64
	sink := devices.SinkFunc(func(context.Context, devices.Event) error { n.Add(1); return nil })
	start := time.Now()
	for b.Loop() {
		src := wiegandsim.NewSource()
		d, err := reader.NewWith("door-1", devices.Options{Config: tomlSection(section)}, reader.With{Source: src})
		if err != nil {
			b.Fatal(err)
		}
		src.Push(edges...)
		src.Close()
		if err := d.Run(context.Background(), sink); err != nil {
			b.Fatal(err)
		}
	}
	if got, want := n.Load(), uint64(b.N*cards); got != want {
		b.Fatalf("%d events, want %d", got, want)
	}
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n.Load()), "ns/event")
}

func BenchmarkRunClear(b *testing.B)  { benchRun(b, "emit = 'punch'\n", false) }
func BenchmarkRunHashed(b *testing.B) { benchRun(b, "emit = 'punch'\n", true) }
