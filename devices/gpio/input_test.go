package gpio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/internal/testkit"
)

type inputRig struct {
	t     *testing.T
	pin   *gpiosim.Pin
	clk   *gpiosim.Clock
	in    *gpio.Input
	edges <-chan gpio.Edge
	stop  context.CancelFunc
}

func newInputRig(t *testing.T, num int, opts *gpio.InputOpts) *inputRig {
	t.Helper()
	clk := gpiosim.NewClock(t0)
	pin := gpiosim.NewPin("pir", num, clk)
	if opts == nil {
		opts = &gpio.InputOpts{}
	}
	opts.Clock = clk
	in, err := gpio.NewInput(pin, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	edges, err := in.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &inputRig{t: t, pin: pin, clk: clk, in: in, edges: edges, stop: cancel}
	r.idle()
	t.Cleanup(r.close)
	return r
}

// idle waits until the input's goroutine has taken in everything so far.
func (r *inputRig) idle() {
	r.t.Helper()
	if err := r.pin.WaitIdle(testkit.Ctx(r.t, 10*time.Second)); err != nil {
		r.t.Fatalf("input never went idle: %v", err)
	}
}

// step advances the clock by d and then drives l, waiting for the input to
// take in each.
func (r *inputRig) step(d time.Duration, l gpio.Level) {
	r.t.Helper()
	r.clk.Advance(d)
	r.idle()
	if err := r.pin.Drive(l); err != nil {
		r.t.Fatal(err)
	}
	r.idle()
}

func (r *inputRig) advance(d time.Duration) {
	r.t.Helper()
	r.clk.Advance(d)
	r.idle()
}

// none checks that no edge is waiting.
func (r *inputRig) none() {
	r.t.Helper()
	select {
	case e := <-r.edges:
		r.t.Fatalf("unexpected edge %s at %v", e.Level, e.Time.Sub(t0))
	default:
	}
}

func (r *inputRig) want(l gpio.Level, at time.Duration) {
	r.t.Helper()
	select {
	case e := <-r.edges:
		if e.Level != l || !e.Time.Equal(t0.Add(at)) {
			r.t.Fatalf("edge %s at %v, want %s at %v", e.Level, e.Time.Sub(t0), l, at)
		}
	case <-testkit.Ctx(r.t, 10*time.Second).Done():
		r.t.Fatalf("no edge; want %s at %v", l, at)
	}
	if r.in.Level() != l {
		r.t.Fatalf("Level() = %s after an edge to %s", r.in.Level(), l)
	}
}

// close cancels Run and waits for its goroutine: the channel closes only
// when it has ended.
func (r *inputRig) close() {
	r.stop()
	r.clk.Advance(gpio.DefaultPoll) // wake a WaitForEdge on the manual clock
	for range r.edges {
	}
}

func TestInputDebouncesBounces(t *testing.T) {
	testkit.NoLeaks(t)
	r := newInputRig(t, 17, nil) // pulled down: starts Low
	if r.in.Level() != gpio.Low {
		t.Fatalf("initial level %s", r.in.Level())
	}
	// A contact closing: it bounces for 8 ms, then holds High.
	r.step(time.Second, gpio.High)
	r.step(2*time.Millisecond, gpio.Low)
	r.step(3*time.Millisecond, gpio.High)
	r.step(1*time.Millisecond, gpio.Low)
	r.step(2*time.Millisecond, gpio.High) // settles at 1.008 s
	r.advance(49 * time.Millisecond)
	r.none()
	r.advance(time.Millisecond)
	r.want(gpio.High, time.Second+8*time.Millisecond)
	r.none()

	// Opening bounces too, then holds Low.
	r.step(2*time.Second, gpio.Low)
	r.step(time.Millisecond, gpio.High)
	r.step(time.Millisecond, gpio.Low)
	r.advance(time.Second)
	r.want(gpio.Low, 1058*time.Millisecond+2*time.Second+2*time.Millisecond) // settled at 3.060 s
	r.none()
}

func TestInputIgnoresGlitches(t *testing.T) {
	testkit.NoLeaks(t)
	r := newInputRig(t, 4, &gpio.InputOpts{Debounce: 20 * time.Millisecond}) // pulled up: starts High
	if r.in.Level() != gpio.High {
		t.Fatalf("initial level %s", r.in.Level())
	}
	for i := 0; i < 10; i++ { // electrical noise: 19 ms low spikes
		r.step(100*time.Millisecond, gpio.Low)
		r.step(19*time.Millisecond, gpio.High)
	}
	r.advance(time.Minute)
	r.none()
	if r.in.Level() != gpio.High {
		t.Errorf("Level() = %s", r.in.Level())
	}
	r.step(time.Second, gpio.Low)
	r.advance(20 * time.Millisecond)
	r.want(gpio.Low, 10*119*time.Millisecond+time.Minute+time.Second)
}

func TestInputPollsWithPositiveTimeouts(t *testing.T) {
	testkit.NoLeaks(t)
	r := newInputRig(t, 22, &gpio.InputOpts{Poll: 100 * time.Millisecond})
	// Nothing happens for a minute: the reader wakes every poll with a
	// timer it stops, and reports nothing.
	for i := 0; i < 600; i++ {
		r.advance(100 * time.Millisecond)
	}
	r.none()
	if n := r.clk.Timers(); n != 1 {
		t.Errorf("%d timers pending, want the reader's one", n)
	}
}

func TestInputStopsOnCancel(t *testing.T) {
	testkit.NoLeaks(t)
	r := newInputRig(t, 17, nil)
	r.step(time.Second, gpio.High)
	r.stop()
	r.clk.Advance(gpio.DefaultPoll)
	// The edge that was settling may or may not be delivered; the channel
	// must close either way.
	for range r.edges {
	}
}

func TestInputOptions(t *testing.T) {
	pin := gpiosim.NewPin("b", 17, nil)
	for _, o := range []gpio.InputOpts{{Debounce: -1}, {Poll: -1}, {Poll: time.Microsecond}} {
		if _, err := gpio.NewInput(pin, &o); err == nil {
			t.Errorf("NewInput(%+v) accepted", o)
		}
	}
	in, err := gpio.NewInput(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	defer cancel()
	edges, err := in.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Run(ctx); !errors.Is(err, gpio.ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
	cancel()
	for range edges { // real clock: ends within DefaultPoll
	}
}

func TestInputPull(t *testing.T) {
	testkit.NoLeaks(t)
	r := newInputRig(t, 17, &gpio.InputOpts{Pull: gpio.PullUp})
	if r.pin.Pull() != gpio.PullUp || r.in.Level() != gpio.High {
		t.Errorf("pull %s level %s", r.pin.Pull(), r.in.Level())
	}
}
