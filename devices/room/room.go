package room

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Event types a Room emits.
const (
	EventCheckIn          = "room.checkin"
	EventReleaseSuggested = "room.release_suggested"
	EventBookingExtended  = "room.booking_extended"
	EventBookingEnded     = "room.booking_ended"
	EventBooked           = "room.booked"
	EventLED              = "room.led"
)

// ReasonNoShow is the reason of a release suggestion for a booking nobody
// checked in to and no motion was seen in.
const ReasonNoShow = "no_checkin_no_motion"

// Check-in sources.
const (
	SourcePanel   = "panel"   // a button on the room's panel
	SourceCommand = "command" // a command from the back end
)

// Errors of inputs. Each is wrapped with the booking or value concerned.
var (
	ErrNoBooking        = errors.New("room: no booking")
	ErrAlreadyCheckedIn = errors.New("room: already checked in")
	ErrNotFree          = errors.New("room: not free")
	ErrBadRequest       = errors.New("room: bad request")
)

// Event is something a Room did or decided; the gateway turns it into a
// devices.Event of the panel's device (Event.Time is the gateway's clock).
type Event struct {
	Type string
	Time time.Time
	Data map[string]any
}

// Room is the state of one meeting room: its schedule, check-ins, release
// suggestions, occupancy and LED. It is driven by explicit time (Tick and
// every input take now), so the same inputs give the same events. Every
// change of the persisted part is written to the state file before its
// events are emitted: a change that could not be saved is refused and
// emits nothing. Safe for concurrent use.
type Room struct {
	// Immutable.
	cfg  Config
	emit func(Event) // called with mu held, in order

	mu            sync.Mutex
	st            state     // guarded by mu; what the state file holds
	online        bool      // guarded by mu
	occupied      bool      // guarded by mu; the sensor's last report
	occupiedSince time.Time // guarded by mu; start of the latest occupied span
	vacantSince   time.Time // guarded by mu; end of it; zero while occupied
	shown         LEDState  // guarded by mu; the LED last emitted; "" before the first
}

// Open returns the room whose state is in cfg.StatePath, or a new one with
// no schedule if the file does not exist. A file that exists but cannot be
// read or decoded is an error (wrapping ErrCorrupt when it is the content):
// a room that forgot its check-ins and suggestions would suggest a release
// twice. emit receives the events; it must not call back into the Room.
// The room starts online; the sensor's state is unknown (vacant) until
// Motion or Vacant.
func Open(cfg Config, emit func(Event)) (*Room, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if emit == nil {
		emit = func(Event) {}
	}
	r := &Room{cfg: cfg, emit: emit, online: true, st: newState()}
	if cfg.StatePath != "" {
		st, err := load(cfg.StatePath)
		if err != nil {
			return nil, err
		}
		r.st = st
	}
	return r, nil
}

// window returns when b's check-in window opens and closes (both
// inclusive); it closes at b's end at the latest.
func (r *Room) window(b Booking) (open, close time.Time) {
	close = b.Start.Add(r.cfg.CheckinAfter)
	if b.End.Before(close) {
		close = b.End
	}
	return b.Start.Add(-r.cfg.CheckinBefore), close
}

// commit saves next, makes it the state, emits events and then room.led if
// the LED changed. r.mu must be held.
func (r *Room) commit(now time.Time, next state, events []Event) error {
	if r.cfg.StatePath != "" {
		if err := save(r.cfg.StatePath, next); err != nil {
			return err
		}
	}
	r.st = next
	for _, e := range events {
		r.emit(e)
	}
	r.showLED(now)
	return nil
}

// showLED emits room.led if the LED state at now differs from the last
// one emitted. r.mu must be held.
func (r *Room) showLED(now time.Time) {
	l := r.led(now)
	if l == r.shown {
		return
	}
	data := map[string]any{"state": string(l), "color": l.Color()}
	if r.shown != "" {
		data["previous"] = string(r.shown)
	}
	if o := r.st.Override; o != nil && now.Before(o.Until) {
		data["override_until"] = o.Until.UTC().Format(timeLayout)
	}
	r.shown = l
	r.emit(Event{Type: EventLED, Time: now, Data: data})
}

