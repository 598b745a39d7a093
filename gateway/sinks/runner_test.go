package sinks_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/filesink"
)

var topics = envelope.Topics{Root: "officegate", Gateway: "gw1"}

func openJournal(t *testing.T, consumers ...journal.Consumer) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{
			{Name: "control", Priority: journal.PriorityControl},
			{Name: "attendance", Priority: journal.PriorityRecord},
			sinks.DeadLetterStream,
		},
		Consumers:      consumers,
		SegmentSize:    256 << 10,
		SyncWindow:     time.Millisecond,
		CursorInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// punch journals an attendance event as the intake does and returns its id.
func punch(t *testing.T, j *journal.Journal, stream string, i int) string {
	t.Helper()
	data, err := envelope.EncodeData(map[string]any{"user": fmt.Sprintf("u%04d", i), "method": "card"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	id := envelope.NewID()
	o := envelope.Outbound{Event: &envelope.Event{V: envelope.Version, ID: id, Type: "attendance.punch",
		Gateway: topics.Gateway, Device: "t1", Seq: uint64(i + 1), Time: envelope.StampOf(at),
		TimeRaw: at.Format("2006-01-02T15:04:05.000"), Clock: envelope.ClockSynced, Received: envelope.StampOf(at), Data: data}}
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), stream, body); err != nil {
		t.Fatal(err)
	}
	return id
}

type counts struct {
	mu                            sync.Mutex
	delivered, failed, deadLetter int
}

func (c *counts) Delivered(string)    { c.mu.Lock(); c.delivered++; c.mu.Unlock() }
func (c *counts) Failed(string)       { c.mu.Lock(); c.failed++; c.mu.Unlock() }
func (c *counts) DeadLettered(string) { c.mu.Lock(); c.deadLetter++; c.mu.Unlock() }
func (c *counts) get() (int, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered, c.failed, c.deadLetter
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type fileLine struct {
	Topic   string          `json:"topic"`
	Stream  string          `json:"stream"`
	Seq     uint64          `json:"seq"`
	Payload json.RawMessage `json:"payload"`
}

func readLines(t *testing.T, path string) []fileLine {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fileLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l fileLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func idOf(t *testing.T, payload []byte) string {
	t.Helper()
	var e struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func startRunner(t *testing.T, j *journal.Journal, s sinks.Sink, o sinks.Options) {
	t.Helper()
	r, err := sinks.New(j, s, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// A sink whose destination is missing delivers nothing and holds back
// nothing but itself: the primary consumer (the uplink's cursor) reads and
// acknowledges every record meanwhile, and the journal keeps the sink's
// backlog until the destination is back; then the sink gets every record,
// in order.
func TestDownSinkHoldsOnlyItself(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "archive", Streams: []string{"attendance"}})
	dir := filepath.Join(t.TempDir(), "mount") // not there yet: the sink is down
	path := filepath.Join(dir, "events.jsonl")
	fs, err := filesink.New(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &counts{}
	startRunner(t, j, fs, sinks.Options{Name: "archive", Streams: []string{"attendance"}, Topics: topics,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Metrics: m})

	const n = 200
	var ids []string
	for i := range n {
		ids = append(ids, punch(t, j, "attendance", i))
	}
	up, err := j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rec, err := up.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("the primary consumer was held at record %d: %v", i, err)
		}
		if err := up.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "failed deliveries", func() bool { _, f, _ := m.get(); return f >= 3 })
	cs, err := j.ConsumerStats("archive")
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Depth != n || cs[0].OldestUndelivered.IsZero() {
		t.Fatalf("sink backlog %+v while down, want depth %d", cs[0], n)
	}
	if d, _, _ := m.get(); d != 0 || readLines(t, path) != nil {
		t.Fatalf("%d delivered while the destination was missing", d)
	}

	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every record delivered", func() bool { d, _, _ := m.get(); return d == n })
	lines := readLines(t, path)
	if len(lines) != n {
		t.Fatalf("file holds %d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if got := idOf(t, l.Payload); got != ids[i] || l.Topic != topics.Event("t1", "attendance.punch") {
			t.Fatalf("line %d: id %s topic %q, want id %s (in order)", i, got, l.Topic, ids[i])
		}
	}
	waitFor(t, "the backlog drained", func() bool {
		cs, _ := j.ConsumerStats("archive")
		return cs[0].Depth == 0 && cs[0].Cursor == lines[n-1].Seq
	})
}

// permanentSink refuses events of one device for good and accepts the rest.
type permanentSink struct {
	mu   sync.Mutex
	got  []string
	bad  string
	seen map[string]int
}

func (s *permanentSink) Deliver(_ context.Context, ev sinks.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[ev.ID]++
	if ev.Device == s.bad {
		return sinks.Permanent(fmt.Errorf("422: device %q unknown to the HR system", ev.Device))
	}
	s.got = append(s.got, ev.ID)
	return nil
}

// A record the sink can never take — refused for good, or not even
// renderable — goes to the dead-letter stream with an alarm and a metric,
// and the sink goes on with the next one.
func TestDeadLetters(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	s := &permanentSink{bad: "ghost", seen: map[string]int{}}
	m := &counts{}
	var amu sync.Mutex
	var alarms []sinks.DeadLetter
	startRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		Alarm: func(_ context.Context, dl sinks.DeadLetter) error {
			amu.Lock()
			alarms = append(alarms, dl)
			amu.Unlock()
			return nil
		}})

	first := punch(t, j, "attendance", 0)
	garbage, err := j.Append(context.Background(), "attendance", []byte("not an envelope"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := envelope.EncodeData(map[string]any{"user": "x"})
	o := envelope.Outbound{Event: &envelope.Event{V: 1, ID: envelope.NewID(), Type: "attendance.punch", Gateway: "gw1",
		Device: "ghost", Clock: envelope.ClockSynced, Data: data}}
	body, _ := o.Encode()
	refused, err := j.Append(context.Background(), "attendance", body)
	if err != nil {
		t.Fatal(err)
	}
	last := punch(t, j, "attendance", 1)

	waitFor(t, "the records after the dead letters", func() bool { d, _, _ := m.get(); return d == 2 })
	if _, _, dl := m.get(); dl != 2 {
		t.Fatalf("dead-lettered %d, want 2", dl)
	}
	s.mu.Lock()
	if len(s.got) != 2 || s.got[0] != first || s.got[1] != last || s.seen[o.Event.ID] != 1 {
		t.Fatalf("sink got %v (refused one tried %d times), want %s then %s", s.got, s.seen[o.Event.ID], first, last)
	}
	s.mu.Unlock()
	amu.Lock()
	if len(alarms) != 2 || alarms[0].Seq != garbage || alarms[1].Seq != refused || alarms[1].Device != "ghost" || alarms[1].ID != o.Event.ID {
		t.Fatalf("alarms %+v, want the garbage record %d and the refused %d", alarms, garbage, refused)
	}
	amu.Unlock()

	var dead []sinks.DeadLetter
	err = j.Replay(context.Background(), sinks.DeadLetterStream.Name, func(rec journal.Record) error {
		var dl sinks.DeadLetter
		if err := rec.Decode(&dl); err != nil {
			return err
		}
		dead = append(dead, dl)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 || dead[0].Seq != garbage || string(dead[0].Body) != "not an envelope" || dead[0].Sink != "hr" ||
		dead[1].Seq != refused || dead[1].Error == "" {
		t.Fatalf("dead-letter stream %+v", dead)
	}
}
