package roomdrv

import (
	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/room"
)

var _ devices.Scheduler = (*Driver)(nil)

// Bookings implements devices.Scheduler: the booking in progress at the
// driver's clock and the next one to start, from the schedule the panel's
// line is made from (the console's rooms board shows them). A no-show's
// booking is still in progress here until the booking system releases it:
// the board shows its release suggestion beside it.
func (d *Driver) Bookings() (current, next *devices.Booking, err error) {
	now := d.now()
	err = d.withRoom(func(r *room.Room) error {
		for _, b := range r.Schedule().Bookings { // sorted by start
			switch {
			case !b.End.After(now):
			case !b.Start.After(now):
				current = bookingOf(b)
			default:
				next = bookingOf(b)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return current, next, nil
}

func bookingOf(b room.Booking) *devices.Booking {
	return &devices.Booking{ID: b.ID, Title: b.Title, Organizer: b.Organizer, Start: b.Start, End: b.End}
}
