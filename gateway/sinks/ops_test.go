package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// fixable refuses one device's events for good until fixed, and fails with
// a network error while down.
type fixable struct {
	mu    sync.Mutex
	bad   string
	fixed bool
	down  bool
	got   []string
}

func (s *fixable) Deliver(_ context.Context, ev sinks.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.down:
		return sinks.WithClass(sinks.ClassNetwork, errors.New("connection refused"))
	case ev.Device == s.bad && !s.fixed:
		return sinks.Permanent(fmt.Errorf("422: device %q unknown", ev.Device))
	}
	s.got = append(s.got, ev.ID)
	return nil
}

func (s *fixable) set(f func(*fixable)) { s.mu.Lock(); f(s); s.mu.Unlock() }

type classes struct {
	counts
	mu  sync.Mutex
	log []string
}

func (c *classes) SinkError(_, class string) {
	c.mu.Lock()
	c.log = append(c.log, class)
	c.mu.Unlock()
}
func (c *classes) seen() []string { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.log) }

// Dead letters are listed per sink, replayed once the cause is fixed, and
// then no longer listed; the error class of a failing sink is reported and
// cleared when it delivers again; Status says all of it.
func TestReplayAndStatus(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	s := &fixable{bad: "ghost"}
	m := &classes{}
	r, err := sinks.New(j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	first := punch(t, j, "attendance", 0)
	o := ghostPunch(t, j)
	waitFor(t, "the dead letter", func() bool { _, _, dl := m.get(); return dl == 1 })
	dls, err := sinks.DeadLetters(context.Background(), j, "hr")
	if err != nil || len(dls) != 1 || dls[0].ID != o || dls[0].At.IsZero() {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
	if other, _ := sinks.DeadLetters(context.Background(), j, "other"); len(other) != 0 {
		t.Fatalf("another sink lists %d dead letters", len(other))
	}

	s.set(func(s *fixable) { s.down = true })
	punch(t, j, "attendance", 1)
	waitFor(t, "the sink down", func() bool { st, _ := r.Status(); return st.Class == sinks.ClassNetwork && st.Backlog == 1 })
	res, err := r.Replay(context.Background())
	if err != nil || res.Delivered != 0 || len(res.Failed) != 1 {
		t.Fatalf("replay while down: %+v, %v", res, err)
	}
	s.set(func(s *fixable) { s.down = false })
	waitFor(t, "delivering again", func() bool { st, _ := r.Status(); return st.Class == "" && st.Backlog == 0 })
	if got := m.seen(); !slices.Equal(got, []string{sinks.ClassNetwork, ""}) {
		t.Fatalf("error classes reported %q, want network then cleared", got)
	}

	s.set(func(s *fixable) { s.fixed = true })
	res, err = r.Replay(context.Background())
	if err != nil || res.Delivered != 1 || len(res.Failed) != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	if dls, _ := sinks.DeadLetters(context.Background(), j, "hr"); len(dls) != 0 {
		t.Fatalf("still listed after a replay: %+v", dls)
	}
	if res, _ := r.Replay(context.Background()); res.Delivered != 0 {
		t.Fatal("a dead letter replayed twice")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) != 3 || s.got[0] != first || s.got[2] != o {
		t.Fatalf("sink got %v", s.got)
	}
}

func ghostPunch(t *testing.T, j *journal.Journal) string {
	t.Helper()
	data, _ := envelope.EncodeData(map[string]any{"user": "x"})
	o := envelope.Outbound{Event: &envelope.Event{V: 1, ID: envelope.NewID(), Type: "attendance.punch", Gateway: "gw1",
		Device: "ghost", Clock: envelope.ClockSynced, Data: data}}
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), "attendance", body); err != nil {
		t.Fatal(err)
	}
	return o.Event.ID
}

