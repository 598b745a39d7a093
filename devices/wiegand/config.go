package wiegand

import (
	"fmt"
	"time"
)

// Config selects the formats a reader sends and the timing the decoder accepts. The zero
// value of a field means its default.
type Config struct {
	// Formats are the layouts the reader may send, at most one per bit count (W34 and
	// W34Number exclude each other). Default: H10301, W34, H10304, Keypad4, Keypad8.
	Formats []Format
	// EndGap is how long both lines stay quiet before a frame is over. Default 25 ms: a
	// slow reader leaves up to 20 ms between pulses (SIA), and pigpio's 5 ms splits its
	// frames in two.
	EndGap time.Duration
	// MinSpacing and MaxSpacing bound the time from one pulse's start to the next one's
	// within a frame; a frame with a spacing outside is rejected (Stats.Spacing).
	// MinSpacing defaults to 150 µs: the SIA minimum is 220 µs (20 µs pulse + 200 µs gap),
	// and cheap readers run fast by tens of percent. MaxSpacing defaults to EndGap.
	MinSpacing, MaxSpacing time.Duration
	// BothLowWindow applies when the source delivers falling edges only: pulses on D0 and
	// D1 starting closer than this overlapped, since a pulse lasts up to 100 µs.
	// Default 100 µs. With rising edges the decoder knows the levels and ignores it.
	BothLowWindow time.Duration
	// KeyTimeout abandons a keypad entry when no key follows for this long. Default 10 s.
	KeyTimeout time.Duration
	// MaxPIN is the longest keypad entry accepted, in keys. Default 12, at most 32.
	MaxPIN int
}

// defaultFormats are the formats accepted when Config.Formats is nil.
var defaultFormats = []Format{H10301, W34, H10304, Keypad4, Keypad8}

const maxPINCap = 32

// withDefaults returns c with every zero field replaced by its default, or an error
// naming the first bad value.
func (c Config) withDefaults() (Config, error) {
	if c.Formats == nil {
		c.Formats = defaultFormats
	}
	if c.EndGap == 0 {
		c.EndGap = 25 * time.Millisecond
	}
	if c.MinSpacing == 0 {
		c.MinSpacing = 150 * time.Microsecond
	}
	if c.MaxSpacing == 0 {
		c.MaxSpacing = c.EndGap
	}
	if c.BothLowWindow == 0 {
		c.BothLowWindow = 100 * time.Microsecond
	}
	if c.KeyTimeout == 0 {
		c.KeyTimeout = 10 * time.Second
	}
	if c.MaxPIN == 0 {
		c.MaxPIN = 12
	}
	switch {
	case c.EndGap < 0:
		return c, fmt.Errorf("wiegand: configuration invalid: end gap %v is negative", c.EndGap)
	case c.MinSpacing < 0 || c.MinSpacing >= c.EndGap:
		return c, fmt.Errorf("wiegand: configuration invalid: min spacing %v is not between 0 and the end gap %v", c.MinSpacing, c.EndGap)
	case c.MaxSpacing < c.MinSpacing || c.MaxSpacing > c.EndGap:
		return c, fmt.Errorf("wiegand: configuration invalid: max spacing %v is not between min spacing %v and the end gap %v", c.MaxSpacing, c.MinSpacing, c.EndGap)
	case c.BothLowWindow < 0:
		return c, fmt.Errorf("wiegand: configuration invalid: both-low window %v is negative", c.BothLowWindow)
	case c.KeyTimeout <= c.EndGap:
		return c, fmt.Errorf("wiegand: configuration invalid: key timeout %v is not above the end gap %v", c.KeyTimeout, c.EndGap)
	case c.MaxPIN < 0 || c.MaxPIN > maxPINCap:
		return c, fmt.Errorf("wiegand: configuration invalid: max PIN length %d is not between 1 and %d", c.MaxPIN, maxPINCap)
	}
	if len(c.Formats) == 0 {
		return c, fmt.Errorf("wiegand: configuration invalid: no formats (nil means the defaults)")
	}
	var seen [65]Format
	for _, f := range c.Formats {
		if !f.valid() || f == PIN {
			return c, fmt.Errorf("wiegand: configuration invalid: %v is not a reader format", f)
		}
		if prev := seen[f.Bits()]; prev != 0 {
			return c, fmt.Errorf("wiegand: configuration invalid: %v and %v both have %d bits", prev, f, f.Bits())
		}
		seen[f.Bits()] = f
	}
	return c, nil
}
