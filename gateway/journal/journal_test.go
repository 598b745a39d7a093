package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var testStreams = []Stream{
	{Name: "control", Priority: PriorityControl},
	{Name: "attendance", Priority: PriorityRecord},
	{Name: "rooms", Priority: PriorityTelemetry},
	{Name: "diag", Priority: PriorityDiagnostics},
}

// smallOpts keep segments small so tests cross segment boundaries.
func smallOpts() *Options {
	return &Options{
		Streams:        testStreams,
		SegmentSize:    4096,
		MaxBytes:       64 << 20,
		MaxRecordSize:  1024,
		SyncWindow:     time.Millisecond,
		CursorInterval: time.Millisecond,
	}
}

func mustOpen(t testing.TB, dir string, o *Options) *Journal {
	t.Helper()
	j, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func appendN(t testing.TB, j *Journal, stream string, from, n int) []uint64 {
	t.Helper()
	seqs := make([]uint64, 0, n)
	for i := from; i < from+n; i++ {
		seq, err := j.Append(ctxT(t), stream, []byte(fmt.Sprintf("%s-%06d", stream, i)))
		if err != nil {
			t.Fatalf("Append %s %d: %v", stream, i, err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// readAll reads every record currently durable in a stream (not acking).
func readAll(t testing.TB, r *Reader) []Record {
	t.Helper()
	var out []Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		rec, err := r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, rec)
	}
}

func TestAppendReadAckReopen(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, smallOpts())
	att := appendN(t, j, "attendance", 0, 500) // ~ several segments
	appendN(t, j, "rooms", 0, 100)
	for i := 1; i < len(att); i++ {
		if att[i] <= att[i-1] {
			t.Fatalf("sequence numbers not increasing: %d then %d", att[i-1], att[i])
		}
	}
	if s := j.Stats(); s.Segments < 3 {
		t.Fatalf("want several segments, got %d", s.Segments)
	}
	r, err := j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, r)
	if len(recs) != 500 {
		t.Fatalf("read %d records, want 500", len(recs))
	}
	for i, rec := range recs {
		if want := fmt.Sprintf("attendance-%06d", i); string(rec.Body) != want || rec.Seq != att[i] || rec.Stream != "attendance" {
			t.Fatalf("record %d = %q seq %d, want %q seq %d", i, rec.Body, rec.Seq, want, att[i])
		}
	}
	// Ack out of order: the cursor only moves over the contiguous prefix.
	for _, i := range []int{1, 2, 0, 5, 3} {
		if err := r.Ack(recs[i].Seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Ack(12345678); !errors.Is(err, ErrNotPending) {
		t.Fatalf("Ack of unknown seq: %v", err)
	}
	st := streamStats(j, "attendance")
	if st.Cursor != recs[3].Seq || st.Depth != 496 {
		t.Fatalf("cursor %d depth %d, want %d and 496", st.Cursor, st.Depth, recs[3].Seq)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, dir, smallOpts())
	if rec := j.Recovery(); len(rec.Losses) != 0 || rec.CursorsReset != "" {
		t.Fatalf("clean reopen reported %+v", rec)
	}
	r, err = j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	recs = readAll(t, r)
	if len(recs) != 496 || string(recs[0].Body) != "attendance-000004" {
		t.Fatalf("after reopen read %d records starting %q", len(recs), recs[0].Body)
	}
	st = streamStats(j, "attendance")
	if st.Depth != 496 {
		t.Fatalf("depth after reopen %d, want 496", st.Depth)
	}
	// Rewind redelivers the unacknowledged.
	r.Ack(recs[0].Seq)
	r.Rewind()
	again := readAll(t, r)
	if len(again) != 495 || again[0].Seq != recs[1].Seq {
		t.Fatalf("rewind redelivered %d from %d", len(again), again[0].Seq)
	}
	for _, rec := range again {
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
	}
	rr, _ := j.Reader("rooms")
	for _, rec := range readAll(t, rr) {
		rr.Ack(rec.Seq)
	}
	// Everything delivered: sealed segments go, the active one stays.
	waitFor(t, "segments deleted", func() bool { return j.Stats().Segments == 1 })
	if st := streamStats(j, "attendance"); st.Depth != 0 {
		t.Fatalf("depth %d after acking everything", st.Depth)
	}
}

func streamStats(j *Journal, name string) StreamStats {
	for _, s := range j.Stats().Streams {
		if s.Name == name {
			return s
		}
	}
	return StreamStats{}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	o := smallOpts()
	o.SyncWindow = 5 * time.Millisecond
	o.SegmentSize = 1 << 20
	j := mustOpen(t, t.TempDir(), o)
	const appenders, each = 32, 50
	var wg sync.WaitGroup
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendN(t, j, "attendance", a*1000, each)
		}()
	}
	wg.Wait()
	s := j.Stats()
	if s.Records != appenders*each {
		t.Fatalf("committed %d records, want %d", s.Records, appenders*each)
	}
	// Group commit: far fewer commits than records (each appender waits for its
	// own commit, so with 32 appenders commits average many records).
	if s.Commits*4 > s.Records {
		t.Fatalf("%d commits for %d records: group commit is not grouping", s.Commits, s.Records)
	}
	r, _ := j.Reader("attendance")
	recs := readAll(t, r)
	last := map[int]int{}
	for _, rec := range recs {
		var v int
		fmt.Sscanf(string(rec.Body), "attendance-%d", &v)
		a, i := v/1000, v%1000
		if prev, ok := last[a]; ok && i != prev+1 {
			t.Fatalf("appender %d: record %d after %d", a, i, prev)
		}
		last[a] = i
	}
	if len(recs) != appenders*each {
		t.Fatalf("read %d", len(recs))
	}
}

func TestAppendErrors(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOpts())
	ctx := ctxT(t)
	if _, err := j.Append(ctx, "nope", []byte("x")); !errors.Is(err, ErrUnknownStream) {
		t.Errorf("unknown stream: %v", err)
	}
	if _, err := j.Append(ctx, "diag", nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := j.Append(ctx, "diag", make([]byte, 1025)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if _, err := j.Reader("nope"); !errors.Is(err, ErrUnknownStream) {
		t.Errorf("reader of unknown stream: %v", err)
	}
	r, _ := j.Reader("diag")
	if _, err := j.Reader("diag"); !errors.Is(err, ErrReaderOpen) {
		t.Errorf("second reader: %v", err)
	}
	r.Close()
	if _, err := j.Reader("diag"); err != nil {
		t.Errorf("reader after close: %v", err)
	}
	if _, err := Open(j.Dir(), smallOpts()); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open of the same dir: %v", err)
	}
	j.Close()
	if _, err := j.Append(ctx, "diag", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("append after close: %v", err)
	}
}

func TestCBORRecords(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOpts())
	type punch struct {
		Person string `cbor:"1,keyasint"`
		State  int    `cbor:"2,keyasint"`
	}
	if _, err := j.AppendCBOR(ctxT(t), "attendance", punch{"E-1001", 1}); err != nil {
		t.Fatal(err)
	}
	j.Append(ctxT(t), "attendance", []byte("raw"))
	r, _ := j.Reader("attendance")
	recs := readAll(t, r)
	var p punch
	if !recs[0].IsCBOR() || recs[0].Decode(&p) != nil || p.Person != "E-1001" || p.State != 1 {
		t.Fatalf("CBOR record read back as %+v (%v)", p, recs[0].Decode(&p))
	}
	if recs[1].IsCBOR() || recs[1].Decode(&p) == nil {
		t.Fatal("raw record decoded as CBOR")
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Options)
	}{
		{"no streams", func(o *Options) { o.Streams = nil }},
		{"dup stream", func(o *Options) { o.Streams = []Stream{{Name: "a"}, {Name: "a"}} }},
		{"empty name", func(o *Options) { o.Streams = []Stream{{Name: ""}} }},
		{"bad priority", func(o *Options) { o.Streams = []Stream{{Name: "a", Priority: 9}} }},
		{"cap below 4 segments", func(o *Options) { o.MaxBytes = 3 * o.SegmentSize }},
		{"record over segment", func(o *Options) { o.MaxRecordSize = 1 << 20 }},
		{"negative age", func(o *Options) { o.Streams = []Stream{{Name: "a", MaxAge: -1}} }},
	} {
		o := smallOpts()
		tc.mod(o)
		if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", tc.name, err)
		}
	}
}

func TestSegmentSizeChangeAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	o := smallOpts()
	j := mustOpen(t, dir, o)
	appendN(t, j, "attendance", 0, 150)
	j.Close()
	o2 := smallOpts()
	o2.SegmentSize = 8192
	j = mustOpen(t, dir, o2)
	appendN(t, j, "attendance", 150, 400)
	j.Close()
	o3 := smallOpts() // and back to the smaller size
	j = mustOpen(t, dir, o3)
	if rec := j.Recovery(); len(rec.Losses) != 0 {
		t.Fatalf("losses: %v", rec.Losses)
	}
	r, _ := j.Reader("attendance")
	got := readAll(t, r)
	if len(got) != 550 {
		t.Fatalf("read %d of 550", len(got))
	}
	for i, rec := range got {
		if want := fmt.Sprintf("attendance-%06d", i); string(rec.Body) != want {
			t.Fatalf("record %d = %q", i, rec.Body)
		}
	}
}

// TestCommitsBoundedByWindow: commit k+1 starts at least SyncWindow after
// commit k started, so commits <= elapsed/window + 1 on any machine, fast or slow.
func TestCommitsBoundedByWindow(t *testing.T) {
	o := smallOpts()
	o.SyncWindow = 20 * time.Millisecond
	o.SegmentSize = 1 << 20
	o.MaxBatchBytes = 4096 // small: appenders beyond it wait for the next commit
	j := mustOpen(t, t.TempDir(), o)
	start := time.Now()
	var wg sync.WaitGroup
	for a := 0; a < 32; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendN(t, j, "diag", a*1000, 20)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s := j.Stats()
	if limit := uint64(elapsed/o.SyncWindow) + 1; s.Commits > limit {
		t.Fatalf("%d commits in %v: more than one per %v window", s.Commits, elapsed, o.SyncWindow)
	}
	if s.Records != 640 || s.Bytes/s.Commits > 4096 {
		t.Fatalf("%d records, %d bytes in %d commits: batch cap not honoured", s.Records, s.Bytes, s.Commits)
	}
}

