package roomdrv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/room"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/internal/testkit"
)

// TestMorning scripts a morning: a schedule pushed by command, a booking
// nobody turns up to (one release suggestion), a restart after it (no
// second one), a booking checked in with the panel's button, a restart
// after that (the check-in kept, no suggestion), the LEDs and the display
// following all along.
func TestMorning(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	r := w.start(w.baseConfig(), nil)

	r.want(room.EventLED, map[string]any{"state": "offline"})
	r.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · waiting for the schedule"})
	w.waitLEDs("---")

	res := r.do(room.CmdScheduleSet, schedule(1, "b1", at(1, 0), at(2, 0), "b2", at(2, 0), at(3, 0)), devices.StatusOK)
	if res.Data["bookings"] != 2 {
		t.Errorf("schedule_set result %v", res.Data)
	}
	r.want(room.EventLED, map[string]any{"state": "available", "previous": "offline"})
	r.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · free until 10:00"})
	r.wantPanel(roomdrv.PanelLED, map[string]any{"state": "available"})
	w.waitLEDs("G--")

	r.to(at(0, 55)) // b1's window opens
	e := r.want(room.EventLED, map[string]any{"state": "pending"})
	if !e.Time.Equal(at(0, 55)) || e.Clock != devices.ClockSynced || e.Device != "room-aurora" {
		t.Errorf("room.led %+v", e)
	}
	r.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · booked 10:00–11:00 · please check in"})
	w.waitLEDs("-Y-")

	r.to(at(1, 11)) // b1's window closed at 10:10, nobody came
	s := r.want(room.EventReleaseSuggested, map[string]any{"booking": "b1", "reason": room.ReasonNoShow})
	if !s.Time.Equal(at(1, 11)) || s.Data["window_end"] != "2026-11-24T10:10:00.000Z" {
		t.Errorf("suggestion %+v", s)
	}
	// A no-show does not hold the room: free (until b2) on the light, the
	// panel and room.led alike, after the suggestion, never red between.
	r.want(room.EventLED, map[string]any{"state": "available", "previous": "pending"})
	r.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · free until 11:00"})
	r.wantPanel(roomdrv.PanelLED, map[string]any{"state": "available"})
	w.waitLEDs("G--")
	if r.count(room.EventLED) != 4 {
		t.Errorf("LED went through another state:\n%s", r.log())
	}
	if busy, _ := r.d.Busy("panel-3f-aurora"); busy {
		t.Error("panel busy in a room nobody came to")
	}

	// Restart while b1 still runs: its suggestion is remembered.
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	w.waitLEDs("---") // dark while the gateway is down
	r.to(at(1, 20))
	r2 := w.start(w.baseConfig(), nil)
	r2.want(room.EventLED, map[string]any{"state": "available"}) // the first Tick's, after any suggestion
	if n := r2.count(room.EventReleaseSuggested); n != 0 {
		t.Fatalf("%d suggestions after the restart:\n%s", n, r2.log())
	}
	r2.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · free until 11:00"})
	w.waitLEDs("G--")

	r2.to(at(2, 1)) // b1 over, b2 in its window
	r2.want(room.EventLED, map[string]any{"state": "pending"})
	w.waitLEDs("-Y-")
	r2.d.PanelEvent(testkit.Ctx(t, 10*time.Second), roomdrv.PanelButton, map[string]any{"button": float64(1)}, at(2, 1))
	c := r2.want(room.EventCheckIn, map[string]any{"booking": "b2", "source": room.SourcePanel})
	if !c.Time.Equal(at(2, 1)) {
		t.Errorf("check-in at %v", c.Time)
	}
	r2.want(room.EventLED, map[string]any{"state": "occupied", "previous": "pending"})
	r2.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · busy until 12:00"})
	r2.wantPanel(roomdrv.PanelLED, map[string]any{"state": "occupied"})
	w.waitLEDs("--R")
	if st := r2.d.Status(); st.Counters["buttons"] != 1 || !st.Online {
		t.Errorf("status %+v", st)
	}
	// A meeting is on: a firmware update of the panel must wait.
	if busy, why := r2.d.Busy("panel-3f-aurora"); !busy || why == "" {
		t.Errorf("panel not busy during a checked-in meeting: %v %q", busy, why)
	}
	if busy, _ := r2.d.Busy("some-other-panel"); busy {
		t.Error("busy for a panel that is not the room's")
	}

	// Restart past b2's window: the check-in is kept, no suggestion.
	if err := r2.stop(); err != nil {
		t.Fatal(err)
	}
	r2.to(at(2, 30))
	r3 := w.start(w.baseConfig(), nil)
	r3.want(room.EventLED, map[string]any{"state": "occupied"})
	if n := r3.count(room.EventReleaseSuggested); n != 0 {
		t.Fatalf("b2 suggested after its check-in:\n%s", r3.log())
	}
	w.waitLEDs("--R")
	r3.to(at(3, 0)) // the day's bookings are over
	r3.want(room.EventLED, map[string]any{"state": "available"})
	r3.wantPanel(roomdrv.PanelDisplay, map[string]any{"line": "Aurora · free"})
	w.waitLEDs("G--")
	if err := r3.stop(); err != nil {
		t.Fatal(err)
	}
	w.waitLEDs("---")
	if n := r.count(room.EventReleaseSuggested) + r2.count(room.EventReleaseSuggested) + r3.count(room.EventReleaseSuggested); n != 1 {
		t.Errorf("%d release suggestions in the morning, want 1", n)
	}
}

