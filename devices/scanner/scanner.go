package scanner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/serialport"
)

// ErrRunning is returned by a second call to Scanner.Run.
var ErrRunning = errors.New("scanner: already running")

// Config is the scanner's configuration, as the gateway decodes it.
type Config struct {
	// Port is the serial device (key "port"), preferably
	// /dev/serial/by-id/usb-<vendor>_<product>_<serial>-if00, which names
	// the scanner itself rather than the order it was plugged in.
	Port string
	// Baud (key "baud") is ignored by USB-CDC devices but must be a standard
	// rate; 0 means serialport.DefaultBaud.
	Baud int
	// MaxLine (key "max_line") is the longest scan accepted, in bytes;
	// 0 means DefaultMaxLine.
	MaxLine int

	// The format of a plausible scan, the noise rule and the rate limit
	// (doc.go, "Plausible scans"): set by the driver that knows its codes.

	// MinLine is the shortest scan accepted, in bytes; 0 means 1.
	MinLine int
	// ASCII accepts only scans of visible ASCII (VisibleASCII).
	ASCII bool
	// Quiet: a line that ends within Quiet of a line refused for its
	// content is noise, refused too; 0: no noise rule.
	Quiet time.Duration
	// Limit paces the port's scans; the zero Limit: none.
	Limit Limit
}

// maxMaxLine bounds MaxLine: a QR code holds at most 2953 bytes of binary
// data; anything longer is not a scan.
const maxMaxLine = 4096

// Validate applies the defaults, then rejects what cannot work, quoting the
// bad value.
func (c *Config) Validate() error {
	if c.MaxLine == 0 {
		c.MaxLine = DefaultMaxLine
	}
	if c.MaxLine < 0 || c.MaxLine > maxMaxLine {
		return fmt.Errorf("scanner: max_line %d for port %q: want 1 to %d", c.MaxLine, c.Port, maxMaxLine)
	}
	if c.MinLine == 0 {
		c.MinLine = 1
	}
	if c.MinLine < 0 || c.MinLine > c.MaxLine {
		return fmt.Errorf("scanner: min_line %d for port %q: want 1 to max_line (%d)", c.MinLine, c.Port, c.MaxLine)
	}
	if c.Quiet < 0 {
		return fmt.Errorf("scanner: quiet %v for port %q: want 0 or more", c.Quiet, c.Port)
	}
	if c.Limit.Burst < 0 || c.Limit.Burst > 0 && c.Limit.Every <= 0 {
		return fmt.Errorf("scanner: limit %d per %v for port %q: want a burst ≥ 0 and, with a burst, a positive interval",
			c.Limit.Burst, c.Limit.Every, c.Port)
	}
	sc := c.serial()
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("scanner: %w", err)
	}
	c.Baud = sc.Baud
	return nil
}

func (c Config) serial() serialport.Config {
	return serialport.Config{Name: c.Port, Baud: c.Baud}
}

// Opts are a Scanner's test and wiring knobs; nil or the zero value means
// the defaults.
type Opts struct {
	// Now stamps scans; nil means time.Now.
	Now func() time.Time
	// Backoff paces re-opening after an unplug; zero means serialport's.
	Backoff serialport.Backoff
	// OnPort, if set, sees every state change of the port (opened,
	// unplugged, open-failed, …), for logging. It must not block.
	OnPort func(serialport.Event)
}

// Scan is one accepted scan.
type Scan struct {
	Text string    // the scanned code, without its line ending
	Time time.Time // gateway clock when its line ending arrived
}

// Scanner reads scans from a barcode or QR scanner on a serial port and
// re-opens the port whenever the scanner comes back after an unplug.
type Scanner struct {
	// Immutable.
	cfg     Config
	now     func() time.Time
	onPort  func(serialport.Event)
	sup     *serialport.Supervisor
	lines   *LineReader // Next and Reset only from Run's goroutine
	filter  filter      // Run's goroutine only
	started atomic.Bool

	// Counters, readable from any goroutine: scans sent, and the lines the
	// LineReader accepted that the filter refused.
	accepted, tooShort, badAlphabet, noise, rateLimited atomic.Uint64

	// Mutable.
	online       atomic.Bool
	opened       atomic.Uint64
	unplugged    atomic.Uint64
	openFailures atomic.Uint64

	mu       sync.Mutex
	lastSeen time.Time // guarded by mu; time of the last accepted scan
}

