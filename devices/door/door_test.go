package door_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/internal/testkit"
)

// Boot: before the gateway opens the pin, the board's pull holds the relay
// at the locked level; Open drives that same level. Both polarities.
func TestBootIsLocked(t *testing.T) {
	testkit.NoLeaks(t)
	for _, tc := range []struct {
		pin, active string
		locked      gpio.Level
	}{
		{"GPIO17", "high", gpio.Low}, // pulled down at reset, relay energises on High
		{"GPIO5", "low", gpio.High},  // pulled up at reset, relay energises on Low
	} {
		clk := gpiosim.NewClock(t0)
		board := gpiosim.NewBoard(clk)
		pin, _ := board.Pin(tc.pin)
		if pin.Level() != tc.locked {
			t.Fatalf("%s at reset reads %s: this wiring would not be fail-secure", tc.pin, pin.Level())
		}
		d, err := door.Open(testkit.Ctx(t, 10*time.Second), board.Open, door.Config{RelayPin: tc.pin, RelayActive: tc.active, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		if !pin.IsOutput() || pin.Level() != tc.locked || d.Released() || d.Mode() != door.ModeNormal || d.State() != door.StateUnknown {
			t.Errorf("%s after Open: output %v level %s released %v mode %s state %s",
				tc.pin, pin.IsOutput(), pin.Level(), d.Released(), d.Mode(), d.State())
		}
		for _, c := range pin.History() {
			if c.Level != tc.locked {
				t.Errorf("%s went to %s at start-up", tc.pin, c.Level)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPulseTiming(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, door.Config{RelayPin: "GPIO17", RelayActive: "high"})
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if !r.d.Released() || r.relay.Level() != gpio.High {
		t.Fatalf("not released during the pulse: %s", r.relayLevels())
	}
	r.advance(3*time.Second - time.Millisecond)
	if r.relay.Level() != gpio.High {
		t.Fatalf("relocked early: %s", r.relayLevels())
	}
	r.advance(time.Millisecond)
	r.waitRelay(3)
	if got := r.relayLevels(); got != "L@0s H@0s L@3s" {
		t.Errorf("relay %s, want L@0s H@0s L@3s", got)
	}
	if r.d.Released() {
		t.Error("Released after the pulse")
	}
	// 0 means the configured maximum.
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	r.advance(door.DefaultMaxPulse)
	r.waitRelay(5)
	if got := r.relayLevels(); !strings.HasSuffix(got, "H@3s L@8s") {
		t.Errorf("relay %s, want a 5 s pulse from 3 s", got)
	}
}

func TestPulseCap(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, door.Config{RelayPin: "GPIO17", RelayActive: "high"})
	for _, d := range []time.Duration{door.DefaultMaxPulse + time.Nanosecond, time.Minute} {
		err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), d)
		if !errors.Is(err, door.ErrPulseTooLong) || !errors.Is(err, gpio.ErrPulseTooLong) ||
			!strings.Contains(err.Error(), "not shortened") || !strings.Contains(err.Error(), d.String()) ||
			!strings.Contains(err.Error(), "max_pulse is 5s") {
			t.Errorf("Pulse(%v) = %v, want ErrPulseTooLong saying so", d, err)
		}
	}
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), -time.Second); err == nil || errors.Is(err, door.ErrPulseTooLong) {
		t.Errorf("negative pulse: %v", err)
	}
	if got := r.relayLevels(); got != "L@0s" {
		t.Errorf("refused pulses moved the relay: %s", got)
	}

	// Configuration may raise the cap up to 30 s.
	r2 := newRig(t, door.Config{RelayPin: "GPIO17", RelayActive: "high", MaxPulse: 30 * time.Second})
	if err := r2.d.Pulse(testkit.Ctx(t, 10*time.Second), 30*time.Second); err != nil {
		t.Errorf("30 s pulse with max_pulse 30s: %v", err)
	}
	if err := r2.d.Pulse(testkit.Ctx(t, 10*time.Second), time.Second); !errors.Is(err, door.ErrBusy) {
		t.Errorf("%v", err)
	}

	// A cancelled context refuses the start.
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	cancel()
	if err := r.d.Pulse(ctx, time.Second); !errors.Is(err, context.Canceled) || r.d.Released() {
		t.Errorf("Pulse with a cancelled ctx: %v", err)
	}
}

