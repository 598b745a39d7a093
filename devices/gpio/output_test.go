package gpio_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/internal/testkit"
)

var _ gpio.PinIO = (*gpiosim.Pin)(nil)
var _ gpio.Clock = (*gpiosim.Clock)(nil)
var _ gpio.Opener = gpio.Open
var _ gpio.Opener = (*gpiosim.Board)(nil).Open

func newOutput(t *testing.T, ctx context.Context, num int, safe gpio.Level, opts *gpio.OutputOpts) (*gpio.Output, *gpiosim.Pin, *gpiosim.Clock) {
	t.Helper()
	clk := gpiosim.NewClock(t0)
	pin := gpiosim.NewPin("relay", num, clk)
	if opts == nil {
		opts = &gpio.OutputOpts{}
	}
	opts.Clock = clk
	o, err := gpio.NewOutput(ctx, pin, safe, opts)
	if err != nil {
		t.Fatalf("NewOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o, pin, clk
}

func TestOutputSafeAtOpen(t *testing.T) {
	testkit.NoLeaks(t)
	for _, tc := range []struct {
		num  int
		safe gpio.Level
	}{
		{17, gpio.Low},  // pulled down at boot, relay energises on High
		{4, gpio.High},  // pulled up at boot, relay energises on Low
		{17, gpio.High}, // the wrong pin for the polarity: still safe once opened
	} {
		o, pin, _ := newOutput(t, testkit.Ctx(t, 10*time.Second), tc.num, tc.safe, nil)
		if !pin.IsOutput() || pin.Level() != tc.safe || o.Active() || o.Safe() != tc.safe {
			t.Errorf("pin %d safe %s: output %v level %s active %v", tc.num, tc.safe, pin.IsOutput(), pin.Level(), o.Active())
		}
		h := pin.History()
		if last := h[len(h)-1]; !last.Output || last.Level != tc.safe {
			t.Errorf("pin %d: history %s does not end driving %s", tc.num, levels(h), tc.safe)
		}
	}
}

func TestOutputSafeAtClose(t *testing.T) {
	testkit.NoLeaks(t)
	o, pin, _ := newOutput(t, testkit.Ctx(t, 10*time.Second), 17, gpio.Low, nil)
	if err := o.Set(true); err != nil || pin.Level() != gpio.High || !o.Active() {
		t.Fatalf("Set(true): %v, level %s", err, pin.Level())
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if pin.Level() != gpio.Low || o.Active() {
		t.Fatalf("after Close: level %s", pin.Level())
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := o.Set(true); !errors.Is(err, gpio.ErrClosed) {
		t.Errorf("Set after Close: %v", err)
	}
	if err := o.Pulse(testkit.Ctx(t, 10*time.Second), time.Second); !errors.Is(err, gpio.ErrClosed) {
		t.Errorf("Pulse after Close: %v", err)
	}
	if pin.Level() != gpio.Low {
		t.Errorf("level %s after refused calls", pin.Level())
	}
}

func TestOutputSafeAtCancel(t *testing.T) {
	testkit.NoLeaks(t)
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	o, pin, _ := newOutput(t, ctx, 4, gpio.High, nil)
	if err := o.Set(true); err != nil {
		t.Fatal(err)
	}
	n := len(pin.History())
	cancel()
	h, err := pin.WaitChanges(testkit.Ctx(t, 10*time.Second), n+1)
	if err != nil {
		t.Fatal(err)
	}
	if last := h[len(h)-1]; last.Level != gpio.High {
		t.Fatalf("after cancel: %s", levels(h))
	}
	if err := o.Close(); err != nil {
		t.Fatalf("Close after cancel: %v", err)
	}
	if err := o.Set(true); !errors.Is(err, gpio.ErrClosed) {
		t.Errorf("Set after cancel: %v", err)
	}
}

func TestPulseCap(t *testing.T) {
	ctx := testkit.Ctx(t, 10*time.Second)
	o, pin, _ := newOutput(t, ctx, 17, gpio.Low, nil)
	if o.MaxPulse() != gpio.DefaultMaxPulse {
		t.Errorf("MaxPulse %v", o.MaxPulse())
	}
	before := len(pin.History())
	for _, d := range []time.Duration{0, -time.Second} {
		if err := o.Pulse(ctx, d); err == nil || errors.Is(err, gpio.ErrPulseTooLong) || !strings.Contains(err.Error(), "positive") {
			t.Errorf("Pulse(%v) = %v, want a refusal saying it must be positive", d, err)
		}
	}
	for _, d := range []time.Duration{5*time.Second + 1, 6 * time.Second, time.Hour} {
		err := o.Pulse(ctx, d)
		if !errors.Is(err, gpio.ErrPulseTooLong) || !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), "5s") {
			t.Errorf("Pulse(%v) = %v, want a refusal naming %v and the 5s maximum", d, err, d)
		}
	}
	o2, pin2, _ := newOutput(t, ctx, 18, gpio.Low, &gpio.OutputOpts{MaxPulse: 2 * time.Second})
	if err := o2.Pulse(ctx, 3*time.Second); !errors.Is(err, gpio.ErrPulseTooLong) || !strings.Contains(err.Error(), "2s") {
		t.Errorf("Pulse(3s) with a 2s cap = %v", err)
	}
	if len(pin.History()) != before || pin.Level() != gpio.Low || len(pin2.History()) != 1 {
		t.Errorf("a refused pulse moved the pin: %s / %s", levels(pin.History()), levels(pin2.History()))
	}
	if _, err := gpio.NewOutput(ctx, gpiosim.NewPin("x", 20, nil), gpio.Low, &gpio.OutputOpts{MaxPulse: -1}); err == nil {
		t.Error("negative MaxPulse accepted")
	}
}

// pulse runs o.Pulse in a goroutine and returns its result channel once the
// pulse is waiting on the clock.
func pulse(t *testing.T, ctx context.Context, o *gpio.Output, clk *gpiosim.Clock, d time.Duration) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- o.Pulse(ctx, d) }()
	if err := clk.WaitTimers(testkit.Ctx(t, 10*time.Second), 1); err != nil {
		t.Fatalf("pulse never started: %v", err)
	}
	return done
}

