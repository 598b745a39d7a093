package room_test

import (
	"errors"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/room"
)

func TestLEDTable(t *testing.T) {
	b1 := booking("b1", at(1, 0), at(2, 0)) // window 09:55–10:10
	checkIn := func(now time.Time) func(*room.Room) error {
		return func(r *room.Room) error { _, err := r.CheckIn(now, room.SourcePanel); return err }
	}
	cases := []struct {
		name     string
		schedule bool
		setup    func(*room.Room) error
		now      time.Time
		want     room.LEDState
	}{
		{"no schedule yet", false, nil, at(0, 0), room.LEDOffline},
		{"free", true, nil, at(0, 0), room.LEDAvailable},
		{"free, motion", true, func(r *room.Room) error { return r.Motion(at(0, 0)) }, at(0, 1), room.LEDOccupied},
		{"free, motion then vacant", true, func(r *room.Room) error { r.Motion(at(0, 0)); r.Vacant(at(0, 5)); return nil }, at(0, 6), room.LEDAvailable},
		{"window opens", true, nil, at(0, 55), room.LEDPending},
		{"window, motion", true, func(r *room.Room) error { return r.Motion(at(0, 56)) }, at(0, 57), room.LEDPending},
		{"checked in early", true, checkIn(at(0, 56)), at(0, 57), room.LEDOccupied},
		{"checked in, in progress", true, checkIn(at(1, 0)), at(1, 30), room.LEDOccupied},
		{"window closed unchecked: still reserved", true, nil, at(1, 11), room.LEDOccupied},
		{"after the booking", true, checkIn(at(1, 0)), at(2, 0), room.LEDAvailable},
		{"booking system offline", true, func(r *room.Room) error { r.SetOnline(t0, false); return nil }, at(1, 30), room.LEDOffline},
		{"override", true, func(r *room.Room) error { return r.SetLED(at(0, 0), "occupied", at(0, 30)) }, at(0, 29), room.LEDOccupied},
		{"override expired", true, func(r *room.Room) error { return r.SetLED(at(0, 0), "occupied", at(0, 30)) }, at(0, 30), room.LEDAvailable},
		{"override default length", true, func(r *room.Room) error { return r.SetLED(at(0, 0), "pending", time.Time{}) }, at(0, 59), room.LEDPending},
		{"override cleared", true, func(r *room.Room) error {
			r.SetLED(at(0, 0), "pending", time.Time{})
			return r.SetLED(at(0, 1), "auto", time.Time{})
		}, at(0, 2), room.LEDAvailable},
		{"override beats offline", false, func(r *room.Room) error { return r.SetLED(at(0, 0), "available", at(0, 30)) }, at(0, 1), room.LEDAvailable},
	}
	for _, c := range cases {
		g := newRig(t)
		if c.schedule {
			g.schedule(1, b1)
		}
		if c.setup != nil {
			if err := c.setup(g.r); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if got := g.r.LED(c.now); got != c.want {
			t.Errorf("%s: LED %s, want %s", c.name, got, c.want)
		}
	}
}

func TestLEDEvents(t *testing.T) {
	g := newRig(t)
	g.tick(t0)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	g.tick(at(0, 55))
	g.tick(at(0, 56)) // unchanged: nothing
	if _, err := g.r.CheckIn(at(0, 57), room.SourcePanel); err != nil {
		t.Fatal(err)
	}
	g.tick(at(2, 0))
	var got []string
	for _, e := range g.take(room.EventLED) {
		got = append(got, e.Data["state"].(string)+"/"+e.Data["color"].(string))
	}
	want := []string{"offline/", "available/green", "pending/yellow", "occupied/red", "available/green"}
	if len(got) != len(want) {
		t.Fatalf("LED events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("LED events %v, want %v", got, want)
		}
	}
}

func TestLEDOverrideRefused(t *testing.T) {
	g := newRig(t)
	for _, c := range []struct {
		state string
		until time.Time
	}{{"blue", time.Time{}}, {"occupied", t0}, {"occupied", t0.Add(25 * time.Hour)}} {
		if err := g.r.SetLED(t0, c.state, c.until); !errors.Is(err, room.ErrBadRequest) {
			t.Errorf("SetLED(%q, %v) = %v", c.state, c.until, err)
		}
	}
}