func TestPulseBusy(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, door.Config{RelayPin: "GPIO17", RelayActive: "high"})
	ctx := testkit.Ctx(t, 10*time.Second)
	if err := r.d.Pulse(ctx, 4*time.Second); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Second)
	// A retried command must not stretch the unlock.
	if err := r.d.Pulse(ctx, 4*time.Second); !errors.Is(err, door.ErrBusy) {
		t.Fatalf("second Pulse = %v, want ErrBusy", err)
	}
	r.advance(3 * time.Second)
	r.waitRelay(3)
	if err := r.d.Pulse(ctx, time.Second); err != nil {
		t.Fatalf("Pulse after the first ended: %v", err)
	}
	r.advance(time.Second)
	r.waitRelay(5)
	if got := r.relayLevels(); got != "L@0s H@0s L@4s H@4s L@5s" {
		t.Errorf("relay %s", got)
	}
}

func TestModes(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, door.Config{RelayPin: "GPIO17", RelayActive: "high"})
	ctx := testkit.Ctx(t, 10*time.Second)

	if err := r.d.SetMode(door.ModeLocked); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Pulse(ctx, time.Second); !errors.Is(err, door.ErrLocked) || r.relay.Level() != gpio.Low {
		t.Fatalf("Pulse in locked mode = %v, relay %s", err, r.relay.Level())
	}

	if err := r.d.SetMode(door.ModeHeldOpen); err != nil || r.d.Mode() != door.ModeHeldOpen {
		t.Fatal(err)
	}
	r.advance(time.Hour) // no cap on a mode
	if r.relay.Level() != gpio.High || !r.d.Released() {
		t.Fatalf("held_open: relay %s", r.relayLevels())
	}
	if err := r.d.Pulse(ctx, time.Second); !errors.Is(err, door.ErrBusy) {
		t.Errorf("Pulse in held_open mode = %v, want ErrBusy", err)
	}
	if err := r.d.SetMode(door.ModeNormal); err != nil {
		t.Fatal(err)
	}
	if r.relay.Level() != gpio.Low || r.d.Released() {
		t.Fatalf("back to normal: relay %s", r.relayLevels())
	}

	// Locking ends a running pulse at once, and its timer changes nothing later.
	if err := r.d.Pulse(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.d.SetMode(door.ModeNormal); err != nil || r.relay.Level() != gpio.High {
		t.Fatalf("normal while normal ended the pulse: %v, %s", err, r.relayLevels())
	}
	r.advance(time.Second)
	if err := r.d.SetMode(door.ModeLocked); err != nil || r.relay.Level() != gpio.Low {
		t.Fatalf("locked during a pulse: %v, %s", err, r.relayLevels())
	}
	if err := r.d.SetMode(door.ModeNormal); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Minute)
	if got := r.relayLevels(); got != "L@0s H@0s L@1h0m0s H@1h0m0s L@1h0m1s" {
		t.Errorf("relay %s", got)
	}

	if err := r.d.SetMode("open"); !errors.Is(err, door.ErrBadMode) || !strings.Contains(err.Error(), `"open"`) {
		t.Errorf("SetMode(open) = %v", err)
	}
}

