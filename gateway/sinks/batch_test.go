package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// batchSink is a BatchSink whose answers a test scripts per call.
type batchSink struct {
	max    int
	script func(call int, evs []sinks.Event) (int, error) // nil: accept all

	mu sync.Mutex
	// Guarded by mu.
	calls [][]sinks.Event // what each DeliverBatch was given
}

var _ sinks.BatchSink = (*batchSink)(nil)

func (s *batchSink) MaxBatch() int { return s.max }

func (s *batchSink) Deliver(ctx context.Context, ev sinks.Event) error {
	_, err := s.DeliverBatch(ctx, []sinks.Event{ev})
	return err
}

func (s *batchSink) DeliverBatch(_ context.Context, evs []sinks.Event) (int, error) {
	s.mu.Lock()
	call := len(s.calls)
	s.calls = append(s.calls, slices.Clone(evs))
	s.mu.Unlock()
	if s.script == nil {
		return len(evs), nil
	}
	return s.script(call, evs)
}

func (s *batchSink) snapshot() [][]sinks.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func ids(evs []sinks.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// sleeps records the runner's retry delays and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func cursor(t *testing.T, j *journal.Journal, consumer string) uint64 {
	t.Helper()
	cs, err := j.ConsumerStats(consumer)
	if err != nil {
		t.Fatal(err)
	}
	return cs[0].Cursor
}

// A batch is what is durable when the runner looks, up to MaxBatch, in
// stream order; a record arriving alone is delivered alone, at once.
func TestBatchesTakeWhatIsDurable(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	var want []string
	for i := range 250 {
		want = append(want, punch(t, j, "attendance", i))
	}
	s := &batchSink{max: 100}
	m := &counts{}
	startRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m})
	waitFor(t, "250 delivered", func() bool { d, _, _ := m.get(); return d == 250 })
	want = append(want, punch(t, j, "attendance", 250))
	waitFor(t, "the late one delivered", func() bool { d, _, _ := m.get(); return d == 251 })

	var sizes []int
	var got []string
	for _, c := range s.snapshot() {
		sizes = append(sizes, len(c))
		got = append(got, ids(c)...)
	}
	if !slices.Equal(sizes, []int{100, 100, 50, 1}) {
		t.Fatalf("batch sizes %v, want [100 100 50 1]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered out of order or twice:\n got %v\nwant %v", got, want)
	}
	waitFor(t, "the cursor at the end", func() bool { return cursor(t, j, "hr") == s.snapshot()[3][0].Seq })
}

// The journal is acknowledged only up to the prefix the destination
// accepted; the retry starts at the first event it did not.
func TestBatchAcceptedPrefix(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	var want []string
	for i := range 10 {
		want = append(want, punch(t, j, "attendance", i))
	}
	release := make(chan struct{})
	s := &batchSink{max: 10}
	s.script = func(call int, evs []sinks.Event) (int, error) {
		switch call {
		case 0:
			return 3, errors.New("connection reset after the third row")
		case 1:
			<-release
		}
		return len(evs), nil
	}
	sl := &sleeps{}
	m := &counts{}
	startRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m, Sleep: sl.sleep})
	waitFor(t, "the retry", func() bool { return len(s.snapshot()) == 2 })
	calls := s.snapshot()
	if got := cursor(t, j, "hr"); got != calls[0][2].Seq {
		close(release)
		t.Fatalf("cursor %d while the retry is in flight, want %d (the accepted prefix)", got, calls[0][2].Seq)
	}
	close(release)
	waitFor(t, "all delivered", func() bool { d, _, _ := m.get(); return d == 10 })
	calls = s.snapshot()
	if !slices.Equal(ids(calls[0]), want) || !slices.Equal(ids(calls[1]), want[3:]) {
		t.Fatalf("calls %v then %v, want all then from the 4th", ids(calls[0]), ids(calls[1]))
	}
	if _, f, _ := m.get(); f != 1 || len(sl.get()) != 1 {
		t.Fatalf("%d failures, %d backoffs; want 1 each", f, len(sl.get()))
	}
	waitFor(t, "the cursor at the end", func() bool { return cursor(t, j, "hr") == calls[1][6].Seq })
}

