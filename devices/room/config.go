package room

import (
	"fmt"
	"time"
)

// Defaults and bounds of the configuration.
const (
	// DefaultCheckinBefore and DefaultCheckinAfter make the check-in window
	// −5/+10 min around a booking's start (Yeastar's; Robin and Microsoft
	// Places release after 10 min too).
	DefaultCheckinBefore = 5 * time.Minute
	DefaultCheckinAfter  = 10 * time.Minute
	// MaxCheckinWindow bounds either side: past an hour a window is no
	// longer a no-show check.
	MaxCheckinWindow = time.Hour
	// DefaultLEDOverride is how long a room.led_set without "until" lasts:
	// a forgotten override must not leave a room red for good.
	DefaultLEDOverride = time.Hour
	// MaxLEDOverride bounds "until".
	MaxLEDOverride = 24 * time.Hour
	// MaxMinutes bounds extend and book-now: four hours is a long workshop.
	MaxMinutes = 240
)

// Config configures a Room. Zero durations mean the defaults.
type Config struct {
	CheckinBefore time.Duration // how long before a booking's start check-in opens
	CheckinAfter  time.Duration // how long after a booking's start check-in closes
	// StatePath is the state file (see the package documentation); ""
	// keeps the state in memory only, which is for tests.
	StatePath string
}

func (c Config) withDefaults() (Config, error) {
	if c.CheckinBefore == 0 {
		c.CheckinBefore = DefaultCheckinBefore
	}
	if c.CheckinAfter == 0 {
		c.CheckinAfter = DefaultCheckinAfter
	}
	if c.CheckinBefore < 0 || c.CheckinBefore > MaxCheckinWindow {
		return c, fmt.Errorf("room: checkin_before %v is outside 0–%v", c.CheckinBefore, MaxCheckinWindow)
	}
	if c.CheckinAfter < 0 || c.CheckinAfter > MaxCheckinWindow {
		return c, fmt.Errorf("room: checkin_after %v is outside 0–%v", c.CheckinAfter, MaxCheckinWindow)
	}
	return c, nil
}
