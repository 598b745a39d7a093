package pushdrv

import (
	"context"
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
