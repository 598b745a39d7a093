package intake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/devices/terminal"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
)

// arrival is one event on its way into the journal, from any source: a
// driver's devices.Event (Emit, EmitBatch, Note) or a link record's
// (linkdev.Events). Every arrival is built by build, the one envelope
// builder, under one set of rules.
type arrival struct {
	linkdev.Event
	// link: from a device on the firmware-bridge link. Such an event is
	// never refused (the device would send it again for ever): one the
	// contract cannot name is published as device.unknown_event.
	link bool
}

// driverArrival is a driver's event as the builder takes it: received now.
func (in *Intake) driverArrival(ev devices.Event) arrival {
	return arrival{Event: linkdev.Event{Event: ev, Received: in.opt.Now()}}
}

// build is the one envelope builder: every event any source brings in is
// turned into its journal entries here, and only here. The rules, in order:
//
//  1. checks: a driver's event that Event.Check refuses (for anything but
//     biometric data) is refused, and the driver keeps it; a link event whose
//     type cannot be a topic level is published as device.unknown_event with
//     the name the device used (MQTT.md §5);
//  2. redaction: biometric keys are removed at any depth, and a
//     biometric_refused alarm follows the event (MQTT.md §11);
//  3. the per-type rule of the event's kind (devices.LinkKind.Events: a
//     terminal's punch mapping and replays, a panel's bodies); an unusable
//     event is published as a device.alarm in its stead;
//  4. card hashing: with a site card key, a card number in clear in a punch
//     or a credential read becomes card_hash; a punch lists what redaction
//     removed under "redacted";
//  5. ids: (hardware id, boot, seq) or (hardware id, key) from the event's
//     source, a note's in its own namespace, a random one drawn once for an
//     event the gateway originates;
//  6. clocks: the device's time in the office's zone, time_raw, the clock
//     state and offset; an event recorded later than it arrived by more
//     than ClockThreshold is flagged drifted whatever its source said.
func (in *Intake) build(a arrival) ([]journal.Entry, error) { return in.appendBuilt(nil, a) }

// appendBuilt appends a's journal entries (build) to dst.
func (in *Intake) appendBuilt(dst []journal.Entry, a arrival) ([]journal.Entry, error) {
	ev := a.Event.Event
	if !a.link {
		if err := ev.Check(); err != nil && !errors.Is(err, devices.ErrBiometric) {
			return nil, fmt.Errorf("intake: event from %q refused: %w", ev.Device, err)
		}
	}
	// Nothing to remove is the common case: the data is then used as it is
	// (never written to: hashCards copies before it changes anything).
	data, removed := ev.Data, []string(nil)
	if !devices.Clean(data) {
		data, removed = devices.Redact(data)
	}
	name := ev.Type // as the biometric alarm names it
	streamOf := a.StreamOf
	if streamOf == "" {
		streamOf = ev.Type
	}
	stream := StreamFor(streamOf)
	body := data
	switch {
	case a.link && envelope.CheckLevel("event type", ev.Type) != nil:
		ev.Type, body = "device.unknown_event", map[string]any{"event": a.Name, "data": data}
		stream, name = StreamFor(ev.Type), ev.Type
	case a.Rule != nil:
		out, err := a.Rule(devices.LinkEvent{Event: ev, Name: a.Name, CardKey: in.opt.CardKey})
		ev.Source = out.Source // the id it is published under, in its stead too
		if err != nil {
			ev.Type, body = "device.alarm", map[string]any{"alarm": "other", "detail": err.Error()}
			stream = StreamControl
			break
		}
		// What the rule publishes never holds what redaction removes.
		if body = out.Data; !devices.Clean(body) {
			body, _ = devices.Redact(body)
		}
	}
	body = hashCards(ev.Type, body, removed, in.opt.CardKey)

	id, boot, seq := in.ids(ev.Source, a.Note)
	received := a.Received
	if received.IsZero() {
		received = in.opt.Now()
	}
	devTime := ev.Time.In(in.opt.Location)
	timeRaw := ev.TimeRaw
	if timeRaw == "" {
		timeRaw = devTime.Format("2006-01-02T15:04:05.000")
	}
	clock := ev.Clock
	if clock == "" {
		clock = envelope.ClockUnknown
	}
	offset := a.Offset
	if ahead := devTime.Sub(received); !ev.Source.IsZero() && !a.ClockUnset && ahead > in.opt.ClockThreshold {
		// Recorded after it arrived: whatever the last sync said, this
		// clock was wrong, by at least that much.
		clock, offset = envelope.ClockDrifted, &ahead
	}
	e := envelope.Event{V: envelope.Version, ID: id, Type: ev.Type, Gateway: in.opt.Gateway, Device: ev.Device,
		Boot: boot, Seq: seq, Time: envelope.StampOf(devTime), TimeRaw: timeRaw, Clock: clock,
		Received: envelope.StampOf(received.UTC())}
	if clock == envelope.ClockDrifted && offset != nil {
		off := offset.Milliseconds()
		e.ClockOffsetMS = &off
	}
	b, err := envelope.EncodeEvent(&e, body)
	if err != nil {
		return nil, fmt.Errorf("intake: event %s from %q: %w", ev.Type, ev.Device, err)
	}
	entries := append(dst, journal.Entry{Stream: stream, Body: b})
	if len(removed) > 0 {
		alarm, err := envelope.EncodeData(map[string]any{"alarm": "biometric_refused",
			"detail": fmt.Sprintf("%d field(s) removed from a %s event: biometric data never leaves the device", len(removed), name)})
		if err != nil {
			return nil, fmt.Errorf("intake: biometric alarm of %q: %w", ev.Device, err)
		}
		al := e
		al.ID, _, _ = in.ids(ev.Source, envelope.NoteBiometric)
		al.Type, al.Data = "device.alarm", alarm
		ab, err := (&envelope.Outbound{Event: &al}).Encode()
		if err != nil {
			return nil, err
		}
		entries = append(entries, journal.Entry{Stream: StreamControl, Body: ab})
	}
	return entries, nil
}

