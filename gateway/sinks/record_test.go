package sinks_test

import (
	"context"
	"sync"
	"testing"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// keepSink keeps what it is given.
type keepSink struct {
	mu  sync.Mutex
	evs []sinks.Event
}

// recordSink is a keepSink that reads records.
type recordSink struct{ keepSink }

func (s *recordSink) FromRecord() {}

func (s *keepSink) Deliver(_ context.Context, ev sinks.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, ev)
	return nil
}

func (s *keepSink) got() []sinks.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinks.Event(nil), s.evs...)
}

// A RecordSink is handed each event's decoded journal record, its topic as
// the uplink publishes it, and no rendered payload; a sink that is not one
// gets the JSON payload and the record too.
func TestRecordSink(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "rec", Streams: []string{"attendance"}},
		journal.Consumer{Name: "plain", Streams: []string{"attendance"}})
	ids := []string{punch(t, j, "attendance", 0), punch(t, j, "attendance", 1)}
	rec, plain := &recordSink{}, &keepSink{}
	startRunner(t, j, rec, sinks.Options{Name: "rec", Streams: []string{"attendance"}, Topics: topics})
	startRunner(t, j, plain, sinks.Options{Name: "plain", Streams: []string{"attendance"}, Topics: topics})
	waitFor(t, "both delivered to both", func() bool { return len(rec.got()) == 2 && len(plain.got()) == 2 })
	for i, ev := range rec.got() {
		p := plain.got()[i]
		if ev.Payload != nil || ev.Record == nil || ev.Record.Event == nil || ev.Record.Event.ID != ids[i] || ev.ID != ids[i] {
			t.Fatalf("record sink got %+v", ev)
		}
		topic, payload, err := ev.Record.Message(topics, envelope.JSON)
		if err != nil || ev.Topic != topic || p.Topic != topic || string(p.Payload) != string(payload) || p.Record == nil {
			t.Fatalf("topics %q %q, want %q; plain payload %s, want %s (%v)", ev.Topic, p.Topic, topic, p.Payload, payload, err)
		}
	}
}
