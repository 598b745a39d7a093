package journal

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// writeBacklog lays n "attendance" records straight into segment files the way
// the committer would, with their indexes: a million Appends would take minutes
// under -race, and Open is what is under test.
func writeBacklog(t *testing.T, dir string, n int, segSize int64) {
	t.Helper()
	if err := saveStreamTable(dir, map[string]uint8{"attendance": 1, "control": 2, "rooms": 3, "diag": 4}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 16)
	index, seq := uint64(1), uint64(1)
	var seg *segment
	var f *os.File
	var buf []byte
	flush := func(last bool) {
		if _, err := f.WriteAt(buf, seg.end); err != nil {
			t.Fatal(err)
		}
		seg.end += int64(len(buf))
		buf = buf[:0]
		f.Sync()
		f.Close()
		if !last {
			if err := seg.writeIndex(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	newSeg := func() {
		var err error
		if f, err = createSegment(dir, index, seq, segSize); err != nil {
			t.Fatal(err)
		}
		seg = newSegment(dir, index, seq, segSize)
		index++
	}
	newSeg()
	ts := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixMilli()
	for i := 0; i < n; i++ {
		if seg.end+int64(len(buf))+int64(recordSize(len(body))) > segSize {
			flush(false)
			newSeg()
		}
		copy(body, fmt.Sprintf("punch-%010d", i))
		buf = appendRecord(buf, seq, ts+int64(i), 1, 0, body)
		seg.add(recordHeader{Seq: seq, TimeMs: ts + int64(i), Stream: 1})
		seg.lastSeq = seq
		seq++
	}
	flush(true)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMillionRecordBacklog: reopening a journal with a million undelivered
// records reads only the active segment, and neither Open nor a full read of
// the backlog makes memory grow with it.
func TestMillionRecordBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 1_000_000
	dir := t.TempDir()
	o := &Options{SegmentSize: 8 << 20, MaxBytes: 1 << 30}
	o.Streams = []Stream{{Name: "attendance", Priority: PriorityRecord}, {Name: "control", Priority: PriorityControl}}
	writeBacklog(t, dir, n, o.SegmentSize)

	before := heapInUse()
	start := time.Now()
	j := mustOpen(t, dir, o)
	openTime := time.Since(start)
	afterOpen := heapInUse()
	rec := j.Recovery()
	if len(rec.Scanned) != 1 || len(rec.Losses) != 0 {
		t.Fatalf("Open scanned %v (want only the active segment), losses %v", rec.Scanned, rec.Losses)
	}
	if st := streamStats(j, "attendance"); st.Depth != n {
		t.Fatalf("depth %d, want %d", st.Depth, n)
	}
	// The backlog is 40 MB on disk; Open may hold one segment's window, not it.
	if grew := int64(afterOpen) - int64(before); grew > 4<<20 {
		t.Fatalf("Open grew the heap by %d bytes for a %d-record backlog", grew, n)
	}
	t.Logf("open with %d records in %d segments: %v, heap +%d KiB", n, rec.Segments, openTime, (int64(afterOpen)-int64(before))>>10)

	r, _ := j.Reader("attendance")
	ctx := context.Background()
	var peak uint64
	for i := 0; i < n; i++ {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, rec.Seq)
		}
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
		if i%250_000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	if grew := int64(peak) - int64(afterOpen); grew > 4<<20 {
		t.Fatalf("reading the backlog grew the heap by %d bytes", grew)
	}
	if st := streamStats(j, "attendance"); st.Depth != 0 || st.Cursor != n {
		t.Fatalf("after reading everything: %+v", st)
	}
}