// TestMotionPreventsSuggestion: the PIR sees someone during the window, so
// the booking is not suggested for release, though nobody checked in.
func TestMotionPreventsSuggestion(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	pin := w.pin("GPIO23")
	r := w.start(w.baseConfig()+"pir_pin = \"GPIO23\"\nwarmup = \"0s\"\n", nil)
	r.want("room.occupancy", map[string]any{"state": "vacant", "initial": true})
	r.do(room.CmdScheduleSet, schedule(1, "b1", at(1, 0), at(2, 0)), devices.StatusOK)
	r.want(room.EventLED, map[string]any{"state": "available"})

	r.to(at(1, 2))
	r.want(room.EventLED, map[string]any{"state": "pending"})
	idle := func() {
		t.Helper()
		if err := pin.WaitIdle(testkit.Ctx(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	idle()
	if err := pin.Drive(gpio.High); err != nil {
		t.Fatal(err)
	}
	idle()
	w.clk.Advance(time.Second)
	idle()
	if err := pin.Drive(gpio.Low); err != nil {
		t.Fatal(err)
	}
	idle()
	o := r.want("room.occupancy", map[string]any{"state": "occupied"})
	if !o.Time.Equal(at(1, 2)) || o.Device != "room-aurora" {
		t.Errorf("occupancy %+v", o)
	}
	// Motion during a booking's window is presence, not a check-in.
	w.waitLEDs("-Y-")

	r.to(at(1, 11)) // window closed at 10:10
	r.want(room.EventLED, map[string]any{"state": "occupied"})
	if n := r.count(room.EventReleaseSuggested); n != 0 {
		t.Fatalf("suggested despite motion:\n%s", r.log())
	}
	if st := r.d.Status(); st.Counters["pir_motions"] != 1 {
		t.Errorf("counters %v", st.Counters)
	}
}

// TestPanelHookFailing: a panel that fails, or hangs, holds up neither the
// events nor the LEDs; failures are counted.
func TestPanelHookFailing(t *testing.T) {
	for _, c := range []struct {
		name string
		hook roomdrv.PanelFunc
	}{
		{"failing", func(context.Context, string, map[string]any) error { return errors.New("link: panel not connected") }},
		{"hanging", func(ctx context.Context, _ string, _ map[string]any) error { <-ctx.Done(); return ctx.Err() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			testkit.NoLeaks(t)
			w := newWorld(t)
			r := w.start(w.baseConfig(), c.hook)
			r.do(room.CmdScheduleSet, schedule(1, "b1", at(1, 0), at(2, 0)), devices.StatusOK)
			r.want(room.EventLED, map[string]any{"state": "available"})
			w.waitLEDs("G--")
			r.do(room.CmdBook, map[string]any{"minutes": float64(20)}, devices.StatusOK)
			r.want(room.EventBooked, map[string]any{"checked_in": true, "minutes": 20})
			w.waitLEDs("--R")
			if c.name == "failing" {
				ctx := testkit.Ctx(t, 10*time.Second)
				for r.d.Status().Counters["panel_sends_failed"] == 0 {
					if ctx.Err() != nil {
						t.Fatal("no failed send counted")
					}
					r.to(w.clk.Now().Add(5 * time.Second)) // the next tick tries again
				}
			}
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCommands: bad commands get error results, unknown ones unsupported,
// expired ones expired; nothing before Run opened the room or after it.
func TestCommands(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	d, err := roomdrv.NewWith("room-aurora", devices.Options{Config: tomlSection(w.baseConfig())}, roomdrv.With{Opener: w.board.Open, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	if res := d.Handle(testkit.Ctx(t, 10*time.Second), devices.Command{Name: room.CmdCheckIn}); res.Status != devices.StatusBusy {
		t.Errorf("before Run: %+v", res)
	}
	r := w.start(w.baseConfig(), nil)
	for _, c := range []struct {
		cmd    devices.Command
		status string
	}{
		{devices.Command{Name: room.CmdScheduleSet, Args: map[string]any{"bookings": []any{}}}, devices.StatusError},
		{devices.Command{Name: room.CmdScheduleSet, Args: schedule(1, "b1", at(2, 0), at(1, 0))}, devices.StatusError},
		{devices.Command{Name: room.CmdScheduleSet, Args: schedule(2, "b1", at(1, 0), at(2, 0))}, devices.StatusOK},
		{devices.Command{Name: room.CmdScheduleSet, Args: schedule(2)}, devices.StatusError}, // stale
		{devices.Command{Name: room.CmdCheckIn}, devices.StatusError},                        // no window holds 09:00
		{devices.Command{Name: room.CmdExtend, Args: map[string]any{"minutes": "15"}}, devices.StatusError},
		{devices.Command{Name: room.CmdEnd}, devices.StatusError},
		{devices.Command{Name: room.CmdBook, Args: map[string]any{"minutes": float64(500)}}, devices.StatusError},
		{devices.Command{Name: room.CmdLEDSet, Args: map[string]any{"state": "purple"}}, devices.StatusError},
		{devices.Command{Name: room.CmdLEDSet, Args: map[string]any{"state": "occupied"}}, devices.StatusOK},
		{devices.Command{Name: "door.pulse"}, devices.StatusUnsupported},
		{devices.Command{Name: "room.explode"}, devices.StatusUnsupported},
		{devices.Command{Name: room.CmdBook, Args: map[string]any{"minutes": float64(20)}, Deadline: t0}, devices.StatusExpired},
	} {
		res := r.d.Handle(testkit.Ctx(t, 10*time.Second), c.cmd)
		if res.Status != c.status || (c.status != devices.StatusOK && res.Error == "") {
			t.Errorf("%s %v = %+v, want %s", c.cmd.Name, c.cmd.Args, res, c.status)
		}
		if err := devices.CheckData(res.Data); err != nil {
			t.Errorf("%s: result data: %v", c.cmd.Name, err)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if res := r.d.Handle(testkit.Ctx(t, 10*time.Second), devices.Command{Name: room.CmdCheckIn}); res.Status != devices.StatusError {
		t.Errorf("after Run: %+v", res)
	}
	if err := r.d.Run(testkit.Ctx(t, 10*time.Second), devices.SinkFunc(func(context.Context, devices.Event) error { return nil })); !errors.Is(err, roomdrv.ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
}

// TestCorruptStateFile: Run refuses a damaged state file, leaves it, and
// lights nothing.
func TestCorruptStateFile(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	if err := os.WriteFile(w.path, []byte("{\"format\": \"officegate.room.state\""), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := roomdrv.NewWith("room-aurora", devices.Options{Config: tomlSection(w.baseConfig())}, roomdrv.With{Opener: w.board.Open, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(testkit.Ctx(t, 10*time.Second), devices.SinkFunc(func(context.Context, devices.Event) error { return nil }))
	if !errors.Is(err, room.ErrCorrupt) {
		t.Errorf("Run = %v, want ErrCorrupt", err)
	}
	if w.leds() != "---" || d.Status().Online {
		t.Errorf("LEDs %s, online %v", w.leds(), d.Status().Online)
	}
}

// TestBusySink: a busy sink is retried with backoff until it takes the
// events, which arrive complete and in order.
func TestBusySink(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	var busy atomic.Int32
	busy.Store(5)
	got := make(chan devices.Event, 100)
	sink := devices.SinkFunc(func(_ context.Context, e devices.Event) error {
		if busy.Add(-1) >= 0 {
			return fmt.Errorf("journal behind: %w", devices.ErrBusy)
		}
		got <- e
		return nil
	})
	d, err := roomdrv.NewWith("room-aurora", devices.Options{Config: tomlSection(w.baseConfig())}, roomdrv.With{Opener: w.board.Open, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sink) }()
	for !d.Status().Online {
		runtime.Gosched()
	}
	if res := d.Handle(ctx, devices.Command{Name: room.CmdScheduleSet, Args: schedule(1)}); res.Status != devices.StatusOK {
		t.Fatalf("schedule_set %+v", res)
	}
	var states []any
	for len(states) < 2 {
		select {
		case e := <-got:
			states = append(states, e.Data["state"])
		case <-ctx.Done():
			t.Fatalf("events %v", states)
		default:
			w.clk.Advance(10 * time.Millisecond) // the backoff's timers
			runtime.Gosched()
		}
	}
	if states[0] != "offline" || states[1] != "available" {
		t.Errorf("states %v", states)
	}
	// The sink has taken the second event; the driver counts it once the
	// sink has returned.
	wait := testkit.Ctx(t, 10*time.Second)
	for d.Status().Counters["events_emitted"] < 2 && wait.Err() == nil {
		runtime.Gosched()
	}
	if c := d.Status().Counters; c["busy_retries"] != 5 || c["events_lost"] != 0 || c["events_emitted"] != 2 {
		t.Errorf("counters %v", c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
