package roomdrv_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/internal/testkit"
)

// tomlSection decodes a TOML table as strictly as the gateway's configuration does.
type tomlSection string

func (s tomlSection) Decode(v any) error {
	err := toml.NewDecoder(strings.NewReader(string(s))).DisallowUnknownFields().Decode(v)
	if sm, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		return errors.New(sm.String())
	}
	return err
}

// t0 is 09:00; bookings in the tests are at 10:00 and later.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// at returns t0 plus h:m, e.g. at(1, 5) is 10:05.
func at(h, m int) time.Time { return t0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }

// panelCall is one call of the Panel hook.
type panelCall struct {
	name string
	args map[string]any
}

// world is what outlives one driver: the board, the clock, the state file.
type world struct {
	t     *testing.T
	clk   *gpiosim.Clock
	board *gpiosim.Board
	path  string
}

func newWorld(t *testing.T) *world {
	clk := gpiosim.NewClock(t0)
	return &world{t: t, clk: clk, board: gpiosim.NewBoard(clk), path: filepath.Join(t.TempDir(), "aurora.json")}
}

func (w *world) pin(name string) *gpiosim.Pin {
	w.t.Helper()
	p, err := w.board.Pin(name)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// baseConfig is a room with a panel and three LEDs on GPIO16, 20 and 21
// (pulled down at reset: dark), times shown in UTC.
func (w *world) baseConfig() string {
	return fmt.Sprintf(`state_file = %q
name = "Aurora"
panel = "panel-3f-aurora"
led_green = "GPIO16"
led_yellow = "GPIO20"
led_red = "GPIO21"
timezone = "UTC"
`, w.path)
}

// rig is a running driver in a world.
type rig struct {
	*world
	d      *roomdrv.Driver
	events chan devices.Event
	seen   []devices.Event // every event taken from events, in order
	panel  chan panelCall
	cancel context.CancelFunc
	done   chan error
}

// start runs a driver on cfg (TOML). hook, if not nil, replaces the
// recording Panel hook (the calls are then not recorded).
func (w *world) start(cfg string, hook roomdrv.PanelFunc) *rig {
	w.t.Helper()
	r := &rig{world: w, events: make(chan devices.Event, 1000), panel: make(chan panelCall, 1000), done: make(chan error, 1)}
	if hook == nil {
		hook = func(_ context.Context, name string, args map[string]any) error {
			r.panel <- panelCall{name, args}
			return nil
		}
	}
	d, err := roomdrv.NewWith("room-aurora", devices.Options{Config: tomlSection(cfg)},
		roomdrv.With{Opener: w.board.Open, Clock: w.clk, Panel: hook})
	if err != nil {
		w.t.Fatal(err)
	}
	r.d = d
	sink := devices.SinkFunc(func(_ context.Context, e devices.Event) error {
		if err := e.Check(); err != nil {
			w.t.Errorf("invalid event: %v", err)
		}
		r.events <- e
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background()) // stop cancels it
	r.cancel = cancel
	go func() { r.done <- d.Run(ctx, sink) }()
	w.t.Cleanup(func() { r.stop() })
	wait := testkit.Ctx(w.t, 10*time.Second)
	for !d.Status().Online { // the state file is open: commands are taken
		if wait.Err() != nil {
			w.t.Fatal("the driver never came online")
		}
		runtime.Gosched()
	}
	return r
}

// stop cancels Run and waits for it, moving the clock so that a PIR
// input's wait on it ends: one poll per real millisecond, so that the room's
// time moves by seconds, not hours, while Run winds down on a loaded
// machine (a test goes on at the room's time after a restart).
func (r *rig) stop() error {
	r.cancel()
	ctx := testkit.Ctx(r.t, 10*time.Second)
	pace := time.NewTicker(time.Millisecond)
	defer pace.Stop()
	for {
		select {
		case err := <-r.done:
			r.done <- err // stop may be called again by Cleanup
			return err
		case <-ctx.Done():
			r.t.Fatal("Run did not return after cancel")
			return ctx.Err()
		case <-pace.C:
			r.clk.Advance(gpio.DefaultPoll)
		}
	}
}

// to moves the clock to t.
func (r *rig) to(t time.Time) {
	r.t.Helper()
	if d := t.Sub(r.clk.Now()); d > 0 {
		r.clk.Advance(d)
	}
}

// want takes events until one of type typ whose data holds every key of
// match, and returns it.
func (r *rig) want(typ string, match map[string]any) devices.Event {
	r.t.Helper()
	ctx := testkit.Ctx(r.t, 10*time.Second)
	for {
		select {
		case e := <-r.events:
			r.seen = append(r.seen, e)
			if e.Type == typ && holds(e.Data, match) {
				return e
			}
		case <-ctx.Done():
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			r.t.Fatalf("no %s %v; events so far:\n%s\n%s", typ, match, r.log(), buf[:n])
			return devices.Event{}
		}
	}
}

func holds(data, match map[string]any) bool {
	for k, v := range match {
		if data[k] != v {
			return false
		}
	}
	return true
}

// count returns how many events of type typ were taken so far.
func (r *rig) count(typ string) int {
	n := 0
	for _, e := range r.seen {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func (r *rig) log() string {
	var b strings.Builder
	for _, e := range r.seen {
		fmt.Fprintf(&b, "\t%s %s %v\n", e.Time.Format("15:04:05"), e.Type, e.Data)
	}
	return b.String()
}

// wantPanel takes panel calls until name with args holding match.
func (r *rig) wantPanel(name string, match map[string]any) {
	r.t.Helper()
	ctx := testkit.Ctx(r.t, 10*time.Second)
	var got []panelCall
	for {
		select {
		case c := <-r.panel:
			got = append(got, c)
			if c.name == name && holds(c.args, match) {
				return
			}
		case <-ctx.Done():
			r.t.Fatalf("no panel %s %v; got %v", name, match, got)
		}
	}
}

// leds renders the three LED pins: "G--", "-Y-", "--R", "---".
func (w *world) leds() string {
	b := []byte("---")
	for i, p := range []string{"GPIO16", "GPIO20", "GPIO21"} {
		if w.pin(p).Level() == gpio.High {
			b[i] = "GYR"[i]
		}
	}
	return string(b)
}

// waitLEDs waits until the LED pins show want.
func (w *world) waitLEDs(want string) {
	w.t.Helper()
	ctx := testkit.Ctx(w.t, 10*time.Second)
	for w.leds() != want {
		if ctx.Err() != nil {
			w.t.Fatalf("LEDs %s, want %s", w.leds(), want)
		}
		runtime.Gosched()
	}
}

// schedule is room.schedule_set args of version v with bookings
// "id", start, end, … .
func schedule(v int, bs ...any) map[string]any {
	list := []any{}
	for i := 0; i < len(bs); i += 3 {
		list = append(list, map[string]any{
			"id": bs[i], "start": bs[i+1].(time.Time).Format(time.RFC3339), "end": bs[i+2].(time.Time).Format(time.RFC3339),
		})
	}
	return map[string]any{"version": float64(v), "bookings": list}
}

// do runs a command and fails the test unless it gets status.
func (r *rig) do(name string, args map[string]any, status string) devices.Result {
	r.t.Helper()
	res := r.d.Handle(testkit.Ctx(r.t, 10*time.Second), devices.Command{ID: name, Name: name, Args: args})
	if res.Status != status {
		r.t.Fatalf("%s %v = %+v, want %s", name, args, res, status)
	}
	return res
}
