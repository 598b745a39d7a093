package linkdev_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestEvents: a link record becomes the events the envelope builder takes,
// named by the kind the device declared, with a note before it when the
// device lost events, in the event's stream.
func TestEvents(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	rec := link.Record{Kind: link.RecordEvent, HardwareID: "HW-1", DeviceID: "t-1", DeviceKind: msg.KindAttendance,
		Received: at, Missing: 2, Clock: link.ClockInfo{State: link.ClockDrifted, Offset: 3 * time.Second},
		Event: &msg.Event{ID: msg.EventID{Boot: 4, Seq: 9}, Kind: "punch", Time: uint64(at.UnixMilli()), Clock: msg.ClockSet,
			Data: map[string]any{"user": "7"}}}
	evs := linkdev.Events(rec)
	if len(evs) != 2 {
		t.Fatalf("%d events, want the note and the punch", len(evs))
	}
	note, punch := evs[0], evs[1]
	if note.Type != "device.events_lost" || note.Note != linkdev.NoteEventsLost || note.StreamOf != "attendance.punch" ||
		note.Data["lost"] != uint32(2) || note.Rule != nil {
		t.Errorf("note: %+v", note)
	}
	want := devices.EventSource{HardwareID: "HW-1", Boot: 4, Seq: 9}
	if punch.Type != "attendance.punch" || punch.Source != want || punch.Clock != devices.ClockDrifted ||
		punch.Offset == nil || *punch.Offset != 3*time.Second || punch.Rule == nil || punch.Kind.Name != "terminal" ||
		!punch.Received.Equal(at) || !punch.Time.Equal(at) || punch.Name != "punch" {
		t.Errorf("punch: %+v", punch)
	}
	for _, c := range []struct {
		kind       msg.Kind
		name, want string
	}{
		{msg.KindRoomPanel, "button", "room.button"},
		{msg.KindKiosk, "scan", "kiosk.scan"},
		{msg.KindOther, "boot", "device.boot"},
		{msg.Kind(99), "x", "device.x"},
		{msg.KindOther, "attendance.punch", "attendance.punch"}, // a dotted name is kept, and its type's rule applies
	} {
		rec := link.Record{Kind: link.RecordEvent, HardwareID: "HW-2", DeviceKind: c.kind,
			Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: c.name, Clock: msg.ClockUnset}}
		ev := linkdev.Events(rec)[0]
		if ev.Type != c.want || !ev.ClockUnset || ev.Clock != devices.ClockUnknown {
			t.Errorf("kind %v event %q: type %q clock %q unset %v, want %q", c.kind, c.name, ev.Type, ev.Clock, ev.ClockUnset, c.want)
		}
		if (ev.Rule != nil) != (linkdev.Rule(c.want) != nil) {
			t.Errorf("%s: rule %v", c.want, ev.Rule != nil)
		}
	}
}

// TestRunNeedsALinkSink: a link device runs with a sink like a driver's, and
// says so when that sink cannot take its records (commits with marks).
func TestRunNeedsALinkSink(t *testing.T) {
	dev, err := linkdev.New(linkdev.Config{ID: "t-1", Kind: "terminal", Port: serialport.Config{Name: "/dev/null-not-a-tty", Baud: 115200}})
	if err != nil {
		t.Fatal(err)
	}
	var d devices.Driver = dev
	if got := d.Describe(); got.ID != "t-1" || got.Kind != "terminal" {
		t.Errorf("Describe: %+v", got)
	}
	err = d.Run(context.Background(), devices.SinkFunc(func(context.Context, devices.Event) error { return nil }))
	if err == nil || !strings.Contains(err.Error(), "cannot take a link's records") {
		t.Errorf("Run with a plain sink: %v", err)
	}
}

// TestKindsByName: every registered kind is found by its name, which the
// configuration and the registry use.
func TestKindsByName(t *testing.T) {
	for k, lk := range linkdev.Kinds {
		got, ok := linkdev.ByName(lk.Name)
		if !ok || got.Prefix != lk.Prefix {
			t.Errorf("kind %v: ByName(%q) = %+v, %v", k, lk.Name, got, ok)
		}
		if linkdev.Kind(k).Name != lk.Name {
			t.Errorf("Kind(%v) = %q", k, linkdev.Kind(k).Name)
		}
	}
	if _, ok := linkdev.ByName("other"); ok {
		t.Error("ByName(other): the fallback is no registered kind")
	}
}

// TestEventTypeRemembered: an event type's name is made once, then served
// from the cache, the same name for the same kind and event, and the
// kind's prefix for each kind.
func TestEventTypeRemembered(t *testing.T) {
	if got := linkdev.EventType(msg.KindAttendance, "punch"); got != "attendance.punch" {
		t.Fatalf("EventType = %q", got)
	}
	if got := linkdev.EventType(msg.Kind(250), "punch"); got != "device.punch" {
		t.Fatalf("EventType of an unknown kind = %q", got)
	}
	if got := linkdev.EventType(msg.KindAttendance, "room.busy"); got != "room.busy" {
		t.Fatalf("EventType of a dotted name = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = linkdev.EventType(msg.KindAttendance, "punch") }); n != 0 {
		t.Errorf("EventType of a known type allocates %v times, want 0", n)
	}
}
