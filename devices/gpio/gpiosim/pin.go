package gpiosim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Change is one change of a pin's level.
type Change struct {
	Level  gpio.Level
	Time   time.Time
	Output bool // driven by the pin itself (Out), not by the outside (Drive)
}

// Pin is a simulated GPIO pin. It implements gpio.PinIO.
type Pin struct {
	// Immutable.
	name  string
	num   int
	pull  gpio.Pull // at reset
	clock *Clock    // nil: real time

	// Mutable.
	mu      sync.Mutex
	level   gpio.Level         // guarded by mu
	driven  bool               // guarded by mu; Drive was called: pulls no longer decide the level
	out     bool               // guarded by mu; configured as an output
	curPull gpio.Pull          // guarded by mu
	edge    gpio.Edge          // guarded by mu; edges WaitForEdge reports
	pending bool               // guarded by mu; an edge WaitForEdge has not reported yet
	outErr  error              // guarded by mu; returned by Out when set
	history []Change           // guarded by mu
	waiters map[*int]time.Time // guarded by mu; deadline of each goroutine in WaitForEdge
	changed chan struct{}      // guarded by mu; closed and replaced on every change
}

var _ gpio.PinIO = (*Pin)(nil)

// forever stands for "no timeout" among waiter deadlines.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// NewPin returns an input pin as a Raspberry Pi leaves it at power-up. num is
// the BCM number and decides the reset pull as on the Pi: pulled up for 0–8,
// down for 9–27 (other numbers float, reading Low). clock times WaitForEdge
// timeouts and History; nil means real time.
func NewPin(name string, num int, clock *Clock) *Pin {
	p := &Pin{name: name, num: num, clock: clock, waiters: map[*int]time.Time{}, changed: make(chan struct{})}
	switch {
	case num >= 0 && num <= 8:
		p.pull, p.level = gpio.PullUp, gpio.High
	case num >= 9 && num <= 27:
		p.pull, p.level = gpio.PullDown, gpio.Low
	default:
		p.pull = gpio.Float
	}
	p.curPull = p.pull
	return p
}

func (p *Pin) now() time.Time {
	if p.clock == nil {
		return time.Now()
	}
	return p.clock.Now()
}

// String implements conn.Resource.
func (p *Pin) String() string { return fmt.Sprintf("%s(%d)", p.name, p.num) }

// Halt implements conn.Resource; it does nothing, as on a GPIO line.
func (p *Pin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin.
func (p *Pin) Number() int { return p.num }

// Function implements pin.Pin.
func (p *Pin) Function() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out {
		return "Out/" + p.level.String()
	}
	return "In/" + p.level.String()
}

// In implements gpio.PinIn. Unlike gpiotest.Pin it needs no set-up for edges.
// It forgets edges not yet reported, as the kernel does when a line is
// re-requested.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out, p.edge, p.pending = false, edge, false
	if pull != gpio.PullNoChange {
		p.curPull = pull
	}
	if !p.driven {
		// Nothing outside drives the line: the pull decides it.
		switch {
		case p.curPull == gpio.PullUp && p.level != gpio.High:
			p.set(gpio.High, false)
		case p.curPull == gpio.PullDown && p.level != gpio.Low:
			p.set(gpio.Low, false)
		}
	}
	p.broadcast()
	return nil
}

// Read implements gpio.PinIn.
func (p *Pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements gpio.PinIn: it returns true at once if an edge is
// pending, else waits for one up to timeout. A negative timeout waits
// forever and 0 does not wait (gpiotest's convention; gpioioctl's differs,
// which is why callers should pass a positive timeout). With no edges
// requested in In it returns false at once, as gpioioctl does.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.edge == gpio.NoEdge || p.out {
		return false
	}
	if p.pending {
		p.pending = false
		p.broadcast()
		return true
	}
	if timeout == 0 {
		return false
	}
	var fired <-chan time.Time
	deadline := forever
	if timeout > 0 {
		deadline = p.now().Add(timeout)
		if p.clock != nil {
			ch, stop := p.clock.Timer(timeout)
			defer stop()
			fired = ch
		} else {
			t := time.NewTimer(timeout)
			defer t.Stop()
			fired = t.C
		}
	}
	id := new(int)
	p.waiters[id] = deadline
	p.broadcast()
	defer func() {
		delete(p.waiters, id)
		p.broadcast()
	}()
	for {
		ch := p.changed
		p.mu.Unlock()
		timedOut := false
		select {
		case <-ch:
		case <-fired:
			timedOut = true
		}
		p.mu.Lock()
		switch {
		case p.pending:
			p.pending = false
			return true
		case timedOut, p.out, p.edge == gpio.NoEdge:
			return false
		}
	}
}

