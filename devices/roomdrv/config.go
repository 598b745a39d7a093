package roomdrv

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/pir"
	"github.com/officegate/officegate/devices/room"
)

// Bounds and defaults of the configuration ("Configuration" in the package
// documentation).
const (
	// DefaultTick: a release suggestion comes on the first Tick after a
	// check-in window closed, so it is at most this late.
	DefaultTick = 5 * time.Second
	// MinTick and MaxTick bound tick: below a second the state is checked
	// for nothing, above a minute the LED and suggestions lag visibly.
	MinTick = time.Second
	MaxTick = time.Minute
	// DefaultExtendMinutes and DefaultBookMinutes are what the extend and
	// book-now buttons ask for.
	DefaultExtendMinutes = 15
	DefaultBookMinutes   = 30
	// MaxButton bounds a button number: no panel has more keys.
	MaxButton = 32
	// MaxNameLen bounds name: it opens every display line.
	MaxNameLen = 32
)

// Button actions, the values of the buttons table.
const (
	ActionCheckIn = "checkin"
	ActionExtend  = "extend"
	ActionEnd     = "end"
	ActionBook    = "book"
)

// DefaultButtons maps the panel's four keys: 1 check in, 2 extend, 3 end,
// 4 book now.
func DefaultButtons() map[int]string {
	return map[int]string{1: ActionCheckIn, 2: ActionExtend, 3: ActionEnd, 4: ActionBook}
}

// Config is the device's configuration section (kind "room") as the gateway
// decodes it. Durations are Go duration strings ("5m").
type Config struct {
	Panel         string            `toml:"panel"`      // the panel's device id; "" for none
	Name          string            `toml:"name"`       // shown on the panel; "" for the device id
	StateFile     string            `toml:"state_file"` // required
	CheckinBefore string            `toml:"checkin_before"`
	CheckinAfter  string            `toml:"checkin_after"`
	PIRPin        string            `toml:"pir_pin"` // "" for no sensor
	PIRActive     string            `toml:"pir_active"`
	PIRPull       string            `toml:"pir_pull"`
	Hold          string            `toml:"hold"`
	Warmup        string            `toml:"warmup"`
	LEDGreen      string            `toml:"led_green"` // "" for no such LED
	LEDYellow     string            `toml:"led_yellow"`
	LEDRed        string            `toml:"led_red"`
	LEDActive     string            `toml:"led_active"` // the level that lights an LED
	Buttons       map[string]string `toml:"buttons"`    // nil: DefaultButtons
	ExtendMinutes int               `toml:"extend_minutes"`
	BookMinutes   int               `toml:"book_minutes"`
	Tick          string            `toml:"tick"`
	Timezone      string            `toml:"timezone"` // IANA name for the display; "" for the system's
}

// DefaultConfig returns what a section without keys gives (which is not
// valid: state_file is required).
func DefaultConfig() Config {
	return Config{
		CheckinBefore: room.DefaultCheckinBefore.String(), CheckinAfter: room.DefaultCheckinAfter.String(),
		PIRActive: "high", Hold: pir.DefaultHold.String(), Warmup: pir.DefaultWarmup.String(),
		LEDActive: "high", ExtendMinutes: DefaultExtendMinutes, BookMinutes: DefaultBookMinutes,
		Tick: DefaultTick.String(),
	}
}

// settings are a Config validated and converted.
type settings struct {
	panel         string
	name          string
	room          room.Config
	pir           *pir.Opts      // nil: no sensor
	leds          [3]string      // pin names by ledGreen, ledYellow, ledRed; "" for none
	ledActive     gpio.Level     // the level that lights an LED
	buttons       map[int]string // button number → action
	extendMinutes int
	bookMinutes   int
	tick          time.Duration
	loc           *time.Location
}

// Indexes of settings.leds.
const (
	ledGreen = iota
	ledYellow
	ledRed
)

var ledKeys = [3]string{"led_green", "led_yellow", "led_red"}

