package room_test

import (
	"errors"
	"strings"
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
		// A no-show (no check-in, no presence in its window) does not hold
		// the room: it is suggested for release, and the room is free.
		{"window closed, nobody came: free", true, nil, at(1, 11), room.LEDAvailable},
		{"no-show suggested: free", true, func(r *room.Room) error { return r.Tick(at(1, 11)) }, at(1, 30), room.LEDAvailable},
		{"no-show suggested, then motion: in use", true, func(r *room.Room) error {
			r.Tick(at(1, 11))
			return r.Motion(at(1, 20))
		}, at(1, 21), room.LEDOccupied},
		{"presence without check-in: still reserved", true, func(r *room.Room) error { r.Motion(at(1, 2)); r.Vacant(at(1, 5)); return nil }, at(1, 11), room.LEDOccupied},
		{"occupied across the window's close: still reserved", true, func(r *room.Room) error { r.Motion(at(0, 30)); r.Vacant(at(1, 11)); return nil }, at(1, 12), room.LEDOccupied},
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

// TestLEDAfterSuggestedRelease: a no-show's room shows free from the
// suggestion until the booking system releases it or it ends, and room.led
// says so right after room.release_suggested; the booking system's next
// schedule, with or without the booking, changes nothing.
func TestLEDAfterSuggestedRelease(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)), booking("b2", at(3, 0), at(4, 0)))
	g.tick(at(0, 55))
	g.tick(at(1, 11))
	var got []string
	for _, e := range g.events {
		if e.Type == room.EventLED {
			got = append(got, e.Type+" "+e.Data["state"].(string))
		} else {
			got = append(got, e.Type)
		}
	}
	want := "room.led available, room.led pending, room.release_suggested, room.led available"
	if strings.Join(got, ", ") != want {
		t.Fatalf("events %s\nwant   %s", strings.Join(got, ", "), want)
	}
	g.events = nil
	if b, ok := g.r.Holder(at(1, 30)); ok {
		t.Errorf("the no-show %s holds the room", b.ID)
	}
	// The booking system keeps the booking (a schedule with it): free still.
	if err := g.r.SetSchedule(at(1, 20), room.Schedule{Version: 2, Bookings: []room.Booking{booking("b1", at(1, 0), at(2, 0)), booking("b2", at(3, 0), at(4, 0))}}); err != nil {
		t.Fatal(err)
	}
	g.tick(at(1, 59))
	// It releases it: free still; then the booking's end changes nothing.
	if err := g.r.SetSchedule(at(1, 40), room.Schedule{Version: 3, Bookings: []room.Booking{booking("b2", at(3, 0), at(4, 0))}}); err != nil {
		t.Fatal(err)
	}
	g.tick(at(2, 0))
	if ev := g.take(room.EventLED); len(ev) != 0 {
		t.Errorf("LED changed after the suggestion: %+v", ev)
	}
	if l := g.r.LED(at(2, 30)); l != room.LEDAvailable {
		t.Errorf("LED %s between bookings", l)
	}
}
