package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// DefaultDebounce is the settle time unless configured otherwise: contacts
// bounce for 1–20 ms, and 50 ms is still faster than anyone presses twice.
const DefaultDebounce = 50 * time.Millisecond

// DefaultPoll is the longest wait for an edge before the level is read
// anyway. It bounds how long a missed edge goes unnoticed and how long Run's
// goroutine takes to notice cancellation.
const DefaultPoll = 250 * time.Millisecond

// minWait keeps every WaitForEdge timeout positive and clear of zero, whose
// meaning differs between periph's drivers ("forever" in gpioioctl).
const minWait = time.Millisecond

// ErrRunning is returned by a second call to Input.Run.
var ErrRunning = errors.New("gpio: input already running")

// Edge is a debounced change of an input's level.
type Edge struct {
	Level Level
	// Time is when the new level was first seen, before it settled: the
	// moment the button was pressed, not 50 ms later.
	Time time.Time
}

// InputOpts configures an Input. The zero value means the defaults.
type InputOpts struct {
	// Pull is the pull resistor to set; the zero value, PullNoChange, keeps
	// the board's (see the package documentation for the Pi's).
	Pull Pull
	// Debounce is how long a new level must hold before it counts; 0 means
	// DefaultDebounce.
	Debounce time.Duration
	// Poll is the longest single wait for an edge; 0 means DefaultPoll.
	Poll time.Duration
	// Clock times debouncing; nil means the real clock.
	Clock Clock
}

// Input is a debounced input pin.
type Input struct {
	// Immutable.
	pin      PinIn
	pull     Pull
	debounce time.Duration
	poll     time.Duration
	clock    Clock

	// Mutable.
	level   atomic.Bool // the debounced level, High = true
	started atomic.Bool
}

// NewInput prepares pin as a debounced input; nil opts means the defaults.
// The pin is configured by Run.
func NewInput(pin PinIn, opts *InputOpts) (*Input, error) {
	var o InputOpts
	if opts != nil {
		o = *opts
	}
	if o.Debounce < 0 {
		return nil, fmt.Errorf("gpio: input %s: debounce %v is negative", pin, o.Debounce)
	}
	if o.Debounce == 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Poll < 0 {
		return nil, fmt.Errorf("gpio: input %s: poll %v is negative", pin, o.Poll)
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	if o.Poll < minWait {
		return nil, fmt.Errorf("gpio: input %s: poll %v is below %v", pin, o.Poll, minWait)
	}
	return &Input{pin: pin, pull: o.Pull, debounce: o.Debounce, poll: o.Poll, clock: clockOr(o.Clock)}, nil
}

// Level returns the debounced level: the pin's level when Run started, then
// the level of the last Edge.
func (in *Input) Level() Level { return Level(in.level.Load()) }

// Run configures the pin for both edges, reads its level (Level), and starts
// the goroutine that debounces it. Settled changes arrive on the returned
// channel, which the goroutine closes when it ends: within Poll of ctx's
// cancellation, so a caller that ranges over the channel has waited for it.
// If the caller falls behind, quick changes merge (the channel carries
// levels that held, not every transition). Run may be called once.
func (in *Input) Run(ctx context.Context) (<-chan Edge, error) {
	if !in.started.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%w: %s", ErrRunning, in.pin)
	}
	if err := in.pin.In(in.pull, gpio.BothEdges); err != nil {
		in.started.Store(false)
		return nil, fmt.Errorf("gpio: input %s: configure for edges: %w", in.pin, err)
	}
	stable := in.pin.Read()
	in.level.Store(bool(stable))
	// A few slots so the reader's scheduling does not stall the pin loop;
	// levels, not counts, are what matters downstream.
	ch := make(chan Edge, 8)
	go in.loop(ctx, stable, ch)
	return ch, nil
}

func (in *Input) loop(ctx context.Context, stable Level, ch chan<- Edge) {
	defer close(ch)
	now := in.clock.Now()
	candidate, since := stable, now
	for ctx.Err() == nil {
		wait := in.poll
		if candidate != stable {
			// Wake when the candidate would have held long enough.
			wait = min(in.poll, max(minWait, in.debounce-now.Sub(since)))
		}
		in.pin.WaitForEdge(wait) // true or false, the level read next decides
		l := in.pin.Read()
		now = in.clock.Now()
		if l != candidate {
			candidate, since = l, now
		}
		if candidate == stable || now.Sub(since) < in.debounce {
			continue
		}
		stable = candidate
		in.level.Store(bool(stable))
		select {
		case ch <- Edge{Level: stable, Time: since}:
		case <-ctx.Done():
			return
		}
	}
}