// ids derives an event's id, boot and seq from its source: (hardware id,
// boot, seq) for a device with counters, (hardware id, key) for one with
// natural keys (boot and seq 0: it has none), a random id for an event the
// gateway originates. A note about an event (note set) gets an id in the
// note's own namespace, never a device event's; a note about a keyed or
// gateway-originated event gets a random one.
func (in *Intake) ids(s devices.EventSource, note string) (id string, boot uint32, seq uint64) {
	switch {
	case s.Key != "":
		if note != "" {
			return envelope.NewID(), 0, 0
		}
		return envelope.KeyID(s.HardwareID, s.Key), 0, 0
	case s.IsZero():
		return envelope.NewID(), 0, 0
	case note != "":
		return envelope.NoteID(note, s.HardwareID, s.Boot, s.Seq), s.Boot, s.Seq
	}
	return envelope.EventID(s.HardwareID, s.Boot, s.Seq), s.Boot, s.Seq
}

// cardKeys are the names a card number in clear goes by in event data.
var cardKeys = []string{"card", "card_no", "cardno", "card_number"}

// hashCards applies the site's card rule to the data of a punch or a
// credential read, whatever its source: with a card key, a card number in
// clear becomes card_hash (MQTT.md §11: which one a site gets is the
// gateway's configuration, the same for every event); a punch from which
// redaction removed anything says what under "redacted" (MQTT.md §5.1).
// data is never written to: what changes is a copy.
func hashCards(typ string, data map[string]any, removed []string, key []byte) map[string]any {
	punch := typ == terminal.TypePunch
	if !punch && !strings.HasPrefix(typ, "credential.") {
		return data
	}
	change := false
	if key != nil {
		for _, k := range cardKeys {
			if _, ok := data[k].(string); ok {
				change = true
			}
		}
	}
	if _, has := data["redacted"]; punch && len(removed) > 0 && !has {
		change = true
	}
	if !change {
		return data
	}
	data = maps.Clone(data)
	if key != nil {
		for _, k := range cardKeys {
			c, ok := data[k].(string)
			if !ok {
				continue
			}
			delete(data, k)
			if c != "" && c != "0" {
				if _, has := data["card_hash"]; !has {
					data["card_hash"] = devices.KeyedHash(key, c)
				}
			}
		}
	}
	if _, has := data["redacted"]; punch && len(removed) > 0 && !has {
		data["redacted"] = slices.Clone(removed)
	}
	return data
}
