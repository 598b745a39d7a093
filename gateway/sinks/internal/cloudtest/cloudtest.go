// Package cloudtest runs a platform sink for its tests the way the daemon does.
//
// A sink runs from a real journal, through a sinks.Runner, with a held
// directory and a real person directory.
package cloudtest

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/sinkstest"
	"github.com/officegate/officegate/provisioning/people"
)

// Topics are the topics the test events render for.
var Topics = envelope.Topics{Root: "officegate", Gateway: "gw1"}

// Streams are the journal streams a Harness opens.
var Streams = []string{"attendance", "visitors", "rooms"}

// Harness is a journal with one sink consumer, a runner, its metrics, its
// dead-letter alarms and its log.
type Harness struct {
	J       *journal.Journal
	Name    string
	Log     *SafeBuffer
	mu      sync.Mutex
	alarms  []sinks.DeadLetter
	holds   []sinks.Held
	metrics *sinkstest.Scraped
	runner  *sinks.Runner
}

// Held returns what the runner holds for unmapped people.
func (h *Harness) Held() []sinks.Held { return h.runner.Held() }

// HoldAlarms returns the hold alarms raised (one per person).
func (h *Harness) HoldAlarms() []sinks.Held {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sinks.Held(nil), h.holds...)
}

// Directory opens a person directory in a temporary directory holding ps.
func Directory(t *testing.T, ps ...people.Person) *people.Directory {
	t.Helper()
	d, err := people.Open(t.TempDir(), people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := d.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// Counts returns delivered, failed (retried) and dead-lettered counts.
func (h *Harness) Counts() (delivered, failed, deadLettered int) {
	return h.metrics.Get()
}

// Scrape returns the body of GET /metrics of a registry the runner reports
// into, watching the journal and the sink as the daemon's does.
func (h *Harness) Scrape(t testing.TB) string { return h.metrics.Scrape(t) }

// Alarms returns the dead letters the runner raised alarms for.
func (h *Harness) Alarms() []sinks.DeadLetter {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sinks.DeadLetter(nil), h.alarms...)
}

// SafeBuffer is a log destination safe for concurrent writes.
type SafeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SafeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *SafeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start opens a journal in a temporary directory and runs sink s on its
// streams until the test ends, holding unmapped records in a held
// directory and offering them again when dir changes, as the daemon does.
func Start(t *testing.T, name string, s sinks.Sink, dir *people.Directory) *Harness {
	t.Helper()
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{
			{Name: "attendance", Priority: journal.PriorityRecord},
			{Name: "visitors", Priority: journal.PriorityRecord},
			{Name: "rooms", Priority: journal.PriorityTelemetry},
			sinks.DeadLetterStream,
		},
		Consumers:      []journal.Consumer{{Name: name, Streams: Streams}},
		SegmentSize:    256 << 10,
		SyncWindow:     time.Millisecond,
		CursorInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &Harness{J: j, Name: name, Log: &SafeBuffer{}, metrics: sinkstest.NewScraped(t, j, name)}
	log := zerolog.New(h.Log)
	var retry <-chan struct{}
	if dir != nil {
		ch, stop := dir.Watch()
		t.Cleanup(stop)
		retry = ch
	}
	r, err := sinks.New(j, s, sinks.Options{Name: name, Streams: Streams, Topics: Topics,
		HeldDir: filepath.Join(t.TempDir(), "held"), Retry: retry,
		HoldAlarm: func(_ context.Context, hd sinks.Held) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.holds = append(h.holds, hd)
			return nil
		},
		BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond, RetryAfterMax: 20 * time.Millisecond,
		Metrics: h.metrics, Log: &log,
		Alarm: func(_ context.Context, dl sinks.DeadLetter) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.alarms = append(h.alarms, dl)
			return nil
		}})
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	h.runner = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		j.Close()
	})
	return h
}

// Event journals an event of type typ with data on device and returns its
// id; at is its time (UTC+8, as a site in China configures).
func (h *Harness) Event(t *testing.T, stream, device, typ string, at time.Time, data map[string]any) string {
	t.Helper()
	b, err := envelope.EncodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	at = at.In(time.FixedZone("CST", 8*3600))
	id := envelope.NewID()
	o := envelope.Outbound{Event: &envelope.Event{V: envelope.Version, ID: id, Type: typ,
		Gateway: Topics.Gateway, Device: device, Time: envelope.StampOf(at),
		TimeRaw: at.Format("2006-01-02T15:04:05.000"), Clock: envelope.ClockSynced, Received: envelope.StampOf(at), Data: b}}
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.J.Append(context.Background(), stream, body); err != nil {
		t.Fatal(err)
	}
	return id
}

// Punch journals an attendance.punch of person on device at at.
func (h *Harness) Punch(t *testing.T, device, person string, at time.Time) string {
	t.Helper()
	return h.Event(t, "attendance", device, "attendance.punch", at,
		map[string]any{"person": person, "credential": "card", "state": "in", "card": "12:4660"})
}

// WaitFor waits for cond, failing the test after 30 s.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// EventOf renders a journaled-style event for a direct Deliver call.
func EventOf(t *testing.T, device, typ string, at time.Time, data map[string]any) sinks.Event {
	t.Helper()
	b, err := envelope.EncodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	at = at.In(time.FixedZone("CST", 8*3600))
	id := envelope.NewID()
	o := envelope.Outbound{Event: &envelope.Event{V: envelope.Version, ID: id, Type: typ,
		Gateway: Topics.Gateway, Device: device, Time: envelope.StampOf(at),
		TimeRaw: at.Format("2006-01-02T15:04:05.000"), Clock: envelope.ClockSynced, Received: envelope.StampOf(at), Data: b}}
	topic, payload, err := o.Message(Topics, envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Event{ID: id, Device: device, Type: typ, Stream: "attendance", Topic: topic, Payload: payload}
}

// NoSecret fails the test if any of texts holds any of secrets.
func NoSecret(t *testing.T, where string, texts []string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, x := range texts {
			if strings.Contains(x, s) {
				t.Errorf("%s leaks a secret (%q…): %q", where, s[:min(4, len(s))], x)
			}
		}
	}
}
