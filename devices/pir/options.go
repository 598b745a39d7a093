package pir

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/internal/clock"
)

// Defaults, and the bounds a configuration must stay within.
const (
	// DefaultHold keeps a room occupied five minutes after the last motion:
	// people sitting still at a table trigger a PIR only now and then.
	DefaultHold = 5 * time.Minute
	// MinHold and MaxHold bound the hold: below a second every pause between
	// two triggers would be a vacancy, above an hour an empty room stays red
	// for most of a meeting slot.
	MinHold = time.Second
	MaxHold = time.Hour
	// DefaultWarmup ignores the first minute: an HC-SR501 class sensor
	// triggers falsely for about 60 s after power-up.
	DefaultWarmup = 60 * time.Second
	// MaxWarmup bounds the warm-up; no sensor needs more than a few minutes.
	MaxWarmup = 10 * time.Minute
	// NoWarmup in Opts.Warmup starts reporting at once (a sensor that was
	// powered long before the gateway started).
	NoWarmup = time.Duration(-1)
	// DefaultBusyRetry is how long a busy sink is retried before a
	// transition is counted lost. The sensor's state is the truth either way:
	// the next transition reports it again.
	DefaultBusyRetry = 30 * time.Second
)

// Opts configures a Sensor. Zero durations mean the defaults.
type Opts struct {
	Pin       string    // pin name for the Opener, e.g. "GPIO23"; required
	ActiveLow bool      // the sensor pulls the line Low on motion (HC-SR501 drives High)
	Pull      gpio.Pull // PullNoChange (the zero value) keeps the board's
	Debounce  time.Duration
	Hold      time.Duration // MinHold–MaxHold
	Warmup    time.Duration // NoWarmup for none, else up to MaxWarmup
	BusyRetry time.Duration
	Clock     gpio.Clock // nil: the real clock
}

// Config is the device's configuration section as the gateway decodes it
// (keys in the package documentation). Durations are Go duration strings.
type Config struct {
	Pin      string `toml:"pir_pin"`
	Active   string `toml:"pir_active"` // "high" (the default) or "low"
	Pull     string `toml:"pir_pull"`   // "" (board default), "up", "down" or "none"
	Debounce string `toml:"debounce"`
	Hold     string `toml:"hold"`
	Warmup   string `toml:"warmup"` // "0s" for none
}

// DefaultConfig returns what a section without keys gives.
func DefaultConfig() Config {
	return Config{Active: "high", Debounce: gpio.DefaultDebounce.String(), Hold: "5m", Warmup: "60s"}
}

// Opts converts c, naming the key and quoting the value in any error.
func (c Config) Opts() (Opts, error) {
	var o Opts
	if c.Pin == "" {
		return o, errors.New("pir: option pir_pin: missing (the sensor's pin, e.g. \"GPIO23\")")
	}
	o.Pin = c.Pin
	switch strings.ToLower(c.Active) {
	case "high", "":
	case "low":
		o.ActiveLow = true
	default:
		return o, fmt.Errorf("pir: option pir_active: %q is not \"high\" or \"low\"", c.Active)
	}
	switch strings.ToLower(c.Pull) {
	case "":
	case "up":
		o.Pull = gpio.PullUp
	case "down":
		o.Pull = gpio.PullDown
	case "none":
		o.Pull = gpio.Float
	default:
		return o, fmt.Errorf("pir: option pir_pull: %q is not \"up\", \"down\" or \"none\"", c.Pull)
	}
	for _, d := range []struct {
		key, v string
		dst    *time.Duration
	}{{"debounce", c.Debounce, &o.Debounce}, {"hold", c.Hold, &o.Hold}, {"warmup", c.Warmup, &o.Warmup}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil {
			return o, fmt.Errorf("pir: option %s: %q is not a duration such as \"5m\"", d.key, d.v)
		}
		if v <= 0 && d.key != "warmup" {
			return o, fmt.Errorf("pir: option %s: %q must be positive", d.key, d.v)
		}
		*d.dst = v
	}
	if c.Warmup != "" && o.Warmup == 0 {
		o.Warmup = NoWarmup
	}
	return o, o.check()
}

// withDefaults fills in zero fields and validates.
func (o Opts) withDefaults() (Opts, error) {
	if o.Debounce == 0 {
		o.Debounce = gpio.DefaultDebounce
	}
	if o.Hold == 0 {
		o.Hold = DefaultHold
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
	}
	if o.BusyRetry == 0 {
		o.BusyRetry = DefaultBusyRetry
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	return o, o.check()
}

func (o Opts) check() error {
	switch {
	case o.Pin == "":
		return errors.New("pir: no pin")
	case o.Debounce < 0:
		return fmt.Errorf("pir: pin %s: debounce %v is negative", o.Pin, o.Debounce)
	case o.Hold != 0 && (o.Hold < MinHold || o.Hold > MaxHold):
		return fmt.Errorf("pir: pin %s: hold %v is outside %v–%v", o.Pin, o.Hold, MinHold, MaxHold)
	case o.Warmup != NoWarmup && (o.Warmup < 0 || o.Warmup > MaxWarmup):
		return fmt.Errorf("pir: pin %s: warm-up %v is outside 0–%v", o.Pin, o.Warmup, MaxWarmup)
	case o.BusyRetry < 0:
		return fmt.Errorf("pir: pin %s: busy retry %v is negative", o.Pin, o.BusyRetry)
	}
	return nil
}

// active is the level the sensor drives on motion.
func (o Opts) active() gpio.Level { return gpio.Level(!o.ActiveLow) }
