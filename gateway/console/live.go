package console

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/envelope"
)

// Event is one published event as the console shows it: the contract's
// envelope fields (MQTT.md §4) and its data, nothing more.
type Event struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Device   string         `json:"device"`
	Time     time.Time      `json:"time"`
	Clock    string         `json:"clock"`
	Received time.Time      `json:"received"`
	Data     map[string]any `json:"data"`
}

// Hub keeps what the console shows live: the latest events, each device's
// recent ones, the reception's and the rooms' state as their events tell
// it, and the live page's subscribers. It learns of events through Tap,
// once they are durable (the intake's tap), so it shows what the contract
// publishes, not what a device said before it was committed. Memory is
// bounded: recentMax events, deviceRecent per device, the day's visitors.
type Hub struct {
	// Immutable.
	loc *time.Location
	now func() time.Time

	mu sync.Mutex
	// Guarded by mu.
	recent   []Event            // newest last, at most recentMax
	byDevice map[string][]Event // newest last, at most deviceRecent each
	subs     map[chan Event]*Subscription
	day      string // the local date the day's counts are of
	punches  int
	visits   map[string]*Visitor // today's, by invite id
	walkins  map[string]*WalkIn  // by scan id
	printers map[string]string   // kiosk → printer state
	rooms    map[string]*Room
}

const (
	recentMax    = 1000
	deviceRecent = 20
	subBuffer    = 256 // a live page that falls this far behind misses events (Subscription.Missed tells it)
	maxWalkIns   = 64
)

// Visitor is one visit of the day at a kiosk.
type Visitor struct {
	Kiosk, InviteID, Name, Company, Host, Method string
	In, Out                                      time.Time
}

// WalkIn is a rejected scan waiting for a person's approval at a kiosk;
// the kiosk accepts the approval within its window only.
type WalkIn struct {
	Kiosk, ScanID, Reason, InviteID string
	At                              time.Time
}

// Room is a meeting room's state as its events tell it; the console adds
// its bookings from the room's schedule where its driver keeps one
// (Options.Schedules).
type Room struct {
	Device, Occupancy, LED, Booking, BookingTitle string
	BookingStart, BookingEnd                      time.Time
	Release                                       string // booking whose release was suggested
	Updated                                       time.Time
	// Scheduled: the bookings are the schedule's, and Next is the next
	// booking to start (nil: none).
	Scheduled bool
	Next      *devices.Booking
}

// NewHub returns a hub showing local dates in loc.
func NewHub(loc *time.Location, now func() time.Time) *Hub {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	return &Hub{loc: loc, now: now, byDevice: map[string][]Event{}, subs: map[chan Event]*Subscription{},
		visits: map[string]*Visitor{}, walkins: map[string]*WalkIn{}, printers: map[string]string{}, rooms: map[string]*Room{}}
}

// TapBodies is the intake's tap: journal bodies just made durable. Bodies
// that are not events (results, marks) are skipped.
func (h *Hub) TapBodies(bodies [][]byte) {
	for _, b := range bodies {
		o, err := envelope.DecodeOutbound(b)
		if err != nil || o.Event == nil {
			continue
		}
		data, err := envelope.DecodeData(o.Event.Data)
		if err != nil {
			continue
		}
		h.Add(Event{ID: o.Event.ID, Type: o.Event.Type, Device: o.Event.Device, Time: o.Event.Time.Time(),
			Clock: o.Event.Clock, Received: o.Event.Received.Time(), Data: data})
	}
}

// Add records e and hands it to the live pages.
func (h *Hub) Add(e Event) {
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recent = append(h.recent, e)
	if len(h.recent) > recentMax {
		h.recent = slices.Delete(h.recent, 0, len(h.recent)-recentMax)
	}
	d := append(h.byDevice[e.Device], e)
	if len(d) > deviceRecent {
		d = slices.Delete(d, 0, len(d)-deviceRecent)
	}
	h.byDevice[e.Device] = d
	h.fold(e)
	for c, sub := range h.subs {
		select {
		case c <- e:
		default: // that page is behind: counted, and the page says so
			sub.missed.Add(1)
		}
	}
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func stamp(m map[string]any, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(m, k))
	return t
}

