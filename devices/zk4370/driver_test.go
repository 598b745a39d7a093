package zk4370_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/devices/zk4370/zk4370sim"
	"github.com/officegate/officegate/internal/testkit"
	"github.com/rs/zerolog"
)

// journal is a Sink that keeps what it took, in order, as the gateway's
// journal would; refuse makes it fail (not durable) while set.
type journal struct {
	mu      sync.Mutex
	events  []devices.Event
	refuse  bool
	changed chan struct{}
}

func newJournal() *journal { return &journal{changed: make(chan struct{})} }

func (j *journal) Emit(ctx context.Context, e devices.Event) error {
	if err := e.Check(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.refuse {
		return errors.New("journal: not durable (test)")
	}
	j.events = append(j.events, e)
	close(j.changed)
	j.changed = make(chan struct{})
	return nil
}

func (j *journal) setRefuse(v bool) {
	j.mu.Lock()
	j.refuse = v
	j.mu.Unlock()
}

// wait blocks until the journal holds n events, and returns them.
func (j *journal) wait(t *testing.T, ctx context.Context, n int) []devices.Event {
	t.Helper()
	for {
		j.mu.Lock()
		got, ch := append([]devices.Event(nil), j.events...), j.changed
		j.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("journal holds %d events, want %d", len(got), n)
		}
	}
}

// checkOnce fails unless events are exactly the punches of want's PINs, each
// once, in order.
func checkOnce(t *testing.T, events []devices.Event, want []string) {
	t.Helper()
	if len(events) != len(want) {
		t.Errorf("%d events, want %d", len(events), len(want))
	}
	ids := map[devices.EventSource]int{}
	for i, e := range events {
		if prev, ok := ids[e.Source]; ok {
			t.Errorf("event %d repeats event %d (%+v)", i, prev, e.Source)
		}
		ids[e.Source] = i
		if i < len(want) && e.Data["person"] != want[i] {
			t.Errorf("event %d is %v's punch, want %s's", i, e.Data["person"], want[i])
		}
	}
}

type rig struct {
	term *zk4370sim.Terminal
	j    *journal
	dir  string
}

func newRig(t *testing.T, o zk4370sim.Options) *rig {
	t.Helper()
	o.Location = time.UTC
	r := &rig{term: zk4370sim.New(o), j: newJournal(), dir: t.TempDir()}
	if err := r.term.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.term.Cut)
	return r
}

// run starts a driver for the rig's terminal and returns its stop.
func (r *rig) run(t *testing.T, addr string, commKey int64) (*zk4370.Driver, func()) {
	t.Helper()
	o := zk4370.DefaultOptions()
	o.Address, o.CommKey, o.TimeZone = addr, commKey, "UTC"
	o.BackoffMin, o.BackoffMax, o.Timeout = "5ms", "50ms", "2s"
	d, err := zk4370.NewDriver("t1", o, zk4370.Deps{StateDir: r.dir, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, r.j) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

// punch records a punch by pin, retrying while the driver has the keypad
// disabled for a log read (a person trying again a moment later).
func punch(t *testing.T, ctx context.Context, term *zk4370sim.Terminal, pin string) {
	t.Helper()
	for {
		_, err := term.Punch(pin, 1, 0)
		if err == nil {
			return
		}
		if !errors.Is(err, zk4370sim.ErrDisabled) {
			t.Fatal(err)
		}
		if err := term.Wait(ctx, func(s zk4370sim.State) bool { return !s.Disabled }); err != nil {
			t.Fatal(err)
		}
	}
}

// waitStatus waits until the driver's status meets cond: what the driver
// counts, it counts after the step it counts is done, so a test that saw
// the step's effect may still read the count before it.
func waitStatus(t *testing.T, ctx context.Context, d *zk4370.Driver, what string, cond func(devices.Status) bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		st := d.Status()
		if cond(st) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("status %+v, want %s", st, what)
		}
	}
}

func waitOnline(t *testing.T, ctx context.Context, term *zk4370sim.Terminal) {
	t.Helper()
	if err := term.Wait(ctx, func(s zk4370sim.State) bool { return s.Registered == 1 && !s.Disabled }); err != nil {
		t.Fatal(err)
	}
}

