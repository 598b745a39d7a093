package intake

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/envelope"
)

// origin is what an id stands for: one device event (note "") or one note the
// gateway made about a device event.
type origin struct {
	note string
	hw   string
	boot uint32
	seq  uint32
	key  string // a device event with a natural key (devices.EventSource.Key)
}

// idScenario is a run of records from a few terminals: gaps, replays of
// earlier events (lost ones included, as attendance.fetch recovers them) and
// biometric fields, over hardware ids chosen so that the naive ways of
// deriving a note's id ("hw/biometric", the first lost event's id) collide.
type idScenario struct{ recs []link.Record }

// GoString keeps a failing input readable in quick's report.
func (s idScenario) GoString() string {
	var b strings.Builder
	for _, r := range s.recs {
		fmt.Fprintf(&b, "%q%v-%d%v ", r.HardwareID, r.Event.ID, r.Missing, r.Event.Data["replay"])
	}
	return b.String()
}

func (idScenario) Generate(r *rand.Rand, size int) reflect.Value {
	hws := []string{"T", "T/biometric", "T/events_lost", "T\x00", "biometric"}
	type dev struct {
		boot uint32
		seq  uint32
	}
	devs := map[string]*dev{}
	var recs []link.Record
	for range 1 + r.Intn(size+1) {
		hw := hws[r.Intn(len(hws))]
		d := devs[hw]
		if d == nil {
			d = &dev{boot: 1 + uint32(r.Intn(2))}
			devs[hw] = d
		}
		if r.Intn(10) == 0 {
			d.boot, d.seq = d.boot+1, 0
		}
		missing := uint32(0)
		if r.Intn(4) == 0 && d.seq > 0 {
			missing = 1 + uint32(r.Intn(3))
		}
		d.seq += missing + 1
		data := map[string]any{"user": fmt.Sprintf("%d", 10000+r.Intn(5)), "verify": "card", "state": uint64(0)}
		switch {
		case r.Intn(4) == 0 && d.seq > 1:
			data["replay"] = map[string]any{"boot": uint64(d.boot), "seq": uint64(1 + r.Intn(int(d.seq-1)))}
		case r.Intn(6) == 0:
			data["replay"] = map[string]any{"boot": uint64(d.boot), "seq": uint64(d.seq)} // not before itself: an alarm
		}
		if r.Intn(5) == 0 {
			data["face_template"] = []byte{1, 2}
		}
		recs = append(recs, link.Record{Kind: link.RecordEvent, HardwareID: hw, DeviceKind: msg.KindAttendance, DeviceID: "t", Received: time.Unix(1764000000, 0),
			Missing: missing, Event: &msg.Event{ID: msg.EventID{Boot: d.boot, Seq: d.seq}, Kind: "punch",
				Time: 1764000000000, Clock: msg.ClockSet, Data: data}})
	}
	return reflect.ValueOf(idScenario{recs})
}

