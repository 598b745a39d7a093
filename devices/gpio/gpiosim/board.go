package gpiosim

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"periph.io/x/conn/v3/gpio"
)

// Board is a simulated Raspberry Pi header: pins GPIO0–GPIO27 (or "0"–"27"),
// created on first use and the same Pin on every later use, so a test opens
// a pin through the driver and drives or watches it here.
type Board struct {
	// Immutable.
	clock *Clock

	// Mutable.
	mu   sync.Mutex
	pins map[int]*Pin // guarded by mu
}

// NewBoard returns a board whose pins use clock (nil: real time).
func NewBoard(clock *Clock) *Board {
	return &Board{clock: clock, pins: map[int]*Pin{}}
}

// Open returns the named pin; it has the signature of gpio.Open, so it can
// be given to drivers in its place.
func (b *Board) Open(name string) (gpio.PinIO, error) {
	p, err := b.Pin(name)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Pin returns the named pin for a test to drive or watch.
func (b *Board) Pin(name string) (*Pin, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "GPIO"))
	if err != nil || n < 0 || n > 27 {
		return nil, fmt.Errorf("gpiosim: unknown pin %q (want GPIO0–GPIO27)", name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pins[n]
	if p == nil {
		p = NewPin(fmt.Sprintf("GPIO%d", n), n, b.clock)
		b.pins[n] = p
	}
	return p, nil
}
