package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush/pushdrv"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
)

// PushTerminal is the demo's ZKTeco PUSH terminal: the gateway's driver
// listens on loopback and an emulated terminal calls it over HTTP.
const PushTerminal = "zk-lobby"

// pushSerial is the emulated terminal's serial number.
const pushSerial = "DEMO0001"

// pushListen is the driver's listen address: a free loopback port.
const pushListen = "127.0.0.1:0"

// startPushTerminal builds the PUSH terminal's driver and returns what runs
// the emulated terminal once the gateway listens: a queue of people
// punching, and the terminal's own loop uploading them every second.
func startPushTerminal(log zerolog.Logger) (devices.Driver, func(context.Context), error) {
	hub := pushdrv.NewHub(nil)
	d, err := pushdrv.New(hub, PushTerminal, devices.Options{Config: pushConfig{}, Log: log})
	if err != nil {
		return nil, nil, err
	}
	run := func(ctx context.Context) {
		addr := ""
		for addr == "" { // the driver opens its listener when the gateway runs it
			if addr = hub.Addr(pushListen); addr == "" {
				select {
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
		term := zkpushsim.New(pushSerial, "http://"+addr, nil)
		done := make(chan struct{})
		go func() { defer close(done); term.Run(ctx, time.Second, time.Second) }()
		defer func() { <-done }()
		rng := rand.New(rand.NewPCG(9, 9))
		for n := 0; n < 60; n++ {
			term.Punch(fmt.Sprintf("%d", 20000+n), 0, []int{1, 15, 4}[n%3]) // finger, face, card
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(300+rng.IntN(700)) * time.Millisecond):
			}
		}
		<-ctx.Done()
	}
	return d, run, nil
}

// pushConfig is the PUSH terminal's configuration section.
type pushConfig struct{}

func (pushConfig) Decode(v any) error {
	if o, ok := v.(*pushdrv.Options); ok {
		o.Serial, o.Listen, o.TimeZone = pushSerial, pushListen, "Local"
	}
	return nil
}
