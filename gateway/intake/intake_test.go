package intake

import (
	"context"
	"os"
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

func streams() []journal.Stream { return JournalStreams() }

// openIntake is a journal with the gateway's streams and an intake on it.
func openIntake(t *testing.T) (*journal.Journal, *Intake) {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: streams(), SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	in, err := New(j, dir, Options{Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	return j, in
}

func TestCommitEventsAndMarks(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: streams(), SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	in, err := New(j, dir, Options{Gateway: "gw-1", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	devTime := time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC) // 09:02:03 in Shanghai
	for seq := uint32(1); seq <= 3; seq++ {
		rec := link.Record{Kind: link.RecordEvent, HardwareID: "HW-1", DeviceKind: msg.KindAttendance, DeviceID: "t-1", DeviceBoot: 4,
			Received: time.Now(), Clock: link.ClockInfo{State: link.ClockSynced},
			Event: &msg.Event{ID: msg.EventID{Boot: 4, Seq: seq}, Kind: "punch", Time: uint64(devTime.UnixMilli()),
				Clock: msg.ClockSet, Data: map[string]any{"person": "E-1001", "credential": "card"}}}
		if seq == 3 {
			rec.Missing = 2 // the device's store overflowed before this one
		}
		if err := in.Commit(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := j.Reader(StreamRecords)
	var evs []*envelope.Event
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	for len(evs) < 4 {
		rec, err := r.Next(rctx)
		if err != nil {
			t.Fatal(err)
		}
		ob, err := envelope.DecodeOutbound(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ob.Event)
	}
	e := evs[0]
	if e.Type != "attendance.punch" || e.Device != "t-1" || e.Boot != 4 || e.Seq != 1 ||
		e.ID != envelope.EventID("HW-1", 4, 1) || e.Clock != envelope.ClockSynced ||
		e.Time.String() != "2026-11-24T09:02:03.000+08:00" || e.TimeRaw != "2026-11-24T09:02:03.000" {
		t.Fatalf("envelope %+v (time %s)", e, e.Time)
	}
	if evs[2].Type != "device.events_lost" || evs[3].Seq != 3 {
		t.Fatalf("gap note not before the event: %s, %d", evs[2].Type, evs[3].Seq)
	}
	p, _ := e.Payload(envelope.JSON)
	t.Logf("%s", p)

	// Marks: reloaded exactly from what the journal committed, without
	// any checkpoint.
	in2, err := New(j, dir, Options{Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := in2.Mark(ctx, "HW-1"); m.HighWater != (msg.EventID{Boot: 4, Seq: 3}) || m.Boot != 4 {
		t.Fatalf("reloaded mark %+v", m)
	}
}

// openAt opens the journal and an intake on it in dir, as a gateway start
// does.
func openAt(t *testing.T, dir string) (*journal.Journal, *Intake) {
	t.Helper()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: streams(), SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(j, dir, Options{Gateway: "gw-1", MarksEvery: time.Hour})
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	return j, in
}

func commitPunches(t *testing.T, in *Intake, hw string, boot uint32, seqs ...uint32) {
	t.Helper()
	var recs []link.Record
	for _, seq := range seqs {
		recs = append(recs, link.Record{Kind: link.RecordEvent, HardwareID: hw, DeviceKind: msg.KindAttendance, DeviceID: "t", Received: time.Now(),
			Event: &msg.Event{ID: msg.EventID{Boot: boot, Seq: seq}, Kind: "punch", Time: uint64(time.Now().UnixMilli()),
				Clock: msg.ClockSet, Data: map[string]any{"user": "1", "verify": "card", "state": uint64(0)}}})
	}
	if err := in.CommitBatch(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// TestMarksDurableWithEvents: a device's high-water mark is exactly the
// highest event committed, whenever the gateway stops: it is in the same
// journal commit as the events, and the checkpoint file only lets the journal
// drop mark records it covers. A mark too low would make the link publish a
// false device.events_lost for events the device forgot once acknowledged.
func TestMarksDurableWithEvents(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	mark := func(in *Intake, hw string) msg.EventID {
		m, _ := in.Mark(ctx, hw)
		return m.HighWater
	}
	j, in := openAt(t, dir)
	commitPunches(t, in, "HW-1", 4, 1, 2, 3)
	commitPunches(t, in, "HW-2", 1, 7)
	j.Close() // stopped before any checkpoint

	j, in = openAt(t, dir)
	if m1, m2 := mark(in, "HW-1"), mark(in, "HW-2"); m1 != (msg.EventID{Boot: 4, Seq: 3}) || m2 != (msg.EventID{Boot: 1, Seq: 7}) {
		t.Fatalf("marks after a stop without a checkpoint: %v %v", m1, m2)
	}
	// A checkpoint covers the records, which the journal may then drop;
	// later commits are marked in the journal again.
	runCtx, stop := context.WithCancel(ctx)
	stop()
	if err := in.Run(runCtx); err != nil { // one round, as at a shutdown
		t.Fatal(err)
	}
	if d := streamDepth(j, StreamMarks); d != 0 {
		t.Fatalf("%d mark records unacknowledged after a checkpoint", d)
	}
	commitPunches(t, in, "HW-1", 4, 4, 5)
	commitPunches(t, in, "HW-1", 5, 1) // the device rebooted
	j.Close()

	j, in = openAt(t, dir)
	if m1, m2 := mark(in, "HW-1"), mark(in, "HW-2"); m1 != (msg.EventID{Boot: 5, Seq: 1}) || m2 != (msg.EventID{Boot: 1, Seq: 7}) {
		t.Fatalf("marks from the checkpoint and the journal: %v %v", m1, m2)
	}
	j.Close()

	// A damaged checkpoint is not trusted: HW-2, marked only there, starts
	// from zero (its device resends what it holds); HW-1 is still marked in
	// the journal.
	b, err := os.ReadFile(filepath.Join(dir, "marks"))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0x01
	os.WriteFile(filepath.Join(dir, "marks"), b, 0o600)
	j, in = openAt(t, dir)
	defer j.Close()
	if m1, m2 := mark(in, "HW-1"), mark(in, "HW-2"); m1 != (msg.EventID{Boot: 5, Seq: 1}) || m2 != (msg.EventID{}) {
		t.Fatalf("marks with a damaged checkpoint: %v %v", m1, m2)
	}
}

func streamDepth(j *journal.Journal, name string) uint64 {
	for _, s := range j.Stats().Streams {
		if s.Name == name {
			return s.Depth
		}
	}
	return 0
}

// eventRecords counts the records journaled since Open, mark records aside.
func eventRecords(j *journal.Journal) uint64 {
	var n uint64
	for _, s := range j.Stats().Streams {
		if s.Name != StreamMarks {
			n += s.Appended
		}
	}
	return n
}

func TestStreamFor(t *testing.T) {
	for typ, want := range map[string]string{
		"attendance.punch": StreamRecords, "visitor.checked_in": StreamVisitors, "credential.read": StreamRecords,
		"room.occupancy": StreamTelemetry, "kiosk.scan": StreamVisitors, "device.alarm": StreamControl, "diag.log": StreamDiagnostic,
	} {
		if got := StreamFor(typ); got != want {
			t.Errorf("StreamFor(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestCommitBatchOneCommitAcrossStreams(t *testing.T) {
	j, in := openIntake(t)
	var recs []link.Record
	for seq, kind := range []string{"occupancy", "button", "attendance.punch"} {
		data := map[string]any{"n": uint64(seq), "user": "10042"}
		if kind != "attendance.punch" { // a panel's bodies, PROTOCOL.md §9.4
			data = map[string]any{"state": "occupied", "button": uint64(1)}
		}
		recs = append(recs, link.Record{Kind: link.RecordEvent, HardwareID: "HW-P", DeviceKind: msg.KindRoomPanel, DeviceID: "p-1", Received: time.Now(),
			Event: &msg.Event{ID: msg.EventID{Boot: 2, Seq: uint32(seq + 1)}, Kind: kind, Time: uint64(time.Now().UnixMilli()),
				Data: data}})
	}
	before := j.Stats().Commits
	if err := in.CommitBatch(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if c := j.Stats().Commits - before; c != 1 {
		t.Fatalf("%d commits for one batch", c)
	}
	if m, _ := in.Mark(context.Background(), "HW-P"); m.HighWater != (msg.EventID{Boot: 2, Seq: 3}) {
		t.Fatalf("mark after the batch: %+v", m)
	}
	depth := map[string]uint64{}
	for _, s := range j.Stats().Streams {
		depth[s.Name] = s.Depth
	}
	if depth[StreamTelemetry] != 2 || depth[StreamRecords] != 1 {
		t.Fatalf("stream depths %v", depth)
	}
}

func TestPunchPrivacyAndMalformed(t *testing.T) {
	j, in := openIntake(t)
	ev := func(seq uint32, data map[string]any) link.Record {
		return link.Record{Kind: link.RecordEvent, HardwareID: "HW-T", DeviceKind: msg.KindAttendance, DeviceID: "t-1", Received: time.Now(),
			Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: seq}, Kind: "punch", Time: uint64(time.Now().UnixMilli()), Data: data}}
	}
	ctx := context.Background()
	if err := in.CommitBatch(ctx, []link.Record{
		ev(1, map[string]any{"user": "10042", "verify": "face", "state": uint64(1), "face_template": []byte{1, 2, 3}}),
		ev(2, map[string]any{"verify": "card"}), // no person: flagged, not dropped
	}); err != nil {
		t.Fatal(err)
	}
	read := func(stream string, n int) []string {
		r, _ := j.Reader(stream)
		defer r.Close()
		var out []string
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		for len(out) < n {
			rec, err := r.Next(rctx)
			if err != nil {
				t.Fatal(err)
			}
			ob, _ := envelope.DecodeOutbound(rec.Body)
			p, _ := ob.Event.Payload(envelope.JSON)
			out = append(out, string(p))
		}
		return out
	}
	punch := read(StreamRecords, 1)[0]
	for _, want := range []string{`"type":"attendance.punch"`, `"person":"10042"`, `"credential":"face"`, `"state":"out"`, `"redacted":["face_template"]`} {
		if !strings.Contains(punch, want) {
			t.Errorf("punch lacks %s: %s", want, punch)
		}
	}
	if strings.Contains(punch, "template\":") {
		t.Errorf("biometric data published: %s", punch)
	}
	alarms := strings.Join(read(StreamControl, 2), "\n")
	for _, want := range []string{`"alarm":"biometric_refused"`, `"alarm":"other"`, "unusable punch event (boot 1, seq 2)"} {
		if !strings.Contains(alarms, want) {
			t.Errorf("alarms lack %s:\n%s", want, alarms)
		}
	}
}

// TestPublishedEventsKeepTheContract: what the intake journals for punches,
// alarms and notes passes the contract's strict schemas.
func TestPublishedEventsKeepTheContract(t *testing.T) {
	j, in := openIntake(t)
	var recs []link.Record
	for i, data := range []map[string]any{
		{"user": "10042", "verify": "finger", "state": uint64(0)},
		{"user": "10043", "verify": "face", "state": uint64(1), "face_template": []byte{1}},
		{"verify": "card"},
	} {
		recs = append(recs, link.Record{Kind: link.RecordEvent, HardwareID: "HW-T", DeviceKind: msg.KindAttendance, DeviceID: "t-1", Received: time.Now(),
			Missing: uint32(i % 2), Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: uint32(2*i + 2)}, Kind: "punch",
				Time: uint64(time.Now().UnixMilli()), Clock: msg.ClockSet, Data: data}})
	}
	if err := in.CommitBatch(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, stream := range []string{StreamRecords, StreamControl} {
		r, _ := j.Reader(stream)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		for {
			rec, err := r.Next(ctx)
			if err != nil {
				break
			}
			ob, _ := envelope.DecodeOutbound(rec.Body)
			p, _ := ob.Event.Payload(envelope.JSON)
			if err := contract.Strict(contract.Event, p); err != nil {
				t.Errorf("%v\n%s", err, p)
			}
			n++
		}
		cancel()
		r.Close()
	}
	// 2 punches, 1 gap note (before the second), 1 biometric alarm, 1
	// unusable-punch alarm.
	if n != 5 {
		t.Fatalf("%d events checked, want 5", n)
	}
}

func TestEmitGatewayOriginated(t *testing.T) {
	j, in := openIntake(t)
	err := in.Emit(context.Background(), devices.Event{Device: "r-1", Type: "attendance.punch", Time: time.Now(),
		Clock: devices.ClockSynced, Data: map[string]any{"credential": "card", "state": "unknown", "card": "12:3456",
			"raw": map[string]any{"format": "h10301", "bits": 26}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Emit(context.Background(), devices.Event{Device: "r-1", Type: "Bad Type", Time: time.Now()}); err == nil {
		t.Fatal("an invalid event was accepted")
	}
	r, _ := j.Reader(StreamRecords)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := envelope.DecodeOutbound(rec.Body)
	p, _ := ob.Event.Payload(envelope.JSON)
	if err := contract.Strict(contract.Event, p); err != nil {
		t.Fatalf("%v\n%s", err, p)
	}
	if ob.Event.Boot != 0 || ob.Event.Seq != 0 || ob.Event.ID == "" {
		t.Fatalf("gateway-originated event %+v", ob.Event)
	}
}

// TestMarksKeptWhileCheckpointFails: mark records are acknowledged to the
// journal only once a checkpoint covering them is saved; while saving fails
// (here the checkpoint's name is taken by a directory) the journal keeps them,
// and the marks are still exact at the next start.
func TestMarksKeptWhileCheckpointFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "marks"), 0o700); err != nil {
		t.Fatal(err)
	}
	j, in := openAt(t, dir)
	commitPunches(t, in, "HW-1", 2, 1, 2)
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := in.Run(ctx); err == nil {
		t.Fatal("a checkpoint that could not be saved reported success")
	}
	if d := streamDepth(j, StreamMarks); d != 1 {
		t.Fatalf("%d mark records kept, want 1: acknowledged without a checkpoint", d)
	}
	j.Close()
	j, in = openAt(t, dir)
	defer j.Close()
	if m, _ := in.Mark(context.Background(), "HW-1"); m.HighWater != (msg.EventID{Boot: 2, Seq: 2}) {
		t.Fatalf("mark %v after a failed checkpoint", m.HighWater)
	}
}
