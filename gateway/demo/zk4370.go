package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/devices/zk4370/zk4370sim"
)

// Terminal4370 is the demo's older ZKTeco terminal, one that speaks only
// the 4370 protocol: an emulated terminal listens on loopback and the
// gateway's driver calls it.
const Terminal4370 = "zk-side"

// startTerminal4370 starts the emulated terminal and builds its driver; the
// returned run punches at it until ctx ends, and stop closes the terminal.
// Its first punches are stored before the gateway calls, so the driver's
// backfill on connecting brings them in, then real-time events follow.
func startTerminal4370(stateDir string, log zerolog.Logger) (d devices.Driver, run func(context.Context), stop func(), err error) {
	term := zk4370sim.New(zk4370sim.Options{Serial: "DEMO4370", Capacity: 10000})
	if err := term.Listen("127.0.0.1:0"); err != nil {
		return nil, nil, nil, fmt.Errorf("demo: 4370 terminal: %w", err)
	}
	d, err = zk4370.NewDriver(Terminal4370, zk4370.Options{Address: term.Addr(), ClockThreshold: "2s", ClockCheck: "1m",
		Timeout: "5s", BackoffMin: "250ms", BackoffMax: "5s"}, zk4370.Deps{Log: log, StateDir: stateDir})
	if err != nil {
		term.Close()
		return nil, nil, nil, err
	}
	// Three people punched before the gateway started: they wait in the
	// terminal's own log.
	for i := range 3 {
		if _, err := term.Punch(fmt.Sprintf("%d", 30000+i), 1, 0); err != nil {
			term.Close()
			return nil, nil, nil, fmt.Errorf("demo: 4370 terminal: %w", err)
		}
	}
	run = func(ctx context.Context) {
		for n := 3; n < 40; n++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(900 * time.Millisecond):
			}
			term.Punch(fmt.Sprintf("%d", 30000+n), []uint8{1, 15, 4}[n%3], uint8(n%2)) // finger, face, card; in, out
		}
		<-ctx.Done()
	}
	return d, run, func() { term.Close() }, nil
}
