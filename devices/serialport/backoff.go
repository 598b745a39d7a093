package serialport

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/internal/backoff"
)

// The default backoff re-opens quickly after a short glitch (USB re-enumeration takes
// about a second) and settles at a probe every few seconds while a device stays away: an
// attempt costs one failed open, so the ceiling is about how soon a re-plug is noticed.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Backoff is the module's jittered exponential backoff (internal/backoff),
// here with the errors of this package.
type Backoff backoff.Backoff

func (b Backoff) validate() error {
	if err := backoff.Backoff(b).Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return nil
}

// Delay returns the wait before retry number attempt (0 for the first retry),
// given r, a uniform random number in [0, 1): see backoff.Backoff.Delay. Ports
// that went together (a hub unplugged) do not retry together.
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	return backoff.Backoff(b).Delay(attempt, r)
}
