package intake

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
)

// TestTerminalPunches: a replayed punch (attendance.fetch) is published under
// its first id; a replay naming an event not before it is an alarm, never a
// punch; card numbers are hashed under the site key; a drifted punch carries
// its offset.
func TestTerminalPunches(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: streams(), SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	key := []byte("0123456789abcdef")
	in, err := New(j, dir, Options{Gateway: "gw-1", CardKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := uint64(time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC).UnixMilli())
	commit := func(seq uint32, clock link.ClockInfo, data map[string]any) {
		t.Helper()
		rec := link.Record{Kind: link.RecordEvent, HardwareID: "HW-T", DeviceKind: msg.KindAttendance, DeviceID: "term-1", DeviceBoot: 3,
			Received: time.Now(), Clock: clock,
			Event: &msg.Event{ID: msg.EventID{Boot: 3, Seq: seq}, Kind: "punch", Time: t0, Clock: msg.ClockSet, Data: data}}
		if err := in.Commit(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	synced := link.ClockInfo{State: link.ClockSynced, At: time.Now()}
	commit(1, link.ClockInfo{State: link.ClockDrifted, Offset: -93400 * time.Millisecond, At: time.Now()},
		map[string]any{"user": "7", "verify": "card", "state": uint64(0), "card": "12:4660"})
	commit(2, synced, map[string]any{"user": "7", "verify": "card", "state": uint64(0), "card": "12:4660",
		"replay": map[string]any{"boot": uint64(3), "seq": uint64(1)}})
	commit(3, synced, map[string]any{"user": "8", "verify": "finger", "state": uint64(1),
		"replay": map[string]any{"boot": uint64(3), "seq": uint64(3)}}) // names itself: refused
	commit(4, synced, map[string]any{"user": "8", "verify": "finger", "state": uint64(1),
		"replay": "yesterday"})
	// Bad input from a terminal: a far-future time, unknown codes, no person.
	future := link.Record{Kind: link.RecordEvent, HardwareID: "HW-T", DeviceKind: msg.KindAttendance, DeviceID: "term-1", DeviceBoot: 3,
		Received: time.Now(), Clock: synced,
		Event: &msg.Event{ID: msg.EventID{Boot: 3, Seq: 5}, Kind: "punch", Time: uint64(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()),
			Clock: msg.ClockSet, Data: map[string]any{"user": "9", "verify": uint64(77), "state": "lunch"}}}
	if err := in.Commit(ctx, future); err != nil {
		t.Fatal(err)
	}
	commit(6, synced, map[string]any{"verify": "finger", "card": "12:4660"})

	if n := eventRecords(j); n != 6 {
		t.Errorf("%d records journaled, want 6: three punches, three alarms", n)
	}
	got := readEvents(t, j, StreamRecords, 3)
	control := readEvents(t, j, StreamControl, 3)
	odd := got[2]
	if d, _ := envelope.DecodeData(odd.Data); odd.Clock != envelope.ClockDrifted || odd.ClockOffsetMS == nil || *odd.ClockOffsetMS < 1e12 ||
		d["credential"] != "unknown" || d["state"] != "unknown" {
		t.Errorf("far-future punch with unknown codes: clock %s offset %v data %v", odd.Clock, odd.ClockOffsetMS, d)
	}
	got = got[:2]
	first, replay := got[0], got[1]
	if first.ClockOffsetMS == nil || *first.ClockOffsetMS != -93400 || first.Clock != envelope.ClockDrifted {
		t.Errorf("drifted punch: clock %s offset %v", first.Clock, first.ClockOffsetMS)
	}
	if replay.ID != first.ID || replay.Boot != 3 || replay.Seq != 1 || replay.Type != "attendance.punch" {
		t.Errorf("replay published as %s [%d %d] %s, want the first punch's id %s", replay.ID, replay.Boot, replay.Seq, replay.Type, first.ID)
	}
	for _, e := range got {
		d, err := envelope.DecodeData(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if d["card_hash"] != devices.KeyedHash(key, "12:4660") || d["card"] != nil || d["replay"] != nil {
			t.Errorf("punch data %v: want the card hashed and no replay key", d)
		}
		if raw, _ := d["raw"].(map[string]any); raw["card"] != nil {
			t.Errorf("card in clear under raw: %v", raw)
		}
	}
	for _, e := range control {
		d, _ := envelope.DecodeData(e.Data)
		if e.Type != "device.alarm" || d["alarm"] != "other" || strings.Contains(fmt.Sprint(d), "4660") {
			t.Errorf("bad replay or punch gave %s %v, want an alarm without the card", e.Type, d)
		}
	}
}

func readEvents(t *testing.T, j *journal.Journal, stream string, n int) []*envelope.Event {
	t.Helper()
	r, err := j.Reader(stream)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var evs []*envelope.Event
	for len(evs) < n {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("reading %s: %d of %d events: %v", stream, len(evs), n, err)
		}
		ob, err := envelope.DecodeOutbound(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ob.Event)
	}
	return evs
}
