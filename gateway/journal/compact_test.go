package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// interleaved appends attendance, rooms and diag records in turn (the normal
// case: one office, every kind of device) until attendance is refused, and
// calls each after every stored append. It returns how many of each were
// stored.
func interleaved(t *testing.T, j *Journal, each func(stream string)) map[string]int {
	t.Helper()
	n := map[string]int{}
	for i := 0; i < 100000; i++ {
		for _, s := range []string{"attendance", "rooms", "diag"} {
			_, err := j.Append(ctxT(t), s, fullBody(s, n[s]))
			if errors.Is(err, ErrFull) {
				if s == "attendance" {
					return n
				}
				continue // a diagnostics record may not push out telemetry: the device keeps it
			}
			if err != nil {
				t.Fatalf("append %s %d: %v", s, n[s], err)
			}
			n[s]++
			if each != nil {
				each(s)
			}
		}
	}
	t.Fatal("attendance was never refused")
	return nil
}

// activeFirst is the first sequence number of the active segment: records
// below it are in sealed segments, which shedding can reach.
func activeFirst(j *Journal) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.segs[len(j.segs)-1].firstSeq
}

// With room telemetry, diagnostics and punches interleaved and nobody
// delivering, the cap sheds diagnostics first, then telemetry, counted and
// logged, and attendance keeps flowing until only protected records remain.
func TestCapShedsInterleavedLowestClassFirst(t *testing.T) {
	o := smallOpts()
	o.SegmentSize = 32 << 10
	o.MaxBytes = 8 * o.SegmentSize
	var logBuf syncBuffer
	lg := zerolog.New(&logBuf)
	o.Log = &lg
	j := mustOpen(t, t.TempDir(), o)

	var roomsShed bool
	active := activeFirst(j) // the active segment before the latest append
	n := interleaved(t, j, func(string) {
		if roomsShed || streamStats(j, "rooms").Shed == 0 {
			active = activeFirst(j)
			return
		}
		roomsShed = true
		if streamStats(j, "diag").Shed == 0 {
			t.Fatal("telemetry shed before any diagnostics")
		}
		// Telemetry went only once no diagnostics remained where shedding
		// reaches: the segments sealed when the append made its room.
		r, _ := j.Reader("diag")
		defer r.Close()
		for _, rec := range readAll(t, r) {
			if rec.Seq < active {
				t.Fatalf("telemetry shed while diagnostics record %d remained in a sealed segment (active from %d)", rec.Seq, active)
			}
		}
	})
	if !roomsShed {
		t.Fatalf("no telemetry was shed; stored %v, stats %+v", n, j.Stats().Streams)
	}

	// Attendance kept flowing: refused only once sealed segments held
	// attendance alone. Without shedding it would be refused at about a third
	// of the cap (one record in three).
	recSize := int64(recordSize(len(fullBody("attendance", 0))))
	if got := int64(n["attendance"]) * recSize; got < j.opt.MaxBytes/2 {
		t.Fatalf("attendance refused after %d records (%d bytes) under a %d-byte cap", n["attendance"], got, j.opt.MaxBytes)
	}
	if s := j.Stats(); s.DiskBytes > s.MaxBytes || !s.Full.Full {
		t.Fatalf("disk %d of cap %d, full %+v", s.DiskBytes, s.MaxBytes, s.Full)
	}
	// What sealed segments still hold of rooms and diag could not free a
	// whole segment (space grows by segments): shedding it would lose
	// records without admitting the punch.
	first := activeFirst(j)
	var left int64
	for _, name := range []string{"rooms", "diag"} {
		st := streamStats(j, name)
		r, _ := j.Reader(name)
		got := readAll(t, r)
		r.Close()
		if uint64(len(got))+st.Shed != uint64(n[name]) || st.Depth != uint64(len(got)) {
			t.Fatalf("%s: %d readable + %d shed != %d stored (depth %d)", name, len(got), st.Shed, n[name], st.Depth)
		}
		for _, rec := range got {
			if rec.Seq < first {
				left += recSize
			}
		}
		if !strings.Contains(logBuf.String(), `"stream":"`+name+`","priority":"`) {
			t.Fatalf("shedding %s not logged; log:\n%s", name, logBuf.String())
		}
	}
	if left >= o.SegmentSize {
		t.Fatalf("attendance refused while sealed segments hold %d bytes of rooms and diag (segments are %d)", left, o.SegmentSize)
	}
	// Every punch is there, in order, none shed.
	if st := streamStats(j, "attendance"); st.Shed != 0 || st.Depth != uint64(n["attendance"]) {
		t.Fatalf("attendance: %+v, stored %d", st, n["attendance"])
	}
	r, _ := j.Reader("attendance")
	got := readAll(t, r)
	for i, rec := range got {
		if want := fullBody("attendance", i); string(rec.Body) != string(want) {
			t.Fatalf("punch %d reads %q", i, strings.TrimSpace(string(rec.Body)))
		}
	}
	if len(got) != n["attendance"] || len(j.Stats().Losses) != 0 {
		t.Fatalf("read %d of %d punches; losses %v", len(got), n["attendance"], j.Stats().Losses)
	}
	r.Close()

	// Telemetry appends may shed older telemetry but never diagnostics'
	// appends: a diagnostics record is refused rather than push out rooms.
	// (Nothing sheddable is left in sealed segments now anyway.)
	if _, err := j.Append(ctxT(t), "diag", fullBody("diag", 1<<20)); !errors.Is(err, ErrFull) {
		t.Fatalf("diag append on a journal holding only protected records: %v", err)
	}
}

