package journal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// place is where a record lives on disk.
type place struct {
	file string
	off  int64
	size int
}

// locate maps every good record in dir to its place, by scanning the files.
func locate(t *testing.T, dir string) map[uint64]place {
	t.Helper()
	out := map[uint64]place{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	for _, path := range names {
		_, first, ok := parseSegmentName(filepath.Base(path))
		if !ok {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		sc := scanner{w: newWindow(f, fi.Size()), maxBody: hardMaxBody}
		sc.scan(filepath.Base(path), first, func(h recordHeader, off int64, _ []byte) {
			out[h.Seq] = place{file: path, off: off, size: recordSize(int(h.Len))}
		})
		f.Close()
	}
	return out
}

func segFiles(t *testing.T, dir string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	sort.Strings(names)
	return names
}

func mutate(t *testing.T, path string, fn func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// recordsIn lists the sequence numbers whose bytes intersect [from, to) of file.
func recordsIn(places map[uint64]place, file string, from, to int64) []uint64 {
	var seqs []uint64
	for seq, p := range places {
		if p.file == file && p.off < to && p.off+int64(p.size) > from {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs
}

const corpus = 300 // records in the corpus: seqs 1..300, bodies attendance-000000..

func TestRecoveryTable(t *testing.T) {
	type want struct {
		lost      []uint64 // exactly these sequence numbers are gone
		kind      LossKind // of the first loss (0: no loss)
		truncated bool
		atRead    bool   // damage in a sealed segment: found by the reader, not Open
		reset     bool   // cursors reset
		note      string // a substring of some Recovery note or removed temp
		broken    bool   // a .broken copy is kept
	}
	last := func(t *testing.T, dir string) string { s := segFiles(t, dir); return s[len(s)-1] }
	cases := []struct {
		name    string
		corrupt func(t *testing.T, dir string, pl map[uint64]place) want
	}{
		{"truncate mid-record at the tail", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[corpus]
			if err := os.Truncate(p.file, p.off+30); err != nil {
				t.Fatal(err)
			}
			return want{lost: []uint64{corpus}, kind: LossTorn, truncated: true, broken: true}
		}},
		{"zero a 512-byte sector mid-segment", func(t *testing.T, dir string, pl map[uint64]place) want {
			f := last(t, dir)
			mutate(t, f, func(b []byte) []byte { copy(b[512:1024], make([]byte, 512)); return b })
			return want{lost: recordsIn(pl, f, 512, 1024), kind: LossTorn, broken: true}
		}},
		{"zero the sectors at the tail", func(t *testing.T, dir string, pl map[uint64]place) want {
			// Zero from a sector that cuts a record to the end of the data: the
			// record's surviving head shows the write was torn. (Zeros from a record
			// boundary on are the clean end of a preallocated segment: see
			// TestZeroedTailFromRecordBoundary.)
			p := pl[corpus]
			end := (p.off + int64(p.size) + 511) / 512 * 512
			from := end - 512
			for {
				cut := recordsIn(pl, p.file, from, from+1)
				if len(cut) > 0 && pl[cut[0]].off != from {
					break
				}
				from -= 512
			}
			mutate(t, p.file, func(b []byte) []byte { copy(b[from:end], make([]byte, end-from)); return b })
			return want{lost: recordsIn(pl, p.file, from, end), kind: LossTorn, truncated: true, broken: true}
		}},
		{"flip a header bit", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[corpus-20]
			mutate(t, p.file, func(b []byte) []byte { b[p.off+1] ^= 0x04; return b }) // the length field
			return want{lost: []uint64{corpus - 20}, kind: LossCorrupt, broken: true}
		}},
		{"flip a sequence bit", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[corpus-10]
			mutate(t, p.file, func(b []byte) []byte { b[p.off+9] ^= 0x80; return b })
			return want{lost: []uint64{corpus - 10}, kind: LossCorrupt, broken: true}
		}},
		{"flip a body bit", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[corpus-5]
			mutate(t, p.file, func(b []byte) []byte { b[p.off+recordHeaderSize+3] ^= 0x01; return b })
			return want{lost: []uint64{corpus - 5}, kind: LossCorrupt, broken: true}
		}},
		{"flip a body bit in the last record", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[corpus]
			mutate(t, p.file, func(b []byte) []byte { b[p.off+recordHeaderSize] ^= 0x10; return b })
			return want{lost: []uint64{corpus}, kind: LossCorrupt, truncated: true, broken: true}
		}},
		{"flip a body bit in a sealed segment", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[100]
			mutate(t, p.file, func(b []byte) []byte { b[p.off+recordHeaderSize+5] ^= 0x01; return b })
			return want{lost: []uint64{100}, kind: LossCorrupt, atRead: true, broken: true}
		}},
		{"garbled index and a flipped bit in its segment", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[100]
			mutate(t, p.file, func(b []byte) []byte { b[p.off+recordHeaderSize+5] ^= 0x01; return b })
			idx := strings.TrimSuffix(p.file, ".wal") + ".idx"
			mutate(t, idx, func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b })
			return want{lost: []uint64{100}, kind: LossCorrupt, broken: true}
		}},
		{"missing index", func(t *testing.T, dir string, pl map[uint64]place) want {
			idx := strings.TrimSuffix(pl[100].file, ".wal") + ".idx"
			if err := os.Remove(idx); err != nil {
				t.Fatal(err)
			}
			return want{}
		}},
		{"missing cursor file", func(t *testing.T, dir string, pl map[uint64]place) want {
			if err := os.Remove(filepath.Join(dir, cursorsFile)); err != nil {
				t.Fatal(err)
			}
			return want{reset: true}
		}},
		{"garbled cursor file", func(t *testing.T, dir string, pl map[uint64]place) want {
			mutate(t, filepath.Join(dir, cursorsFile), func(b []byte) []byte { b[len(b)-2] ^= 0x5a; return b })
			return want{reset: true, broken: true}
		}},
		{"zero-length segment at the end", func(t *testing.T, dir string, pl map[uint64]place) want {
			idx, _, _ := parseSegmentName(filepath.Base(last(t, dir)))
			os.WriteFile(filepath.Join(dir, segmentName(idx+1, corpus+1)), nil, 0o600)
			return want{note: "set aside"}
		}},
		{"zero-length sealed segment", func(t *testing.T, dir string, pl map[uint64]place) want {
			p := pl[100]
			var lost []uint64
			for seq, q := range pl {
				if q.file == p.file {
					lost = append(lost, seq)
				}
			}
			slices.Sort(lost)
			os.Truncate(p.file, 0)
			return want{lost: lost, kind: LossTorn, truncated: true, note: "set aside"}
		}},
		{"stale temp files", func(t *testing.T, dir string, pl map[uint64]place) want {
			os.WriteFile(filepath.Join(dir, segmentName(99, 999)+".tmp"), []byte("half a segment"), 0o600)
			os.WriteFile(filepath.Join(dir, "cursors.123.tmp"), []byte{1, 2, 3}, 0o600)
			return want{note: "cursors.123.tmp"}
		}},
		{"garbled segment header", func(t *testing.T, dir string, pl map[uint64]place) want {
			mutate(t, last(t, dir), func(b []byte) []byte { b[3] ^= 0xff; return b })
			return want{note: "rewritten from its name", broken: true}
		}},
		{"one stream table copy garbled", func(t *testing.T, dir string, pl map[uint64]place) want {
			mutate(t, filepath.Join(dir, streamsFile), func(b []byte) []byte { return b[:len(b)-1] })
			return want{}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j := mustOpen(t, dir, smallOpts())
			appendN(t, j, "attendance", 0, corpus)
			// Deliver and acknowledge the first 40 so there is a cursor file.
			r, _ := j.Reader("attendance")
			for i := 0; i < 40; i++ {
				rec, err := r.Next(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				r.Ack(rec.Seq)
			}
			j.Close()
			w := tc.corrupt(t, dir, locate(t, dir))

			j2, err := Open(dir, smallOpts())
			if err != nil {
				t.Fatalf("Open after corruption: %v", err)
			}
			defer j2.Close()
			rec := j2.Recovery()
			t.Logf("recovery: %+v", rec)
			var gotLost []uint64
			losses := rec.Losses
			if w.atRead {
				if len(losses) != 0 {
					t.Fatalf("Open reported %v for damage in a sealed segment", losses)
				}
			} else {
				checkLosses(t, losses, w.lost, w.kind, w.truncated)
			}
			if (rec.CursorsReset != "") != w.reset {
				t.Errorf("CursorsReset = %q, want reset=%v", rec.CursorsReset, w.reset)
			}
			if w.note != "" && !strings.Contains(fmt.Sprint(rec.Notes, rec.RemovedTemp), w.note) {
				t.Errorf("no note mentioning %q in %v %v", w.note, rec.Notes, rec.RemovedTemp)
			}
			if w.broken && len(rec.Broken) == 0 {
				if b, _ := filepath.Glob(filepath.Join(dir, "*.broken")); len(b) == 0 && !w.atRead {
					t.Errorf("no .broken copy kept")
				}
			}
			// Append after recovery, then read everything back.
			newSeqs := appendN(t, j2, "attendance", 1000, 10)
			r2, _ := j2.Reader("attendance")
			got := readAll(t, r2)
			if w.atRead {
				checkLosses(t, j2.Stats().Losses, w.lost, w.kind, false)
			}
			from := uint64(41)
			if w.reset {
				from = 1 // redelivered from the start: never lost
			}
			var wantSeqs []uint64
			for s := from; s <= corpus; s++ {
				if !slices.Contains(w.lost, s) {
					wantSeqs = append(wantSeqs, s)
				}
			}
			wantSeqs = append(wantSeqs, newSeqs...)
			var seqs []uint64
			for _, g := range got {
				seqs = append(seqs, g.Seq)
				if g.Seq <= corpus && !slices.Contains(newSeqs, g.Seq) {
					if want := fmt.Sprintf("attendance-%06d", g.Seq-1); string(g.Body) != want {
						t.Fatalf("seq %d has body %q, want %q", g.Seq, g.Body, want)
					}
				}
			}
			if !slices.Equal(seqs, wantSeqs) {
				t.Fatalf("read back %d records %v\nwant %d %v", len(seqs), short(seqs), len(wantSeqs), short(wantSeqs))
			}
			for i, s := range newSeqs {
				if g := got[len(got)-10+i]; g.Seq != s || !bytes.Equal(g.Body, []byte(fmt.Sprintf("attendance-%06d", 1000+i))) {
					t.Fatalf("new record %d: %d %q", i, g.Seq, g.Body)
				}
			}
			_ = gotLost
			j2.Close()

			// Repairs are permanent: a third open reports nothing new.
			j3 := mustOpen(t, dir, smallOpts())
			if l := j3.Recovery().Losses; len(l) != 0 {
				t.Fatalf("third open reported losses again: %v", l)
			}
		})
	}
}

