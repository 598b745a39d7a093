package door

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/internal/clock"
)

// Door errors.
var (
	// ErrBusy: the strike is already released, by a pulse or by held_open
	// mode. A retried command must not stretch an unlock. It wraps
	// devices.ErrBusy (not now; may be asked again), so a caller that knows
	// only the driver contract sees a busy door as busy.
	ErrBusy = fmt.Errorf("door: strike already released: %w", devices.ErrBusy)
	// ErrLocked: the door is in locked mode and refuses pulses.
	ErrLocked = errors.New("door: locked mode refuses pulses")
	// ErrClosed: the Door was closed or its context cancelled.
	ErrClosed = errors.New("door: closed")
	// ErrPulseTooLong: a pulse above max_pulse was asked for. It is refused,
	// never shortened. It is gpio's error, so either name matches.
	ErrPulseTooLong = gpio.ErrPulseTooLong
	// ErrBadMode is wrapped by SetMode's error for an unknown mode.
	ErrBadMode = errors.New("door: unknown mode")
)

// Mode is how the door treats the strike.
type Mode string

// Modes.
const (
	ModeNormal   Mode = "normal"    // locked; Pulse releases it for a while
	ModeHeldOpen Mode = "held_open" // released until the mode changes (reception hours)
	ModeLocked   Mode = "locked"    // locked; pulses refused (lockdown)
)

// State is what the door contact says.
type State string

// States. Events report the first four; StateUnknown is State's answer for a
// door without a contact.
const (
	StateClosed   State = "closed"
	StateOpen     State = "open"      // opened while the strike was released
	StateForced   State = "forced"    // opened while the strike was locked: an alarm
	StateHeldOpen State = "held_open" // still open held_open_after after it opened
	StateUnknown  State = "unknown"
)

// Event is a change of the door's state.
type Event struct {
	State State
	// Time is when it happened by the gateway's clock: for open, closed and
	// forced, when the contact first moved (before debouncing settled);
	// for held_open, when the threshold passed.
	Time time.Time
}

// Door is a door strike on a relay, with an optional door contact. Its
// methods are safe for concurrent use.
type Door struct {
	// Immutable.
	relayPin      string
	relay         *gpio.Output
	closedLevel   gpio.Level
	maxPulse      time.Duration
	heldOpenAfter time.Duration
	clock         gpio.Clock
	ctx           context.Context // the Door's life; cancelled by Close
	cancel        context.CancelFunc
	events        chan Event
	wg            sync.WaitGroup // the contact watcher and the pulse timers

	mu       sync.Mutex
	mode     Mode          // guarded by mu
	released bool          // guarded by mu; the strike is (or may be) released
	releases []span        // guarded by mu; the latest, oldest first, at most maxReleases
	endPulse chan struct{} // guarded by mu; closed to stop the running pulse's timer; nil when none
	pulseEnd time.Time     // guarded by mu; when the running pulse ends
	state    State         // guarded by mu
	closed   bool          // guarded by mu
}

// span is one time the strike was released: from start until end, or
// still (end zero).
type span struct{ start, end time.Time }

// maxReleases is how many releases forced looks back over: an opening is
// judged a debounce period (tens of milliseconds) after the contact moved,
// or once the previous event was read, and a strike is not released and
// locked sixteen times in that while.
const maxReleases = 16