// Compaction under crash: a reader's cursor points into a segment that is
// compacted, then the journal closes, and reopens with the cursors as saved
// (and once more with a cursors file from before the compaction, as a crash
// would leave it): delivery resumes right after the cursor, nothing is
// reported lost, nothing acknowledged comes back, nothing is skipped.
func TestCompactionKeepsCursorsAcrossReopen(t *testing.T) {
	o := smallOpts()
	o.SegmentSize = 32 << 10
	o.MaxBytes = 8 * o.SegmentSize
	dir := t.TempDir()
	j := mustOpen(t, dir, o)

	// Deliver the first 40 punches: the cursor points inside segment 1.
	var oldCursors []byte
	r, _ := j.Reader("attendance")
	delivered := 0
	n := interleaved(t, j, func(s string) {
		if s != "attendance" || delivered >= 40 {
			return
		}
		rec, err := r.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
		delivered++
		if delivered == 40 {
			j.maintain(true)
			b, err := os.ReadFile(filepath.Join(dir, cursorsFile))
			if err != nil {
				t.Fatal(err)
			}
			oldCursors = b
		}
	})
	r.Close()
	if streamStats(j, "rooms").Shed == 0 {
		t.Fatal("nothing was compacted")
	}
	j.mu.Lock()
	gen := j.segs[0].gen
	j.mu.Unlock()
	if gen == 0 {
		t.Fatal("the segment holding the cursor was not compacted")
	}

	check := func(what string, from int) {
		t.Helper()
		j2, err := Open(dir, o)
		if err != nil {
			t.Fatalf("%s: reopen: %v", what, err)
		}
		defer j2.Close()
		if rec := j2.Recovery(); len(rec.Losses) > 0 || rec.CursorsReset != "" {
			t.Fatalf("%s: recovery %+v", what, rec)
		}
		r, _ := j2.Reader("attendance")
		got := readAll(t, r)
		if len(got) != n["attendance"]-from {
			t.Fatalf("%s: %d punches after the cursor, want %d", what, len(got), n["attendance"]-from)
		}
		for i, rec := range got {
			if want := fullBody("attendance", from+i); string(rec.Body) != string(want) {
				t.Fatalf("%s: punch %d reads %q", what, from+i, strings.TrimSpace(string(rec.Body)))
			}
		}
		if l := j2.Stats().Losses; len(l) > 0 {
			t.Fatalf("%s: losses %v", what, l)
		}
	}
	j.Close()
	check("cursors as saved at close", 40)
	// Every segment summary lost too: each is rebuilt from its (compacted) file.
	idx, _ := filepath.Glob(filepath.Join(dir, "*.idx"))
	for _, f := range idx {
		os.Remove(f)
	}
	if err := os.WriteFile(filepath.Join(dir, cursorsFile), oldCursors, 0o600); err != nil {
		t.Fatal(err)
	}
	check("cursors from before the compaction, summaries lost", 40)
}
