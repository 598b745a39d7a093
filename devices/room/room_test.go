package room_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/room"
)

func TestCheckInWindowEdges(t *testing.T) {
	b1 := booking("b1", at(1, 0), at(2, 0)) // 10:00–11:00: window 09:55–10:10
	for _, c := range []struct {
		name string
		now  time.Time
		err  error
	}{
		{"just before the window", at(0, 55).Add(-time.Nanosecond), room.ErrNoBooking},
		{"exactly 5 min before", at(0, 55), nil},
		{"at the start", at(1, 0), nil},
		{"exactly 10 min after", at(1, 10), nil},
		{"just after the window", at(1, 10).Add(time.Nanosecond), room.ErrNoBooking},
	} {
		g := newRig(t)
		g.schedule(1, b1)
		b, err := g.r.CheckIn(c.now, room.SourcePanel)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: CheckIn = %v, want %v", c.name, err, c.err)
			continue
		}
		if c.err != nil {
			continue
		}
		if b.ID != "b1" {
			t.Errorf("%s: checked in to %q", c.name, b.ID)
		}
		ev := g.take(room.EventCheckIn)
		if len(ev) != 1 || ev[0].Data["booking"] != "b1" || ev[0].Data["source"] != "panel" || !ev[0].Time.Equal(c.now) {
			t.Errorf("%s: events %+v", c.name, ev)
		}
		if _, err := g.r.CheckIn(c.now, room.SourceCommand); !errors.Is(err, room.ErrAlreadyCheckedIn) || !strings.Contains(err.Error(), `"b1"`) {
			t.Errorf("%s: second check-in = %v", c.name, err)
		}
	}
}

func TestCheckInPicksTheUncheckedOfOverlappingWindows(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("a", at(1, 0), at(1, 10)), booking("b", at(1, 10), at(2, 0)))
	// At 10:07 a's window (09:55–10:10) and b's (10:05–10:20) both hold.
	if b, err := g.r.CheckIn(at(1, 7), room.SourcePanel); err != nil || b.ID != "a" {
		t.Fatalf("first = %q, %v", b.ID, err)
	}
	if b, err := g.r.CheckIn(at(1, 7), room.SourcePanel); err != nil || b.ID != "b" {
		t.Fatalf("second = %q, %v", b.ID, err)
	}
	if _, err := g.r.CheckIn(at(1, 7), room.SourcePanel); !errors.Is(err, room.ErrAlreadyCheckedIn) {
		t.Fatalf("third = %v", err)
	}
	if _, err := g.r.CheckIn(at(1, 7), "app"); !errors.Is(err, room.ErrBadRequest) {
		t.Fatalf("unknown source = %v", err)
	}
}

func TestNoShowSuggestsReleaseOnce(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	g.tick(at(1, 10)) // the window's last instant: still open
	if ev := g.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Fatalf("suggested while the window is open: %+v", ev)
	}
	g.tick(at(1, 10).Add(time.Second))
	ev := g.take(room.EventReleaseSuggested)
	if len(ev) != 1 || ev[0].Data["booking"] != "b1" || ev[0].Data["reason"] != room.ReasonNoShow ||
		ev[0].Data["window_end"] != "2026-11-24T10:10:00.000Z" {
		t.Fatalf("suggestions %+v", ev)
	}
	for m := 11; m < 70; m++ {
		g.tick(at(1, m))
	}
	if ev := g.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Fatalf("suggested again: %+v", ev)
	}
	if _, err := g.r.CheckIn(at(1, 11), room.SourcePanel); !errors.Is(err, room.ErrNoBooking) {
		t.Errorf("check-in after the window = %v", err)
	}
}

func TestNoSuggestionWhenCheckedIn(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	if _, err := g.r.CheckIn(at(1, 9), room.SourcePanel); err != nil {
		t.Fatal(err)
	}
	g.tick(at(1, 30))
	if ev := g.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Fatalf("suggested a checked-in booking: %+v", ev)
	}
}