func checkLosses(t *testing.T, losses []Loss, lost []uint64, kind LossKind, truncated bool) {
	t.Helper()
	var got []uint64
	for i, l := range losses {
		if l.LastSeq == 0 && l.Records > 0 {
			t.Errorf("loss with a count but no range: %v", l)
		}
		for s := l.FirstSeq; l.Records > 0 && s <= l.LastSeq; s++ {
			got = append(got, s)
		}
		if l.Truncated && i == len(losses)-1 && len(lost) > 0 {
			// A torn tail's records are counted as far as their headers survive;
			// past that the bytes are zero and the count is a lower bound. The
			// first lost number is always exact.
			if l.FirstSeq != lost[len(got)-int(l.Records)] && !(l.Records == 0 && l.FirstSeq == lost[len(got)]) {
				t.Fatalf("torn tail %v: first lost %d, want %d", l, l.FirstSeq, lost[len(got)-int(l.Records)])
			}
			got = append(got, lost[len(got):]...)
		}
	}
	if !slices.Equal(got, lost) {
		t.Fatalf("losses %v cover seqs %v, want %v", losses, got, lost)
	}
	if len(lost) > 0 {
		if losses[0].Kind != kind || losses[0].Truncated != truncated {
			t.Fatalf("loss %v: kind %v truncated %v, want %v %v", losses[0], losses[0].Kind, losses[0].Truncated, kind, truncated)
		}
	}
}