// TestRealtimeOnceInOrder: the stored log is backfilled at connect, then
// real-time punches arrive, each journaled once, in order, with the ids a
// PUSH upload of the same punches gets.
func TestRealtimeOnceInOrder(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{CommKey: 4321, Serial: "CQZ7224460"})
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprint(100+i))
		punch(t, ctx, r.term, want[i])
	}
	d, _ := r.run(t, r.term.Addr(), 4321)
	r.j.wait(t, ctx, 5)
	waitOnline(t, ctx, r.term)
	for i := range 40 {
		pin := fmt.Sprint(200 + i)
		want = append(want, pin)
		punch(t, ctx, r.term, pin)
	}
	got := r.j.wait(t, ctx, len(want))
	checkOnce(t, got, want)
	e := got[7]
	if e.Source.HardwareID != "CQZ7224460" || e.TimeRaw == "" || e.Time.Location() != time.UTC {
		t.Errorf("event %+v", e)
	}
	st := d.Status()
	if !st.Online || st.Clock != devices.ClockSynced || st.Counters["realtime"] == 0 {
		t.Errorf("status %+v", st)
	}
	if s := r.term.Snapshot(); s.Stats.LogReads != 1 {
		t.Errorf("%d log reads, want 1 (real-time punches need none)", s.Stats.LogReads)
	}
}

// TestBackfillAfterCut: the link is cut, punches are recorded meanwhile,
// and after the reconnect every one of them arrives, none twice.
func TestBackfillAfterCut(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	addr := r.term.Addr()
	_, _ = r.run(t, addr, 0)
	waitOnline(t, ctx, r.term)
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprint(100+i))
		punch(t, ctx, r.term, want[i])
	}
	r.j.wait(t, ctx, 10)
	for round := range 3 {
		r.term.Cut()
		for i := range 7 {
			pin := fmt.Sprintf("%d%02d", round+3, i)
			want = append(want, pin)
			punch(t, ctx, r.term, pin)
		}
		if err := r.term.Listen(addr); err != nil {
			t.Fatal(err)
		}
		waitOnline(t, ctx, r.term)
		pin := fmt.Sprintf("%d99", round+3) // real time again
		want = append(want, pin)
		punch(t, ctx, r.term, pin)
		r.j.wait(t, ctx, len(want))
	}
	checkOnce(t, r.j.wait(t, ctx, len(want)), want)
}

// TestRestartKeepsPosition: a driver stopped and started again over the same
// state directory sends what was punched meanwhile, and nothing it had sent.
func TestRestartKeepsPosition(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	_, stop := r.run(t, r.term.Addr(), 0)
	waitOnline(t, ctx, r.term)
	var want []string
	for i := range 6 {
		want = append(want, fmt.Sprint(100+i))
		punch(t, ctx, r.term, want[i])
	}
	r.j.wait(t, ctx, 6)
	stop()
	if _, err := os.Stat(filepath.Join(r.dir, "zk4370-t1.json")); err != nil {
		t.Fatalf("no position file: %v", err)
	}
	for i := range 4 {
		want = append(want, fmt.Sprint(300+i))
		punch(t, ctx, r.term, want[len(want)-1])
	}
	r.run(t, r.term.Addr(), 0)
	waitOnline(t, ctx, r.term)
	want = append(want, "999")
	punch(t, ctx, r.term, "999")
	checkOnce(t, r.j.wait(t, ctx, len(want)), want)
	if n := len(r.term.Log()); n != len(want) {
		t.Errorf("the terminal's log holds %d, want %d: the gateway never clears it", n, len(want))
	}
}

