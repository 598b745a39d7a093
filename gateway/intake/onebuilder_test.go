package intake

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
)

// TestOneBuilder: the same logical event brought in by a device on the
// firmware-bridge link and by a driver is journaled as the same envelopes,
// byte for byte, with the same alarms beside it: every source goes through
// the one envelope builder and its one set of rules (ids, clocks, redaction,
// card hashing, per-type checks).
func TestOneBuilder(t *testing.T) {
	received := time.Date(2026, 11, 24, 1, 2, 4, 0, time.UTC)
	devTime := received.Add(-time.Second)
	key := bytes.Repeat([]byte{7}, 32)
	photo := bytes.Repeat([]byte{0xff}, 200)
	for _, c := range []struct {
		name   string
		key    []byte
		link   link.Record
		driver devices.Event
		want   []string // in the published envelopes
		refuse []string // nowhere in them
	}{{
		name: "terminal punch, photo and card, site key",
		key:  key,
		link: link.Record{DeviceKind: msg.KindAttendance, Clock: link.ClockInfo{State: link.ClockSynced},
			Event: &msg.Event{ID: msg.EventID{Boot: 3, Seq: 7}, Kind: "punch", Time: uint64(devTime.UnixMilli()), Clock: msg.ClockSet,
				Data: map[string]any{"user": "E-1", "verify": "card", "state": "in", "card": "12:4660", "photo": photo}}},
		driver: devices.Event{Type: "attendance.punch", Time: devTime, Clock: devices.ClockSynced,
			Source: devices.EventSource{HardwareID: "HW-1", Boot: 3, Seq: 7},
			Data: map[string]any{"person": "E-1", "credential": "card", "state": "in", "card": "12:4660",
				"raw": map[string]any{"verify": "card", "state": "in"}, "photo": photo}},
		want:   []string{`"card_hash":"` + devices.KeyedHash(key, "12:4660") + `"`, `"redacted":["photo"]`, `"alarm":"biometric_refused"`},
		refuse: []string{"4660", `"photo":`},
	}, {
		name: "credential read in clear, site key",
		key:  key,
		link: link.Record{DeviceKind: msg.KindOther, Clock: link.ClockInfo{State: link.ClockSynced},
			Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: 2}, Kind: "credential.read", Time: uint64(devTime.UnixMilli()), Clock: msg.ClockSet,
				Data: map[string]any{"card": "4660", "format": "h10301", "bits": uint64(26)}}},
		driver: devices.Event{Type: "credential.read", Time: devTime, Clock: devices.ClockSynced,
			Source: devices.EventSource{HardwareID: "HW-1", Boot: 1, Seq: 2},
			Data:   map[string]any{"card": "4660", "format": "h10301", "bits": uint64(26)}},
		want:   []string{`"card_hash":"` + devices.KeyedHash(key, "4660") + `"`},
		refuse: []string{`"card"`},
	}, {
		name: "room panel button, a template beside it, clock ahead of arrival",
		link: link.Record{DeviceKind: msg.KindRoomPanel, Clock: link.ClockInfo{State: link.ClockSynced},
			Event: &msg.Event{ID: msg.EventID{Boot: 2, Seq: 9}, Kind: "button", Time: uint64(received.Add(time.Minute).UnixMilli()), Clock: msg.ClockSet,
				Data: map[string]any{"button": uint64(2), "face_template": "x"}}},
		driver: devices.Event{Type: "room.button", Time: received.Add(time.Minute), Clock: devices.ClockSynced,
			Source: devices.EventSource{HardwareID: "HW-1", Boot: 2, Seq: 9},
			Data:   map[string]any{"button": uint64(2), "face_template": "x"}},
		want:   []string{`"clock":"drifted"`, `"clock_offset_ms":60000`, `"data":{"button":2}`, `"alarm":"biometric_refused"`},
		refuse: []string{"template"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Gateway: "gw-1", CardKey: c.key, Now: func() time.Time { return received }}
			j1, in1 := openIntakeWith(t, o)
			rec := c.link
			rec.Kind, rec.HardwareID, rec.DeviceID, rec.DeviceBoot, rec.Received = link.RecordEvent, "HW-1", "dev-1", rec.Event.ID.Boot, received
			if err := in1.Commit(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			j2, in2 := openIntakeWith(t, o)
			ev := c.driver
			ev.Device = "dev-1"
			if err := in2.Emit(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			fromLink, fromDriver := published(t, j1), published(t, j2)
			if fromLink != fromDriver {
				t.Errorf("envelopes differ\nlink:   %s\ndriver: %s", fromLink, fromDriver)
			}
			for _, w := range c.want {
				if !strings.Contains(fromLink, w) {
					t.Errorf("published lacks %s:\n%s", w, fromLink)
				}
			}
			for _, r := range c.refuse {
				if strings.Contains(fromLink, r) || strings.Contains(fromDriver, r) {
					t.Errorf("published holds %s:\nlink:   %s\ndriver: %s", r, fromLink, fromDriver)
				}
			}
		})
	}
}

func openIntakeWith(t *testing.T, o Options) (*journal.Journal, *Intake) {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: streams(), SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	in, err := New(j, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return j, in
}

// published is every event the journal holds on the published streams, as
// the uplink renders it (JSON), each checked against the contract's schema,
// one per line, by stream.
func published(t *testing.T, j *journal.Journal) string {
	t.Helper()
	var out []string
	for _, s := range Streams() {
		r, err := j.Reader(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		now, cancel := context.WithCancel(context.Background())
		cancel() // what is durable now, and no more
		for {
			rec, err := r.Next(now)
			if err != nil {
				break
			}
			ob, err := envelope.DecodeOutbound(rec.Body)
			if err != nil || ob.Event == nil {
				t.Fatalf("stream %s record %d: %v", s.Name, rec.Seq, err)
			}
			p, err := ob.Event.Payload(envelope.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if err := contract.Strict(contract.Event, p); err != nil {
				t.Errorf("%v\n%s", err, p)
			}
			out = append(out, s.Name+" "+string(p))
		}
		r.Close()
	}
	return strings.Join(out, "\n")
}
