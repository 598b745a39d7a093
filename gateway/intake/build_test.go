package intake

import (
	"context"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestBuildLeavesDataAlone: the builder never writes to the data it is
// given, though it no longer copies data with nothing to redact: a driver's
// card number hashed under the site key, a punch's "redacted" list and a
// link punch's mapping all go into maps of the builder's own.
func TestBuildLeavesDataAlone(t *testing.T) {
	key := []byte("0123456789abcdef")
	received := time.Date(2026, 11, 24, 1, 2, 4, 0, time.UTC)
	_, in := openIntakeWith(t, Options{Gateway: "gw-1", CardKey: key, Now: func() time.Time { return received }})
	for _, ev := range []devices.Event{
		{Type: "credential.read", Data: map[string]any{"card": "4660", "format": "h10301"}},
		{Type: "attendance.punch", Data: map[string]any{"person": "E-1", "credential": "card", "state": "in", "card_no": "12:4660"}},
		{Type: "attendance.punch", Data: map[string]any{"person": "E-1", "credential": "face", "state": "in", "face_photo": []byte{1}}},
	} {
		ev.Device, ev.Time, ev.Clock = "dev-1", received, devices.ClockSynced
		before := maps.Clone(ev.Data)
		if err := in.Emit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ev.Data, before) {
			t.Errorf("%s: the driver's data became %v, was %v", ev.Type, ev.Data, before)
		}
	}
	data := map[string]any{"user": "E-1", "verify": "card", "state": uint64(0), "card": "12:4660"}
	before := maps.Clone(data)
	rec := link.Record{Kind: link.RecordEvent, HardwareID: "HW-1", DeviceKind: msg.KindAttendance, DeviceID: "dev-1", Received: received,
		Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: "punch", Time: uint64(received.UnixMilli()), Clock: msg.ClockSet, Data: data}}
	if err := in.Commit(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(data, before) {
		t.Errorf("the link record's data became %v, was %v", data, before)
	}
}

// TestBuildPunchAllocs: building a terminal punch's envelope costs a bounded
// number of allocations. The punch mapping once decoded, copied and redacted
// the data three times and encoded it by reflection with its keys sorted,
// then rendered it to JSON to check it could be published: 57 allocations
// a punch, and the main cost of the saturated gateway's intake. The budget
// leaves room for a toolchain's differences, not for that round trip.
func TestBuildPunchAllocs(t *testing.T) {
	_, in := openIntake(t)
	now := time.Now()
	rec := link.Record{Kind: link.RecordEvent, HardwareID: "EMU-term-00", DeviceKind: msg.KindAttendance, DeviceID: "term-00", Received: now,
		Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: "punch", Time: uint64(now.UnixMilli()), Clock: msg.ClockSet,
			Data: map[string]any{"user": "10042", "verify": "card", "state": uint64(0), "t_us": uint64(now.UnixMicro())}}}
	const budget = 30
	if n := testing.AllocsPerRun(200, func() {
		if _, err := in.event(rec); err != nil {
			t.Fatal(err)
		}
	}); n > budget {
		t.Errorf("building a punch took %v allocations, want at most %d", n, budget)
	}
}