// TestIDsNeverShared is the property behind MQTT.md's "deduplicate by id":
// whatever a device sends, two different events the intake journals never
// share an id. A device event keeps its id in every form (a replay, an alarm
// standing in for an unusable punch); a note about an event (the gap before
// it, biometric data removed from it) has an id no device event and no other
// note can have.
func TestIDsNeverShared(t *testing.T) {
	_, in := openIntake(t)
	check := func(s idScenario) bool {
		owner := map[string]origin{}
		for _, rec := range s.recs {
			entries, err := in.event(rec)
			if err != nil {
				t.Logf("event %v: %v", rec.Event.ID, err)
				return false
			}
			for _, e := range entries {
				ob, err := envelope.DecodeOutbound(e.Body)
				if err != nil {
					t.Log(err)
					return false
				}
				ev := ob.Event
				o := origin{hw: rec.HardwareID, boot: uint32(ev.Boot), seq: uint32(ev.Seq)}
				d, _ := envelope.DecodeData(ev.Data)
				switch {
				case ev.Type == "device.events_lost":
					o.note = "events_lost"
				case ev.Type == "device.alarm" && d["alarm"] == "biometric_refused":
					o.note = "biometric"
				}
				if prev, ok := owner[ev.ID]; ok && prev != o {
					t.Logf("id %s stands for %+v and for %+v", ev.ID, prev, o)
					return false
				}
				owner[ev.ID] = o
			}
		}
		return true
	}
	// The case of the issue first: punches 2 and 3 lost, noted before 4,
	// then punch 2 recovered by attendance.fetch (replayed as 5).
	rec := func(seq, missing uint32, replay uint32) link.Record {
		d := map[string]any{"user": "1", "verify": "card", "state": uint64(0)}
		if replay != 0 {
			d["replay"] = map[string]any{"boot": uint64(1), "seq": uint64(replay)}
		}
		return link.Record{Kind: link.RecordEvent, HardwareID: "T", DeviceKind: msg.KindAttendance, DeviceID: "t", Received: time.Unix(1764000000, 0), Missing: missing,
			Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: seq}, Kind: "punch", Time: 1764000000000, Clock: msg.ClockSet, Data: d}}
	}
	if !check(idScenario{[]link.Record{rec(1, 0, 0), rec(4, 2, 0), rec(5, 0, 2)}}) {
		t.Fatal("a recovered punch shares its id with the note that declared it lost")
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 300, Rand: rand.New(rand.NewSource(13))}); err != nil {
		t.Fatal(err)
	}

	// Events with a natural key (a ZKTeco punch) beside counted ones, from
	// hardware ids and keys chosen so that naive joins collide: each keyed
	// event has one id whenever it is emitted, shared with nothing else.
	owner := map[string]origin{}
	for _, rec := range []link.Record{rec(1, 0, 0), rec(4, 2, 0), rec(5, 0, 2)} {
		entries, err := in.event(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			ob, err := envelope.DecodeOutbound(e.Body)
			if err != nil {
				t.Fatal(err)
			}
			o := origin{hw: rec.HardwareID, boot: uint32(ob.Event.Boot), seq: uint32(ob.Event.Seq)}
			switch ob.Event.Type {
			case "device.events_lost":
				o.note = "events_lost"
			case "device.alarm":
				o.note = "biometric"
			}
			owner[ob.Event.ID] = o
		}
	}
	j, kin := openIntake(t)
	pin := func(p string) devices.EventSource { return zkteco.PunchKey("T", p, "2026-01-05 08:59:58", 0, 1) }
	srcs := []devices.EventSource{
		pin("1"), pin("1"), pin("10"), pin("1 1"), zkteco.PunchKey("T", "1", "2026-01-05 08:59:58", 0, 15),
		zkteco.PunchKey("T", "1", "2026-01-05 08:59:58", 1, 1), zkteco.PunchKey("T\x00", "1", "2026-01-05 08:59:58", 0, 1),
		{HardwareID: "T", Key: "a"}, {HardwareID: "Ta", Key: ""}, {HardwareID: "T", Key: "\x00"}, {HardwareID: "T\x00", Key: "a"},
		{HardwareID: "T", Boot: 1, Seq: 1}, {HardwareID: "T", Key: "a"},
	}
	for _, src := range srcs {
		if err := kin.Emit(context.Background(), devices.Event{Device: "t", Type: "attendance.punch", Time: time.Unix(1764000000, 0),
			Clock: devices.ClockSynced, Data: map[string]any{"user": "1"}, Source: src}); err != nil {
			t.Fatalf("emit %+v: %v", src, err)
		}
	}
	for i, ev := range readEvents(t, j, StreamFor("attendance.punch"), len(srcs)) {
		src := srcs[i]
		o := origin{hw: src.HardwareID, boot: src.Boot, seq: uint32(src.Seq), key: src.Key}
		if src.Key != "" && (ev.Boot != 0 || ev.Seq != 0) {
			t.Errorf("keyed event %+v published with boot %d seq %d, want 0 0", src, ev.Boot, ev.Seq)
		}
		if prev, ok := owner[ev.ID]; ok && prev != o {
			t.Errorf("id %s stands for %+v and for %+v", ev.ID, prev, o)
		}
		owner[ev.ID] = o
	}
	// The other way round: a keyed event emitted twice keeps its id.
	ids := map[origin]string{}
	for id, o := range owner {
		if prev, ok := ids[o]; ok && prev != id {
			t.Errorf("%+v has ids %s and %s", o, prev, id)
		}
		ids[o] = id
	}
}

// TestUnusableReplayAlarm: a replay the intake cannot use becomes an alarm in
// the punch's place, the commit succeeds (the device is acknowledged, not
// refused for ever), and the alarm says what is wrong without repeating what
// the terminal sent: its record may hold a card number or text of any length.
func TestUnusableReplayAlarm(t *testing.T) {
	j, in := openIntake(t)
	long := strings.Repeat("x", 400)
	for seq, replay := range []any{
		map[string]any{"boot": uint64(1), "seq": uint64(0), "card": "12:4660", "note": long},
		map[string]any{"boot": "one", "seq": uint64(1), "card": "12:4660"},
		"12:4660 " + long,
		[]any{"12:4660"},
	} {
		rec := link.Record{Kind: link.RecordEvent, HardwareID: "HW-T", DeviceKind: msg.KindAttendance, DeviceID: "t-1", Received: time.Now(),
			Event: &msg.Event{ID: msg.EventID{Boot: 2, Seq: uint32(seq + 1)}, Kind: "punch", Time: uint64(time.Now().UnixMilli()),
				Clock: msg.ClockSet, Data: map[string]any{"user": "7", "verify": "card", "state": uint64(0), "card": "12:4660", "replay": replay}}}
		if err := in.Commit(context.Background(), rec); err != nil {
			t.Fatalf("replay %d: Commit: %v (the device would be refused for ever)", seq+1, err)
		}
	}
	if n := eventRecords(j); n != 4 {
		t.Fatalf("%d records journaled, want 4 alarms", n)
	}
	for i, e := range readEvents(t, j, StreamControl, 4) {
		p, _ := e.Payload(envelope.JSON)
		if err := contract.Strict(contract.Event, p); err != nil {
			t.Errorf("alarm %d breaks the contract: %v\n%s", i+1, err, p)
		}
		if e.Type != "device.alarm" || e.ID != envelope.EventID("HW-T", 2, uint64(i+1)) || strings.Contains(string(p), "4660") {
			t.Errorf("alarm %d: %s", i+1, p)
		}
	}
}
