package sinks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/cbormode"
)

// windowSink is a destination that takes a window of deliveries in flight
// (like MQTT's PUBACKs): each answer comes when the runner waits for it. It
// loses its connection once, at the delivery of dropAt, and refuses refuse
// for good when it is sent.
type windowSink struct {
	dropAt, refuse string

	mu sync.Mutex
	// Guarded by mu.
	dropped  bool
	sent     int
	waited   int
	most     int      // the most deliveries in flight at once
	accepted []string // ids, in the order the destination accepted them
}

func (s *windowSink) Window() int { return 8 }

func (s *windowSink) Deliver(ctx context.Context, ev sinks.Event) error {
	return errors.New("Deliver: the runner drives a WindowSink by Send")
}

func (s *windowSink) Send(_ context.Context, ev sinks.Event) (sinks.Pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.ID == s.refuse {
		return nil, sinks.Permanent(errors.New("refused"))
	}
	s.sent++
	s.most = max(s.most, s.sent-s.waited)
	return &answer{s: s, id: ev.ID}, nil
}

type answer struct {
	s  *windowSink
	id string
}

func (a *answer) Wait(context.Context) error {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waited++
	if a.id == s.dropAt && !s.dropped {
		s.dropped = true
		return errors.New("connection lost")
	}
	s.accepted = append(s.accepted, a.id)
	return nil
}

// TestWindowSink: a sink with deliveries in flight is driven from the
// journal's primary cursors; a lost connection starts the round again from
// the first record not accepted (records may come twice, never out of order
// nor missing); a record refused for good is dead-lettered and the rest
// flows.
func TestWindowSink(t *testing.T) {
	j := openJournal(t)
	var want []string
	for i := range 60 {
		want = append(want, punch(t, j, "attendance", i))
	}
	s := &windowSink{dropAt: want[20], refuse: want[30]}
	c := &counts{}
	var alarms []sinks.DeadLetter
	var amu sync.Mutex
	startRunner(t, j, s, sinks.Options{Name: "mqtt", Primary: true, Streams: []string{"control", "attendance"}, Topics: topics,
		Metrics: c, Sleep: func(context.Context, time.Duration) error { return nil },
		Alarm: func(_ context.Context, dl sinks.DeadLetter) error {
			amu.Lock()
			alarms = append(alarms, dl)
			amu.Unlock()
			return nil
		}})
	waitFor(t, "every punch but the refused one accepted, and the journal drained", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		seen := map[string]bool{}
		for _, id := range s.accepted {
			seen[id] = true
		}
		for i, id := range want {
			if !seen[id] && i != 30 {
				return false
			}
		}
		for _, st := range j.Stats().Streams {
			if st.Name == "attendance" && st.Depth != 0 {
				return false
			}
		}
		return true
	})
	s.mu.Lock()
	next := 0 // the first accepted of each run of accepted ids is in journal order
	for _, id := range s.accepted {
		i := indexOf(want, id)
		if i > next {
			t.Fatalf("%s (punch %d) accepted before punch %d", id, i, next)
		}
		if i == next {
			next++
			if next == 30 {
				next++ // dead-lettered
			}
		}
	}
	if s.most < 2 {
		t.Errorf("at most %d deliveries in flight: the runner did not keep a window", s.most)
	}
	s.mu.Unlock()
	if _, failed, dead := c.get(); failed < 1 || dead != 1 {
		t.Errorf("failed %d (want at least the lost connection), dead-lettered %d (want 1)", failed, dead)
	}
	r, err := j.Reader(sinks.DeadLetterStream.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dl sinks.DeadLetter
	if err := cbormode.Trusted.Unmarshal(rec.Body, &dl); err != nil {
		t.Fatal(err)
	}
	if dl.ID != want[30] || dl.Sink != "mqtt" {
		t.Errorf("dead letter %+v, want punch 30", dl)
	}
	amu.Lock()
	if len(alarms) != 1 || alarms[0].ID != want[30] {
		t.Errorf("alarms %+v", alarms)
	}
	amu.Unlock()
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}
