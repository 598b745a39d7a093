package devices

import (
	"context"
	"time"
)

// Driver is one running device.
type Driver interface {
	// Run talks to the device and emits its events to sink until ctx is
	// cancelled, and returns nil then. It returns an error only for a
	// failure it cannot recover from itself (a device that comes and goes is
	// not one: the driver retries with backoff). Run is called at most once.
	Run(ctx context.Context, sink Sink) error
	// Describe says what the driver is; it is constant and may be called
	// before, during and after Run.
	Describe() Description
}

// Description is what a driver says about itself.
type Description struct {
	ID       string   // the configured device id
	Kind     string   // the registry kind that built it, e.g. "terminal"
	Model    string   // the hardware model, as far as the driver knows it
	Commands []string // the command names Handle accepts, e.g. "door.pulse"
}

// Commander is implemented by drivers that take commands.
type Commander interface {
	// Handle does c and answers it, once. It is called concurrently with Run,
	// while Run is running, and may be called concurrently with itself;
	// ctx carries c's deadline. A command Handle does not know is answered
	// Unsupported(c).
	Handle(ctx context.Context, c Command) Result
}

// PanelListener is implemented by a driver that acts on another device's
// events (a room driver on its panel's buttons): for every event of the device
// PanelID names, once the gateway has journaled it, the gateway calls
// PanelEvent.
type PanelListener interface {
	// PanelID returns the panel's device id; "" when there is none.
	PanelID() string
	// PanelEvent takes one event of the panel: its type, data and time
	// (Event.Time). It must not block on the sink or the panel.
	PanelEvent(ctx context.Context, typ string, data map[string]any, at time.Time)
}

// Statuser is implemented by drivers that can report the device's health.
type Statuser interface {
	// Status returns a snapshot; it must not block on the device.
	Status() Status
}

// Status is a snapshot of a device's health.
type Status struct {
	Online   bool
	LastSeen time.Time // gateway clock; zero if never seen
	Firmware string    // version as the device reports it; "" if unknown
	Clock    string    // ClockSynced, ClockDrifted or ClockUnknown
	// ClockOffset is the device clock minus the gateway clock at the last
	// sync; meaningful only when Clock is not ClockUnknown.
	ClockOffset time.Duration
	// Counters are cumulative counts since the driver started, named in
	// snake_case, e.g. "events_lost" (which every driver whose hardware has
	// no memory keeps), "frames_rejected".
	Counters map[string]uint64
}

// Scheduler is implemented by drivers that keep a booking schedule (a
// meeting room): the console's rooms board shows what the room's panel
// is shown, from the same schedule.
type Scheduler interface {
	// Bookings returns the booking in progress (Start ≤ now < End), if
	// any, and the next one to start after now, if any, from the schedule
	// in force. It must not block on the device; it fails while the
	// driver is not running.
	Bookings() (current, next *Booking, err error)
}

// Booking is one reservation in a Scheduler's schedule.
type Booking struct {
	ID, Title, Organizer string
	Start, End           time.Time
}
