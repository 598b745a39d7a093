package demo

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/reader"
	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// startCardReader builds the demo's Wiegand reader (26-bit cards, punches) on a
// simulated edge source, and returns the morning rush that feeds it: people
// badging in at the lobby, a few a second, each card a real pulse train.
func startCardReader(ctx context.Context, log zerolog.Logger) (devices.Driver, func(context.Context), error) {
	src := wiegandsim.NewSource()
	r, err := reader.NewWith("reader-lobby", devices.Options{Config: emitPunches{}, Log: log}, reader.With{Source: src})
	if err != nil {
		return nil, nil, err
	}
	rush := func(ctx context.Context) {
		defer src.Close()
		sim := wiegandsim.NewReader(7)
		rng := rand.New(rand.NewPCG(7, 7))
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(200+rng.IntN(600)) * time.Millisecond):
			}
			edges, err := sim.Card(wiegand.H10301, 12, uint64(4000+rng.IntN(300)))
			if err != nil {
				return
			}
			src.Push(edges...)
		}
	}
	return r, rush, nil
}

// emitPunches is the reader's configuration: punches rather than bare reads.
type emitPunches struct{}

func (emitPunches) Decode(v any) error {
	if o, ok := v.(*reader.Options); ok {
		o.Emit = reader.EmitPunch
	}
	return nil
}
