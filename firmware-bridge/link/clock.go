package link

import (
	"math/rand/v2"
	"time"
)

// Clock is the time source of a link. Tests inject their own; nil in a
// config means the system clock.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer a link uses.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer. Since Go 1.23 no drain is needed before it.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time   { return t.t.C }
func (t sysTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t sysTimer) Stop()                 { t.t.Stop() }

// defaultRand draws from the runtime's randomly seeded generator.
func defaultRand() uint64 { return rand.Uint64() }

// unixMS is t in milliseconds since the Unix epoch, the protocol's clock
// unit (PROTOCOL.md §1).
func unixMS(t time.Time) uint64 {
	ms := t.UnixMilli()
	if ms < 0 {
		return 0
	}
	return uint64(ms)
}

// jitter returns d scaled by a uniform factor in [1-frac, 1+frac).
func jitter(d time.Duration, frac float64, r func() uint64) time.Duration {
	u := float64(r()>>11) / (1 << 53) // uniform in [0, 1)
	return time.Duration(float64(d) * (1 - frac + 2*frac*u))
}