// TestNotDurableNotForgotten: while the journal refuses, the position does
// not move; once it takes punches again, every one arrives.
func TestNotDurableNotForgotten(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	d, _ := r.run(t, r.term.Addr(), 0)
	waitOnline(t, ctx, r.term)
	punch(t, ctx, r.term, "1")
	r.j.wait(t, ctx, 1)
	r.j.setRefuse(true)
	punch(t, ctx, r.term, "2")
	punch(t, ctx, r.term, "3")
	// The refusal ends the session; wait for the driver to have tried again.
	if err := r.term.Wait(ctx, func(s zk4370sim.State) bool { return s.Stats.Sessions >= 3 }); err != nil {
		t.Fatal(err)
	}
	r.j.setRefuse(false)
	checkOnce(t, r.j.wait(t, ctx, 3), []string{"1", "2", "3"})
	if d.Status().Counters["reconnects"] == 0 {
		t.Error("no reconnect counted")
	}
}

// TestClockSet: a terminal an hour off is set; the punches then carry a
// synced clock.
func TestClockSet(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	r.term.SetClock(time.Now().Add(-time.Hour))
	d, _ := r.run(t, r.term.Addr(), 0)
	waitOnline(t, ctx, r.term)
	if s := r.term.Snapshot(); s.Stats.TimeSets != 1 {
		t.Errorf("%d time sets, want 1", s.Stats.TimeSets)
	}
	if off := time.Until(r.term.Clock()); off > 2*time.Second || off < -2*time.Second {
		t.Errorf("terminal clock off by %v after the set", off)
	}
	punch(t, ctx, r.term, "7")
	if e := r.j.wait(t, ctx, 1)[0]; e.Clock != devices.ClockSynced {
		t.Errorf("clock %q", e.Clock)
	}
	if st := d.Status(); st.Clock != devices.ClockSynced || st.Counters["clock_sets"] != 1 {
		t.Errorf("status %+v", st)
	}
}

