// Package backoff computes the module's retry delays: exponential, with equal jitter.
package backoff

import (
	"errors"
	"fmt"
	"time"
)

// ErrBad is wrapped by Validate's error.
var ErrBad = errors.New("backoff: invalid")

// Backoff is a jittered exponential backoff. The zero value is invalid;
// callers put their defaults in before Validate.
type Backoff struct {
	Min, Max time.Duration // first and largest delay before jitter; 0 < Min ≤ Max
}

// Validate reports whether 0 < Min ≤ Max.
func (b Backoff) Validate() error {
	if b.Min <= 0 || b.Max < b.Min {
		return fmt.Errorf("%w: %v…%v: want 0 < min ≤ max", ErrBad, b.Min, b.Max)
	}
	return nil
}

// Delay returns the wait before retry number attempt (0 for the first retry),
// given r, a uniform random number in [0, 1). The delay doubles with each
// attempt up to Max; the upper half of it is random ("equal jitter"), so
// peers that failed together (a hub unplugged, a floor of gateways restarted
// with the broker) do not retry together, and no retry comes sooner than half
// the step. However large attempt is, nothing overflows; an invalid Min (not
// positive) starts at Max.
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	d := b.Min
	if d <= 0 {
		d = b.Max
	}
	for i := 0; i < attempt && d < b.Max; i++ {
		if d > b.Max/2 {
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return d - half + time.Duration(r*float64(half))
}
