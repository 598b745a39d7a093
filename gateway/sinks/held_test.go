package sinks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// mappingSink delivers an event only when its person ("user" in the data)
// has a user id in its mapping, as a platform sink does through the
// person directory; else it refuses it as Unmapped.
type mappingSink struct {
	mu     sync.Mutex
	ids    map[string]string // person → platform user id
	got    []string          // "<userid>/<event id>", in delivery order
	offers map[string]int    // event id → deliveries offered
}

func (s *mappingSink) Deliver(_ context.Context, ev sinks.Event) error {
	var e struct {
		Data struct {
			User string `json:"user"`
		} `json:"data"`
	}
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return sinks.Permanent(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offers[ev.ID]++
	uid, ok := s.ids[e.Data.User]
	if !ok {
		return sinks.Unmapped(e.Data.User, "dingtalk")
	}
	s.got = append(s.got, uid+"/"+ev.ID)
	return nil
}

func (s *mappingSink) mapPerson(person, uid string) {
	s.mu.Lock()
	s.ids[person] = uid
	s.mu.Unlock()
}

func (s *mappingSink) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

type heldCounts struct {
	counts
	held map[string]int
}

func (c *heldCounts) Held(sink string, n int) { c.mu.Lock(); c.held[sink] = n; c.mu.Unlock() }
func (c *heldCounts) heldOf(sink string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[sink]
}

var _ sinks.HeldMetrics = (*heldCounts)(nil)

func runRunner(t *testing.T, j *journal.Journal, s sinks.Sink, o sinks.Options) (*sinks.Runner, func()) {
	t.Helper()
	r, err := sinks.New(j, s, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return r, stop
}

// A punch whose person has no user id on the sink's platform is held, not
// dropped, not dead-lettered and not blocking: the other people's punches
// flow past it; it is counted, listed and alarmed once per person; it
// survives a restart; and it is delivered, in order, once the mapping
// arrives.
func TestUnmappedHeldUntilMapped(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "ding", Streams: []string{"attendance"}})
	heldDir := filepath.Join(t.TempDir(), "held")
	s := &mappingSink{ids: map[string]string{"u0000": "mgr0", "u0002": "mgr2", "u0004": "mgr4"}, offers: map[string]int{}}
	m := &heldCounts{held: map[string]int{}}
	var amu sync.Mutex
	var alarms []sinks.Held
	retry := make(chan struct{}, 1)
	o := sinks.Options{Name: "ding", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, HeldDir: heldDir, Retry: retry,
		HoldAlarm: func(_ context.Context, h sinks.Held) error {
			amu.Lock()
			alarms = append(alarms, h)
			amu.Unlock()
			return nil
		}}
	r, stop := runRunner(t, j, s, o)

	// Punches 0..5 are of u0000..u0005; 1, 3 and 5 have no mapping.
	var ids []string
	for i := range 6 {
		ids = append(ids, punch(t, j, "attendance", i))
	}
	waitFor(t, "the mapped people's punches", func() bool { return len(s.delivered()) == 3 })
	waitFor(t, "three held", func() bool { return len(r.Held()) == 3 && m.heldOf("ding") == 3 })
	if got := s.delivered(); got[0] != "mgr0/"+ids[0] || got[1] != "mgr2/"+ids[2] || got[2] != "mgr4/"+ids[4] {
		t.Fatalf("delivered %v", got)
	}
	if _, _, dl := m.get(); dl != 0 {
		t.Fatalf("%d dead letters for unmapped people", dl)
	}
	held := r.Held()
	for i, h := range held {
		want := ids[2*i+1]
		if h.ID != want || h.Person != ids2person(2*i+1) || h.Platform != "dingtalk" || h.Sink != "ding" || h.Device != "t1" {
			t.Fatalf("held[%d] = %+v, want event %s", i, h, want)
		}
	}
	waitFor(t, "the cursor past every record", func() bool {
		cs, _ := j.ConsumerStats("ding")
		return cs[0].Depth == 0
	})
	amu.Lock()
	if len(alarms) != 3 {
		t.Fatalf("%d alarms, want one per person (3)", len(alarms))
	}
	amu.Unlock()

	// Restart: the held list is read back from its file; nothing already
	// delivered is offered again; a second punch of a held person adds to
	// the list without a second alarm.
	stop()
	if hs, err := sinks.ReadHeld(heldDir, "ding"); err != nil || len(hs) != 3 {
		t.Fatalf("held file: %d records, %v", len(hs), err)
	}
	r, _ = runRunner(t, j, s, o)
	if len(r.Held()) != 3 {
		t.Fatalf("after restart %d held, want 3", len(r.Held()))
	}
	again := punchAs(t, j, "attendance", 7, "u0001")
	waitFor(t, "the second punch held", func() bool { return len(r.Held()) == 4 })
	amu.Lock()
	if len(alarms) != 3 {
		t.Fatalf("%d alarms after a second punch of a held person, want still 3", len(alarms))
	}
	amu.Unlock()

	// The mapping arrives for u0001 and u0003: their punches go, in order;
	// u0005 stays held.
	s.mapPerson("u0001", "mgr1")
	s.mapPerson("u0003", "mgr3")
	retry <- struct{}{}
	waitFor(t, "the mapped held punches", func() bool { return len(s.delivered()) == 6 })
	want := []string{"mgr0/" + ids[0], "mgr2/" + ids[2], "mgr4/" + ids[4], "mgr1/" + ids[1], "mgr3/" + ids[3], "mgr1/" + again}
	if got := s.delivered(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	waitFor(t, "one left held", func() bool { return len(r.Held()) == 1 && m.heldOf("ding") == 1 })
	if h := r.Held()[0]; h.ID != ids[5] {
		t.Fatalf("still held %+v, want %s", h, ids[5])
	}
	if hs, err := sinks.ReadHeld(heldDir, "ding"); err != nil || len(hs) != 1 {
		t.Fatalf("held file after release: %d records, %v", len(hs), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range []int{0, 2, 4} {
		if n := s.offers[ids[i]]; n != 1 {
			t.Fatalf("event %s of a mapped person offered %d times, want once", ids[i], n)
		}
	}
}

// punchAs journals an attendance punch of person user, as punch does.
func punchAs(t *testing.T, j *journal.Journal, stream string, i int, user string) string {
	t.Helper()
	data, err := envelope.EncodeData(map[string]any{"user": user, "method": "card"})
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

func ids2person(i int) string {
	return []string{"u0000", "u0001", "u0002", "u0003", "u0004", "u0005"}[i]
}

// Without a held directory an unmapped record is not skipped: it waits,
// like a record of a sink that is down.
func TestUnmappedWithoutHeldDirWaits(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "ding", Streams: []string{"attendance"}})
	s := &mappingSink{ids: map[string]string{}, offers: map[string]int{}}
	m := &heldCounts{held: map[string]int{}}
	r, _ := runRunner(t, j, s, sinks.Options{Name: "ding", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	id := punch(t, j, "attendance", 0)
	waitFor(t, "retries", func() bool { _, f, _ := m.get(); return f >= 3 })
	if err := r.Down(); !errors.Is(err, sinks.ErrUnmapped) {
		t.Fatalf("Down() = %v, want ErrUnmapped", err)
	}
	s.mapPerson("u0000", "mgr0")
	waitFor(t, "delivered once mapped", func() bool { return len(s.delivered()) == 1 })
	if got := s.delivered()[0]; got != "mgr0/"+id {
		t.Fatalf("delivered %s", got)
	}
}

// A damaged held file stops the runner from starting: its records are
// never silently forgotten.
func TestDamagedHeldFileRefused(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "ding", Streams: []string{"attendance"}})
	dir := t.TempDir()
	if err := os.WriteFile(sinks.HeldFile(dir, "ding"), []byte("officegate-held 1 5 00\nhello"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := sinks.New(j, &mappingSink{}, sinks.Options{Name: "ding", Streams: []string{"attendance"}, HeldDir: dir})
	if err == nil {
		t.Fatal("a damaged held file was accepted")
	}
}

// batchMapping is mappingSink as a BatchSink answering per event, as a
// platform taking many records per call does (WeCom).
type batchMapping struct{ *mappingSink }

func (b batchMapping) MaxBatch() int { return 50 }

func (b batchMapping) DeliverBatch(ctx context.Context, evs []sinks.Event) (int, error) {
	errs := make([]error, len(evs))
	failed := false
	for i, ev := range evs {
		if errs[i] = b.Deliver(ctx, ev); errs[i] != nil {
			failed = true
		}
	}
	if !failed {
		return len(evs), nil
	}
	return 0, &sinks.BatchError{Errs: errs}
}

// In a batch, an unmapped event in the middle is held and the events
// around it are delivered, once each.
func TestUnmappedHeldInBatch(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "wc", Streams: []string{"attendance"}})
	s := &mappingSink{ids: map[string]string{"a": "ua", "c": "uc"}, offers: map[string]int{}}
	retry := make(chan struct{}, 1)
	r, _ := runRunner(t, j, batchMapping{s}, sinks.Options{Name: "wc", Streams: []string{"attendance"}, Topics: topics,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, HeldDir: t.TempDir(), Retry: retry})
	var ids []string
	for i, u := range []string{"a", "b", "c", "b", "a"} {
		ids = append(ids, punchAs(t, j, "attendance", i, u))
	}
	waitFor(t, "a and c delivered, b held twice", func() bool { return len(s.delivered()) == 3 && len(r.Held()) == 2 })
	if got, want := s.delivered(), []string{"ua/" + ids[0], "uc/" + ids[2], "ua/" + ids[4]}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	s.mapPerson("b", "ub")
	retry <- struct{}{}
	waitFor(t, "b's punches delivered", func() bool { return len(s.delivered()) == 5 && len(r.Held()) == 0 })
	if got := s.delivered()[3:]; !slices.Equal(got, []string{"ub/" + ids[1], "ub/" + ids[3]}) {
		t.Fatalf("held ones delivered as %v", got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range []int{0, 2, 4} {
		if n := s.offers[ids[i]]; n != 1 {
			t.Fatalf("event %d offered %d times, want once", i, n)
		}
	}
}

// batchMappingSink is a mappingSink that takes up to max events at once
// and answers for each (a platform's batch endpoint).
type batchMappingSink struct {
	*mappingSink
	max int
}

func (s batchMappingSink) MaxBatch() int { return s.max }

func (s batchMappingSink) DeliverBatch(ctx context.Context, evs []sinks.Event) (int, error) {
	be := &sinks.BatchError{}
	for _, ev := range evs {
		be.Errs = append(be.Errs, s.Deliver(ctx, ev))
	}
	return 0, be
}

// heldHistory records every held count a runner reports; each report
// follows one write of the held file.
type heldHistory struct {
	counts
	reports []int
}

func (c *heldHistory) Held(_ string, n int) {
	c.mu.Lock()
	c.reports = append(c.reports, n)
	c.mu.Unlock()
}
func (c *heldHistory) get() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

// The unmapped records of one batch are held in one write of the held
// file, not one rewrite of the whole file per record: the counts the
// runner reports go from none to all of them, with no step between; each
// person is still alarmed once and every record is in the file.
func TestUnmappedBatchHeldInOneWrite(t *testing.T) {
	j := openJournal(t, journal.Consumer{Name: "ding", Streams: []string{"attendance"}})
	heldDir := filepath.Join(t.TempDir(), "held")
	s := batchMappingSink{&mappingSink{ids: map[string]string{}, offers: map[string]int{}}, 10}
	m := &heldHistory{}
	var amu sync.Mutex
	alarms := map[string]int{}
	const n = 5
	var ids []string
	for i := range n { // durable before the runner starts: one batch
		ids = append(ids, punch(t, j, "attendance", i))
	}
	r, _ := runRunner(t, j, s, sinks.Options{Name: "ding", Streams: []string{"attendance"}, Topics: topics, Metrics: m,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, HeldDir: heldDir,
		HoldAlarm: func(_ context.Context, h sinks.Held) error {
			amu.Lock()
			alarms[h.Person]++
			amu.Unlock()
			return nil
		}})
	waitFor(t, "every record held", func() bool { return len(r.Held()) == n })
	for _, c := range m.get() {
		if c != 0 && c != n {
			t.Fatalf("held counts reported %v: the held file was rewritten per record, want one write of all %d", m.get(), n)
		}
	}
	hs, err := sinks.ReadHeld(heldDir, "ding")
	if err != nil || len(hs) != n {
		t.Fatalf("held file: %d records, %v", len(hs), err)
	}
	for i, h := range hs {
		if h.ID != ids[i] || h.Person != fmt.Sprintf("u%04d", i) {
			t.Fatalf("held[%d] = %+v, want event %s of u%04d", i, h, ids[i], i)
		}
	}
	waitFor(t, "an alarm for each person", func() bool { amu.Lock(); defer amu.Unlock(); return len(alarms) == n })
	amu.Lock()
	defer amu.Unlock()
	for p, k := range alarms {
		if k != 1 {
			t.Fatalf("person %s alarmed %d times, want once", p, k)
		}
	}
}
