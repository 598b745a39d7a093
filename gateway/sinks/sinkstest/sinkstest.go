// Package sinkstest holds what the tests of sink kinds share.
//
// A journal with a sink's consumer, punches journaled as the intake does,
// a runner, its counts, and a retry clock the test drives.
package sinkstest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// Topics are the topics events are rendered for.
var Topics = envelope.Topics{Root: "officegate", Gateway: "gw1"}

// Streams are the journal's streams: attendance and rooms to deliver, and
// the dead letters.
var Streams = []journal.Stream{
	{Name: "attendance", Priority: journal.PriorityRecord},
	{Name: "rooms", Priority: journal.PriorityTelemetry},
	sinks.DeadLetterStream,
}

// OpenJournal opens a journal in a temporary directory with consumers,
// closed at the end of the test.
func OpenJournal(t testing.TB, consumers ...journal.Consumer) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: Streams, Consumers: consumers,
		SegmentSize: 256 << 10, SyncWindow: time.Millisecond, CursorInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// Base is the device time of punch 0.
var Base = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// Outbound is punch n of a device as the intake journals it.
func Outbound(device string, n int) envelope.Outbound {
	data, err := envelope.EncodeData(map[string]any{"user": fmt.Sprintf("u%04d", n%500), "method": "card"})
	if err != nil {
		panic(err) // a fixed map of strings always encodes
	}
	at := Base.Add(time.Duration(n) * time.Second)
	return envelope.Outbound{Event: &envelope.Event{V: envelope.Version, ID: envelope.NewID(), Type: "attendance.punch",
		Gateway: Topics.Gateway, Device: device, Seq: uint64(n + 1), Time: envelope.StampOf(at),
		TimeRaw: at.Format("2006-01-02T15:04:05.000"), Clock: envelope.ClockSynced,
		Received: envelope.StampOf(at.Add(time.Second)), Data: data}}
}

// Punch journals punch n of a device in stream attendance and returns its id.
func Punch(t testing.TB, j *journal.Journal, device string, n int) string {
	t.Helper()
	o := Outbound(device, n)
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), "attendance", body); err != nil {
		t.Fatal(err)
	}
	return o.Event.ID
}

// Counts is a sinks.Metrics counting in memory.
type Counts struct {
	mu                              sync.Mutex
	delivered, failed, deadLettered int
}

var _ sinks.Metrics = (*Counts)(nil)

func (c *Counts) Delivered(string)    { c.mu.Lock(); c.delivered++; c.mu.Unlock() }
func (c *Counts) Failed(string)       { c.mu.Lock(); c.failed++; c.mu.Unlock() }
func (c *Counts) DeadLettered(string) { c.mu.Lock(); c.deadLettered++; c.mu.Unlock() }

// Get returns the delivered, failed and dead-lettered counts.
func (c *Counts) Get() (delivered, failed, deadLettered int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered, c.failed, c.deadLettered
}

// WaitFor polls cond until it holds, failing the test after a minute.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// StartRunner runs a sink until the end of the test.
func StartRunner(t testing.TB, j *journal.Journal, s sinks.Sink, o sinks.Options) {
	t.Helper()
	if o.Topics == (envelope.Topics{}) {
		o.Topics = Topics
	}
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

// DeadLetters reads the dead-letter stream.
func DeadLetters(t testing.TB, j *journal.Journal) []sinks.DeadLetter {
	t.Helper()
	var out []sinks.DeadLetter
	err := j.Replay(context.Background(), sinks.DeadLetterStream.Name, func(rec journal.Record) error {
		var dl sinks.DeadLetter
		if err := rec.Decode(&dl); err != nil {
			return err
		}
		out = append(out, dl)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Clock is a retry clock for sinks.Options.Sleep: each retry records its
// delay and waits until the test lets it go (Release) or the runner stops,
// so a test runs minutes of backoff at its own pace.
type Clock struct {
	// AwaitTimeout bounds each Await in real time; zero means
	// DefaultAwaitTimeout. Set it before the first Await.
	AwaitTimeout time.Duration

	mu      sync.Mutex
	delays  []time.Duration
	waiting chan struct{} // closed when a retry starts waiting; replaced
	release chan struct{}
}

// NewClock returns a clock whose retries wait for Release.
func NewClock() *Clock {
	return &Clock{waiting: make(chan struct{}), release: make(chan struct{})}
}

// Sleep is the runner's wait.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.delays = append(c.delays, d)
	close(c.waiting)
	c.waiting = make(chan struct{})
	rel := c.release
	c.mu.Unlock()
	select {
	case <-rel:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delays are the waits asked for so far.
func (c *Clock) Delays() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.delays...)
}

// Total is the sum of Delays: the time the retries stood for.
func (c *Clock) Total() time.Duration {
	var s time.Duration
	for _, d := range c.Delays() {
		s += d
	}
	return s
}

// DefaultAwaitTimeout is how long Await waits by default: far longer than
// any runner takes to ask for a retry, even under -race on a loaded
// machine, and far shorter than go test's own -timeout, which would kill
// the whole package without saying what was awaited.
const DefaultAwaitTimeout = 30 * time.Second

// Await waits until n retries in all have started waiting, failing t with
// what it awaited if they have not within AwaitTimeout.
func (c *Clock) Await(t testing.TB, n int) {
	t.Helper()
	limit := c.AwaitTimeout
	if limit <= 0 {
		limit = DefaultAwaitTimeout
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		c.mu.Lock()
		got := len(c.delays)
		ch := c.waiting
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("sinkstest: Clock.Await(%d): %d of %d retries started waiting within %v", n, got, n, limit)
		}
	}
}

// Release lets every retry waiting now go on.
func (c *Clock) Release() {
	c.mu.Lock()
	if c.release == closedCh {
		c.mu.Unlock()
		return
	}
	close(c.release)
	c.release = make(chan struct{})
	c.mu.Unlock()
}

// Run lets retries go at once from now on (the destination is back).
func (c *Clock) Run() {
	c.mu.Lock()
	if c.release != closedCh {
		close(c.release)
	}
	c.release = closedCh
	c.mu.Unlock()
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
