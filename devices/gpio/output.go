package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultMaxPulse is the longest Pulse allowed unless configured otherwise:
// door strike vendors unlock for 3–5 s.
const DefaultMaxPulse = 5 * time.Second

// Output errors.
var (
	ErrClosed        = errors.New("gpio: output closed")
	ErrPulseTooLong  = errors.New("gpio: pulse longer than the maximum")
	ErrPulsing       = errors.New("gpio: pulse already in progress")
	ErrPulseCutShort = errors.New("gpio: pulse cut short")
)

// OutputOpts configures an Output. The zero value means the defaults.
type OutputOpts struct {
	// MaxPulse is the longest Pulse accepted; 0 means DefaultMaxPulse.
	MaxPulse time.Duration
	// Clock times pulses; nil means the real clock.
	Clock Clock
}

// Output is an output pin with a declared safe level. Its methods are safe
// for concurrent use.
type Output struct {
	// Immutable.
	pin      PinOut
	safe     Level
	maxPulse time.Duration
	clock    Clock
	stopCtx  func() bool   // unregisters the context hook
	ctxDone  chan struct{} // closed when the context hook has finished

	// Mutable.
	closeMu     sync.Mutex // serialises Close
	hookStopped bool       // guarded by closeMu; the context hook can no longer start

	mu       sync.Mutex
	active   bool          // guarded by mu; the pin is at the other level
	closed   bool          // guarded by mu
	closeErr error         // guarded by mu; the result of closing
	gen      uint64        // guarded by mu; bumped by Set and Close, which end a running pulse
	pulse    chan struct{} // guarded by mu; closed to end the running pulse, nil when none
}

// NewOutput drives pin to safe at once, and again when ctx is cancelled or
// Close is called, whichever comes first. safe is the level that leaves the
// hardware harmless (door locked, LED off); see the package documentation
// for choosing pin and polarity so that boot and crash leave it there too.
// nil opts means the defaults.
func NewOutput(ctx context.Context, pin PinOut, safe Level, opts *OutputOpts) (*Output, error) {
	var o OutputOpts
	if opts != nil {
		o = *opts
	}
	if o.MaxPulse < 0 {
		return nil, fmt.Errorf("gpio: output %s: max pulse %v is negative", pin, o.MaxPulse)
	}
	if o.MaxPulse == 0 {
		o.MaxPulse = DefaultMaxPulse
	}
	if err := pin.Out(safe); err != nil {
		return nil, fmt.Errorf("gpio: output %s: drive safe level %s: %w", pin, safe, err)
	}
	out := &Output{pin: pin, safe: safe, maxPulse: o.MaxPulse, clock: clockOr(o.Clock), ctxDone: make(chan struct{})}
	out.stopCtx = context.AfterFunc(ctx, func() {
		defer close(out.ctxDone)
		_ = out.shutdown() // no one to report to; the pin was tried
	})
	return out, nil
}

// Safe returns the declared safe level.
func (o *Output) Safe() Level { return o.safe }

// MaxPulse returns the longest pulse Pulse accepts.
func (o *Output) MaxPulse() time.Duration { return o.maxPulse }

// Active reports whether the output is away from its safe level.
func (o *Output) Active() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.active
}

// Set drives the output to the active level (true) or the safe level
// (false) until told otherwise, e.g. an LED, or a door held open by
// command. A running pulse ends: the level Set chose is the one that stays.
func (o *Output) Set(active bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("%w: %s", ErrClosed, o.pin)
	}
	o.endPulse()
	return o.drive(active)
}

// Pulse drives the active level for d and then the safe level. d must be
// positive and at most MaxPulse: a longer request is refused with
// ErrPulseTooLong, not shortened. The pin returns to the safe level however
// Pulse ends: when ctx is cancelled, when the Output is closed (both return
// an error wrapping ErrPulseCutShort) and when driving fails. A second
// Pulse while one runs is refused with ErrPulsing, so a retried command
// cannot stretch an unlock.
func (o *Output) Pulse(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("gpio: output %s: pulse of %v refused: must be positive", o.pin, d)
	}
	if d > o.maxPulse {
		return fmt.Errorf("%w: output %s: pulse of %v refused, the maximum is %v", ErrPulseTooLong, o.pin, d, o.maxPulse)
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrClosed, o.pin)
	}
	if o.pulse != nil {
		o.mu.Unlock()
		return fmt.Errorf("%w: output %s", ErrPulsing, o.pin)
	}
	if err := ctx.Err(); err != nil {
		o.mu.Unlock()
		return fmt.Errorf("gpio: output %s: pulse not started: %w", o.pin, err)
	}
	if err := o.drive(true); err != nil {
		err = errors.Join(err, o.drive(false))
		o.mu.Unlock()
		return err
	}
	end := make(chan struct{})
	o.pulse = end
	gen := o.gen
	start := o.clock.Now()
	o.mu.Unlock()

	timer, stop := After(o.clock, d)
	defer stop()
	var cut error
	select {
	case <-timer:
	case <-ctx.Done():
		cut = ctx.Err()
	case <-end:
		cut = ErrClosed
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.gen != gen {
		// Set or Close took over; they already drove the level that stays.
		if o.closed {
			return fmt.Errorf("%w after %v of %v: output %s: %w", ErrPulseCutShort, o.clock.Now().Sub(start), d, o.pin, ErrClosed)
		}
		return fmt.Errorf("%w after %v of %v: output %s: superseded by Set", ErrPulseCutShort, o.clock.Now().Sub(start), d, o.pin)
	}
	o.pulse = nil
	if err := o.drive(false); err != nil {
		return err
	}
	if cut != nil {
		return fmt.Errorf("%w after %v of %v: output %s: %w", ErrPulseCutShort, o.clock.Now().Sub(start), d, o.pin, cut)
	}
	return nil
}

// Close drives the safe level and releases the Output; later calls to its
// methods fail with ErrClosed. Close is idempotent: every call returns the
// result of the one shutdown, whether Close or the context did it.
func (o *Output) Close() error {
	o.closeMu.Lock()
	defer o.closeMu.Unlock()
	if !o.hookStopped {
		o.hookStopped = true
		if !o.stopCtx() {
			// The context was cancelled and its hook has started: wait
			// for it, so no goroutine of ours outlives Close.
			<-o.ctxDone
		}
	}
	return o.shutdown()
}

// shutdown closes the Output once and returns that closing's result.
func (o *Output) shutdown() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return o.closeErr
	}
	o.closed = true
	o.endPulse()
	// Drive even if we believe the pin is already safe: the belief is cheap
	// to check and a stuck relay is not.
	o.closeErr = o.drive(false)
	return o.closeErr
}

// endPulse ends a running pulse; the caller drives the level that stays.
// o.mu must be held.
func (o *Output) endPulse() {
	o.gen++
	if o.pulse != nil {
		close(o.pulse)
		o.pulse = nil
	}
}

// drive puts the pin at the active or the safe level. o.mu must be held.
func (o *Output) drive(active bool) error {
	l := o.safe
	if active {
		l = !o.safe
	}
	if err := o.pin.Out(l); err != nil {
		// Unknown state: report it as active so nobody assumes safety.
		o.active = true
		return fmt.Errorf("gpio: output %s: drive %s: %w", o.pin, l, err)
	}
	o.active = active
	return nil
}
