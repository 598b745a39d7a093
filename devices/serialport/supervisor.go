package serialport

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/officegate/officegate/internal/clock"
)

// State is what happened to a supervised port.
type State int

// States reported through SupervisorOpts.OnEvent.
const (
	// Opened: the port opened and a session starts.
	Opened State = iota + 1
	// Unplugged: the session ended because the device went; Err wraps ErrUnplugged.
	Unplugged
	// SessionEnded: the session returned for another reason, given in Err (nil if none).
	SessionEnded
	// OpenFailed: an open attempt failed with Err (fs.ErrNotExist while the device is
	// away).
	OpenFailed
	// Stopped: Run is returning because its context was cancelled.
	Stopped
)

func (s State) String() string {
	switch s {
	case Opened:
		return "opened"
	case Unplugged:
		return "unplugged"
	case SessionEnded:
		return "session-ended"
	case OpenFailed:
		return "open-failed"
	case Stopped:
		return "stopped"
	}
	return "unknown"
}

// Event reports a state change of a supervised port, for logs and counters.
type Event struct {
	State State
	Name  string // the configured device name
	Err   error
	// Attempt counts the consecutive rounds that ended without a lasting session,
	// this one included (Unplugged, SessionEnded, OpenFailed).
	Attempt int
	// Delay is the wait before the next open attempt (Unplugged, SessionEnded, OpenFailed).
	Delay time.Duration
}

// Clock is the time source of a Supervisor, the module's (internal/clock);
// tests inject a fake one.
type Clock = clock.Clock

// SupervisorOpts tunes a Supervisor; the zero value, or nil, means the defaults.
type SupervisorOpts struct {
	Backoff Backoff        // zero: DefaultMinBackoff…DefaultMaxBackoff
	Clock   Clock          // nil: the system clock
	Rand    func() float64 // uniform in [0, 1), for jitter; nil: math/rand/v2
	// OnEvent, if set, is called from Run's goroutine for every state change. It must
	// not block: it delays the next read of the port.
	OnEvent func(Event)
}

// Session uses an open port until it fails or ctx is done, and returns why. It must
// return once its reads or writes fail: when ctx is cancelled, or the device goes, the
// port is closed or fails under it.
type Session func(ctx context.Context, p *Port) error

// Supervisor keeps one port open for as long as it runs: it opens it, hands it to a
// Session, and when the device goes re-opens it with backoff until it comes back.
type Supervisor struct {
	// Immutable.
	cfg     Config
	backoff Backoff
	clock   Clock
	rand    func() float64
	onEvent func(Event)
}

// NewSupervisor validates cfg and opts; nil opts means the defaults.
func NewSupervisor(cfg Config, opts *SupervisorOpts) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &SupervisorOpts{}
	}
	s := &Supervisor{cfg: cfg, backoff: opts.Backoff, clock: opts.Clock, rand: opts.Rand, onEvent: opts.OnEvent}
	if s.backoff == (Backoff{}) {
		s.backoff = Backoff{Min: DefaultMinBackoff, Max: DefaultMaxBackoff}
	}
	if err := s.backoff.validate(); err != nil {
		return nil, err
	}
	if s.clock == nil {
		s.clock = clock.System{}
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	if s.onEvent == nil {
		s.onEvent = func(Event) {}
	}
	return s, nil
}

// Run opens the port and runs session on it, again each time the port comes back, until
// ctx is cancelled; then it closes the port, waits for session to return, and returns.
// Open failures and session errors are reported through OnEvent, never returned: a device
// may be plugged in at any time.
func (s *Supervisor) Run(ctx context.Context, session Session) {
	attempt := 0 // consecutive rounds without a lasting session
	for ctx.Err() == nil {
		state, err := s.round(ctx, session, &attempt)
		if ctx.Err() != nil {
			break
		}
		d := s.backoff.Delay(attempt, s.rand())
		attempt++
		s.onEvent(Event{State: state, Name: s.cfg.Name, Err: err, Attempt: attempt, Delay: d})
		t := s.clock.NewTimer(d)
		select {
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
	s.onEvent(Event{State: Stopped, Name: s.cfg.Name})
}

// round opens the port once and, if that works, runs one session on it. A session that
// lasted as long as the longest backoff resets attempt, so a device that flaps keeps
// backing off and one that worked for a while is retried after the shortest delay.
func (s *Supervisor) round(ctx context.Context, session Session, attempt *int) (State, error) {
	p, err := Open(s.cfg)
	if err != nil {
		return OpenFailed, err
	}
	s.onEvent(Event{State: Opened, Name: s.cfg.Name})
	start := s.clock.Now()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	err = session(ctx, p)
	stop()
	p.Close()
	if s.clock.Now().Sub(start) >= s.backoff.Max {
		*attempt = 0
	}
	if errors.Is(err, ErrUnplugged) {
		return Unplugged, err
	}
	return SessionEnded, err
}
