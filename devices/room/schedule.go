package room

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Limits on what the booking system may push. A room has a few dozen
// bookings a day; 500 is weeks of them, and bounds the state file and the
// work of every Tick.
const (
	MaxBookings = 500
	MaxIDLen    = 128 // booking ids are UUIDs or back-end keys
	MaxTextLen  = 256 // organizer and title are shown on a small panel
)

// Errors a schedule is refused with.
var (
	ErrBadSchedule   = errors.New("room: schedule refused")
	ErrStaleSchedule = errors.New("room: schedule version not newer")
)

// Booking is one reservation of the room.
type Booking struct {
	ID        string    `json:"id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Organizer string    `json:"organizer,omitempty"`
	Title     string    `json:"title,omitempty"`
}

// Schedule is the booking system's list of the room's bookings, in force
// from its Version on. Versions only grow: a push whose version is not
// above the current one is an old message arriving late.
type Schedule struct {
	Version  uint64    `json:"version"`
	Bookings []Booking `json:"bookings"`
}

// Check reports the first thing that makes s unfit: version 0, more than
// MaxBookings, a booking without an id or with one used twice, an end not
// after its start, text too long, two bookings that overlap. The error
// wraps ErrBadSchedule and names the booking.
func (s Schedule) Check() error {
	if s.Version == 0 {
		return fmt.Errorf("%w: version 0 (versions start at 1)", ErrBadSchedule)
	}
	if len(s.Bookings) > MaxBookings {
		return fmt.Errorf("%w: %d bookings, at most %d", ErrBadSchedule, len(s.Bookings), MaxBookings)
	}
	ids := make(map[string]bool, len(s.Bookings))
	for _, b := range s.Bookings {
		switch {
		case b.ID == "" || len(b.ID) > MaxIDLen:
			return fmt.Errorf("%w: booking id %q is not 1 to %d bytes", ErrBadSchedule, b.ID, MaxIDLen)
		case ids[b.ID]:
			return fmt.Errorf("%w: booking %q appears twice", ErrBadSchedule, b.ID)
		case b.Start.IsZero() || b.End.IsZero():
			return fmt.Errorf("%w: booking %q has no start or no end", ErrBadSchedule, b.ID)
		case !b.End.After(b.Start):
			return fmt.Errorf("%w: booking %q ends at %s, not after its start %s",
				ErrBadSchedule, b.ID, b.End.Format(time.RFC3339), b.Start.Format(time.RFC3339))
		case len(b.Organizer) > MaxTextLen || len(b.Title) > MaxTextLen:
			return fmt.Errorf("%w: booking %q: organizer or title longer than %d bytes", ErrBadSchedule, b.ID, MaxTextLen)
		}
		ids[b.ID] = true
	}
	sorted := slices.Clone(s.Bookings)
	sortBookings(sorted)
	for i := 1; i < len(sorted); i++ {
		if a, b := sorted[i-1], sorted[i]; b.Start.Before(a.End) {
			return fmt.Errorf("%w: booking %q (%s–%s) overlaps booking %q (%s–%s)", ErrBadSchedule,
				b.ID, b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339),
				a.ID, a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339))
		}
	}
	return nil
}

func sortBookings(bs []Booking) {
	slices.SortFunc(bs, func(a, b Booking) int { return a.Start.Compare(b.Start) })
}

// clone returns a copy of s that shares nothing with it, sorted by start.
func (s Schedule) clone() Schedule {
	c := Schedule{Version: s.Version, Bookings: slices.Clone(s.Bookings)}
	sortBookings(c.Bookings)
	return c
}

// find returns the index of booking id, or -1.
func (s Schedule) find(id string) int {
	return slices.IndexFunc(s.Bookings, func(b Booking) bool { return b.ID == id })
}