// Pull implements gpio.PinIn.
func (p *Pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.curPull
}

// DefaultPull implements gpio.PinIn: the pull at reset.
func (p *Pin) DefaultPull() gpio.Pull { return p.pull }

// Out implements gpio.PinOut. It fails with the error given to SetOutError.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.outErr != nil {
		return p.outErr
	}
	wasOut := p.out
	p.out, p.pending = true, false
	if !wasOut || p.level != l {
		p.set(l, true)
	}
	p.broadcast()
	return nil
}

// PWM implements gpio.PinOut; simulated pins have no PWM.
func (p *Pin) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("gpiosim: pin %s: PWM not supported", p.name)
}

// Drive sets the level the outside world puts on an input pin (a PIR
// output, a pressed button, a bouncing contact), making an edge for
// WaitForEdge if In asked for that kind of edge. It fails on an output pin:
// two drivers on one line is a wiring fault.
func (p *Pin) Drive(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out {
		return fmt.Errorf("gpiosim: pin %s is an output: cannot drive it from outside", p.name)
	}
	p.driven = true
	if p.level == l {
		return nil
	}
	p.set(l, false)
	switch {
	case p.edge == gpio.BothEdges,
		p.edge == gpio.RisingEdge && l == gpio.High,
		p.edge == gpio.FallingEdge && l == gpio.Low:
		p.pending = true
	}
	p.broadcast()
	return nil
}

// Level returns the pin's level.
func (p *Pin) Level() gpio.Level { return p.Read() }

// IsOutput reports whether the pin is configured as an output.
func (p *Pin) IsOutput() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out
}

// History returns every level change so far, oldest first. Configuring the
// pin as an output counts as a change even at the same level: that is the
// moment it starts to drive the line.
func (p *Pin) History() []Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Change(nil), p.history...)
}

// SetOutError makes Out fail with err (nil: succeed again), as a pin that
// another process holds or a chip that went away would.
func (p *Pin) SetOutError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outErr = err
}

// ErrOutFailed is a ready-made error for SetOutError.
var ErrOutFailed = errors.New("gpiosim: simulated output failure")

// WaitIdle returns once a goroutine is blocked in WaitForEdge with no edge
// pending and its timeout still ahead: the reader has taken in everything
// that happened. Tests call it between steps instead of sleeping.
func (p *Pin) WaitIdle(ctx context.Context) error {
	return p.wait(ctx, func() bool {
		if p.pending {
			return false
		}
		now := p.now()
		for _, d := range p.waiters {
			if d.After(now) {
				return true
			}
		}
		return false
	})
}

// WaitChanges returns the history once it holds at least n changes.
func (p *Pin) WaitChanges(ctx context.Context, n int) ([]Change, error) {
	if err := p.wait(ctx, func() bool { return len(p.history) >= n }); err != nil {
		return p.History(), fmt.Errorf("gpiosim: pin %s: waiting for %d changes: %w", p.name, n, err)
	}
	return p.History(), nil
}

// wait blocks until cond (called with p.mu held) is true. A timer that
// fires on the clock does not change the pin, so the condition is also
// checked again when the clock's timers change.
func (p *Pin) wait(ctx context.Context, cond func() bool) error {
	for {
		p.mu.Lock()
		ok, ch := cond(), p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		var clockCh chan struct{}
		if p.clock != nil {
			p.clock.mu.Lock()
			clockCh = p.clock.changed
			p.clock.mu.Unlock()
		}
		select {
		case <-ch:
		case <-clockCh:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// set records a level change. p.mu must be held.
func (p *Pin) set(l gpio.Level, output bool) {
	p.level = l
	p.history = append(p.history, Change{Level: l, Time: p.now(), Output: output})
}

// broadcast wakes everyone waiting for a change. p.mu must be held.
func (p *Pin) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}
