// Package clock owns the module's time source: the Clock interface tests inject, and the system's.
package clock

import "time"

// Clock is a time source: the time now, and timers on it. Tests inject a
// manual one so that they wait on conditions, never on the wall clock.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the module uses.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer. Since Go 1.23 no drain is needed before it.
	Reset(d time.Duration)
	Stop()
}

// System is the wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer behind the Timer interface.
func (System) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time   { return t.t.C }
func (t sysTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t sysTimer) Stop()                 { t.t.Stop() }

// AfterFuncer is a Clock whose timers can call a function when they fire,
// with no goroutine waiting for them (time.AfterFunc). The Timer's C is nil.
type AfterFuncer interface {
	AfterFunc(d time.Duration, f func()) Timer
}

// AfterFunc returns time.AfterFunc(d, f) behind the Timer interface.
func (System) AfterFunc(d time.Duration, f func()) Timer { return sysTimer{time.AfterFunc(d, f)} }

// Or returns c, or the system clock when c is nil (options leave it unset).
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
