package devices_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/firmware-bridge/link"
)

// TestOneBusy: back-pressure has one sentinel from the journal to every
// device. The intake answers a link device with link.ErrBusy and a driver with
// devices.ErrBusy; a driver that checks either must recognise both, and a busy
// door must read as busy to a caller that knows only the driver contract.
func TestOneBusy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		target error
	}{
		{"a link refusal seen by a driver", fmt.Errorf("intake: %w: disk full", link.ErrBusy), devices.ErrBusy},
		{"a driver refusal seen by a link", fmt.Errorf("intake: %w: disk full", devices.ErrBusy), link.ErrBusy},
		{"a busy door seen by the driver contract", fmt.Errorf("kiosk: %w", door.ErrBusy), devices.ErrBusy},
	} {
		if !errors.Is(tc.err, tc.target) {
			t.Errorf("%s: errors.Is(%q, %q) = false", tc.name, tc.err, tc.target)
		}
	}
	if errors.Is(devices.ErrBusy, door.ErrBusy) {
		t.Error("devices.ErrBusy matches door.ErrBusy: a full journal would read as a released strike")
	}
}