var _ devices.Statuser = (*Scanner)(nil)

// New validates cfg and prepares a Scanner; it does not open the port, so a
// scanner that is unplugged at start-up does not stop the gateway.
func New(cfg Config, opts *Opts) (*Scanner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o Opts
	if opts != nil {
		o = *opts
	}
	s := &Scanner{cfg: cfg, now: o.Now, onPort: o.OnPort, lines: NewLineReader(nil, cfg.MaxLine), filter: filter{cfg: cfg}}
	if s.now == nil {
		s.now = time.Now
	}
	s.lines.onRefuse = func() { s.filter.refused(s.now()) }
	sup, err := serialport.NewSupervisor(cfg.serial(), &serialport.SupervisorOpts{Backoff: o.Backoff, OnEvent: s.portEvent})
	if err != nil {
		return nil, fmt.Errorf("scanner: %w", err)
	}
	s.sup = sup
	return s, nil
}

// Run reads scans and sends each to out until ctx is cancelled, then closes
// the port and returns nil. While the scanner is away it retries with
// backoff; a scan is never dropped for a slow receiver (the send waits,
// the tty buffers 4 KiB meanwhile, dozens of scans), only abandoned when ctx
// ends. Run may be called once; a second call returns ErrRunning.
func (s *Scanner) Run(ctx context.Context, out chan<- Scan) error {
	if !s.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: port %q", ErrRunning, s.cfg.Port)
	}
	s.sup.Run(ctx, func(ctx context.Context, p *serialport.Port) error {
		s.lines.Reset(p)
		s.online.Store(true)
		defer s.online.Store(false)
		for {
			text, err := s.lines.Next()
			if err != nil {
				return err // the port failed or was closed: the supervisor decides
			}
			sc := Scan{Text: text, Time: s.now()}
			if c := s.filter.judge(s, text, sc.Time); c != nil {
				c.Add(1)
				continue // refused quietly: counted, never sent
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.lastSeen = sc.Time
			s.mu.Unlock()
			select {
			case out <- sc:
			case <-ctx.Done():
				return nil
			}
		}
	})
	return nil
}

// Online reports whether the port is open and being read.
func (s *Scanner) Online() bool { return s.online.Load() }

// Counts returns the line counters (see Counts).
func (s *Scanner) Counts() Counts {
	c := s.lines.Counts()
	c.Accepted = s.accepted.Load()
	c.TooShort, c.BadAlphabet, c.Noise, c.RateLimited = s.tooShort.Load(), s.badAlphabet.Load(), s.noise.Load(), s.rateLimited.Load()
	return c
}

// Port returns the configured port, as metrics and logs name the scanner.
func (s *Scanner) Port() string { return s.cfg.Port }

// Status reports the scanner's health: online, the time of the last scan,
// and the line counters plus "port_opened", "port_unplugged" and
// "port_open_failed".
func (s *Scanner) Status() devices.Status {
	s.mu.Lock()
	last := s.lastSeen
	s.mu.Unlock()
	c := s.Counts().Map()
	c["port_opened"] = s.opened.Load()
	c["port_unplugged"] = s.unplugged.Load()
	c["port_open_failed"] = s.openFailures.Load()
	// A scanner has no clock of its own: scans are stamped by the gateway.
	return devices.Status{Online: s.online.Load(), LastSeen: last, Clock: devices.ClockSynced, Counters: c}
}

func (s *Scanner) portEvent(e serialport.Event) {
	switch e.State {
	case serialport.Opened:
		s.opened.Add(1)
	case serialport.Unplugged:
		s.unplugged.Add(1)
	case serialport.OpenFailed:
		s.openFailures.Add(1)
	}
	if s.onPort != nil {
		s.onPort(e)
	}
}