// fold updates the day's counts and the boards with e.
func (h *Hub) fold(e Event) {
	at := e.Received
	if at.IsZero() {
		at = h.now()
	}
	if day := at.In(h.loc).Format(time.DateOnly); day != h.day {
		if day < h.day {
			return // an old event replayed: not today's
		}
		h.day, h.punches = day, 0
		clear(h.visits)
	}
	switch e.Type {
	case "attendance.punch":
		h.punches++
	case "visitor.checked_in":
		v := &Visitor{Kiosk: e.Device, InviteID: str(e.Data, "invite_id"), Name: str(e.Data, "name"), Company: str(e.Data, "company"),
			Host: str(e.Data, "host"), Method: str(e.Data, "method"), In: at}
		h.visits[v.InviteID] = v
		if id := str(e.Data, "scan_id"); id != "" {
			delete(h.walkins, id)
		}
	case "visitor.checked_out":
		if v := h.visits[str(e.Data, "invite_id")]; v != nil {
			v.Out = at
		}
	case "visitor.scan_rejected":
		if e.Data["pending_approval"] == true && len(h.walkins) < maxWalkIns {
			id := str(e.Data, "scan_id")
			h.walkins[id] = &WalkIn{Kiosk: e.Device, ScanID: id, Reason: str(e.Data, "reason"), InviteID: str(e.Data, "invite_id"), At: at}
		}
	case "printer.status":
		h.printers[e.Device] = str(e.Data, "state")
	case "room.occupancy", "room.led", "room.checkin", "room.booked", "room.booking_extended", "room.booking_ended", "room.release_suggested":
		r := h.rooms[e.Device]
		if r == nil {
			r = &Room{Device: e.Device}
			h.rooms[e.Device] = r
		}
		r.Updated = at
		switch e.Type {
		case "room.occupancy":
			r.Occupancy = str(e.Data, "state")
		case "room.led":
			r.LED = str(e.Data, "state")
		case "room.release_suggested":
			r.Release = str(e.Data, "booking")
		case "room.booking_ended":
			r.Booking, r.BookingTitle, r.BookingStart, r.BookingEnd = "", "", time.Time{}, time.Time{}
		default:
			r.Booking, r.BookingTitle = str(e.Data, "booking"), str(e.Data, "title")
			r.BookingStart, r.BookingEnd = stamp(e.Data, "start"), stamp(e.Data, "end")
		}
	}
}

// Recent returns the newest events first that keep says yes to, at most n.
func (h *Hub) Recent(n int, keep func(Event) bool) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for i := len(h.recent) - 1; i >= 0 && len(out) < n; i-- {
		if keep == nil || keep(h.recent[i]) {
			out = append(out, h.recent[i])
		}
	}
	return out
}

// DeviceRecent returns device's recent events, newest first.
func (h *Hub) DeviceRecent(device string) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := slices.Clone(h.byDevice[device])
	slices.Reverse(d)
	return d
}

// Today is the day's counts.
type Today struct {
	Punches, Visitors int
}

// Today returns today's punches and visitors.
func (h *Hub) Today() Today {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.now().In(h.loc).Format(time.DateOnly) != h.day {
		return Today{}
	}
	return Today{Punches: h.punches, Visitors: len(h.visits)}
}

// Reception returns today's visitors (latest first), the walk-ins waiting
// within window of their rejection, and the printers' states.
func (h *Hub) Reception(window time.Duration) ([]Visitor, []WalkIn, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var vs []Visitor
	if h.now().In(h.loc).Format(time.DateOnly) == h.day {
		for _, v := range h.visits {
			vs = append(vs, *v)
		}
	}
	slices.SortFunc(vs, func(a, b Visitor) int { return b.In.Compare(a.In) })
	now := h.now()
	var ws []WalkIn
	for id, w := range h.walkins {
		if now.Sub(w.At) > window {
			delete(h.walkins, id)
			continue
		}
		ws = append(ws, *w)
	}
	slices.SortFunc(ws, func(a, b WalkIn) int { return b.At.Compare(a.At) })
	ps := make(map[string]string, len(h.printers))
	for k, v := range h.printers {
		ps[k] = v
	}
	return vs, ws, ps
}

// Rooms returns the rooms, by device id.
func (h *Hub) Rooms() []Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Room
	for _, r := range h.rooms {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Room) int {
		if a.Device < b.Device {
			return -1
		}
		if a.Device > b.Device {
			return 1
		}
		return 0
	})
	return out
}

// Subscription is a live page's feed of events.
type Subscription struct {
	C      <-chan Event // events from Subscribe on, at most subBuffer behind
	missed atomic.Int64 // events not sent on C because it was full
}

// Missed returns how many events were left out of C, because it was full,
// since the last call.
func (s *Subscription) Missed() int64 { return s.missed.Swap(0) }

// Subscribe returns a feed of events from now on, until ctx ends.
func (h *Hub) Subscribe(ctx context.Context) *Subscription {
	c := make(chan Event, subBuffer)
	sub := &Subscription{C: c}
	h.mu.Lock()
	h.subs[c] = sub
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		delete(h.subs, c)
		h.mu.Unlock()
	})
	return sub
}
