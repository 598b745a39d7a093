package pushdrv

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
)

// TestCommandsThroughPoll: commands wait for the terminal's poll, run on its
// user table, and are answered from its Return codes; one that expires while
// queued is answered expired and never reaches the terminal.
func TestCommandsThroughPoll(t *testing.T) {
	hub := NewHub(nil)
	base := runTerminals(t, hub, &memSink{}, "CMD1")
	var d *Driver
	hub.mu.Lock()
	for _, l := range hub.listeners {
		d = l.terms["CMD1"]
	}
	hub.mu.Unlock()
	term := zkpushsim.New("CMD1", base, nil)
	ctx := context.Background()
	if err := term.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		name string
		r    devices.Result
	}
	answers := make(chan answer, 4)
	send := func(c devices.Command) {
		go func() { answers <- answer{c.ID, d.Handle(ctx, c)} }()
	}
	send(devices.Command{ID: "up", Name: "user.upsert", Args: map[string]any{"user": "7", "name": "张三"}})
	send(devices.Command{ID: "del", Name: "user.delete", Args: map[string]any{"user": "8"}})
	send(devices.Command{ID: "old", Name: "user.delete", Args: map[string]any{"user": "7"}, Deadline: time.Unix(1, 0)})
	waitQueued(t, d, 3)
	ran, err := term.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 {
		t.Fatalf("the terminal ran %+v, want the upsert and the delete (not the expired one)", ran)
	}
	got := map[string]devices.Result{}
	for range 3 {
		a := <-answers
		got[a.name] = a.r
	}
	if got["up"].Status != devices.StatusOK || got["del"].Status != devices.StatusOK || got["del"].Data["deleted"] != false || got["old"].Status != devices.StatusExpired {
		t.Fatalf("results %+v", got)
	}
	if u := term.Users()["7"]; u.Name != "张三" {
		t.Fatalf("terminal user 7 = %+v", u)
	}
	if r := d.Handle(ctx, devices.Command{ID: "bio", Name: "user.upsert", Args: map[string]any{"user": "9", "fingerprint": "AAAA"}}); r.Status != devices.StatusError {
		t.Fatalf("a biometric upsert: %+v", r)
	}
}

func waitQueued(t *testing.T, d *Driver, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		q := len(d.queue)
		d.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d commands queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond) // polling a condition
	}
}

// TestFetchResendsSameIDs: attendance.fetch makes the terminal upload the
// window's punches again, and they come under the ids they first had.
func TestFetchResendsSameIDs(t *testing.T) {
	hub := NewHub(nil)
	sink := &memSink{}
	base := runTerminals(t, hub, sink, "FET1")
	var d *Driver
	hub.mu.Lock()
	for _, l := range hub.listeners {
		d = l.terms["FET1"]
	}
	hub.mu.Unlock()
	term := zkpushsim.New("FET1", base, nil)
	ctx := context.Background()
	term.Handshake(ctx)
	for _, at := range []string{"2026-01-04 08:00:00", "2026-01-05 08:00:00", "2026-01-05 17:30:00"} {
		term.Add(zkpush.Punch{PIN: "7", Time: at, Verify: 1})
	}
	if _, err := term.Upload(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan devices.Result, 1)
	go func() {
		// 5 January in Shanghai (the test terminals' zone).
		done <- d.Handle(ctx, devices.Command{ID: "f", Name: "attendance.fetch",
			Args: map[string]any{"since": "2026-01-05T00:00:00+08:00", "until": "2026-01-06T00:00:00+08:00"}})
	}()
	waitQueued(t, d, 1)
	if _, err := term.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != devices.StatusOK {
		t.Fatalf("fetch: %+v", r)
	}
	if _, err := term.Upload(ctx); err != nil {
		t.Fatal(err)
	}
	p := sink.events("attendance.punch")
	if len(p) != 5 || p[3].Source != p[1].Source || p[4].Source != p[2].Source {
		t.Fatalf("%d punches; want 3 and then the 5 January two again under their sources", len(p))
	}
}