func short(s []uint64) string {
	if len(s) <= 12 {
		return fmt.Sprint(s)
	}
	return fmt.Sprint(s[:6], "…", s[len(s)-6:])
}

func TestStreamTableBothCopiesLost(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, smallOpts())
	appendN(t, j, "attendance", 0, 5)
	j.Close()
	os.Remove(filepath.Join(dir, streamsFile))
	mutate(t, filepath.Join(dir, streamsBakFile), func(b []byte) []byte { b[0] = 'X'; return b })
	_, err := Open(dir, smallOpts())
	if err == nil || !strings.Contains(err.Error(), "cannot be attributed") {
		t.Fatalf("Open with no usable stream table: %v", err)
	}
}

// TestZeroedTailFromRecordBoundary: zeros from a record boundary to the end of
// the active segment cannot be told from its clean, preallocated end (etcd's WAL
// has the same blind spot): on an honest disk such records were never flushed,
// so never acknowledged. What must hold is that sequence numbers the cursors
// already passed are not handed out again, or new records would be skipped.
func TestZeroedTailFromRecordBoundary(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, smallOpts())
	appendN(t, j, "attendance", 0, corpus)
	r, _ := j.Reader("attendance")
	for _, rec := range readAll(t, r) {
		r.Ack(rec.Seq)
	}
	j.Close()
	pl := locate(t, dir)
	p := pl[corpus-3]
	mutate(t, p.file, func(b []byte) []byte { copy(b[p.off:], make([]byte, len(b)-int(p.off))); return b })

	j2 := mustOpen(t, dir, smallOpts())
	if !strings.Contains(fmt.Sprint(j2.Recovery().Notes), "clamped") {
		t.Fatalf("cursor past the end not clamped: %+v", j2.Recovery())
	}
	seqs := appendN(t, j2, "attendance", 1000, 5)
	r2, _ := j2.Reader("attendance")
	got := readAll(t, r2)
	if len(got) != 5 || got[0].Seq != seqs[0] || string(got[0].Body) != "attendance-001000" {
		t.Fatalf("new records after the clamp: got %d, first %+v", len(got), got)
	}
}
