package gpiosim_test

import (
	"testing"
	"time"

	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/link"
)

// TestOneClock: the simulated clock drives GPIO drivers, serial port
// supervisors and links alike, since all take the module's clock interface;
// a re-armed timer fires once, at its new deadline.
func TestOneClock(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	c := gpiosim.NewClock(t0)
	var _ gpio.Clock = c
	var _ serialport.Clock = c
	var _ link.Clock = c

	tm := c.NewTimer(time.Second)
	tm.Reset(3 * time.Second)
	if n := c.Timers(); n != 1 {
		t.Fatalf("%d timers pending after a Reset, want 1", n)
	}
	c.Advance(2 * time.Second)
	select {
	case at := <-tm.C():
		t.Fatalf("fired at %v, before its new deadline", at)
	default:
	}
	c.Advance(time.Second)
	if at := <-tm.C(); !at.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("fired at %v, want %v", at, t0.Add(3*time.Second))
	}
	tm.Reset(time.Second)
	tm.Stop()
	c.Advance(time.Hour)
	select {
	case at := <-tm.C():
		t.Errorf("a stopped timer fired at %v", at)
	default:
	}
	if n := c.Timers(); n != 0 {
		t.Errorf("%d timers pending, want 0", n)
	}
}
