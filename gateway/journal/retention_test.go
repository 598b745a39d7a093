package journal

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func capOpts() *Options {
	o := smallOpts()
	o.MaxBytes = 6 * o.SegmentSize
	return o
}

func TestDiskCapShedsLowestPriorityFirst(t *testing.T) {
	j := mustOpen(t, t.TempDir(), capOpts())
	// Telemetry first (old segments), then diagnostics until well past the cap.
	appendN(t, j, "rooms", 0, 100)
	appendN(t, j, "diag", 0, 1000) // ~ 12 segments' worth, cap is 6
	s := j.Stats()
	if s.DiskBytes > s.MaxBytes {
		t.Fatalf("disk %d over cap %d", s.DiskBytes, s.MaxBytes)
	}
	rooms, diag := streamStats(j, "rooms"), streamStats(j, "diag")
	if diag.Shed == 0 {
		t.Fatalf("nothing shed: %+v", diag)
	}
	if rooms.Shed != 0 {
		t.Fatalf("telemetry shed (%d) while diagnostics-only segments could go", rooms.Shed)
	}
	r, _ := j.Reader("rooms")
	if got := readAll(t, r); len(got) != 100 {
		t.Fatalf("rooms kept %d of 100", len(got))
	}
	r2, _ := j.Reader("diag")
	got := readAll(t, r2)
	if uint64(len(got))+diag.Shed != 1000 || diag.Depth != uint64(len(got)) {
		t.Fatalf("diag: %d readable + %d shed != 1000 (depth %d)", len(got), diag.Shed, diag.Depth)
	}
	// Survivors are in order and include the newest. (Diagnostics sharing a
	// segment with telemetry survive too: only whole segments free space, and
	// diagnostics-only segments go first.)
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("diag survivors out of order: %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
	if last := string(got[len(got)-1].Body); last != "diag-000999" {
		t.Fatalf("newest diag record %q did not survive", last)
	}
}

func TestDiskCapProtectedStreamsGetBackpressure(t *testing.T) {
	j := mustOpen(t, t.TempDir(), capOpts())
	ctx := ctxT(t)
	var n int
	var err error
	for n = 0; n < 10000; n++ {
		if _, err = j.Append(ctx, "attendance", []byte(fmt.Sprintf("attendance-%06d", n))); err != nil {
			break
		}
	}
	var fe *FullError
	if !errors.Is(err, ErrFull) || !errors.As(err, &fe) || fe.Blocking != "attendance" || fe.Stream != "attendance" {
		t.Fatalf("after %d appends: %v (%+v)", n, err, fe)
	}
	if st := streamStats(j, "attendance"); st.Shed != 0 || st.Depth != uint64(n) {
		t.Fatalf("protected stream lost records: %+v, appended %d", st, n)
	}
	// Diagnostics cannot push out attendance either: once the active segment
	// is full they are refused too.
	for i := 0; ; i++ {
		_, err := j.Append(ctx, "diag", []byte(fmt.Sprintf("diag-%06d", i)))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil || i > 200 {
			t.Fatalf("diag append %d on a full journal: %v", i, err)
		}
	}
	// Delivering frees room.
	r, _ := j.Reader("attendance")
	for i := 0; i < n/2; i++ {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.Ack(rec.Seq)
	}
	waitFor(t, "room after acks", func() bool {
		_, err := j.Append(ctx, "attendance", []byte("after-acks"))
		return err == nil
	})
	if st := streamStats(j, "attendance"); st.Shed != 0 {
		t.Fatalf("shed %d protected records", st.Shed)
	}
}

func TestMaxAgeExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	o := smallOpts()
	o.Now = clk.Now
	o.Streams = append(o.Streams, Stream{Name: "visitors", Priority: PriorityRecord, MaxAge: time.Hour})
	var logBuf syncBuffer
	lg := zerolog.New(&logBuf)
	o.Log = &lg
	dir := t.TempDir()
	j := mustOpen(t, dir, o)
	appendN(t, j, "visitors", 0, 200) // several sealed segments
	clk.Add(30 * time.Minute)
	appendN(t, j, "visitors", 200, 5)
	clk.Add(45 * time.Minute) // the first 200 are 75 min old, the last 5 are 45
	appendN(t, j, "visitors", 205, 5)

	r, _ := j.Reader("visitors")
	got := readAll(t, r)
	if len(got) != 10 || string(got[0].Body) != "visitors-000200" {
		t.Fatalf("delivered %d records after expiry, first %q", len(got), got[0].Body)
	}
	for _, rec := range got {
		r.Ack(rec.Seq)
	}
	st := streamStats(j, "visitors")
	if st.Expired != 200 || st.Depth != 0 || st.Acked != 10 {
		t.Fatalf("stats after expiry: %+v", st)
	}
	waitFor(t, "expired segments deleted", func() bool { return j.Stats().Segments == 1 })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logBuf.String(), `"expired_total":200,"message":"journal: records past their retention age`) {
		if time.Now().After(deadline) {
			t.Fatalf("expiry not logged; log:\n%s", logBuf.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the committer and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestMaxAgeExpiryWithoutReader(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	o := smallOpts()
	o.Now = clk.Now
	o.Streams = append(o.Streams, Stream{Name: "visitors", Priority: PriorityRecord, MaxAge: time.Hour})
	j := mustOpen(t, t.TempDir(), o)
	appendN(t, j, "visitors", 0, 300)
	clk.Add(2 * time.Hour)
	appendN(t, j, "visitors", 300, 1) // anything, to have a new active segment eventually
	// Nobody reads: sealed segments past the age are deleted all the same (on
	// disk no longer than retention allows, give or take one segment).
	waitFor(t, "expired segments deleted", func() bool { return j.Stats().Segments <= 2 })
	st := streamStats(j, "visitors")
	if st.Expired == 0 || st.Expired+st.Depth != 301 {
		t.Fatalf("expired %d + depth %d != 301", st.Expired, st.Depth)
	}
}

func TestKeepAndReplay(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	o := smallOpts()
	o.Now = clk.Now
	o.Streams = append(o.Streams, Stream{Name: "results", Priority: PriorityControl, MaxAge: 25 * time.Hour, Keep: 25 * time.Hour})
	dir := t.TempDir()
	j := mustOpen(t, dir, o)
	appendN(t, j, "results", 0, 200)
	r, _ := j.Reader("results")
	for _, rec := range readAll(t, r) {
		r.Ack(rec.Seq)
	}
	appendN(t, j, "diag", 0, 10) // rotate past the acked results
	// Delivered, but kept: still on disk and replayable, also after a reopen.
	j.Close()
	j = mustOpen(t, dir, o)
	var n int
	if err := j.Replay(ctxT(t), "results", func(rec Record) error {
		if want := fmt.Sprintf("results-%06d", n); string(rec.Body) != want {
			t.Fatalf("replayed %q, want %q", rec.Body, want)
		}
		n++
		return nil
	}); err != nil || n != 200 {
		t.Fatalf("replayed %d of 200: %v", n, err)
	}
	if st := streamStats(j, "results"); st.Depth != 0 {
		t.Fatalf("kept records counted as undelivered: %+v", st)
	}
	// Past Keep (and MaxAge) they go.
	clk.Add(26 * time.Hour)
	appendN(t, j, "diag", 10, 200)
	waitFor(t, "kept segments deleted", func() bool {
		n = 0
		j.Replay(ctxT(t), "results", func(Record) error { n++; return nil })
		return n == 0
	})
}
