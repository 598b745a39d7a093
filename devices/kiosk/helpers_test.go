package kiosk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	toml "github.com/pelletier/go-toml/v2"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/kiosk"
)

// hang is how long a test waits for something that should happen at once
// before calling it a hang. It detects hangs; it measures nothing.
const hang = 10 * time.Second

// t0 is the gateway's time when a test starts.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// testKey is the invite key every test writes.
const testKey = "0123456789abcdef-kiosk-test-key"

// tomlSection decodes a TOML table as strictly as the gateway's configuration does.
type tomlSection string

func (s tomlSection) Decode(v any) error {
	err := toml.NewDecoder(strings.NewReader(string(s))).DisallowUnknownFields().Decode(v)
	if sm, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		return errors.New(sm.String())
	}
	return err
}

// clock is the gateway's clock in a test: it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// collector is a Sink that keeps what it takes; busy makes that many next
// calls return ErrBusy.
type collector struct {
	mu      sync.Mutex
	events  []devices.Event // guarded by mu
	busy    int             // guarded by mu
	changed chan struct{}   // guarded by mu; closed and replaced on every event
}

func newCollector() *collector { return &collector{changed: make(chan struct{})} }

func (c *collector) Emit(ctx context.Context, e devices.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy > 0 {
		c.busy--
		return fmt.Errorf("journal behind: %w", devices.ErrBusy)
	}
	if err := e.Check(); err != nil {
		return err
	}
	c.events = append(c.events, e)
	close(c.changed)
	c.changed = make(chan struct{})
	return nil
}

func (c *collector) all() []devices.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]devices.Event(nil), c.events...)
}

func (c *collector) ofType(typ string) []devices.Event {
	var out []devices.Event
	for _, e := range c.all() {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// wait returns the n-th (from 1) event of type typ, waiting for it.
func (c *collector) wait(t testing.TB, typ string, n int) devices.Event {
	t.Helper()
	deadline := time.After(hang)
	for {
		c.mu.Lock()
		seen := 0
		for _, e := range c.events {
			if e.Type == typ {
				if seen++; seen == n {
					c.mu.Unlock()
					return e
				}
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s event #%d within %v; got %s", typ, n, hang, types(c.all()))
		}
	}
}

func types(es []devices.Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s%v ", e.Type, e.Data)
	}
	return b.String()
}

// eventually waits for cond, looking every millisecond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	tick := time.NewTicker(time.Millisecond) // how often to look, not how long anything takes
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", hang, what)
		}
		<-tick.C
	}
}

// rigOpts shape a rig.
type rigOpts struct {
	noPrinter bool
	extra     string // more keys for the section
	dir       string // reuse a directory (state file, key): a restart
}

// rig is a kiosk on real PTYs (scanner, emulated printer) and a simulated
// board (relay GPIO17, active high; contact GPIO4, low while shut).
type rig struct {
	t       testing.TB
	dir     string
	k       *kiosk.Kiosk
	sink    *collector
	clk     *clock
	scanM   *os.File // the scanner's end of its PTY
	printer *escpossim.Printer
	relay   *gpiosim.Pin
	contact *gpiosim.Pin
	cancel  context.CancelFunc
	done    chan error
}

func newRig(t testing.TB, o rigOpts) *rig {
	t.Helper()
	return newRigWith(t, o, nil)
}