func TestPulse(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	o, pin, clk := newOutput(t, ctx, 17, gpio.Low, nil)
	done := pulse(t, ctx, o, clk, 3*time.Second)
	if pin.Level() != gpio.High || !o.Active() {
		t.Fatalf("during the pulse: %s", levels(pin.History()))
	}
	clk.Advance(2999 * time.Millisecond)
	if pin.Level() != gpio.High {
		t.Fatalf("pulse ended early: %s", levels(pin.History()))
	}
	clk.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := levels(pin.History()), "L@0s H@0s L@3s"; got != want {
		t.Errorf("history %s, want %s", got, want)
	}
	if o.Active() {
		t.Error("still active after the pulse")
	}
}

func TestPulseCancelledReturnsToSafe(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	o, pin, clk := newOutput(t, ctx, 4, gpio.High, nil)
	pctx, cancel := context.WithCancel(ctx)
	done := pulse(t, pctx, o, clk, 5*time.Second)
	clk.Advance(time.Second)
	cancel()
	err := <-done
	if !errors.Is(err, gpio.ErrPulseCutShort) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1s of 5s") {
		t.Fatalf("Pulse = %v, want cut short by cancellation after 1s of 5s", err)
	}
	if got, want := levels(pin.History()), "H@0s L@0s H@1s"; got != want {
		t.Errorf("history %s, want %s", got, want)
	}
	// The Output outlives a cancelled pulse.
	done = pulse(t, ctx, o, clk, time.Second)
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPulseOutputContextCancelled(t *testing.T) {
	testkit.NoLeaks(t)
	octx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	o, pin, clk := newOutput(t, octx, 17, gpio.Low, nil)
	done := pulse(t, testkit.Ctx(t, 10*time.Second), o, clk, 5*time.Second)
	cancel()
	err := <-done
	if !errors.Is(err, gpio.ErrPulseCutShort) || !errors.Is(err, gpio.ErrClosed) {
		t.Fatalf("Pulse = %v", err)
	}
	if pin.Level() != gpio.Low {
		t.Errorf("history %s", levels(pin.History()))
	}
}

func TestPulseClosed(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	o, pin, clk := newOutput(t, ctx, 17, gpio.Low, nil)
	done := pulse(t, ctx, o, clk, 5*time.Second)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, gpio.ErrClosed) {
		t.Fatalf("Pulse = %v", err)
	}
	if pin.Level() != gpio.Low {
		t.Errorf("history %s", levels(pin.History()))
	}
}

func TestPulseRefusedWhilePulsing(t *testing.T) {
	ctx := testkit.Ctx(t, 10*time.Second)
	o, pin, clk := newOutput(t, ctx, 17, gpio.Low, nil)
	done := pulse(t, ctx, o, clk, 4*time.Second)
	if err := o.Pulse(ctx, time.Second); !errors.Is(err, gpio.ErrPulsing) {
		t.Errorf("second Pulse = %v", err)
	}
	clk.Advance(4 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := levels(pin.History()), "L@0s H@0s L@4s"; got != want {
		t.Errorf("history %s, want %s", got, want)
	}
}

func TestSetEndsPulse(t *testing.T) {
	ctx := testkit.Ctx(t, 10*time.Second)
	o, pin, clk := newOutput(t, ctx, 17, gpio.Low, nil)
	done := pulse(t, ctx, o, clk, 4*time.Second)
	clk.Advance(time.Second)
	if err := o.Set(true); err != nil { // e.g. door held open by command
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, gpio.ErrPulseCutShort) {
		t.Fatalf("Pulse = %v", err)
	}
	clk.Advance(10 * time.Second)
	if pin.Level() != gpio.High || !o.Active() {
		t.Errorf("the pulse's end overrode Set: %s", levels(pin.History()))
	}
}

func TestOutputFailures(t *testing.T) {
	ctx := testkit.Ctx(t, 10*time.Second)
	pin := gpiosim.NewPin("relay", 17, nil)
	pin.SetOutError(gpiosim.ErrOutFailed)
	_, err := gpio.NewOutput(ctx, pin, gpio.Low, nil)
	if !errors.Is(err, gpiosim.ErrOutFailed) || !strings.Contains(err.Error(), "relay(17)") {
		t.Fatalf("NewOutput on a failing pin = %v", err)
	}
	if pin.IsOutput() || len(pin.History()) != 0 {
		t.Fatalf("failing pin changed: %s", levels(pin.History()))
	}

	o, pin, _ := newOutput(t, ctx, 17, gpio.Low, nil)
	pin.SetOutError(gpiosim.ErrOutFailed)
	if err := o.Pulse(ctx, time.Second); !errors.Is(err, gpiosim.ErrOutFailed) {
		t.Errorf("Pulse on a failing pin = %v", err)
	}
	if !o.Active() {
		t.Error("an output whose pin failed claims to be safe")
	}
	if err := o.Close(); !errors.Is(err, gpiosim.ErrOutFailed) {
		t.Errorf("Close on a failing pin = %v", err)
	}
	if err := o.Close(); !errors.Is(err, gpiosim.ErrOutFailed) {
		t.Errorf("second Close forgot the failure: %v", err)
	}
}
