package gpio

import (
	"time"

	"periph.io/x/conn/v3/gpio"
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

// Clock is the time source for debouncing and pulses. gpiosim.Clock
// implements it for tests; nil in options means the real clock.
type Clock interface {
	Now() time.Time
	// Timer returns a channel that receives once d has passed, and a
	// function that stops the timer early (so a fake clock knows nobody
	// waits on it any more).
	Timer(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

func clockOr(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}
