package door

import (
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/devices/gpio"
)

// Limits and defaults of the configuration.
const (
	// DefaultMaxPulse is the longest unlock unless configured: strike
	// vendors use 3–5 s.
	DefaultMaxPulse = gpio.DefaultMaxPulse
	// MaxMaxPulse bounds max_pulse: longer than half a minute is not a
	// pulse but a door left open, which is what held_open mode is for.
	MaxMaxPulse = 30 * time.Second
	// DefaultHeldOpenAfter is how long the door may stand open before it is
	// reported held open: the alarm threshold access-control panels default to.
	DefaultHeldOpenAfter = 30 * time.Second
)

// ErrBadConfig is wrapped by the error for an invalid Config.
var ErrBadConfig = errors.New("door: invalid configuration")

// Config is the door's configuration, as the gateway decodes it. Levels are
// words, "high" or "low", and have no default: a relay wired the other way
// round from what a default assumed would unlock the door at start-up.
type Config struct {
	RelayPin    string        // relay_pin: e.g. "GPIO17"; required
	RelayActive string        // relay_active: the level that releases the strike; required
	MaxPulse    time.Duration // max_pulse: longest unlock; 0 means DefaultMaxPulse, at most MaxMaxPulse

	ContactPin      string        // contact_pin: the door contact; "" for none
	ContactClosed   string        // contact_closed: the level while the door is shut; required with contact_pin
	ContactPull     string        // contact_pull: "up", "down", "none" or "" (keep the board's)
	ContactDebounce time.Duration // contact_debounce: 0 means gpio.DefaultDebounce
	HeldOpenAfter   time.Duration // held_open_after: 0 means DefaultHeldOpenAfter

	// Clock times pulses, debouncing and held-open; nil means the real
	// clock. Not a configuration key: tests set it.
	Clock gpio.Clock
}

// Validate applies the defaults, then rejects what cannot work, naming the
// key and quoting the bad value.
func (c *Config) Validate() error {
	if c.MaxPulse == 0 {
		c.MaxPulse = DefaultMaxPulse
	}
	if c.HeldOpenAfter == 0 {
		c.HeldOpenAfter = DefaultHeldOpenAfter
	}
	if c.ContactDebounce == 0 {
		c.ContactDebounce = gpio.DefaultDebounce
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: door on relay %q: "+format, append([]any{ErrBadConfig, c.RelayPin}, args...)...)
	}
	if c.RelayPin == "" {
		return bad("relay_pin is empty")
	}
	if _, err := parseLevel(c.RelayActive); err != nil {
		return bad("relay_active: %v", err)
	}
	if c.MaxPulse < 0 || c.MaxPulse > MaxMaxPulse {
		return bad("max_pulse %v: want more than 0 and at most %v", c.MaxPulse, MaxMaxPulse)
	}
	if c.HeldOpenAfter < 0 {
		return bad("held_open_after %v is negative", c.HeldOpenAfter)
	}
	if c.ContactDebounce < 0 {
		return bad("contact_debounce %v is negative", c.ContactDebounce)
	}
	if c.ContactPin == "" {
		return nil
	}
	if c.ContactPin == c.RelayPin {
		return bad("contact_pin %q is the relay pin", c.ContactPin)
	}
	if _, err := parseLevel(c.ContactClosed); err != nil {
		return bad("contact_closed: %v", err)
	}
	if _, err := parsePull(c.ContactPull); err != nil {
		return bad("contact_pull: %v", err)
	}
	return nil
}

func parseLevel(s string) (gpio.Level, error) {
	switch s {
	case "high":
		return gpio.High, nil
	case "low":
		return gpio.Low, nil
	}
	return gpio.Low, fmt.Errorf("%q is not \"high\" or \"low\"", s)
}

func parsePull(s string) (gpio.Pull, error) {
	switch s {
	case "":
		return gpio.PullNoChange, nil
	case "up":
		return gpio.PullUp, nil
	case "down":
		return gpio.PullDown, nil
	case "none":
		return gpio.Float, nil
	}
	return gpio.PullNoChange, fmt.Errorf("%q is not \"up\", \"down\", \"none\" or empty", s)
}