// TestTimeSetAndDoorPulse: time.set and door.pulse wait for the terminal's
// poll like the user commands. time.set goes out as INFO, whose reply's
// Date header sets the terminal's clock: the result says synced, with the
// header's rounding as the offset, and the firmware the terminal reported.
// door.pulse is AC_UNLOCK on a terminal configured with a lock time; a
// duration the terminal cannot honour, or a terminal without a lock, is an
// error and nothing is sent.
func TestTimeSetAndDoorPulse(t *testing.T) {
	hub := NewHub(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The gateway's clock stands at .7 s: the Date header says the next
	// second, 300 ms ahead.
	gw := time.Date(2026, 3, 2, 1, 30, 0, 700e6, time.UTC)
	d, err := New(hub, "zk-door", devices.Options{Config: cfg{Serial: "DOOR1", Listen: "127.0.0.1:0", TimeZone: "UTC", DoorPulse: "4s"},
		Now: func() time.Time { return gw }})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := New(hub, "zk-bare", devices.Options{Config: cfg{Serial: "BARE1", Listen: "127.0.0.1:0", TimeZone: "UTC"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	for _, dr := range []*Driver{d, bare} {
		go func() { dr.Run(ctx, &memSink{}); done <- struct{}{} }()
	}
	defer func() { cancel(); <-done; <-done }()
	waitAttached(t, hub, 2)
	// The terminal's own oscillator is an hour off until the gateway sets it.
	term := zkpushsim.New("DOOR1", "http://"+hub.Addr("127.0.0.1:0"), &zkpushsim.Opts{Lock: true, Firmware: "Ver 8.0.4",
		Now: func() time.Time { return gw.Add(-time.Hour) }})

	for _, c := range []devices.Command{
		{ID: "d1", Name: "door.pulse", Args: map[string]any{"duration_ms": int64(3000)}},
		{ID: "d2", Name: "time.set", Args: map[string]any{"ms": int64(1)}},
	} {
		if r := d.Handle(ctx, c); r.Status != devices.StatusError {
			t.Fatalf("%s %v: %+v, want error", c.Name, c.Args, r)
		}
	}
	if r := bare.Handle(ctx, devices.Command{ID: "d3", Name: "door.pulse", Args: map[string]any{}}); r.Status != devices.StatusError ||
		!strings.Contains(r.Error, "no door relay") {
		t.Fatalf("door.pulse on a terminal without a lock: %+v", r)
	}

	tsc, pulsec := make(chan devices.Result, 1), make(chan devices.Result, 1)
	go func() { tsc <- d.Handle(ctx, devices.Command{ID: "t", Name: "time.set", Args: map[string]any{}}) }()
	waitQueued(t, d, 1)
	go func() {
		pulsec <- d.Handle(ctx, devices.Command{ID: "p", Name: "door.pulse", Args: map[string]any{"duration_ms": int64(4000)}})
	}()
	waitQueued(t, d, 2)
	ran, err := term.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 || ran[0].Cmd != "INFO" || ran[1].Cmd != "AC_UNLOCK" {
		t.Fatalf("the terminal ran %+v, want INFO then AC_UNLOCK", ran)
	}
	ts, pulse := <-tsc, <-pulsec
	if ts.Status != devices.StatusOK || ts.Data["clock"] != devices.ClockSynced || ts.Data["clock_offset_ms"] != int64(300) || ts.Data["stepped"] != true {
		t.Fatalf("time.set: %+v", ts)
	}
	if pulse.Status != devices.StatusOK || pulse.Data["duration_ms"] != int64(4000) || term.Unlocks() != 1 {
		t.Fatalf("door.pulse: %+v, %d unlocks", pulse, term.Unlocks())
	}
	if got, want := term.Clock(), gw.Round(time.Second); !got.Equal(want) {
		t.Fatalf("terminal clock %s after the sync, want %s", got, want)
	}
	if fw := d.Status().Firmware; fw != "Ver 8.0.4" {
		t.Fatalf("firmware %q after INFO", fw)
	}
	if got := Commands; !slices.Contains(got, "time.set") || !slices.Contains(got, "door.pulse") {
		t.Fatalf("Commands %v", got)
	}
}
