package serialport

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults applied by Config.Validate to zero fields.
const (
	DefaultBaud = 115200
	// DefaultPollInterval is how often a waiting Read checks that the device node is still
	// the one opened: how late a node that vanished or was re-pointed while its tty stayed
	// up is noticed. A hang-up (an unplugged adapter) and Close wake a Read at once; this
	// check is the only clock of a quiet port, and with the checks of every port on the
	// same multiples of it, a quiet gateway wakes once a second for all its ports.
	DefaultPollInterval = time.Second
)

// Bounds of Config.PollInterval (it was VTIME once, counted in deciseconds up to 255).
const (
	minPollInterval = 100 * time.Millisecond
	maxPollInterval = 25500 * time.Millisecond
)

// standardBauds are the rates Linux names with a Bxxx constant; the only ones tarm/serial
// can set.
var standardBauds = []int{
	50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
	57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
	2000000, 2500000, 3000000, 3500000, 4000000,
}

var (
	// ErrBadBaud is wrapped by the error for a baud rate that is not a standard rate.
	ErrBadBaud = errors.New("serialport: unsupported baud rate")
	// ErrBadConfig is wrapped by the error for any other invalid Config field.
	ErrBadConfig = errors.New("serialport: invalid configuration")
)

// Config says which port to open and how. The line is always 8N1, raw, no flow control.
type Config struct {
	// Name is the device path, preferably /dev/serial/by-id/…; symlinks are resolved at
	// each open, but errors and events always report Name as given.
	Name string
	// Baud is a standard rate (50 … 4000000); 0 means DefaultBaud.
	Baud int
	// PollInterval is how often a waiting Read checks the device node (see
	// DefaultPollInterval): a multiple of 100 ms between 100 ms and 25.5 s; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
}

// Validate applies the defaults, then rejects what cannot be opened, quoting the bad value.
func (c *Config) Validate() error {
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Name == "" {
		return fmt.Errorf("%w: empty device name", ErrBadConfig)
	}
	if !slices.Contains(standardBauds, c.Baud) {
		return fmt.Errorf("%w %d for %q (standard rates: 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, …)",
			ErrBadBaud, c.Baud, c.Name)
	}
	if c.PollInterval < minPollInterval || c.PollInterval > maxPollInterval ||
		c.PollInterval%(100*time.Millisecond) != 0 {
		return fmt.Errorf("%w: poll interval %v for %q: want a multiple of 100ms between 100ms and 25.5s",
			ErrBadConfig, c.PollInterval, c.Name)
	}
	return nil
}
