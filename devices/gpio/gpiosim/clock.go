package gpiosim

import (
	"context"
	"sync"
	"time"

	"github.com/officegate/officegate/internal/clock"
)

// Clock is a manual clock: Now stays put until Advance moves it, and timers
// fire only then. Its zero value is not usable; call NewClock.
type Clock struct {
	mu      sync.Mutex
	now     time.Time     // guarded by mu
	timers  []*timer      // guarded by mu; pending, in no order
	changed chan struct{} // guarded by mu; closed and replaced when timers change
}

type timer struct {
	at time.Time
	ch chan time.Time // buffered 1; Advance never blocks on it
}

var _ clock.Clock = (*Clock)(nil)

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Timer returns a channel that receives the clock's time once Advance has
// moved it d or more past now (d ≤ 0 fires at once), and a function that
// stops the timer: a stopped timer no longer counts in Timers.
func (c *Clock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := c.NewTimer(d)
	return t.C(), t.Stop
}

// NewTimer implements clock.Clock: a timer that fires once Advance has moved
// the clock d or more past now (d ≤ 0 fires at once). A pending timer counts
// in Timers until it fires or is stopped.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	t := &simTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

type simTimer struct {
	c       *Clock
	ch      chan time.Time
	pending *timer // guarded by c.mu; nil when fired or stopped
}

func (t *simTimer) C() <-chan time.Time { return t.ch }

func (t *simTimer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.pending != nil {
		c.remove(t.pending)
		t.pending = nil
	}
	if d <= 0 {
		fire(t.ch, c.now)
		return
	}
	t.pending = &timer{at: c.now.Add(d), ch: t.ch}
	c.timers = append(c.timers, t.pending)
	c.broadcast()
}

func (t *simTimer) Stop() {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.pending != nil {
		c.remove(t.pending)
		t.pending = nil
	}
}

// fire sends now unless a value is already waiting: a timer re-armed before
// its last firing was read holds one value, as a time.Timer's channel does.
func fire(ch chan time.Time, now time.Time) {
	select {
	case ch <- now:
	default:
	}
}

// Advance moves the clock forward by d and fires every timer that falls due,
// in deadline order.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for {
		var next *timer
		for _, t := range c.timers {
			if !t.at.After(c.now) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		fire(next.ch, c.now)
		c.remove(next)
	}
}

// Timers returns how many timers are pending.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers returns once at least n timers are pending (someone is waiting
// on the clock), or ctx's error.
func (c *Clock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		ok, ch := len(c.timers) >= n, c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// remove drops t from the pending timers. c.mu must be held.
func (c *Clock) remove(t *timer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.broadcast()
			return
		}
	}
}

// broadcast wakes everyone waiting for a change. c.mu must be held.
func (c *Clock) broadcast() {
	close(c.changed)
	c.changed = make(chan struct{})
}