func TestMotion(t *testing.T) {
	b1 := booking("b1", at(1, 0), at(2, 0)) // window 09:55–10:10
	cases := []struct {
		name    string
		feed    func(r *room.Room)
		suggest bool
	}{
		{"motion in the window", func(r *room.Room) { r.Motion(at(1, 2)); r.Vacant(at(1, 7)) }, false},
		{"motion at the window's opening", func(r *room.Room) { r.Motion(at(0, 55)); r.Vacant(at(1, 0)) }, false},
		{"motion only before the window", func(r *room.Room) { r.Motion(at(0, 40)); r.Vacant(at(0, 56)) }, true},
		{"motion only after the window", func(r *room.Room) { r.Motion(at(1, 10).Add(time.Second)) }, true},
		{"occupied from before the window to past its end", func(r *room.Room) { r.Motion(at(0, 30)) }, false},
		{"occupied through the window's end, vacant after", func(r *room.Room) { r.Motion(at(0, 30)); r.Vacant(at(1, 11)) }, false},
	}
	for _, c := range cases {
		g := newRig(t)
		g.schedule(1, b1)
		c.feed(g.r)
		if _, ok := g.r.CheckedIn("b1"); ok {
			t.Errorf("%s: motion counted as a check-in", c.name)
		}
		g.tick(at(1, 12))
		if got := len(g.take(room.EventReleaseSuggested)) == 1; got != c.suggest {
			t.Errorf("%s: suggested %v, want %v", c.name, got, c.suggest)
		}
	}
}

func TestScheduleReplacementMidBooking(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("stays", at(1, 0), at(2, 0)), booking("moves", at(2, 0), at(3, 0)))
	if _, err := g.r.CheckIn(at(1, 1), room.SourcePanel); err != nil {
		t.Fatal(err)
	}
	if _, err := g.r.CheckIn(at(1, 56), room.SourcePanel); err != nil { // "moves", early
		t.Fatal(err)
	}
	// The back end extends "stays" (same start) and moves "moves" later.
	if err := g.r.SetSchedule(at(1, 57), room.Schedule{Version: 2, Bookings: []room.Booking{
		booking("stays", at(1, 0), at(2, 15)), booking("moves", at(2, 30), at(3, 0)),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.r.CheckedIn("stays"); !ok {
		t.Error("a booking that stayed lost its check-in")
	}
	if _, ok := g.r.CheckedIn("moves"); ok {
		t.Error("a moved booking kept its check-in")
	}
	g.tick(at(2, 10))
	if ev := g.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Errorf("suggested %+v", ev)
	}
	// Removed altogether, then back: the check-in is gone for good.
	g.schedule(3)
	g.schedule(4, booking("stays", at(1, 0), at(2, 15)))
	if _, ok := g.r.CheckedIn("stays"); ok {
		t.Error("a booking removed and re-added kept its check-in")
	}
	err := g.r.SetSchedule(t0, room.Schedule{Version: 4})
	if !errors.Is(err, room.ErrStaleSchedule) || !strings.Contains(err.Error(), "version 4") || !strings.Contains(err.Error(), "current version 4") {
		t.Errorf("same version = %v", err)
	}
	if err := g.r.SetSchedule(t0, room.Schedule{Version: 2}); err == nil || !strings.Contains(err.Error(), "version 2 is not above the current version 4") {
		t.Errorf("older version = %v", err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	g := newRig(t)
	g.schedule(7, booking("noshow", at(1, 0), at(1, 30)), booking("meeting", at(1, 30), at(2, 30)))
	g.tick(at(1, 11))
	if len(g.take(room.EventReleaseSuggested)) != 1 {
		t.Fatal("no suggestion before the restart")
	}
	if _, err := g.r.CheckIn(at(1, 28), room.SourcePanel); err != nil {
		t.Fatal(err)
	}
	if err := g.r.SetLED(at(1, 28), "offline", at(3, 0)); err != nil {
		t.Fatal(err)
	}

	h := openRig(t, g.path) // the gateway restarts in the middle of "meeting"
	for m := 29; m < 90; m++ {
		h.tick(at(1, m))
	}
	if ev := h.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Fatalf("suggested again after the restart: %+v", ev)
	}
	if c, ok := h.r.CheckedIn("meeting"); !ok || !c.At.Equal(at(1, 28)) || c.Source != room.SourcePanel {
		t.Errorf("check-in after the restart: %+v %v", c, ok)
	}
	if _, err := h.r.CheckIn(at(1, 35), room.SourcePanel); !errors.Is(err, room.ErrAlreadyCheckedIn) {
		t.Errorf("check-in again after the restart = %v", err)
	}
	if s := h.r.Schedule(); s.Version != 7 || len(s.Bookings) != 2 {
		t.Errorf("schedule after the restart %+v", s)
	}
	if l := h.r.LED(at(2, 0)); l != room.LEDOffline {
		t.Errorf("LED override lost: %s", l)
	}
}

func TestRestartKeepsPresence(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	g.r.Motion(at(1, 1))
	g.r.Vacant(at(1, 6))
	h := openRig(t, g.path)
	h.tick(at(1, 20))
	if ev := h.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Fatalf("presence before the restart forgotten: %+v", ev)
	}
}

func TestSuggestionOutlivesScheduleChanges(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	g.tick(at(1, 11))
	g.take("")
	g.schedule(2)                                    // the back end released it
	g.schedule(3, booking("b1", at(1, 0), at(2, 0))) // and someone took it back
	g.tick(at(1, 20))
	if ev := g.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Fatalf("suggested twice for one booking: %+v", ev)
	}
}