// A sink that delivers nothing is alarmed once its backlog keeps half the
// journal's cap, well before the journal refuses anything.
func TestBacklogAlarm(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams:     []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}, sinks.DeadLetterStream},
		Consumers:   []journal.Consumer{{Name: "hr", Streams: []string{"attendance"}}},
		SegmentSize: 16 << 10, MaxBytes: 128 << 10, MaxRecordSize: 4096, SyncWindow: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r, err := sinks.New(j, &fixable{down: true}, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; ; i++ {
		st, err := r.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Alarm {
			if st.Bytes < 64<<10 || j.Stats().Full.Full {
				t.Fatalf("alarmed at %d bytes (journal full: %v)", st.Bytes, j.Stats().Full.Full)
			}
			break
		}
		if st.Bytes >= 64<<10 {
			t.Fatalf("%d bytes kept without an alarm", st.Bytes)
		}
		punch(t, j, "attendance", i)
	}
}

// The backlog alarm is raised once each time the backlog rises to the
// threshold: not again at every check while it stays there, and again
// after it fell below and rose once more.
func TestBacklogAlarmRaisedOncePerRise(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams:     []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}, sinks.DeadLetterStream},
		Consumers:   []journal.Consumer{{Name: "hr", Streams: []string{"attendance"}}},
		SegmentSize: 16 << 10, MaxBytes: 128 << 10, MaxRecordSize: 4096, SyncWindow: time.Millisecond,
		CursorInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var mu sync.Mutex
	var raised []sinks.Status
	var logs strings.Builder
	log := zerolog.New(zerolog.SyncWriter(lockedBuilder{&mu, &logs}))
	s := &fixable{down: true}
	r, stop := runRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Log: &log,
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, BacklogCheck: time.Millisecond,
		BacklogAlarm: func(_ context.Context, st sinks.Status) error {
			mu.Lock()
			defer mu.Unlock()
			raised = append(raised, st)
			return nil
		}})
	defer stop()
	count := func() (int, string) { mu.Lock(); defer mu.Unlock(); return len(raised), logs.String() }
	n := 0
	fill := func() {
		for {
			st, err := r.Status()
			if err != nil {
				t.Fatal(err)
			}
			if st.Alarm {
				return
			}
			punch(t, j, "attendance", n)
			n++
		}
	}
	for rise := 1; rise <= 2; rise++ {
		fill()
		waitFor(t, "the alarm raised", func() bool { c, _ := count(); return c == rise })
		s.set(func(s *fixable) { s.down = false })
		waitFor(t, "the alarm cleared", func() bool {
			_, l := count()
			return strings.Count(l, "below the alarm again") == rise
		})
		// The watcher logged the fall after every check of the rise: it
		// raised the alarm once for it, not once per check.
		if c, _ := count(); c != rise {
			t.Fatalf("rise %d: the alarm raised %d times", rise, c)
		}
		s.set(func(s *fixable) { s.down = true })
	}
	mu.Lock()
	defer mu.Unlock()
	if st := raised[0]; st.Name != "hr" || !st.Alarm || st.Bytes < 64<<10 || st.Backlog == 0 || st.Down == "" {
		t.Fatalf("alarm raised with %+v", st)
	}
}

type lockedBuilder struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// One pass lists every sink's dead letters apart: a sink's replay mark
// clears its own dead letter, not another sink's of the same record.
func TestDeadLettersBySink(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	ctx := context.Background()
	for _, dl := range []sinks.DeadLetter{
		{Sink: "a", Stream: "attendance", Seq: 5, ID: "e5", Error: "refused"},
		{Sink: "b", Stream: "attendance", Seq: 5, ID: "e5", Error: "refused"},
		{Sink: "b", Stream: "attendance", Seq: 6, ID: "e6", Error: "refused"},
		{Sink: "a", Stream: "attendance", Seq: 5, ID: "e5", Replayed: true},
	} {
		if _, err := j.AppendCBOR(ctx, sinks.DeadLetterStream.Name, dl); err != nil {
			t.Fatal(err)
		}
	}
	by, err := sinks.DeadLettersBySink(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if len(by["a"]) != 0 || len(by["b"]) != 2 || by["b"][0].Seq != 5 || by["b"][1].Seq != 6 {
		t.Fatalf("dead letters by sink %+v, want none of a and b's seq 5 and 6", by)
	}
	for _, sink := range []string{"a", "b"} {
		dls, err := sinks.DeadLetters(ctx, j, sink)
		if err != nil || len(dls) != len(by[sink]) {
			t.Fatalf("DeadLetters(%q) = %+v, %v; by sink %+v", sink, dls, err, by[sink])
		}
	}
}