// Tick moves the room to now: it suggests the release of every booking
// whose check-in window has closed with no check-in and no presence, and
// emits room.led when the LED changes. Call it every few seconds; a
// suggestion comes on the first Tick after the window closed.
func (r *Room) Tick(now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var events []Event
	var next state
	for _, b := range r.st.Schedule.Bookings {
		_, close := r.window(b)
		if !now.After(close) || !now.Before(b.End) || r.st.has(b.ID) || r.occupiedAt(close) {
			continue
		}
		if events == nil {
			next = r.st.clone()
		}
		next.Suggested[b.ID] = now
		data := map[string]any{
			"booking": b.ID, "reason": ReasonNoShow,
			"start": b.Start.UTC().Format(timeLayout), "end": b.End.UTC().Format(timeLayout),
			"window_end": close.UTC().Format(timeLayout),
		}
		// Who to tell: the booking system named them (room.schedule_set);
		// a sink can send the suggestion to the booker.
		if b.Organizer != "" {
			data["organizer"] = b.Organizer
		}
		if b.Title != "" {
			data["title"] = b.Title
		}
		events = append(events, Event{Type: EventReleaseSuggested, Time: now, Data: data})
	}
	if events == nil {
		r.showLED(now)
		return nil
	}
	return r.commit(now, next, events)
}

// has reports whether booking id was checked in, had presence in its
// window, or was already suggested for release: any of them rules a
// suggestion out.
func (s state) has(id string) bool {
	_, c := s.CheckIns[id]
	_, p := s.Present[id]
	_, g := s.Suggested[id]
	return c || p || g
}

// occupiedAt reports whether the sensor's latest occupied span covers t.
// A sensor that read occupied at the window's close saw motion within its
// hold before then; with the hold no longer than the window (5 min and 15
// min by default), that motion fell in the window. r.mu must be held.
func (r *Room) occupiedAt(t time.Time) bool {
	if r.occupiedSince.IsZero() || r.occupiedSince.After(t) {
		return false
	}
	return r.occupied || r.vacantSince.After(t)
}

// Motion records motion seen at at (a room.occupancy "occupied" from the
// PIR, with its time): the room reads occupied, and every booking whose
// check-in window holds at has had presence. Presence is not a check-in,
// but it rules out a release suggestion.
func (r *Room) Motion(at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.occupied {
		r.occupied, r.occupiedSince, r.vacantSince = true, at, time.Time{}
	}
	var next state
	changed := false
	for _, b := range r.st.Schedule.Bookings {
		open, close := r.window(b)
		if at.Before(open) || at.After(close) {
			continue
		}
		if _, ok := r.st.Present[b.ID]; ok {
			continue
		}
		if !changed {
			next, changed = r.st.clone(), true
		}
		next.Present[b.ID] = at
	}
	if !changed {
		r.showLED(at)
		return nil
	}
	return r.commit(at, next, nil)
}

// Vacant records that the sensor reads the room empty since at (a
// room.occupancy "vacant", with its time).
func (r *Room) Vacant(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.occupied {
		r.occupied, r.vacantSince = false, at
	}
	r.showLED(at)
}

// SetOnline records whether the booking system is in reach; an offline
// room shows LEDOffline.
func (r *Room) SetOnline(now time.Time, online bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.online = online
	r.showLED(now)
}

// Schedule returns a copy of the schedule in force, sorted by start.
func (r *Room) Schedule() Schedule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Schedule.clone()
}

// CheckedIn returns the check-in of booking id, if any.
func (r *Room) CheckedIn(id string) (CheckIn, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.st.CheckIns[id]
	return c, ok
}

// SetSchedule replaces the schedule with s (room.schedule_set). It refuses
// a version not above the current one (wrapping ErrStaleSchedule, naming
// both) and a schedule that fails Check. A booking that stays (same id,
// same start) keeps its check-in and presence; one that is gone or moved
// loses them. Release suggestions are remembered by booking id whatever the
// schedule says, so a booking is never suggested twice; those for bookings
// no longer scheduled are forgotten a day after they were made.
func (r *Room) SetSchedule(now time.Time, s Schedule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := s.Check(); err != nil {
		return err
	}
	if cur := r.st.Schedule.Version; s.Version <= cur {
		return fmt.Errorf("%w: version %d is not above the current version %d", ErrStaleSchedule, s.Version, cur)
	}
	next := r.st.clone()
	next.Schedule = s.clone()
	for id := range next.Present {
		if !next.keeps(r.st.Schedule, id) {
			delete(next.Present, id)
		}
	}
	for id := range next.CheckIns {
		if !next.keeps(r.st.Schedule, id) {
			delete(next.CheckIns, id)
		}
	}
	for id, at := range next.Suggested {
		if next.Schedule.find(id) < 0 && now.Sub(at) > suggestionMemory {
			delete(next.Suggested, id)
		}
	}
	return r.commit(now, next, nil)
}

// suggestionMemory is how long a suggestion for a booking that left the
// schedule is remembered: the booking system releases within minutes, and
// a day covers a booking that comes back after a late correction.
const suggestionMemory = 24 * time.Hour

// keeps reports whether booking id of old is in s's schedule with the
// same start.
func (s state) keeps(old Schedule, id string) bool {
	i, j := old.find(id), s.Schedule.find(id)
	return i >= 0 && j >= 0 && old.Bookings[i].Start.Equal(s.Schedule.Bookings[j].Start)
}
