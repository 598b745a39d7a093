package pir_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/pir"
	"github.com/officegate/officegate/internal/testkit"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// rig runs a Sensor on a simulated pin with a manual clock.
type rig struct {
	t      *testing.T
	clk    *gpiosim.Clock
	pin    *gpiosim.Pin
	s      *pir.Sensor
	events chan devices.Event
	cancel context.CancelFunc
	done   chan error
}

// newRig starts a sensor on GPIO23 (pulled down: no motion at start) with
// opts; Pin and Clock are filled in.
func newRig(t *testing.T, opts pir.Opts) *rig {
	t.Helper()
	clk := gpiosim.NewClock(t0)
	board := gpiosim.NewBoard(clk)
	pin, err := board.Pin("GPIO23")
	if err != nil {
		t.Fatal(err)
	}
	opts.Pin, opts.Clock = "GPIO23", clk
	s, err := pir.New("pir-1", board.Open, &opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clk: clk, pin: pin, s: s, events: make(chan devices.Event, 1000), done: make(chan error, 1)}
	sink := devices.SinkFunc(func(_ context.Context, e devices.Event) error {
		if err := e.Check(); err != nil {
			t.Errorf("invalid event: %v", err)
		}
		r.events <- e
		return nil
	})
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	r.cancel = cancel
	go func() { r.done <- s.Run(ctx, sink) }()
	r.idle()
	t.Cleanup(func() { r.stop() })
	return r
}

// idle waits until the input's goroutine has taken in everything so far.
func (r *rig) idle() {
	r.t.Helper()
	if err := r.pin.WaitIdle(testkit.Ctx(r.t, 10*time.Second)); err != nil {
		r.t.Fatalf("input never went idle: %v", err)
	}
}

// timers waits until n timers are pending on the clock: the input's poll
// plus the sensor's warm-up or hold timer.
func (r *rig) timers(n int) {
	r.t.Helper()
	if err := r.clk.WaitTimers(testkit.Ctx(r.t, 10*time.Second), n); err != nil {
		r.t.Fatalf("%d timers never pending (have %d): %v", n, r.clk.Timers(), err)
	}
}

// motions waits until the sensor has counted n motions: it has taken in
// every edge up to the n-th rising one.
func (r *rig) motions(n uint64) {
	r.t.Helper()
	ctx := testkit.Ctx(r.t, 10*time.Second)
	for r.s.Stats().Motions < n {
		if ctx.Err() != nil {
			r.t.Fatalf("%d motions, want %d", r.s.Stats().Motions, n)
		}
		runtime.Gosched()
	}
}

func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	r.clk.Advance(d)
	r.idle()
}

func (r *rig) drive(l gpio.Level) {
	r.t.Helper()
	if err := r.pin.Drive(l); err != nil {
		r.t.Fatal(err)
	}
	r.idle()
}

// pulse drives the sensor active for on, then inactive for off.
func (r *rig) pulse(on, off time.Duration) {
	r.t.Helper()
	r.drive(gpio.High)
	r.advance(on)
	r.drive(gpio.Low)
	r.advance(off)
}

// want takes the next event and checks its state and time (from t0).
func (r *rig) want(state pir.State, at time.Duration) devices.Event {
	r.t.Helper()
	select {
	case e := <-r.events:
		if e.Type != pir.EventOccupancy || e.Data["state"] != string(state) || !e.Time.Equal(t0.Add(at)) {
			r.t.Fatalf("event %s %v at %v, want %s at %v", e.Type, e.Data, e.Time.Sub(t0), state, at)
		}
		return e
	case <-testkit.Ctx(r.t, 10*time.Second).Done():
		r.t.Fatalf("no event; want %s at %v", state, at)
	}
	return devices.Event{}
}

// stop cancels Run and waits for it, moving the clock so that the input's
// wait on it ends.
func (r *rig) stop() error {
	r.cancel()
	ctx := testkit.Ctx(r.t, 10*time.Second)
	for {
		select {
		case err := <-r.done:
			r.done <- err // stop may be called again by Cleanup
			return err
		case <-ctx.Done():
			r.t.Fatal("Run did not return after cancel")
			return ctx.Err()
		default:
			r.clk.Advance(gpio.DefaultPoll)
			runtime.Gosched()
		}
	}
}

func TestWarmupIgnoresMotion(t *testing.T) {
	r := newRig(t, pir.Opts{})
	r.timers(2) // poll and warm-up
	if r.s.State() != pir.StateUnknown || r.s.Occupied() {
		t.Fatalf("state %s during warm-up", r.s.State())
	}
	for i := 0; i < 5; i++ { // false triggers after power-up
		r.pulse(2*time.Second, 5*time.Second)
	}
	r.advance(time.Minute) // past the warm-up end at 60 s
	r.want(pir.StateVacant, time.Minute)
	if r.s.State() != pir.StateVacant {
		t.Errorf("state %s after warm-up", r.s.State())
	}
	r.pulse(time.Second, 0) // real motion at 95 s
	e := r.want(pir.StateOccupied, 95*time.Second)
	if e.Data["initial"] != nil {
		t.Errorf("data %v: only the first report is initial", e.Data)
	}
	st := r.s.Stats()
	if st.IgnoredWarmup != 5 || st.Motions != 1 {
		t.Errorf("stats %+v, want 5 ignored and 1 motion", st)
	}
	if !r.s.LastMotion().Equal(t0.Add(95 * time.Second)) {
		t.Errorf("last motion %v", r.s.LastMotion())
	}
}

func TestWarmupEndsOnActiveLevel(t *testing.T) {
	r := newRig(t, pir.Opts{})
	r.timers(2)
	r.advance(30 * time.Second)
	r.drive(gpio.High) // still triggering when the warm-up ends
	r.advance(time.Second)
	r.advance(29 * time.Second)
	e := r.want(pir.StateOccupied, time.Minute)
	if e.Data["initial"] != true {
		t.Errorf("data %v: first report not marked initial", e.Data)
	}
}

