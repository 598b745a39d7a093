package roomdrv_test

import (
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/room"
	"github.com/officegate/officegate/internal/testkit"
)

// TestBookings: the booking in progress and the next one, from the
// schedule the panel's line is made from, as the room's clock moves.
func TestBookings(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	r := w.start(w.baseConfig(), nil)
	id := func(b *devices.Booking) string {
		if b == nil {
			return "-"
		}
		return b.ID
	}
	check := func(wantCur, wantNext string) {
		t.Helper()
		cur, next, err := r.d.Bookings()
		if err != nil {
			t.Fatal(err)
		}
		if id(cur) != wantCur || id(next) != wantNext {
			t.Fatalf("at %s: current %s, next %s; want %s, %s", w.clk.Now().Format("15:04"), id(cur), id(next), wantCur, wantNext)
		}
	}
	check("-", "-") // no schedule yet
	r.do(room.CmdScheduleSet, schedule(1, "b1", at(1, 0), at(2, 0), "b2", at(2, 0), at(3, 0), "b3", at(5, 0), at(6, 0)), devices.StatusOK)
	check("-", "b1") // 09:00
	r.to(at(1, 30))
	check("b1", "b2")
	r.to(at(2, 0)) // b1 ends as b2 begins
	check("b2", "b3")
	r.to(at(4, 0))
	check("-", "b3")
	r.to(at(6, 0))
	check("-", "-")
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.d.Bookings(); err == nil {
		t.Fatal("Bookings of a stopped driver: no error")
	}
}