// newRigWith is newRig with the gateway's Send (devices.Options.Send).
func newRigWith(t testing.TB, o rigOpts, send func(context.Context, string, devices.Command) (devices.Result, error)) *rig {
	t.Helper()
	r := &rig{t: t, dir: o.dir, sink: newCollector(), clk: &clock{now: t0}}
	if r.dir == "" {
		r.dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(r.dir, "invite.key"), []byte(testKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	r.scanM = m
	t.Cleanup(func() { s.Close(); m.Close() })
	section := fmt.Sprintf("scanner_port = %q\ninvite_key_file = %q\nstate_file = %q\nprinter_poll = \"100ms\"\nlocation = \"HQ 3F\"\n",
		s.Name(), filepath.Join(r.dir, "invite.key"), filepath.Join(r.dir, "state.json"))
	if !o.noPrinter {
		if r.printer, err = escpossim.New(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.printer.Close() })
		section += fmt.Sprintf("printer_port = %q\n", r.printer.Path())
	}
	section += o.extra
	section += "[door]\nrelay_pin = \"GPIO17\"\nrelay_active = \"high\"\ncontact_pin = \"GPIO4\"\ncontact_closed = \"low\"\n"
	board := gpiosim.NewBoard(nil)
	r.relay, _ = board.Pin("GPIO17")
	r.contact, _ = board.Pin("GPIO4")
	if err := r.contact.Drive(gpio.Low); err != nil { // shut
		t.Fatal(err)
	}
	r.k, err = kiosk.NewWith("kiosk-lobby", devices.Options{Config: tomlSection(section), Send: send}, kiosk.With{Pins: board.Open, Now: r.clk.Now})
	if err != nil {
		t.Fatalf("NewWith: %v", err)
	}
	return r
}

// start runs the driver until the test ends and waits for the scanner's port.
func (r *rig) start() *rig {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.k.Run(ctx, r.sink) }()
	r.t.Cleanup(r.stop)
	eventually(r.t, "the scanner's port to open", func() bool { return r.k.Status().Online })
	return r
}

// stop cancels Run and waits for it to return nil.
func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run: %v", err)
		}
	case <-time.After(hang):
		r.t.Fatal("Run did not return")
	}
}

// scan sends a line as the scanner does, with a CR.
func (r *rig) scan(text string) {
	r.t.Helper()
	if _, err := r.scanM.WriteString(text + "\r"); err != nil {
		r.t.Fatal(err)
	}
}

// cmd runs a command and returns its result.
func (r *rig) cmd(name string, args map[string]any) devices.Result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	return r.k.Handle(ctx, devices.Command{ID: "c-" + name, Name: name, Args: args})
}

// mustOK runs a command that must succeed.
func (r *rig) mustOK(name string, args map[string]any) map[string]any {
	r.t.Helper()
	res := r.cmd(name, args)
	if res.Status != devices.StatusOK {
		r.t.Fatalf("%s %v: %s %s", name, args, res.Status, res.Error)
	}
	return res.Data
}

// invite upserts an invite of token valid from t0-1h to t0+8h.
func (r *rig) invite(id, token, name string) {
	r.t.Helper()
	r.mustOK("invite.upsert", map[string]any{"invite_id": id, "token": token, "name": name, "host": "Li Na",
		"company": "Acme", "valid_from": t0.Add(-time.Hour).Format(time.RFC3339), "valid_until": t0.Add(8 * time.Hour).Format(time.RFC3339)})
}

// releases counts the relay's changes to High (strike released).
func (r *rig) releases() int {
	n := 0
	for _, c := range r.relay.History() {
		if c.Level == gpio.High {
			n++
		}
	}
	return n
}

func (r *rig) waitReleases(n int) {
	r.t.Helper()
	eventually(r.t, fmt.Sprintf("%d door releases", n), func() bool { return r.releases() >= n })
}

// hash is the token hash the kiosk computes.
func hash(token string) string { return devices.KeyedHash([]byte(testKey), token) }

// wantData checks an event's data equals want exactly.
func wantData(t testing.TB, e devices.Event, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(e.Data, want) {
		t.Fatalf("%s data\n got %v\nwant %v", e.Type, e.Data, want)
	}
	if e.Device != "kiosk-lobby" || e.Clock != devices.ClockSynced || !e.Source.IsZero() || e.Time.IsZero() {
		t.Fatalf("%s envelope: device %q clock %q source %+v time %v", e.Type, e.Device, e.Clock, e.Source, e.Time)
	}
}

// noClearToken fails if any event carries token in clear.
func noClearToken(t testing.TB, events []devices.Event, token string) {
	t.Helper()
	for _, e := range events {
		if s := fmt.Sprintf("%#v", e); strings.Contains(s, token) {
			t.Fatalf("event carries the clear token %q: %s", token, s)
		}
	}
}
