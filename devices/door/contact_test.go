package door_test

import (
	"testing"
	"time"

	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/internal/testkit"
)

func TestForcedOpen(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, baseConfig())
	if r.d.State() != door.StateClosed {
		t.Fatalf("initial state %s", r.d.State())
	}
	r.move(time.Second, gpio.High) // opened with the strike locked, no pulse
	r.advance(debounce)
	r.want(door.StateForced, time.Second)
	r.move(time.Second, gpio.Low)
	r.advance(debounce)
	r.want(door.StateClosed, 2*time.Second+debounce)
	r.none()

	// In locked mode any opening is forced.
	if err := r.d.SetMode(door.ModeLocked); err != nil {
		t.Fatal(err)
	}
	r.move(time.Second, gpio.High)
	r.advance(debounce)
	r.want(door.StateForced, 3*time.Second+2*debounce)
}

func TestOpenDuringPulse(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, baseConfig())
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r.move(time.Second, gpio.High)
	r.advance(debounce)
	r.want(door.StateOpen, time.Second)
	r.move(time.Second, gpio.Low)
	r.advance(debounce)
	r.want(door.StateClosed, 2*time.Second+debounce)
	r.advance(time.Second) // the pulse ends at 3 s
	r.waitRelay(3)

	// Pushed open in the pulse's last moment: the contact settles only after
	// the strike relocked, but it moved while released.
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	start := 3*time.Second + 2*debounce
	r.move(3*time.Second-10*time.Millisecond, gpio.High)
	r.advance(debounce)
	r.waitRelay(5)
	r.want(door.StateOpen, start+3*time.Second-10*time.Millisecond)

	// In held_open mode, openings are ordinary too.
	r.move(time.Second, gpio.Low)
	r.advance(debounce)
	r.want(door.StateClosed, start+3*time.Second+debounce+time.Second-10*time.Millisecond)
	if err := r.d.SetMode(door.ModeHeldOpen); err != nil {
		t.Fatal(err)
	}
	r.move(time.Second, gpio.High)
	r.advance(debounce)
	if e := <-r.d.Events(); e.State != door.StateOpen {
		t.Fatalf("opened in held_open mode: %s", e.State)
	}
}

func TestHeldOpen(t *testing.T) {
	testkit.NoLeaks(t)
	cfg := baseConfig()
	cfg.HeldOpenAfter = 20 * time.Second
	r := newRig(t, cfg)
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r.move(time.Second, gpio.High)
	r.advance(debounce)
	r.want(door.StateOpen, time.Second)
	r.advance(20*time.Second - debounce - time.Millisecond)
	r.none()
	r.advance(time.Millisecond)
	r.want(door.StateHeldOpen, 21*time.Second)
	r.advance(time.Hour)
	r.none() // once per opening, not a reminder every period
	r.move(0, gpio.Low)
	r.advance(debounce)
	r.want(door.StateClosed, 21*time.Second+time.Hour)

	// Closed again before the threshold: no held_open.
	r.move(time.Second, gpio.High)
	r.advance(debounce)
	r.want(door.StateForced, 22*time.Second+time.Hour+debounce)
	r.move(10*time.Second, gpio.Low)
	r.advance(debounce)
	r.want(door.StateClosed, 32*time.Second+time.Hour+2*debounce)
	r.advance(time.Minute)
	r.none()

	// Held open on purpose (held_open mode) is not an alarm.
	if err := r.d.SetMode(door.ModeHeldOpen); err != nil {
		t.Fatal(err)
	}
	r.move(time.Second, gpio.High)
	r.advance(debounce)
	r.want(door.StateOpen, 33*time.Second+time.Hour+time.Minute+3*debounce)
	r.advance(time.Minute)
	r.none()
}

// A bouncing contact gives one event per settled movement.
func TestContactBounce(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, baseConfig())
	if err := r.d.SetMode(door.ModeHeldOpen); err != nil {
		t.Fatal(err)
	}
	r.move(time.Second, gpio.High)
	for i := 0; i < 10; i++ {
		r.move(2*time.Millisecond, gpio.Low)
		r.move(3*time.Millisecond, gpio.High)
	}
	r.advance(debounce)
	r.want(door.StateOpen, time.Second+50*time.Millisecond) // the last bounce
	r.none()
	r.advance(time.Second)
	r.none()

	// Glitches shorter than the debounce while shut make nothing at all.
	r.move(0, gpio.Low)
	r.advance(debounce)
	r.want(door.StateClosed, 2*time.Second+50*time.Millisecond+debounce)
	for i := 0; i < 20; i++ {
		r.move(100*time.Millisecond, gpio.High)
		r.move(10*time.Millisecond, gpio.Low)
	}
	r.advance(time.Minute)
	r.none()
}

// A door open at start-up is open without an event, and held open once the
// threshold passes from start-up.
func TestOpenAtStart(t *testing.T) {
	testkit.NoLeaks(t)
	cfg := baseConfig()
	cfg.ContactClosed = "high" // the pin reads Low at start: open
	r := newRig(t, cfg)
	if r.d.State() != door.StateOpen {
		t.Fatalf("state %s", r.d.State())
	}
	r.none()
	r.advance(door.DefaultHeldOpenAfter)
	r.want(door.StateHeldOpen, door.DefaultHeldOpenAfter)
}

// A pulse ends at its time whenever its goroutine runs: the door opened
// after that is forced. The simulated clock jumps past the pulse's end in
// one step, as a loaded machine's scheduler may run the relock late in real
// time; before, the strike counted as released until the relock ran (here,
// at the jump's end, when the door opened).
func TestOpenedAfterPulseEnd(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, baseConfig())
	if err := r.d.Pulse(testkit.Ctx(t, 10*time.Second), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r.move(5*time.Second, gpio.High)
	r.advance(debounce)
	r.want(door.StateForced, 5*time.Second)
	r.waitRelay(3)
	if r.d.Released() {
		t.Errorf("released after the pulse: %s", r.relayLevels())
	}
}

// An opening is judged by the strike at the moment the contact moved: a
// pulse that began while the contact was still settling does not make an
// opening under the previous pulse forced.
func TestOpenJudgedAtItsMoment(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, baseConfig())
	ctx := testkit.Ctx(t, 10*time.Second)
	if err := r.d.Pulse(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r.move(3*time.Second-10*time.Millisecond, gpio.High) // in the pulse's last moment
	r.advance(10 * time.Millisecond)                     // the pulse ends
	r.waitRelay(3)
	if err := r.d.Pulse(ctx, 3*time.Second); err != nil { // the next badge, before the contact settled
		t.Fatal(err)
	}
	r.advance(debounce)
	r.want(door.StateOpen, 3*time.Second-10*time.Millisecond)
	r.none()
}