// Close, or a cancelled context (a crash of the program is the board's
// pull, see TestBootIsLocked), leave the strike locked whatever it was doing.
func TestCloseAndCancelLock(t *testing.T) {
	testkit.NoLeaks(t)
	t.Run("close in held_open", func(t *testing.T) {
		r := newRig(t, baseConfig())
		if err := r.d.SetMode(door.ModeHeldOpen); err != nil {
			t.Fatal(err)
		}
		if err := r.close(); err != nil {
			t.Fatal(err)
		}
		if r.relay.Level() != gpio.Low || r.d.Released() {
			t.Fatalf("after Close: %s", r.relayLevels())
		}
		if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), time.Second); !errors.Is(err, door.ErrClosed) {
			t.Errorf("Pulse after Close = %v", err)
		}
		if err := r.d.SetMode(door.ModeHeldOpen); !errors.Is(err, door.ErrClosed) || r.relay.Level() != gpio.Low {
			t.Errorf("SetMode after Close = %v, relay %s", err, r.relay.Level())
		}
		if _, ok := <-r.d.Events(); ok {
			t.Error("Events still open after Close")
		}
		if err := r.d.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("cancel during a pulse", func(t *testing.T) {
		r := newRig(t, baseConfig())
		if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		r.cancel()
		r.waitRelay(3)
		if r.relay.Level() != gpio.Low || r.d.Released() {
			t.Fatalf("after cancel: %s, released %v", r.relayLevels(), r.d.Released())
		}
		if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), time.Second); !errors.Is(err, door.ErrClosed) {
			t.Errorf("Pulse after cancel = %v", err)
		}
		if err := r.close(); err != nil {
			t.Fatal(err)
		}
		r.advance(time.Minute)
		if got := r.relayLevels(); got != "L@0s H@0s L@0s" {
			t.Errorf("relay %s", got)
		}
	})
}

func TestRelayFailure(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, door.Config{RelayPin: "GPIO17", RelayActive: "high"})
	r.relay.SetOutError(gpiosim.ErrOutFailed)
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), time.Second); !errors.Is(err, gpiosim.ErrOutFailed) {
		t.Fatalf("Pulse on a failing relay = %v", err)
	}
	if !r.d.Released() {
		t.Error("a relay in an unknown state is reported locked")
	}
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), time.Second); !errors.Is(err, door.ErrBusy) {
		t.Errorf("Pulse after a failure = %v, want ErrBusy until locked again", err)
	}
	r.relay.SetOutError(nil)
	if err := r.d.SetMode(door.ModeLocked); err != nil || r.d.Released() || r.relay.Level() != gpio.Low {
		t.Fatalf("SetMode(locked) after recovery: %v, %s", err, r.relayLevels())
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  door.Config
		want string
	}{
		{door.Config{RelayActive: "high"}, "relay_pin is empty"},
		{door.Config{RelayPin: "GPIO17"}, `relay_active: "" is not`},
		{door.Config{RelayPin: "GPIO17", RelayActive: "1"}, `relay_active: "1"`},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", MaxPulse: 31 * time.Second}, "max_pulse 31s"},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", MaxPulse: -time.Second}, "max_pulse -1s"},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", HeldOpenAfter: -time.Second}, "held_open_after -1s"},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", ContactPin: "GPIO4"}, `contact_closed: ""`},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", ContactPin: "GPIO17", ContactClosed: "low"}, "is the relay pin"},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", ContactPin: "GPIO4", ContactClosed: "low", ContactPull: "sideways"}, `contact_pull: "sideways"`},
		{door.Config{RelayPin: "GPIO17", RelayActive: "high", ContactPin: "GPIO4", ContactClosed: "low", ContactDebounce: -1}, "contact_debounce"},
	} {
		err := tc.cfg.Validate()
		if !errors.Is(err, door.ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want ErrBadConfig containing %q", tc.cfg, err, tc.want)
		}
	}
	cfg := baseConfig()
	if err := cfg.Validate(); err != nil || cfg.MaxPulse != 5*time.Second || cfg.HeldOpenAfter != 30*time.Second || cfg.ContactDebounce != gpio.DefaultDebounce {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	board := gpiosim.NewBoard(nil)
	if _, err := door.Open(testkit.Ctx(t, 10*time.Second), board.Open, door.Config{RelayPin: "GPIO99", RelayActive: "high"}); err == nil || !strings.Contains(err.Error(), `relay_pin "GPIO99"`) {
		t.Errorf("Open with an unknown pin: %v", err)
	}
	relay, _ := board.Pin("GPIO17")
	if _, err := door.Open(testkit.Ctx(t, 10*time.Second), board.Open, door.Config{RelayPin: "GPIO17", RelayActive: "high", ContactPin: "LED", ContactClosed: "low"}); err == nil ||
		!strings.Contains(err.Error(), `contact_pin "LED"`) || relay.Level() != gpio.Low {
		t.Errorf("Open with an unknown contact pin: %v, relay %s", err, relay.Level())
	}
}
