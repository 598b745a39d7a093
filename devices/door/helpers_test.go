package door_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/internal/testkit"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

const debounce = gpio.DefaultDebounce

// rig is a door on a simulated board: the relay on GPIO17 (pulled down at
// reset, a module that energises on High: locked is Low), the contact on
// GPIO4 (pulled up at reset; the switch pulls it Low while the door is
// shut).
type rig struct {
	t       *testing.T
	clk     *gpiosim.Clock
	relay   *gpiosim.Pin
	contact *gpiosim.Pin
	d       *door.Door
	cancel  context.CancelFunc
	closed  bool
	watch   bool // a contact is configured: wait for its reader
}

func baseConfig() door.Config {
	return door.Config{RelayPin: "GPIO17", RelayActive: "high", ContactPin: "GPIO4", ContactClosed: "low", ContactPull: "up"}
}

func newRig(t *testing.T, cfg door.Config) *rig {
	t.Helper()
	clk := gpiosim.NewClock(t0)
	board := gpiosim.NewBoard(clk)
	relay, _ := board.Pin("GPIO17")
	contact, _ := board.Pin("GPIO4")
	if err := contact.Drive(gpio.Low); err != nil { // the door is shut at start
		t.Fatal(err)
	}
	cfg.Clock = clk
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	d, err := door.Open(ctx, board.Open, cfg)
	if err != nil {
		cancel()
		t.Fatalf("Open: %v", err)
	}
	r := &rig{t: t, clk: clk, relay: relay, contact: contact, d: d, cancel: cancel, watch: cfg.ContactPin != ""}
	if r.watch && !r.closed {
		r.idle()
	}
	t.Cleanup(func() {
		if !r.closed {
			r.close()
		}
		cancel()
	})
	return r
}

// close closes the door, moving the clock on while it waits: the contact's
// reader notices cancellation at its next poll, which only the clock brings.
func (r *rig) close() error {
	r.t.Helper()
	r.closed = true
	done := make(chan error, 1)
	go func() { done <- r.d.Close() }()
	ctx := testkit.Ctx(r.t, 10*time.Second)
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			r.t.Fatal("Close did not return")
		default:
			r.clk.Advance(gpio.DefaultPoll)
			runtime.Gosched()
		}
	}
}

// idle waits until the contact's reader has taken in everything so far.
func (r *rig) idle() {
	r.t.Helper()
	if err := r.contact.WaitIdle(testkit.Ctx(r.t, 10*time.Second)); err != nil {
		r.t.Fatalf("contact reader never went idle: %v", err)
	}
}

func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	r.clk.Advance(d)
	if r.watch && !r.closed {
		r.idle()
	}
}

// move drives the contact (High: open) after d, waiting for the reader.
func (r *rig) move(d time.Duration, l gpio.Level) {
	r.t.Helper()
	r.advance(d)
	if err := r.contact.Drive(l); err != nil {
		r.t.Fatal(err)
	}
	r.idle()
}

func (r *rig) want(s door.State, at time.Duration) {
	r.t.Helper()
	select {
	case e := <-r.d.Events():
		if e.State != s || !e.Time.Equal(t0.Add(at)) {
			r.t.Fatalf("event %s at %v, want %s at %v", e.State, e.Time.Sub(t0), s, at)
		}
	case <-testkit.Ctx(r.t, 10*time.Second).Done():
		r.t.Fatalf("no event; want %s at %v", s, at)
	}
	if got := r.d.State(); got != s {
		r.t.Fatalf("State() = %s after a %s event", got, s)
	}
}

func (r *rig) none() {
	r.t.Helper()
	select {
	case e := <-r.d.Events():
		r.t.Fatalf("unexpected event %s at %v", e.State, e.Time.Sub(t0))
	default:
	}
}

// relayLevels renders the relay's history: "L@0s H@0s L@3s" (times from t0).
func (r *rig) relayLevels() string {
	var b strings.Builder
	for i, c := range r.relay.History() {
		if i > 0 {
			b.WriteByte(' ')
		}
		if c.Level {
			b.WriteString("H@")
		} else {
			b.WriteString("L@")
		}
		b.WriteString(c.Time.Sub(t0).String())
	}
	return b.String()
}

// waitRelay waits until the relay has changed level n times in all.
func (r *rig) waitRelay(n int) {
	r.t.Helper()
	if _, err := r.relay.WaitChanges(testkit.Ctx(r.t, 10*time.Second), n); err != nil {
		r.t.Fatalf("relay: %v; history %s", err, r.relayLevels())
	}
}
