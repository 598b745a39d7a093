package gpio

import (
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/officegate/officegate/internal/clock"
)

// The periph.io types this package works with, re-exported so a driver
// needs only one package named gpio.
type (
	Level = gpio.Level
	Pull  = gpio.Pull
	PinIn = gpio.PinIn
	// PinOut is the narrowest interface an output needs.
	PinOut = gpio.PinOut
	// PinIO is a pin that is both.
	PinIO = gpio.PinIO
)

// Levels and pulls.
const (
	Low  = gpio.Low
	High = gpio.High

	PullNoChange = gpio.PullNoChange // keep the pin's current pull
	Float        = gpio.Float
	PullDown     = gpio.PullDown
	PullUp       = gpio.PullUp
)

// Opener opens a pin by name. Open is the one for real boards; a gpiosim
// Board's Open is the one for tests and the demo. Drivers take an Opener so
// they never know which.
type Opener func(name string) (PinIO, error)

// Clock is the time source for debouncing and pulses: the module's
// (internal/clock). gpiosim.Clock implements it for tests; nil in options
// means the system clock.
type Clock = clock.Clock

// After returns a channel that receives once d has passed on c, and a
// function that stops the timer early (so a fake clock knows nobody waits on
// it any more).
func After(c Clock, d time.Duration) (<-chan time.Time, func()) {
	t := c.NewTimer(d)
	return t.C(), t.Stop
}

func clockOr(c Clock) Clock { return clock.Or(c) }
