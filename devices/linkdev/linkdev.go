// Package linkdev makes devices on the firmware-bridge link event sources like drivers.
//
// A link device's records become devices.Events, named and read by the rules
// of the kind it declared in its HELLO (link.Record.DeviceKind), and go to the
// gateway's one envelope builder as every driver's events do. Kinds is the
// registry of kinds: adding a kind is its package (which declares a
// devices.LinkKind) and one line there.
package linkdev

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/devices/terminal"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Kinds is the registry of the kinds a link device may declare.
var Kinds = map[msg.Kind]devices.LinkKind{
	msg.KindAttendance: terminal.Link,
	msg.KindKiosk:      kiosk.Link,
	msg.KindRoomPanel:  roomdrv.PanelLink,
}

// other is a device of a kind the registry does not know: its events are
// published under device.*, and it takes only the gateway's commands.
var other = devices.LinkKind{Name: "other", Prefix: "device."}

// Kind returns the rules of a declared kind.
func Kind(k msg.Kind) devices.LinkKind {
	if lk, ok := Kinds[k]; ok {
		return lk
	}
	return other
}

// ByName returns the kind named name (LinkKind.Name: a configured or
// registered kind); false when no registered kind has that name.
func ByName(name string) (devices.LinkKind, bool) {
	for _, k := range sortedKinds() {
		if lk := Kinds[k]; lk.Name == name {
			return lk, true
		}
	}
	return devices.LinkKind{}, false
}

// Rule returns the rule for events of type typ, whatever the sending device's
// kind (a device may name its events with a dot); nil when there is none.
func Rule(typ string) devices.EventRule {
	// The first kind, in kind order, with a rule for typ; without sorting
	// (and allocating) the registry for every event.
	var (
		rule  devices.EventRule
		first msg.Kind
	)
	for k, lk := range Kinds {
		if r := lk.Events[typ]; r != nil && (rule == nil || k < first) {
			rule, first = r, k
		}
	}
	return rule
}

func sortedKinds() []msg.Kind {
	ks := make([]msg.Kind, 0, len(Kinds))
	for k := range Kinds {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// EventType names a device's event on the wire: a device that says "punch"
// is an attendance terminal, so the type is "attendance.punch"; a name that
// already has a dot is used as it is.
func EventType(k msg.Kind, event string) string {
	if strings.Contains(event, ".") {
		return event
	}
	key := typeKey{k, event}
	if names := typeNames.Load(); names != nil {
		if t, ok := (*names)[key]; ok {
			return t
		}
	}
	t := Kind(k).Prefix + event
	// A clone: the event's name may be a slice of a whole frame's body.
	rememberType(typeKey{k, strings.Clone(event)}, t)
	return t
}

// typeNames holds the names EventType has made, so that each event does
// not build its type's name anew (the intake asks twice an event: for the
// envelope and for the observer). Devices name a handful of event types;
// the map is copied on each new one and stops growing at maxTypeNames
// (names past it are built each time, as before). Kinds is fixed once the
// gateway runs, so a name never goes stale.
var typeNames atomic.Pointer[map[typeKey]string]

type typeKey struct {
	kind  msg.Kind
	event string
}

const maxTypeNames = 256

func rememberType(key typeKey, name string) {
	old := typeNames.Load()
	n := 0
	if old != nil {
		n = len(*old)
	}
	if n >= maxTypeNames {
		return
	}
	m := make(map[typeKey]string, n+1)
	if old != nil {
		maps.Copy(m, *old)
	}
	m[key] = name
	typeNames.CompareAndSwap(old, &m) // a lost race loses a name, made again next time
}

// NoteEventsLost names the gateway's note that events were lost before an
// event; its id derives from the event's source in the note's own namespace.
const NoteEventsLost = "events_lost"

// Event is one event of a link record on its way to the envelope builder,
// with what only the link knows of it.
type Event struct {
	devices.Event
	Received time.Time      // when its frame arrived, by the gateway's clock
	Offset   *time.Duration // the device clock minus the gateway's at the last sync; nil: not measured
	// ClockUnset: the device says its clock was not set when it recorded
	// the event, so its time is no measurement at all.
	ClockUnset bool
	Name       string            // the event's name as the device sent it ("punch")
	Rule       devices.EventRule // its type's rule (Rule); nil: none
	Note       string            // a note of the gateway about the event Source names (NoteEventsLost); "": the event itself
	StreamOf   string            // the type whose journal stream it belongs in, when not its own
	Kind       devices.LinkKind  // the kind the device declared
}

// Events are the events a link record of kind link.RecordEvent brings in, in
// order: a device.events_lost note when the device's store overflowed just
// before it (in the event's stream, so the note can neither overtake nor
// trail it), then the event.
func Events(rec link.Record) []Event { return AppendEvents(nil, rec) }

// AppendEvents appends the events of rec (Events) to dst.
func AppendEvents(dst []Event, rec link.Record) []Event {
	me := rec.Event
	kind := Kind(rec.DeviceKind)
	typ := EventType(rec.DeviceKind, me.Kind)
	clock := devices.ClockUnknown
	switch {
	case me.Clock == msg.ClockUnset:
	case rec.Clock.State == link.ClockSynced:
		clock = devices.ClockSynced
	case rec.Clock.State == link.ClockDrifted:
		clock = devices.ClockDrifted
	}
	offset := rec.Clock.Offset
	ev := Event{
		Event: devices.Event{Device: rec.DeviceID, Type: typ, Time: time.UnixMilli(int64(me.Time)), Clock: clock,
			Data: me.Data, Source: devices.EventSource{HardwareID: rec.HardwareID, Boot: me.ID.Boot, Seq: uint64(me.ID.Seq)}},
		Received: rec.Received, Offset: &offset, ClockUnset: me.Clock == msg.ClockUnset,
		Name: me.Kind, Rule: Rule(typ), Kind: kind,
	}
	if rec.Missing == 0 {
		return append(dst, ev)
	}
	lost := ev
	lost.Type, lost.Name, lost.Rule, lost.Note, lost.StreamOf = "device.events_lost", "", nil, NoteEventsLost, typ
	lost.Data = map[string]any{"boot": me.ID.Boot, "lost": rec.Missing, "before_seq": me.ID.Seq}
	return append(dst, lost, ev)
}
