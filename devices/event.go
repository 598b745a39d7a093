package devices

import (
	"context"
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
)

// ErrBusy is wrapped by a Sink's error when the gateway cannot take the event
// now (back-pressure: disk full, journal behind). The event was not taken:
// the driver keeps it and retries later. It is the link's error: one busy
// from the journal to every device, on a link or on GPIO, so either name
// matches.
var ErrBusy = link.ErrBusy

// Clock states: how far the device's clock can be trusted for Event.Time.
const (
	ClockSynced  = "synced"  // synced by the gateway, within the drift threshold
	ClockDrifted = "drifted" // synced once, drifted past the threshold since
	ClockUnknown = "unknown" // never synced (e.g. after a power loss without RTC)
)

// MaxTypeLen bounds Event.Type: it becomes an MQTT topic level.
const MaxTypeLen = 64

// Event is one thing that happened at a device, as the driver hands it to the
// gateway.
type Event struct {
	Device string // the device id given to the driver's Factory
	Type   string // e.g. "attendance.punch"; 1–64 bytes of [a-z0-9._-]
	// Time is when it happened by the device's clock, in the device's
	// configured zone (devices such as attendance terminals report local
	// wall-clock time without a zone; the driver applies the configured one).
	Time time.Time
	// TimeRaw is the time exactly as the device reported it, kept because a
	// wrongly configured zone must be correctable afterwards. Empty when the
	// time was taken by the gateway (a GPIO edge).
	TimeRaw string
	Clock   string         // ClockSynced, ClockDrifted or ClockUnknown
	Data    map[string]any // type-specific body; see CheckData for what is refused
	Source  EventSource    // zero for events the gateway originates
}

// EventSource identifies an event by what the device remembers of it, so the
// same event re-sent after any retry, reconnect or restart gets the same id.
// A device with counters gives (Boot, Seq); a device without them (a ZKTeco
// terminal) gives a natural Key instead, and never both.
type EventSource struct {
	HardwareID string // the device's own hardware id (not the configured id)
	Boot       uint32 // the device's boot counter when it recorded the event
	Seq        uint64 // the device's event counter within Boot
	// Key is the event's natural key among the device's events, e.g. what
	// zkteco.PunchKey derives from a punch's PIN, time, status and verify.
	// Two different events of one device never share a Key.
	Key string
}

// IsZero reports whether s is the zero EventSource: the event was originated
// by the gateway and the gateway draws its id.
func (s EventSource) IsZero() bool { return s == EventSource{} }

// Check reports the first thing that makes e unfit to be journaled: a missing
// device or time, a type that cannot be a topic level, an unknown clock state,
// a source without a hardware id, or data that CheckData refuses.
func (e Event) Check() error {
	if e.Device == "" {
		return fmt.Errorf("devices: event %q: no device id", e.Type)
	}
	if err := checkType(e.Type); err != nil {
		return fmt.Errorf("devices: device %q: %w", e.Device, err)
	}
	if e.Time.IsZero() {
		return fmt.Errorf("devices: device %q: event %q: no time", e.Device, e.Type)
	}
	switch e.Clock {
	case ClockSynced, ClockDrifted, ClockUnknown:
	default:
		return fmt.Errorf("devices: device %q: event %q: clock state %q is not one of %s, %s, %s",
			e.Device, e.Type, e.Clock, ClockSynced, ClockDrifted, ClockUnknown)
	}
	if !e.Source.IsZero() && e.Source.HardwareID == "" {
		// Boot and Seq alone would collide between devices.
		return fmt.Errorf("devices: device %q: event %q: source has boot %d seq %d but no hardware id",
			e.Device, e.Type, e.Source.Boot, e.Source.Seq)
	}
	if e.Source.Key != "" && (e.Source.Boot != 0 || e.Source.Seq != 0) {
		// One id derivation per event: a key and counters would leave two.
		return fmt.Errorf("devices: device %q: event %q: source has both a key and boot %d seq %d",
			e.Device, e.Type, e.Source.Boot, e.Source.Seq)
	}
	if err := CheckData(e.Data); err != nil {
		return fmt.Errorf("devices: device %q: event %q: %w", e.Device, e.Type, err)
	}
	return nil
}

// checkType accepts what can be an MQTT topic level and a metric label value
// without escaping.
func checkType(s string) error {
	if len(s) == 0 || len(s) > MaxTypeLen {
		return fmt.Errorf("event type %q is %d bytes, need 1 to %d", s, len(s), MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("event type %q: byte 0x%02x at %d is not in [a-z0-9._-]", s, c, i)
		}
	}
	return nil
}

// Sink takes events from drivers. Emit returns nil only once the event is
// durable (journaled and fsync'd): only then may a driver tell its device to
// forget the event. An error wrapping ErrBusy is back-pressure; any other
// error means the event was refused (Event.Check) or the gateway is stopping.
// Emit is safe for concurrent use. Events are journaled in the order of the
// Emit calls that returned nil, so a driver whose events must stay ordered
// (per-device order is part of the guarantee) emits from one goroutine.
type Sink interface {
	Emit(ctx context.Context, e Event) error
}

// BatchSink is implemented by a Sink that can make several events durable in
// one commit (a PUSH terminal uploads its punches in batches and is answered
// once for all of them). EmitBatch returns nil only once every event is
// durable, journaled in the order given. On an error the driver must assume
// none is: it retries the whole batch, and events with a Source keep their
// ids, so one journaled twice is one event for the consumer.
type BatchSink interface {
	EmitBatch(ctx context.Context, evs []Event) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, e Event) error

// Emit calls f.
func (f SinkFunc) Emit(ctx context.Context, e Event) error { return f(ctx, e) }