// Open drives the strike locked at once, and again when ctx is cancelled or
// Close is called; it starts watching the contact if there is one. pins
// opens the pins by name (gpio.Open on a board, a gpiosim Board in tests).
func Open(ctx context.Context, pins gpio.Opener, cfg Config) (*Door, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	active, _ := parseLevel(cfg.RelayActive)
	clk := clock.Or(cfg.Clock)
	relayPin, err := pins(cfg.RelayPin)
	if err != nil {
		return nil, fmt.Errorf("door: relay_pin %q: %w", cfg.RelayPin, err)
	}
	d := &Door{
		relayPin: cfg.RelayPin, maxPulse: cfg.MaxPulse, heldOpenAfter: cfg.HeldOpenAfter, clock: clk,
		events: make(chan Event, 16), mode: ModeNormal, state: StateUnknown,
	}
	d.ctx, d.cancel = context.WithCancel(ctx)
	// The safe level is "locked": NewOutput drives it now and whenever the
	// context ends, before any of our own code runs.
	d.relay, err = gpio.NewOutput(d.ctx, relayPin, !active, &gpio.OutputOpts{MaxPulse: cfg.MaxPulse, Clock: cfg.Clock})
	if err != nil {
		d.cancel()
		return nil, fmt.Errorf("door: relay_pin %q: %w", cfg.RelayPin, err)
	}
	if cfg.ContactPin == "" {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			<-d.ctx.Done()
			close(d.events)
		}()
		return d, nil
	}
	if err := d.watchContact(pins, cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Events returns the door's state changes: transitions only, one per
// settled movement of the contact, however much it bounced. The channel is
// closed once the Door is closed or its context cancelled; it stays empty
// for a door without a contact. Read it: while it is full, later changes
// wait (State is still current).
func (d *Door) Events() <-chan Event { return d.events }

// Mode returns the current mode.
func (d *Door) Mode() Mode {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mode
}

// State returns what the contact says now, StateUnknown without one.
func (d *Door) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// Released reports whether the strike is released (or its relay failed and
// may be: an unknown state is reported as released). It asks the relay, which
// also knows when a cancelled context locked it.
func (d *Door) Released() bool { return d.relay.Active() }

// MaxPulse returns the longest pulse accepted.
func (d *Door) MaxPulse() time.Duration { return d.maxPulse }

// Pulse releases the strike for dur (0 means MaxPulse) and returns once it
// is released; the Door locks it again when dur has passed. A dur above
// MaxPulse is refused with ErrPulseTooLong, not shortened. While the strike
// is released Pulse returns ErrBusy; in locked mode, ErrLocked. ctx only
// bounds the start: a pulse, once begun, runs its course unless the mode
// changes or the Door closes, both of which lock at once.
func (d *Door) Pulse(ctx context.Context, dur time.Duration) error {
	if dur < 0 {
		return fmt.Errorf("door %s: pulse of %v refused: negative", d.relayPin, dur)
	}
	if dur == 0 {
		dur = d.maxPulse
	}
	if dur > d.maxPulse {
		return fmt.Errorf("%w: door %s: pulse of %v refused, not shortened: max_pulse is %v",
			ErrPulseTooLong, d.relayPin, dur, d.maxPulse)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("door %s: pulse not started: %w", d.relayPin, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return err
	}
	d.settle()
	switch {
	case d.mode == ModeLocked:
		return fmt.Errorf("%w: door %s", ErrLocked, d.relayPin)
	case d.mode == ModeHeldOpen:
		return fmt.Errorf("%w: door %s is in held_open mode", ErrBusy, d.relayPin)
	case d.released:
		return fmt.Errorf("%w: door %s: a pulse is running", ErrBusy, d.relayPin)
	}
	if err := d.drive(true); err != nil {
		return errors.Join(err, d.drive(false))
	}
	end := make(chan struct{})
	d.endPulse = end
	d.pulseEnd = d.clock.Now().Add(dur)
	// The timer starts before Pulse returns, so the unlock is dur from now
	// however late the goroutine below gets scheduled; and the pulse ends
	// at pulseEnd in the Door's record (settle) whenever it runs.
	timer, stop := gpio.After(d.clock, dur)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer stop()
		select {
		case <-timer:
		case <-end: // the mode changed or the Door closed: they locked already
			return
		case <-d.ctx.Done(): // the Output's own hook locks
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.endPulse == end {
			d.settle()
		}
	}()
	return nil
}

// settle ends the running pulse if its time has come: the strike locks now,
// and counts as locked from the pulse's end. The pulse's goroutine does it
// once its timer fires, but a goroutine runs when the scheduler lets it
// (under load, milliseconds late; against a simulated clock, after the
// clock jumped on): whatever reads the release record settles first, so a
// door opened after the pulse's end is forced however late that goroutine
// runs, and a pulse is never stretched for the next one. d.mu must be held.
func (d *Door) settle() {
	if d.endPulse == nil || d.clock.Now().Before(d.pulseEnd) {
		return
	}
	close(d.endPulse)
	d.endPulse = nil
	// A failure leaves released set: the next Pulse is refused, SetMode retries.
	_ = d.driveAt(false, d.pulseEnd)
}

// SetMode changes the mode. held_open releases the strike until the mode
// changes; normal and locked lock it, ending a running pulse (except normal
// while already normal, which changes nothing).
func (d *Door) SetMode(m Mode) error {
	switch m {
	case ModeNormal, ModeHeldOpen, ModeLocked:
	default:
		return fmt.Errorf("%w %q for door %s (want %s, %s or %s)", ErrBadMode, m, d.relayPin, ModeNormal, ModeHeldOpen, ModeLocked)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return err
	}
	d.settle()
	if m == d.mode && m == ModeNormal {
		return nil
	}
	d.stopPulse()
	if err := d.drive(m == ModeHeldOpen); err != nil {
		if m == ModeHeldOpen {
			err = errors.Join(err, d.drive(false))
		}
		return err
	}
	d.mode = m
	return nil
}

// Close locks the strike, stops watching the contact and waits for the
// Door's goroutines. It returns the result of locking. After a cancelled
// context the strike is already locked; Close still waits.
func (d *Door) Close() error {
	d.mu.Lock()
	d.closed = true
	d.settle()
	d.stopPulse()
	d.mu.Unlock()
	err := d.relay.Close()
	d.mu.Lock()
	d.record(d.relay.Active(), d.clock.Now())
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	if err != nil {
		return fmt.Errorf("door %s: lock on close: %w", d.relayPin, err)
	}
	return nil
}

// usable reports why the Door can no longer act. d.mu must be held.
func (d *Door) usable() error {
	if d.closed || d.ctx.Err() != nil {
		return fmt.Errorf("%w: door %s", ErrClosed, d.relayPin)
	}
	return nil
}

// stopPulse ends the running pulse's timer; the caller drives the level
// that stays. d.mu must be held.
func (d *Door) stopPulse() {
	if d.endPulse != nil {
		close(d.endPulse)
		d.endPulse = nil
	}
}

// drive releases (true) or locks (false) the strike now and records it.
// d.mu must be held.
func (d *Door) drive(release bool) error { return d.driveAt(release, d.clock.Now()) }

// driveAt releases or locks the strike and records it as done at at: now,
// or the end of a pulse that is being settled late. d.mu must be held.
func (d *Door) driveAt(release bool, at time.Time) error {
	err := d.relay.Set(release)
	switch {
	case err != nil:
		// Unknown: never claim locked. An opening while it is unknown
		// counts as through a released strike, as it may have been.
		d.record(true, d.clock.Now())
		return fmt.Errorf("door %s: %w", d.relayPin, err)
	default:
		d.record(release, at)
	}
	return nil
}

// record notes that the strike was released (true) or locked at at, if
// that is a change. d.mu must be held.
func (d *Door) record(release bool, at time.Time) {
	switch {
	case release && !d.released:
		d.released = true
		d.releases = append(d.releases, span{start: at})
		if n := len(d.releases); n > maxReleases {
			d.releases = append(d.releases[:0], d.releases[n-maxReleases:]...)
		}
	case !release && d.released:
		d.released = false
		d.releases[len(d.releases)-1].end = at
	}
}