func TestAppendBatch(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOpts())
	var wg sync.WaitGroup
	for a := 0; a < 8; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				bodies := make([][]byte, 8)
				for i := range bodies {
					bodies[i] = []byte(fmt.Sprintf("rooms-a%d-%02d-%d", a, k, i))
				}
				seqs, err := j.AppendBatch(ctxT(t), "rooms", bodies)
				if err != nil {
					t.Error(err)
					return
				}
				for i := 1; i < len(seqs); i++ {
					if seqs[i] != seqs[i-1]+1 {
						t.Errorf("batch not contiguous: %v", seqs)
					}
				}
			}
		}()
	}
	wg.Wait()
	r, _ := j.Reader("rooms")
	if got := readAll(t, r); len(got) != 640 {
		t.Fatalf("read %d of 640", len(got))
	}
	if _, err := j.AppendBatch(ctxT(t), "rooms", nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty batch: %v", err)
	}
	if _, err := j.AppendBatch(ctxT(t), "rooms", [][]byte{[]byte("a"), nil}); !errors.Is(err, ErrEmpty) {
		t.Errorf("batch with an empty record: %v", err)
	}
	big := make([][]byte, 1100) // > 1 MiB, the default MaxBatchBytes
	for i := range big {
		big[i] = make([]byte, 1000)
	}
	if _, err := j.AppendBatch(ctxT(t), "rooms", big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("batch over MaxBatchBytes: %v", err)
	}
}

// TestNoCursorResetWithoutAcks: a journal nobody has read yet reopens cleanly.
func TestNoCursorResetWithoutAcks(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, smallOpts())
	appendN(t, j, "attendance", 0, 3)
	j.Close()
	j = mustOpen(t, dir, smallOpts())
	if r := j.Recovery(); r.CursorsReset != "" {
		t.Fatalf("reopen of an unread journal reports %q", r.CursorsReset)
	}
}

func TestAppendEntriesAcrossStreams(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOpts())
	seqs, err := j.AppendEntries(ctxT(t), []Entry{
		{Stream: "attendance", Body: []byte("punch-1")},
		{Stream: "control", Body: []byte("alarm-1")},
		{Stream: "attendance", Body: []byte("punch-2")},
	})
	if err != nil || len(seqs) != 3 || seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
		t.Fatalf("AppendEntries: %v %v", seqs, err)
	}
	if s := j.Stats(); s.Commits != 1 {
		t.Fatalf("%d commits for one AppendEntries", s.Commits)
	}
	ra, _ := j.Reader("attendance")
	rc, _ := j.Reader("control")
	a, c := readAll(t, ra), readAll(t, rc)
	if len(a) != 2 || string(a[1].Body) != "punch-2" || len(c) != 1 || c[0].Seq != seqs[1] {
		t.Fatalf("read back %d attendance, %d control", len(a), len(c))
	}
	if _, err := j.AppendEntries(ctxT(t), []Entry{{Stream: "attendance", Body: []byte("x")}, {Stream: "nope", Body: []byte("y")}}); !errors.Is(err, ErrUnknownStream) {
		t.Fatalf("unknown stream in a batch: %v", err)
	}
}

// TryNext returns what is durable, across segments, in order, and says so
// without blocking when the reader has caught up; Next then waits as usual.
func TestTryNext(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOpts())
	r, err := j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok, err := r.TryNext(); ok || err != nil {
		t.Fatalf("TryNext on an empty stream: ok %v err %v", ok, err)
	}
	seqs := appendN(t, j, "attendance", 0, 300) // several 4 KiB segments
	appendN(t, j, "rooms", 0, 10)
	for i, want := range seqs {
		rec, ok, err := r.TryNext()
		if err != nil || !ok || rec.Seq != want || string(rec.Body) != fmt.Sprintf("attendance-%06d", i) {
			t.Fatalf("TryNext %d: seq %d %q ok %v err %v, want seq %d", i, rec.Seq, rec.Body, ok, err, want)
		}
	}
	if rec, ok, err := r.TryNext(); ok || err != nil {
		t.Fatalf("TryNext past the end: seq %d ok %v err %v", rec.Seq, ok, err)
	}
	if r.Pending() != len(seqs) {
		t.Fatalf("pending %d, want %d", r.Pending(), len(seqs))
	}
	r.Close()
	if _, _, err := r.TryNext(); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryNext on a closed reader: %v, want ErrClosed", err)
	}
}