func TestBadSchedules(t *testing.T) {
	many := make([]room.Booking, room.MaxBookings+1)
	for i := range many {
		s := t0.Add(time.Duration(i) * time.Hour)
		many[i] = booking(strings.Repeat("x", 1+i%50)+string(rune('a'+i%26))+time.Duration(i).String(), s, s.Add(time.Hour))
	}
	for _, c := range []struct {
		name string
		s    room.Schedule
		want string
	}{
		{"version 0", room.Schedule{}, "version 0"},
		{"end before start", room.Schedule{Version: 1, Bookings: []room.Booking{booking("b1", at(2, 0), at(1, 0))}}, `booking "b1" ends`},
		{"end at start", room.Schedule{Version: 1, Bookings: []room.Booking{booking("b1", at(1, 0), at(1, 0))}}, `booking "b1" ends`},
		{"overlap", room.Schedule{Version: 1, Bookings: []room.Booking{booking("b2", at(1, 30), at(3, 0)), booking("b1", at(1, 0), at(2, 0))}}, `booking "b2" (2026-11-24T10:30:00Z–2026-11-24T12:00:00Z) overlaps booking "b1"`},
		{"duplicate id", room.Schedule{Version: 1, Bookings: []room.Booking{booking("b1", at(1, 0), at(2, 0)), booking("b1", at(3, 0), at(4, 0))}}, `booking "b1" appears twice`},
		{"no id", room.Schedule{Version: 1, Bookings: []room.Booking{booking("", at(1, 0), at(2, 0))}}, `booking id ""`},
		{"no start", room.Schedule{Version: 1, Bookings: []room.Booking{{ID: "b1", End: at(1, 0)}}}, `booking "b1" has no start`},
		{"too many", room.Schedule{Version: 1, Bookings: many}, "501 bookings, at most 500"},
	} {
		g := newRig(t)
		err := g.r.SetSchedule(t0, c.s)
		if !errors.Is(err, room.ErrBadSchedule) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
		if g.r.Schedule().Version != 0 {
			t.Errorf("%s: schedule taken", c.name)
		}
	}
	// Back to back is not an overlap.
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)), booking("b2", at(2, 0), at(3, 0)))
}

// A release suggestion names the booking's organizer and title when the
// booking system gave them, so that the booker can be told.
func TestReleaseSuggestedNamesTheOrganizer(t *testing.T) {
	g := newRig(t)
	b := booking("b1", at(1, 0), at(2, 0))
	b.Organizer, b.Title = "1001", "Design review"
	g.schedule(1, b, booking("b2", at(3, 0), at(4, 0)))
	g.tick(at(1, 11))
	ev := g.take(room.EventReleaseSuggested)
	if len(ev) != 1 || ev[0].Data["organizer"] != "1001" || ev[0].Data["title"] != "Design review" {
		t.Fatalf("suggestions %+v", ev)
	}
	g.tick(at(3, 11))
	ev = g.take(room.EventReleaseSuggested)
	if _, ok := ev[0].Data["organizer"]; len(ev) != 1 || ok {
		t.Fatalf("a booking without an organizer: %+v", ev)
	}
}
