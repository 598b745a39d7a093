//go:build !linux

package wiegand

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ChipOpts configures OpenChip; see the Linux build.
type ChipOpts struct {
	Consumer    string
	EventBuffer int
	BothEdges   bool
	PullUp      bool
}

// Chip is the GPIO character device source, which exists on Linux only.
type Chip struct{}

// ErrLineBusy means another process already holds a requested line.
var ErrLineBusy = errors.New("wiegand: gpio line busy")

// OpenChip fails: the GPIO character device is a Linux interface.
func OpenChip(path string, d0, d1 uint32, opts *ChipOpts) (*Chip, error) {
	return nil, fmt.Errorf("wiegand: gpio chip %q: the GPIO character device needs linux", path)
}

// ReadEdges implements EdgeSource.
func (c *Chip) ReadEdges(ctx context.Context, dst []Edge, wait time.Duration) (int, error) {
	return 0, ErrClosed
}

// Close does nothing.
func (c *Chip) Close() error { return nil }
