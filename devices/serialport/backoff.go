package serialport

import (
	"fmt"
	"time"
)

// The default backoff re-opens quickly after a short glitch (USB re-enumeration takes
// about a second) and settles at a probe every few seconds while a device stays away: an
// attempt costs one failed open, so the ceiling is about how soon a re-plug is noticed.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Backoff is a jittered exponential backoff.
type Backoff struct {
	Min, Max time.Duration // first and largest delay before jitter; 0 < Min ≤ Max
}

func (b Backoff) validate() error {
	if b.Min <= 0 || b.Max < b.Min {
		return fmt.Errorf("%w: backoff %v…%v: want 0 < min ≤ max", ErrBadConfig, b.Min, b.Max)
	}
	return nil
}

// Delay returns the wait before retry number attempt (0 for the first retry), given r, a
// uniform random number in [0, 1). The delay doubles with each attempt up to Max; the
// upper half of it is random ("equal jitter"), so ports that went together (a hub
// unplugged) do not retry together, and no retry comes sooner than half the step.
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return d - half + time.Duration(r*float64(half))
}
