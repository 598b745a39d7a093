package link

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/officegate/officegate/internal/clock"
)

// Clock is the time source of a link: the module's (internal/clock). Tests
// inject their own; nil in a config means the system clock.
type Clock = clock.Clock

// Timer is the part of *time.Timer a link uses.
type Timer = clock.Timer

// SystemClock is the wall clock.
type SystemClock = clock.System

// newFuncTimer returns a timer that calls f when it fires, and the function
// that stops it for good. With a clock that has AfterFunc (the system's) no
// goroutine waits for it; with another (a test's), one does until stop. f
// may still run once after stop returns, if it fired just before: it must
// tell a stale call by itself.
func newFuncTimer(c Clock, d time.Duration, f func()) (t Timer, stop func()) {
	if af, ok := c.(clock.AfterFuncer); ok {
		t = af.AfterFunc(d, f)
		return t, t.Stop
	}
	t = c.NewTimer(d)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-t.C():
				f()
			}
		}
	}()
	return t, func() {
		t.Stop()
		close(done)
		wg.Wait()
	}
}

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
