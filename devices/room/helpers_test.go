package room_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/room"
)

// t0 is 09:00; bookings in the tests are at 10:00 and later.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// at returns t0 plus h:m (from 09:00), e.g. at(1, 5) is 10:05.
func at(h, m int) time.Time { return t0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }

func booking(id string, start, end time.Time) room.Booking {
	return room.Booking{ID: id, Start: start, End: end}
}

// rig is a Room and the events it emitted.
type rig struct {
	t      *testing.T
	r      *room.Room
	path   string
	events []room.Event
}

// newRig opens a room on a state file in a fresh directory.
func newRig(t *testing.T) *rig {
	t.Helper()
	return openRig(t, filepath.Join(t.TempDir(), "room.json"))
}

func openRig(t *testing.T, path string) *rig {
	t.Helper()
	g := &rig{t: t, path: path}
	r, err := room.Open(room.Config{StatePath: path}, func(e room.Event) { g.events = append(g.events, e) })
	if err != nil {
		t.Fatal(err)
	}
	g.r = r
	return g
}

// schedule pushes version v with the given bookings.
func (g *rig) schedule(v uint64, bs ...room.Booking) {
	g.t.Helper()
	if err := g.r.SetSchedule(t0, room.Schedule{Version: v, Bookings: bs}); err != nil {
		g.t.Fatal(err)
	}
}

func (g *rig) tick(now time.Time) {
	g.t.Helper()
	if err := g.r.Tick(now); err != nil {
		g.t.Fatal(err)
	}
}

// take returns the events of type typ emitted since the last take, and
// forgets all events so far.
func (g *rig) take(typ string) []room.Event {
	var out []room.Event
	for _, e := range g.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	g.events = nil
	return out
}
