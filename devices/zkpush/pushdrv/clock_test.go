package pushdrv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
)

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestPunchClock: a punch is synced only when the terminal recorded it
// while the gateway was setting its clock (a contact: answered at least
// every offlineAfter); one recorded before the gateway first answered it,
// or during a silence, is unknown — nothing measured that clock. The
// status says synced, with the Date header's skew as the offset, only
// while the terminal is in contact.
func TestPunchClock(t *testing.T) {
	gw := &fakeClock{t: time.Date(2026, 3, 2, 1, 0, 0, 200e6, time.UTC)}
	hub := NewHub(nil)
	sink := &memSink{}
	d, err := New(hub, "zk-clk", devices.Options{Config: cfg{Serial: "CLK1", Listen: "127.0.0.1:0", TimeZone: "Asia/Shanghai"}, Now: gw.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, sink) }()
	defer func() { cancel(); <-done }()
	waitAttached(t, hub, 1)
	// The terminal's oscillator runs 40 minutes slow until a reply sets it.
	term := zkpushsim.New("CLK1", "http://"+hub.Addr("127.0.0.1:0"), &zkpushsim.Opts{Now: func() time.Time { return gw.now().Add(-40 * time.Minute) }})
	if st := d.Status(); st.Clock != devices.ClockUnknown {
		t.Fatalf("status before any contact: %+v", st)
	}
	// Recorded offline, before the gateway ever answered: its time (40
	// minutes slow) is no measurement.
	if _, err := term.Punch("1", 0, 1); err != nil {
		t.Fatal(err)
	}
	gw.add(time.Second)
	if err := term.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); st.Clock != devices.ClockSynced || st.ClockOffset != -200*time.Millisecond {
		t.Fatalf("status in contact: clock %s offset %s, want synced -200ms (the Date header rounded down)", st.Clock, st.ClockOffset)
	}
	gw.add(5 * time.Second)
	if _, err := term.Punch("2", 0, 1); err != nil { // by the clock the gateway set
		t.Fatal(err)
	}
	if _, err := term.Upload(ctx); err != nil {
		t.Fatal(err)
	}
	// A silence longer than offlineAfter: the terminal free-runs, and what
	// it records then is not known to be right.
	gw.add(offlineAfter + 20*time.Second)
	if st := d.Status(); st.Clock != devices.ClockUnknown {
		t.Fatalf("status after a silence: %+v", st)
	}
	if _, err := term.Punch("3", 0, 1); err != nil {
		t.Fatal(err)
	}
	gw.add(time.Second)
	if _, err := term.Upload(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"1": devices.ClockUnknown, "2": devices.ClockSynced, "3": devices.ClockUnknown}
	evs := sink.events("attendance.punch")
	if len(evs) != 3 {
		t.Fatalf("%d punches journaled, want 3", len(evs))
	}
	for _, e := range evs {
		if p := e.Data["person"].(string); e.Clock != want[p] {
			t.Errorf("punch of %s (%s): clock %s, want %s", p, e.TimeRaw, e.Clock, want[p])
		}
	}
}

// TestZoneChangeChecks: when the configured zone's offset changes (daylight
// saving), the terminal told the old TimeZone at its handshake would show
// the old wall clock; its next poll is answered with CHECK, it shakes hands
// again, and its clock shows the new offset. Once: the next poll is plain.
func TestZoneChangeChecks(t *testing.T) {
	gw := &fakeClock{t: time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC)} // 01:59 CET; at 01:00 UTC Berlin goes to CEST
	hub := NewHub(nil)
	d, err := New(hub, "zk-dst", devices.Options{Config: cfg{Serial: "DST1", Listen: "127.0.0.1:0", TimeZone: "Europe/Berlin"}, Now: gw.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, &memSink{}) }()
	defer func() { cancel(); <-done }()
	waitAttached(t, hub, 1)
	term := zkpushsim.New("DST1", "http://"+hub.Addr("127.0.0.1:0"), &zkpushsim.Opts{Now: gw.now})
	if err := term.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if h := term.Clock().Hour(); term.Options().TimeZone != 1 || h != 1 {
		t.Fatalf("before the change: TimeZone %d, the terminal shows %02d h; want 1 and 01", term.Options().TimeZone, h)
	}
	if ran, err := term.Poll(ctx); err != nil || len(ran) != 0 {
		t.Fatalf("poll before the change: %v, %v", ran, err)
	}
	gw.add(2 * time.Minute) // 01:01 UTC: 03:01 CEST
	ran, err := term.Poll(ctx)
	if err != nil || len(ran) != 1 || ran[0].Cmd != "CHECK" {
		t.Fatalf("poll after the change: %+v, %v; want CHECK", ran, err)
	}
	if h := term.Clock().Hour(); term.Options().TimeZone != 2 || h != 3 {
		t.Fatalf("after CHECK: TimeZone %d, the terminal shows %02d h; want 2 and 03", term.Options().TimeZone, h)
	}
	if ran, err := term.Poll(ctx); err != nil || len(ran) != 0 {
		t.Fatalf("the poll after: %v, %v; want nothing", ran, err)
	}
	if n := d.Status().Counters["zone_changes"]; n != 1 {
		t.Fatalf("zone_changes %d, want 1", n)
	}
}