// TestBackoff: an unreachable terminal is retried with a doubling wait,
// capped, on the injected clock, and Run ends when its context does.
func TestBackoff(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	term := zk4370sim.New(zk4370sim.Options{})
	if err := term.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := term.Addr()
	term.Cut() // nobody listens there now
	var mu sync.Mutex
	var waits []time.Duration
	enough := make(chan struct{})
	timer := func(d time.Duration) (<-chan time.Time, func()) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		if len(waits) == 8 {
			close(enough)
		}
		ch := make(chan time.Time, 1)
		if len(waits) < 8 {
			ch <- time.Time{}
		}
		return ch, func() {}
	}
	o := zk4370.DefaultOptions()
	o.Address, o.BackoffMin, o.BackoffMax = addr, "10ms", "100ms"
	d, err := zk4370.NewDriver("t1", o, zk4370.Deps{Timer: timer})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx, newJournal()) }()
	select {
	case <-enough:
	case <-ctx.Done():
		t.Fatal("no 8 retries")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil on cancel", err)
	}
	want := []time.Duration{10, 20, 40, 80, 100, 100, 100, 100}
	for i := range want {
		if waits[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", waits, want)
		}
	}
	if st := d.Status(); st.Online {
		t.Error("online without a terminal")
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		o  func(*zk4370.Options)
		ok bool
	}{
		{func(o *zk4370.Options) { o.Address = "10.0.0.5" }, true},
		{func(o *zk4370.Options) { o.Address = "10.0.0.5:4371"; o.CommKey = 999999 }, true},
		{func(o *zk4370.Options) {}, false},
		{func(o *zk4370.Options) { o.Address = "10.0.0.5:x" }, false},
		{func(o *zk4370.Options) { o.Address = "h"; o.CommKey = -1 }, false},
		{func(o *zk4370.Options) { o.Address = "h"; o.TimeZone = "Mars/Olympus" }, false},
		{func(o *zk4370.Options) { o.Address = "h"; o.ClockThreshold = "1s" }, false},
		{func(o *zk4370.Options) { o.Address = "h"; o.BackoffMin = "2m" }, false},
	} {
		o := zk4370.DefaultOptions()
		tc.o(&o)
		_, err := zk4370.NewDriver("x", o, zk4370.Deps{})
		if (err == nil) != tc.ok {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestUserCommands: user.upsert and user.delete reach the terminal's user
// table over the live session; while it is down they answer busy.
func TestUserCommands(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	if err := r.term.AddUser(zk4370.User{SN: 1, PIN: "1", Name: "Admin", Privilege: zk4370.PrivAdmin}); err != nil {
		t.Fatal(err)
	}
	o := zk4370.DefaultOptions()
	o.Address = r.term.Addr()
	idle, err := zk4370.NewDriver("t0", o, zk4370.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if res := idle.Handle(ctx, devices.Command{Name: "user.delete", Args: map[string]any{"user": "1"}}); res.Status != devices.StatusBusy {
		t.Errorf("a driver without a session answered %+v, want busy", res)
	}
	d, _ := r.run(t, r.term.Addr(), 0)
	waitOnline(t, ctx, r.term)
	// A punch journaled means the session is up.
	punch(t, ctx, r.term, "5")
	r.j.wait(t, ctx, 1)
	do := func(name string, args map[string]any) devices.Result {
		return d.Handle(ctx, devices.Command{ID: "c", Name: name, Args: args})
	}
	res := do("user.upsert", map[string]any{"user": "10042", "name": "Li Wei", "card": "12:345", "role": "admin"})
	if res.Status != devices.StatusOK || res.Data["created"] != true {
		t.Fatalf("upsert: %+v", res)
	}
	want := zk4370.User{SN: 2, PIN: "10042", Name: "Li Wei", Card: 12<<16 | 345, Privilege: zk4370.PrivAdmin}
	if us := r.term.Users(); len(us) != 2 || us[1] != want {
		t.Fatalf("users %+v, want %+v second", us, want)
	}
	if res := do("user.upsert", map[string]any{"user": "10042", "name": "Li Wei"}); res.Status != devices.StatusOK || res.Data["created"] != false {
		t.Fatalf("second upsert: %+v", res)
	}
	for _, bad := range []map[string]any{
		{"user": "10042", "password": "1234"},
		{"user": "10042", "fingerprint_template": "AAAA"},
		{"user": "10042", "enabled": false},
		{"user": strings.Repeat("9", 25)},
	} {
		if res := do("user.upsert", bad); res.Status != devices.StatusError {
			t.Errorf("upsert %v: %+v", bad, res)
		}
	}
	if res := do("user.delete", map[string]any{"user": "10042"}); res.Status != devices.StatusOK || res.Data["deleted"] != true {
		t.Fatalf("delete: %+v", res)
	}
	if us := r.term.Users(); len(us) != 1 || us[0].PIN != "1" {
		t.Fatalf("users after delete %+v", us)
	}
	if res := do("door.pulse", nil); res.Status != devices.StatusUnsupported {
		t.Errorf("door.pulse: %+v", res)
	}
}

// TestFetch: attendance.fetch sends a window of the log again, oldest first,
// under the punches' own ids, with limit and more.
func TestFetch(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		rec := zk4370.AttRecord{PIN: fmt.Sprint(100 + i), Time: zk4370.StampOf(base.Add(time.Duration(i) * time.Hour)), Verify: 1}
		if err := r.term.Record(rec); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := r.run(t, r.term.Addr(), 0)
	first := r.j.wait(t, ctx, 5)
	fetch := func(args map[string]any) devices.Result {
		return d.Handle(ctx, devices.Command{ID: "f", Name: "attendance.fetch", Args: args})
	}
	res := fetch(map[string]any{"since": "2026-12-01T09:00:00Z", "until": "2026-12-01T11:00:00Z", "limit": int64(1)})
	if res.Status != devices.StatusOK || res.Data["count"] != int64(1) || res.Data["more"] != true {
		t.Fatalf("fetch with limit 1: %+v", res)
	}
	res = fetch(map[string]any{"since": "2026-12-01T17:00:00+08:00"})
	if res.Status != devices.StatusOK || res.Data["count"] != int64(4) || res.Data["more"] != false {
		t.Fatalf("fetch since 09:00 UTC: %+v", res)
	}
	got := r.j.wait(t, ctx, 10)
	for i, want := range []devices.Event{first[1], first[1], first[2], first[3], first[4]} {
		if got[5+i].Source != want.Source {
			t.Errorf("fetched %d: %+v, want the id of %+v", i, got[5+i].Source, want.Source)
		}
	}
	if n := len(r.term.Log()); n != 5 {
		t.Errorf("log of %d after fetches, want 5", n)
	}
}