// A destination answering per event: the accepted ones are acknowledged,
// a refused one goes to the dead letters, and only the failed one is
// offered again.
func TestBatchErrorPerEvent(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	var want []string
	for i := range 6 {
		want = append(want, punch(t, j, "attendance", i))
	}
	s := &batchSink{max: 200}
	s.script = func(call int, evs []sinks.Event) (int, error) {
		if call > 0 {
			return len(evs), nil
		}
		return 0, &sinks.BatchError{Errs: []error{nil, sinks.Permanent(errors.New("errcode 301014: userid unknown")), nil,
			errors.New("errcode -1: system busy"), nil}} // the sixth has no answer: retried
	}
	m := &counts{}
	var amu sync.Mutex
	var alarms []sinks.DeadLetter
	startRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		Sleep: (&sleeps{}).sleep, Alarm: func(_ context.Context, dl sinks.DeadLetter) error {
			amu.Lock()
			alarms = append(alarms, dl)
			amu.Unlock()
			return nil
		}})
	waitFor(t, "five delivered", func() bool { d, _, _ := m.get(); return d == 5 })
	calls := s.snapshot()
	if len(calls) != 2 || !slices.Equal(ids(calls[1]), []string{want[3], want[5]}) {
		t.Fatalf("calls %d, retry %v; want the 4th and 6th retried", len(calls), ids(calls[len(calls)-1]))
	}
	if _, f, dl := m.get(); f != 1 || dl != 1 {
		t.Fatalf("failed %d dead-lettered %d, want 1 and 1", f, dl)
	}
	amu.Lock()
	if len(alarms) != 1 || alarms[0].ID != want[1] || alarms[0].Seq != calls[0][1].Seq {
		t.Fatalf("alarms %+v, want the second event", alarms)
	}
	amu.Unlock()
	waitFor(t, "the cursor at the end", func() bool { return cursor(t, j, "hr") == calls[0][5].Seq })
}

// A Retry-After longer than the backoff is waited for, up to RetryAfterMax.
func TestRetryAfter(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	punch(t, j, "attendance", 0)
	s := &batchSink{max: 10}
	s.script = func(call int, evs []sinks.Event) (int, error) {
		switch call {
		case 0:
			return 0, sinks.RetryAfter(fmt.Errorf("429 too many requests"), 7*time.Second)
		case 1:
			return 0, sinks.RetryAfter(fmt.Errorf("503"), 24*time.Hour)
		case 2:
			return 0, fmt.Errorf("503 without a Retry-After")
		}
		return len(evs), nil
	}
	sl := &sleeps{}
	m := &counts{}
	startRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, RetryAfterMax: time.Minute, Sleep: sl.sleep})
	waitFor(t, "delivered", func() bool { d, _, _ := m.get(); return d == 1 })
	d := sl.get()
	if len(d) != 3 || d[0] != 7*time.Second || d[1] != time.Minute || d[2] > 2*time.Millisecond {
		t.Fatalf("retry delays %v, want [7s 1m0s ≤2ms]", d)
	}
	if got := sinks.RetryDelay(fmt.Errorf("wrapped: %w", sinks.RetryAfter(errors.New("x"), time.Second))); got != time.Second {
		t.Fatalf("RetryDelay through a wrap: %v", got)
	}
	if sinks.RetryAfter(nil, time.Second) != nil {
		t.Fatal("RetryAfter(nil) is not nil")
	}
}

// A sink that takes nothing and says nothing is retried after a backoff,
// not spun on; one that takes a prefix without an error gets the rest at
// once.
func TestBatchShortAnswers(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	var want []string
	for i := range 5 {
		want = append(want, punch(t, j, "attendance", i))
	}
	s := &batchSink{max: 5}
	s.script = func(call int, evs []sinks.Event) (int, error) {
		switch call {
		case 0:
			return 0, nil
		case 1:
			return 2, nil
		}
		return len(evs), nil
	}
	sl := &sleeps{}
	m := &counts{}
	startRunner(t, j, s, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Topics: topics, Metrics: m, Sleep: sl.sleep})
	waitFor(t, "delivered", func() bool { d, _, _ := m.get(); return d == 5 })
	calls := s.snapshot()
	if len(calls) != 3 || !slices.Equal(ids(calls[2]), want[2:]) || len(sl.get()) != 1 {
		t.Fatalf("%d calls (last %v), %d backoffs; want 3 calls, the last from the 3rd event, 1 backoff", len(calls), ids(calls[len(calls)-1]), len(sl.get()))
	}
}

// A clear card number leaves no sink that uses WithoutCard; the rest of the
// envelope, the card's hash included, is kept.
func TestWithoutCard(t *testing.T) {
	in := []byte(`{"v":1,"id":"x","type":"attendance.punch","data":{"card":"12:4660","card_hash":"ab","state":"in"}}`)
	out, err := sinks.WithoutCard(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"data":{"card_hash":"ab","state":"in"},"id":"x","type":"attendance.punch","v":1}`; string(out) != want {
		t.Fatalf("got %s, want %s", out, want)
	}
	for _, keep := range []string{`{"id":"y","data":{"card_hash":"ab"}}`, `{"id":"w","data":{"credential":"card","state":"in"}}`, `{"id":"z","data":{"note":"the \"card\" reader"}}`, `{"card":"top-level, not data"}`} {
		out, err := sinks.WithoutCard([]byte(keep))
		if err != nil || string(out) != keep {
			t.Fatalf("%s became %s (%v)", keep, out, err)
		}
	}
	if _, err := sinks.WithoutCard([]byte(`{"card":`)); err == nil {
		t.Fatal("a broken envelope passed")
	}
}