// validate checks c, naming the key and quoting the value in any error.
func (c Config) validate(id string) (settings, error) {
	var s settings
	s.panel = c.Panel
	s.name = c.Name
	if s.name == "" {
		s.name = id
	}
	if len(s.name) > MaxNameLen {
		return s, fmt.Errorf("roomdrv: option name: %q is longer than %d bytes", c.Name, MaxNameLen)
	}
	if c.StateFile == "" {
		return s, errors.New(`roomdrv: option state_file: missing (e.g. "/var/lib/officegate/rooms/aurora.json")`)
	}
	s.room.StatePath = c.StateFile

	durations := []struct {
		key, v   string
		min, max time.Duration
		dst      *time.Duration
	}{
		// Zero would mean the room package's default, not "no window".
		{"checkin_before", c.CheckinBefore, time.Second, room.MaxCheckinWindow, &s.room.CheckinBefore},
		{"checkin_after", c.CheckinAfter, time.Second, room.MaxCheckinWindow, &s.room.CheckinAfter},
		{"tick", c.Tick, MinTick, MaxTick, &s.tick},
	}
	for _, d := range durations {
		v, err := time.ParseDuration(d.v)
		if err != nil {
			return s, fmt.Errorf("roomdrv: option %s: %q is not a duration such as \"5m\"", d.key, d.v)
		}
		if v < d.min || v > d.max {
			return s, fmt.Errorf("roomdrv: option %s: %q is outside %v–%v", d.key, d.v, d.min, d.max)
		}
		*d.dst = v
	}

	if c.PIRPin != "" {
		o, err := pir.Config{Pin: c.PIRPin, Active: c.PIRActive, Pull: c.PIRPull, Hold: c.Hold, Warmup: c.Warmup}.Opts()
		if err != nil {
			return s, fmt.Errorf("roomdrv: %w", err)
		}
		hold := o.Hold
		if hold == 0 {
			hold = pir.DefaultHold
		}
		// Presence is judged from the sensor's state when a window closes;
		// that state stands for motion within the hold before, which lies in
		// the window only if the hold is no longer ("Presence" in package
		// room).
		if w := s.room.CheckinBefore + s.room.CheckinAfter; hold > w {
			return s, fmt.Errorf("roomdrv: option hold: %q is longer than the check-in window (checkin_before + checkin_after = %v)", c.Hold, w)
		}
		s.pir = &o
	}

	pins := map[string]string{}
	if c.PIRPin != "" {
		pins[c.PIRPin] = "pir_pin"
	}
	for i, p := range [3]string{c.LEDGreen, c.LEDYellow, c.LEDRed} {
		if p == "" {
			continue
		}
		if other, ok := pins[p]; ok {
			return s, fmt.Errorf("roomdrv: option %s: pin %q is also %s", ledKeys[i], p, other)
		}
		pins[p] = ledKeys[i]
		s.leds[i] = p
	}
	switch strings.ToLower(c.LEDActive) {
	case "high":
		s.ledActive = gpio.High
	case "low":
		s.ledActive = gpio.Low
	default:
		return s, fmt.Errorf("roomdrv: option led_active: %q is not \"high\" or \"low\"", c.LEDActive)
	}

	s.buttons = DefaultButtons()
	if c.Buttons != nil {
		s.buttons = make(map[int]string, len(c.Buttons))
		for _, k := range slices.Sorted(maps.Keys(c.Buttons)) {
			n, err := strconv.Atoi(k)
			if err != nil || n < 1 || n > MaxButton {
				return s, fmt.Errorf("roomdrv: option buttons: key %q is not a button number 1–%d", k, MaxButton)
			}
			switch a := c.Buttons[k]; a {
			case ActionCheckIn, ActionExtend, ActionEnd, ActionBook:
				s.buttons[n] = a
			default:
				return s, fmt.Errorf("roomdrv: option buttons: button %s: %q is not %q, %q, %q or %q",
					k, a, ActionCheckIn, ActionExtend, ActionEnd, ActionBook)
			}
		}
	}
	for _, m := range []struct {
		key string
		v   int
		dst *int
	}{{"extend_minutes", c.ExtendMinutes, &s.extendMinutes}, {"book_minutes", c.BookMinutes, &s.bookMinutes}} {
		if m.v < 1 || m.v > room.MaxMinutes {
			return s, fmt.Errorf("roomdrv: option %s: %d is outside 1–%d", m.key, m.v, room.MaxMinutes)
		}
		*m.dst = m.v
	}

	s.loc = time.Local
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return s, fmt.Errorf("roomdrv: option timezone: %q is not a known zone such as \"Asia/Shanghai\"", c.Timezone)
		}
		s.loc = loc
	}
	return s, nil
}

// buttonNumber reads a button number however the gateway decoded it.
func buttonNumber(v any) (int, bool) {
	var f float64
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		f = float64(v)
	case uint8:
		return int(v), true
	case uint64:
		f = float64(v)
	case float64:
		f = v
	case interface{ Float64() (float64, error) }: // json.Number
		var err error
		if f, err = v.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}
