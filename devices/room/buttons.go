package room

import (
	"fmt"
	"time"
)

// Each button of the panel, and the matching command, is a method here:
// it changes the state, saves it, emits its outcome event and returns the
// booking it concerned.

func checkSource(source string) error {
	if source != SourcePanel && source != SourceCommand {
		return fmt.Errorf("%w: source %q is not %q or %q", ErrBadRequest, source, SourcePanel, SourceCommand)
	}
	return nil
}

func bookingData(b Booking, source string) map[string]any {
	d := map[string]any{
		"booking": b.ID, "source": source,
		"start": b.Start.UTC().Format(timeLayout), "end": b.End.UTC().Format(timeLayout),
	}
	if b.Organizer != "" {
		d["organizer"] = b.Organizer
	}
	if b.Title != "" {
		d["title"] = b.Title
	}
	return d
}

// CheckIn checks in to the booking whose check-in window holds now (the
// earliest not yet checked in, when windows of back-to-back bookings
// overlap) and emits room.checkin. It fails with ErrNoBooking when no
// window holds now and ErrAlreadyCheckedIn when every booking whose window
// does is checked in already.
func (r *Room) CheckIn(now time.Time, source string) (Booking, error) {
	if err := checkSource(source); err != nil {
		return Booking{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var done *Booking
	for _, b := range r.st.Schedule.Bookings {
		open, close := r.window(b)
		if now.Before(open) || now.After(close) {
			continue
		}
		if _, ok := r.st.CheckIns[b.ID]; ok {
			done = &b
			continue
		}
		next := r.st.clone()
		next.CheckIns[b.ID] = CheckIn{At: now, Source: source}
		return b, r.commit(now, next, []Event{{Type: EventCheckIn, Time: now, Data: bookingData(b, source)}})
	}
	if done != nil {
		return *done, fmt.Errorf("%w: booking %q", ErrAlreadyCheckedIn, done.ID)
	}
	return Booking{}, fmt.Errorf("%w: no check-in window holds %s", ErrNoBooking, now.UTC().Format(time.RFC3339))
}

// current returns the index of the booking in progress at now, or -1.
// r.mu must be held.
func (r *Room) current(now time.Time) int {
	for i, b := range r.st.Schedule.Bookings {
		if !now.Before(b.Start) && now.Before(b.End) {
			return i
		}
	}
	return -1
}

func checkMinutes(minutes int) error {
	if minutes < 1 || minutes > MaxMinutes {
		return fmt.Errorf("%w: %d minutes is outside 1–%d", ErrBadRequest, minutes, MaxMinutes)
	}
	return nil
}

// Extend moves the end of the booking in progress minutes later, if no
// booking starts before the new end, and emits room.booking_extended. The
// booking system learns of it from the event and confirms it with its next
// schedule, which replaces this one as any push does.
func (r *Room) Extend(now time.Time, minutes int, source string) (Booking, error) {
	if err := checkSource(source); err != nil {
		return Booking{}, err
	}
	if err := checkMinutes(minutes); err != nil {
		return Booking{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.current(now)
	if i < 0 {
		return Booking{}, fmt.Errorf("%w: nothing in progress at %s to extend", ErrNoBooking, now.UTC().Format(time.RFC3339))
	}
	b := r.st.Schedule.Bookings[i]
	end := b.End.Add(time.Duration(minutes) * time.Minute)
	if i+1 < len(r.st.Schedule.Bookings) {
		if n := r.st.Schedule.Bookings[i+1]; n.Start.Before(end) {
			return b, fmt.Errorf("%w: booking %q starts at %s, before %q extended by %d minutes would end",
				ErrNotFree, n.ID, n.Start.UTC().Format(time.RFC3339), b.ID, minutes)
		}
	}
	next := r.st.clone()
	next.Schedule.Bookings[i].End = end
	data := bookingData(next.Schedule.Bookings[i], source)
	data["previous_end"] = b.End.UTC().Format(timeLayout)
	data["minutes"] = minutes
	return next.Schedule.Bookings[i], r.commit(now, next, []Event{{Type: EventBookingExtended, Time: now, Data: data}})
}

// End ends the booking in progress now and emits room.booking_ended. A
// booking ended at the instant it starts is removed, since it would have
// no length.
func (r *Room) End(now time.Time, source string) (Booking, error) {
	if err := checkSource(source); err != nil {
		return Booking{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.current(now)
	if i < 0 {
		return Booking{}, fmt.Errorf("%w: nothing in progress at %s to end", ErrNoBooking, now.UTC().Format(time.RFC3339))
	}
	b := r.st.Schedule.Bookings[i]
	next := r.st.clone()
	ended := b
	ended.End = now
	if now.Equal(b.Start) {
		next.Schedule.Bookings = append(next.Schedule.Bookings[:i], next.Schedule.Bookings[i+1:]...)
		delete(next.CheckIns, b.ID)
		delete(next.Present, b.ID)
	} else {
		next.Schedule.Bookings[i].End = now
	}
	data := bookingData(ended, source)
	data["previous_end"] = b.End.UTC().Format(timeLayout)
	return ended, r.commit(now, next, []Event{{Type: EventBookingEnded, Time: now, Data: data}})
}

// BookNow books the room from now for minutes if no booking overlaps that
// time, checks it in, and emits room.booked. The booking's id is
// "adhoc-" and now in Unix nanoseconds; organizer and title may be empty.
// The booking system learns of it from the event.
func (r *Room) BookNow(now time.Time, minutes int, source, organizer, title string) (Booking, error) {
	if err := checkSource(source); err != nil {
		return Booking{}, err
	}
	if err := checkMinutes(minutes); err != nil {
		return Booking{}, err
	}
	if len(organizer) > MaxTextLen || len(title) > MaxTextLen {
		return Booking{}, fmt.Errorf("%w: organizer or title longer than %d bytes", ErrBadRequest, MaxTextLen)
	}
	b := Booking{
		ID: fmt.Sprintf("adhoc-%d", now.UnixNano()), Start: now, End: now.Add(time.Duration(minutes) * time.Minute),
		Organizer: organizer, Title: title,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.st.Schedule.Bookings {
		if o.Start.Before(b.End) && b.Start.Before(o.End) {
			return Booking{}, fmt.Errorf("%w: booking %q holds the room %s–%s",
				ErrNotFree, o.ID, o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339))
		}
	}
	if r.st.Schedule.Version == 0 {
		// Without the booking system's schedule the room may well be booked.
		return Booking{}, fmt.Errorf("%w: no schedule received yet", ErrNotFree)
	}
	if len(r.st.Schedule.Bookings) >= MaxBookings {
		return Booking{}, fmt.Errorf("%w: the schedule holds %d bookings already", ErrNotFree, MaxBookings)
	}
	next := r.st.clone()
	next.Schedule.Bookings = append(next.Schedule.Bookings, b)
	sortBookings(next.Schedule.Bookings)
	next.CheckIns[b.ID] = CheckIn{At: now, Source: source}
	data := bookingData(b, source)
	data["minutes"] = minutes
	data["checked_in"] = true
	return b, r.commit(now, next, []Event{{Type: EventBooked, Time: now, Data: data}})
}
