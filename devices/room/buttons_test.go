package room_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/room"
)

func TestExtend(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)), booking("b2", at(2, 30), at(3, 0)))
	if _, err := g.r.Extend(at(0, 30), 15, room.SourcePanel); !errors.Is(err, room.ErrNoBooking) {
		t.Errorf("extend with nothing in progress = %v", err)
	}
	b, err := g.r.Extend(at(1, 50), 30, room.SourcePanel) // to 11:30, exactly b2's start
	if err != nil || !b.End.Equal(at(2, 30)) {
		t.Fatalf("extend = %+v, %v", b, err)
	}
	ev := g.take(room.EventBookingExtended)
	if len(ev) != 1 || ev[0].Data["end"] != "2026-11-24T11:30:00.000Z" || ev[0].Data["previous_end"] != "2026-11-24T11:00:00.000Z" || ev[0].Data["minutes"] != 30 {
		t.Fatalf("events %+v", ev)
	}
	_, err = g.r.Extend(at(2, 0), 1, room.SourcePanel)
	if !errors.Is(err, room.ErrNotFree) || !strings.Contains(err.Error(), `booking "b2"`) {
		t.Errorf("extend into b2 = %v", err)
	}
	for _, m := range []int{0, -5, room.MaxMinutes + 1} {
		if _, err := g.r.Extend(at(1, 50), m, room.SourcePanel); !errors.Is(err, room.ErrBadRequest) {
			t.Errorf("extend by %d = %v", m, err)
		}
	}
}

func TestEnd(t *testing.T) {
	g := newRig(t)
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	if _, err := g.r.CheckIn(at(1, 0), room.SourcePanel); err != nil {
		t.Fatal(err)
	}
	b, err := g.r.End(at(1, 40), room.SourcePanel)
	if err != nil || !b.End.Equal(at(1, 40)) {
		t.Fatalf("end = %+v, %v", b, err)
	}
	if ev := g.take(room.EventBookingEnded); len(ev) != 1 || ev[0].Data["previous_end"] != "2026-11-24T11:00:00.000Z" {
		t.Fatalf("events %+v", ev)
	}
	if l := g.r.LED(at(1, 41)); l != room.LEDAvailable {
		t.Errorf("LED after end: %s", l)
	}
	if _, err := g.r.End(at(1, 41), room.SourcePanel); !errors.Is(err, room.ErrNoBooking) {
		t.Errorf("end again = %v", err)
	}
	// Ended the instant it starts: removed.
	g.schedule(2, booking("b3", at(3, 0), at(4, 0)))
	if _, err := g.r.End(at(3, 0), room.SourceCommand); err != nil {
		t.Fatal(err)
	}
	if s := g.r.Schedule(); len(s.Bookings) != 0 {
		t.Errorf("schedule after ending at the start: %+v", s)
	}
}

func TestBookNow(t *testing.T) {
	g := newRig(t)
	if _, err := g.r.BookNow(at(0, 0), 30, room.SourcePanel, "", ""); !errors.Is(err, room.ErrNotFree) {
		t.Errorf("book without a schedule = %v", err)
	}
	g.schedule(1, booking("b1", at(1, 0), at(2, 0)))
	b, err := g.r.BookNow(at(0, 15), 45, room.SourcePanel, "", "stand-up") // 09:15–10:00
	if err != nil || !b.End.Equal(at(1, 0)) || !strings.HasPrefix(b.ID, "adhoc-") {
		t.Fatalf("book = %+v, %v", b, err)
	}
	ev := g.take(room.EventBooked)
	if len(ev) != 1 || ev[0].Data["booking"] != b.ID || ev[0].Data["checked_in"] != true || ev[0].Data["title"] != "stand-up" {
		t.Fatalf("events %+v", ev)
	}
	if _, ok := g.r.CheckedIn(b.ID); !ok || g.r.LED(at(0, 20)) != room.LEDOccupied {
		t.Error("an ad hoc booking is not checked in")
	}
	if _, err := g.r.BookNow(at(0, 20), 10, room.SourcePanel, "", ""); !errors.Is(err, room.ErrNotFree) || !strings.Contains(err.Error(), b.ID) {
		t.Errorf("book over the ad hoc booking = %v", err)
	}
	if _, err := g.r.End(at(0, 30), room.SourcePanel); err != nil {
		t.Fatal(err)
	}
	if _, err := g.r.BookNow(at(0, 31), 30, room.SourcePanel, "", ""); !errors.Is(err, room.ErrNotFree) || !strings.Contains(err.Error(), `"b1"`) {
		t.Errorf("book into b1 = %v", err)
	}
	g.tick(at(0, 40))
	if ev := g.take(room.EventReleaseSuggested); len(ev) != 0 {
		t.Errorf("ad hoc booking suggested for release: %+v", ev)
	}
}

func TestHandle(t *testing.T) {
	g := newRig(t)
	res := g.r.Handle(t0, devices.Command{Name: room.CmdScheduleSet, Args: map[string]any{
		"version": float64(3),
		"bookings": []any{
			map[string]any{"id": "b1", "start": "2026-11-24T10:00:00Z", "end": "2026-11-24T11:00:00Z", "organizer": "Li Wei"},
			map[string]any{"id": "b2", "start": float64(at(3, 0).Unix()), "end": float64(at(4, 0).Unix())},
		},
	}})
	if res.Status != devices.StatusOK || res.Data["version"] != uint64(3) {
		t.Fatalf("schedule_set = %+v", res)
	}
	if s := g.r.Schedule(); len(s.Bookings) != 2 || s.Bookings[0].Organizer != "Li Wei" || !s.Bookings[1].Start.Equal(at(3, 0)) {
		t.Fatalf("schedule %+v", s)
	}
	for _, c := range []struct {
		cmd    devices.Command
		status string
	}{
		{devices.Command{Name: room.CmdScheduleSet, Args: map[string]any{"version": float64(3), "bookings": []any{}}}, devices.StatusError},
		{devices.Command{Name: room.CmdScheduleSet, Args: map[string]any{"version": float64(4)}}, devices.StatusError},
		{devices.Command{Name: room.CmdScheduleSet, Args: map[string]any{"version": float64(4), "bookings": []any{map[string]any{"id": "x", "start": "10am", "end": "11am"}}}}, devices.StatusError},
		{devices.Command{Name: room.CmdCheckIn}, devices.StatusOK},
		{devices.Command{Name: room.CmdExtend, Args: map[string]any{"minutes": float64(15)}}, devices.StatusOK},
		{devices.Command{Name: room.CmdExtend, Args: map[string]any{"minutes": "15"}}, devices.StatusError},
		{devices.Command{Name: room.CmdLEDSet, Args: map[string]any{"state": "offline", "until": "2026-11-24T10:30:00Z"}}, devices.StatusOK},
		{devices.Command{Name: room.CmdLEDSet, Args: map[string]any{"state": "purple"}}, devices.StatusError},
		{devices.Command{Name: room.CmdEnd}, devices.StatusOK},
		{devices.Command{Name: room.CmdBook, Args: map[string]any{"minutes": float64(20)}}, devices.StatusOK},
		{devices.Command{Name: "room.explode"}, devices.StatusUnsupported},
	} {
		res := g.r.Handle(at(1, 5), c.cmd)
		if res.Status != c.status {
			t.Errorf("%s %v = %+v, want %s", c.cmd.Name, c.cmd.Args, res, c.status)
		}
		if err := devices.CheckData(res.Data); err != nil {
			t.Errorf("%s: result data: %v", c.cmd.Name, err)
		}
	}
}