func TestDebounceDropsGlitches(t *testing.T) {
	r := newRig(t, pir.Opts{Warmup: pir.NoWarmup})
	r.want(pir.StateVacant, 0)
	for i := 0; i < 20; i++ { // 10 ms spikes on a long cable
		r.pulse(10*time.Millisecond, time.Second)
	}
	r.pulse(time.Second, 0)
	r.want(pir.StateOccupied, 20*1010*time.Millisecond)
	if st := r.s.Stats(); st.Motions != 1 {
		t.Errorf("%d motions, want 1", st.Motions)
	}
}

func TestHoldExtendsWithMotion(t *testing.T) {
	hold := 5 * time.Minute
	r := newRig(t, pir.Opts{Warmup: pir.NoWarmup})
	r.want(pir.StateVacant, 0)
	r.advance(time.Second)
	r.pulse(2*time.Second, 4*time.Minute)        // motion at 1 s, ends at 3 s
	r.pulse(2*time.Second, gpio.DefaultDebounce) // motion at 4m3s, ends at 4m5s
	r.motions(2)
	r.timers(2)                   // the hold of the second motion
	r.advance(hold - time.Second) // past the first hold's end (5m3s)
	if !r.s.Occupied() {
		t.Fatal("vacant before the extended hold ended")
	}
	r.advance(time.Second)
	r.want(pir.StateOccupied, time.Second)
	e := r.want(pir.StateVacant, 4*time.Minute+5*time.Second+hold)
	if e.Data["last_motion"] != "2026-11-24T09:04:03.000Z" || e.Data["hold_s"] != int64(300) {
		t.Errorf("vacant data %v", e.Data)
	}
}

func TestStormGivesOneEventPerTransition(t *testing.T) {
	hold := 10 * time.Second
	r := newRig(t, pir.Opts{Warmup: pir.NoWarmup, Debounce: 20 * time.Millisecond, Hold: hold})
	r.want(pir.StateVacant, 0)
	for round := 0; round < 2; round++ {
		start := r.clk.Now().Sub(t0)
		for i := 0; i < 100; i++ { // 10 Hz for 10 s
			r.pulse(50*time.Millisecond, 50*time.Millisecond)
		}
		lastFall := r.clk.Now().Sub(t0) - 50*time.Millisecond
		r.motions(uint64(100 * (round + 1)))
		r.timers(2) // no hold runs before the last fall: this is its hold
		r.advance(hold)
		r.want(pir.StateOccupied, start)
		r.want(pir.StateVacant, lastFall+hold)
		r.advance(time.Minute)
	}
	if st := r.s.Stats(); st.Motions != 200 {
		t.Errorf("stats %+v, want 200 motions", st)
	}
	select {
	case e := <-r.events:
		t.Errorf("extra event %v", e.Data)
	default:
	}
}

func TestCancelStopsCleanly(t *testing.T) {
	testkit.NoLeaks(t)
	r := newRig(t, pir.Opts{Warmup: pir.NoWarmup})
	r.want(pir.StateVacant, 0)
	r.drive(gpio.High)
	if !r.s.Status().Online {
		t.Error("not online while running")
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if r.s.Status().Online {
		t.Error("online after Run returned")
	}
	if err := r.s.Run(context.Background(), nil); !errors.Is(err, pir.ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
}

func TestActiveLow(t *testing.T) {
	clk := gpiosim.NewClock(t0)
	board := gpiosim.NewBoard(clk)
	pin, _ := board.Pin("GPIO4") // pulled up: idle High, an active-low sensor at rest
	s, err := pir.New("pir-2", board.Open, &pir.Opts{Pin: "GPIO4", ActiveLow: true, Warmup: pir.NoWarmup, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan devices.Event, 10)
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx, devices.SinkFunc(func(_ context.Context, e devices.Event) error { events <- e; return nil }))
	}()
	if e := <-events; e.Data["state"] != "vacant" {
		t.Fatalf("first %v", e.Data)
	}
	if err := pin.WaitIdle(testkit.Ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	pin.Drive(gpio.Low)
	if err := pin.WaitIdle(testkit.Ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if e := <-events; e.Data["state"] != "occupied" {
		t.Fatalf("second %v", e.Data)
	}
	cancel()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
			clk.Advance(gpio.DefaultPoll)
			runtime.Gosched()
		}
	}
}

func TestBusySinkRetried(t *testing.T) {
	clk := gpiosim.NewClock(t0)
	board := gpiosim.NewBoard(clk)
	s, err := pir.New("pir-3", board.Open, &pir.Opts{Pin: "GPIO23", Warmup: pir.NoWarmup, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	calls := make(chan int, 10)
	n := 0
	sink := devices.SinkFunc(func(context.Context, devices.Event) error {
		n++
		calls <- n
		if n < 3 {
			return fmt.Errorf("journal behind: %w", devices.ErrBusy)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sink) }()
	for want := 1; want <= 3; want++ {
		if got := <-calls; got != want {
			t.Fatalf("call %d, want %d", got, want)
		}
		if want < 3 {
			clk.WaitTimers(testkit.Ctx(t, 10*time.Second), 2) // poll and the backoff
			clk.Advance(time.Second)
		}
	}
	cancel()
	for {
		select {
		case <-done:
			if st := s.Stats(); st.BusyRetries != 2 || st.Emitted != 1 || st.Lost != 0 {
				t.Errorf("stats %+v", st)
			}
			return
		default:
			clk.Advance(gpio.DefaultPoll)
			runtime.Gosched()
		}
	}
}
