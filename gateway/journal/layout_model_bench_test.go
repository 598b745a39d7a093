package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkCapLayoutModel measures what the disk would be charged under
// BenchmarkCapInterleaved's workload if priority classes had segment chains
// of their own, the layout FORMAT.md §7 weighs against compaction. It is a
// model, not the journal: it writes what such a journal would write — 1 MiB
// fallocate'd segments (header fsync'd, directory fsync'd), each commit's
// records of a class appended to that class's active segment, one fdatasync
// per file the commit touched — and sheds as the journal must: for
// diagnostics, then room telemetry, whole sealed segments of the class's
// chain, then compacted copies of the sealed segments that mix it with
// attendance (the copy keeps the more important records and one 32-byte hole
// per removed run, written and fsync'd, renamed, directory fsync'd); once
// telemetry is being shed, diagnostics are shed on arrival (not written). It
// stops when attendance would need a segment the cap (8 segments) cannot
// give.
//
//   - "one-chain" is the calibration: every class in one chain and nothing
//     shed, the journal's own layout with no cap reached; it must match
//     BenchmarkCapInterleaved/…/uncapped at the same commit size.
//   - "per-class" has one chain per class from the start.
//   - "switch-at-2MiB" writes one chain, as the journal does, until the
//     journal holds 2 MiB (a quarter of the cap), then one chain per class.
//   - "…-aligned" also starts every commit in the sheddable classes' chains
//     on a 4 KiB page, so no commit dirties again the page the previous one
//     ended in, at the price of up to a page of space per commit.
//
// Run it with TMPDIR on a disk, not tmpfs:
//
//	TMPDIR=/var/tmp go test -run '^$' -bench CapLayoutModel -benchtime 1x ./gateway/journal
func BenchmarkCapLayoutModel(b *testing.B) {
	layouts := []struct {
		name     string
		switchAt int64 // journal size from which classes get chains of their own; -1 never
		aligned  bool
	}{
		{"one-chain", -1, false},
		{"per-class", 0, false},
		{"per-class-aligned", 0, true},
		{"switch-at-2MiB", 2 * modelSegment, false},
		{"switch-at-2MiB-aligned", 2 * modelSegment, true},
	}
	for _, perClass := range []int{16, 64} {
		for _, l := range layouts {
			b.Run(fmt.Sprintf("commit-%d/%s", 3*perClass, l.name), func(b *testing.B) {
				for range b.N {
					m := &layoutModel{dir: b.TempDir(), switchAt: l.switchAt, shedLevel: PriorityDiagnostics + 1}
					m.mixed = &modelChain{}
					if l.switchAt >= 0 {
						for c := range m.classes {
							m.classes[c] = &modelChain{aligned: l.aligned && c > 0}
						}
					}
					m.w0 = writeBytes(b)
					records := m.run(b, perClass)
					w1 := writeBytes(b)
					b.ReportMetric(float64(w1-m.w0)/float64(records), "written-B/record")
					b.ReportMetric(float64(records), "records")
					if m.capRecords > 0 {
						b.ReportMetric(float64(m.capWritten)/float64(m.capRecords), "before-cap-B/record")
					}
				}
			})
		}
	}
}

const (
	modelSegment = 1 << 20
	modelCap     = 8 * modelSegment
	modelRecord  = recordHeaderSize + 128
	modelHole    = recordHeaderSize + recordAlign
)

type layoutModel struct {
	dir       string
	switchAt  int64          // -1: one chain for good
	mixed     *modelChain    // every class, record by record, until the switch
	classes   [3]*modelChain // attendance, rooms, diag, after the switch
	switched  bool
	segments  int      // created so far, for names
	disk      int64    // bytes of segments
	shedLevel Priority // classes this unimportant or less are shed on arrival

	w0                     uint64 // write_bytes at the start
	records                int    // accepted so far
	capWritten, capRecords uint64 // when the cap was first reached
}

type modelChain struct {
	aligned bool
	segs    []*modelSeg // the last one is active (in the mixed chain: until the switch)
	off     int64       // in the active segment
}

type modelSeg struct {
	f       *os.File
	size    int64
	triples int      // mixed chain: records of each class, interleaved one by one
	kept    Priority // mixed chain: the least important class still in it
}

// run appends commits of perClass records of each class, interleaved, until
// attendance is refused, and returns how many records were accepted (shed on
// arrival included, as BenchmarkCapInterleaved counts them). Before the cap
// is first reached nothing is shed: "before-cap-B/record" is the layout's
// everyday cost for this mix of classes.
func (m *layoutModel) run(b *testing.B, perClass int) int {
	body := make([]byte, modelRecord)
	for i := range body {
		body[i] = 'b'
	}
	defer m.closeAll()
	for {
		if !m.switched && m.switchAt >= 0 && m.disk >= m.switchAt {
			m.switched = true // the mixed chain's active segment is sealed
		}
		parts := map[*modelChain][]byte{}
		for range perClass {
			for c := range 3 {
				ch := m.mixed
				if m.switched {
					ch = m.classes[c]
					if PriorityRecord+Priority(c) >= m.shedLevel {
						continue // shed on arrival
					}
				}
				parts[ch] = append(parts[ch], body...)
			}
		}
		for _, ch := range append([]*modelChain{m.mixed}, m.classes[:]...) {
			p := parts[ch]
			if p == nil {
				continue
			}
			if len(ch.segs) == 0 || ch.off+int64(len(p)) > modelSegment {
				if !m.makeRoom(b, ch) {
					return m.records
				}
				m.create(b, ch)
			}
			seg := ch.segs[len(ch.segs)-1]
			if _, err := seg.f.WriteAt(p, ch.off); err != nil {
				b.Fatal(err)
			}
			ch.off += int64(len(p))
			if ch.aligned {
				ch.off = (ch.off + 4095) &^ 4095
			}
			if ch == m.mixed {
				seg.triples += perClass
			}
		}
		for ch := range parts {
			if err := unix.Fdatasync(int(ch.segs[len(ch.segs)-1].f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
		m.records += 3 * perClass
	}
}

// makeRoom sheds, diagnostics first, until a new segment for rotating fits
// under the cap (rotating's full active segment is sealed by then); false
// when only attendance is left.
func (m *layoutModel) makeRoom(b *testing.B, rotating *modelChain) bool {
	if m.disk+modelSegment <= modelCap {
		return true
	}
	if m.capRecords == 0 {
		m.capWritten, m.capRecords = writeBytes(b)-m.w0, uint64(m.records)
	}
	if !m.switched {
		return false // one chain and no shedding: the calibration
	}
	for level := PriorityDiagnostics; level >= PriorityTelemetry; level-- {
		ch := m.classes[level-PriorityRecord]
		active := 1 // the active segment is never deleted
		if ch == rotating {
			active = 0
		}
		for m.disk+modelSegment > modelCap && len(ch.segs) > active {
			seg := ch.segs[0]
			seg.f.Close()
			os.Remove(seg.f.Name())
			ch.segs = ch.segs[1:]
			m.disk -= seg.size
			m.shedLevel = min(m.shedLevel, level+1)
		}
		for _, seg := range m.mixed.segs {
			if m.disk+modelSegment <= modelCap {
				return true
			}
			if seg.kept >= level {
				m.compact(b, seg, level-1)
				m.shedLevel = min(m.shedLevel, level+1)
			}
		}
		if m.disk+modelSegment <= modelCap {
			return true
		}
	}
	return false
}

// compact rewrites a mixed segment keeping only classes up to kept: per
// triple the kept records and one hole for the removed run after them.
func (m *layoutModel) compact(b *testing.B, seg *modelSeg, kept Priority) {
	size := int64(segmentHeaderSize) + int64(seg.triples)*(int64(kept-PriorityRecord+1)*modelRecord+modelHole)
	name := seg.f.Name()
	if err := writeSynced(name+".tmp", make([]byte, size)); err != nil {
		b.Fatal(err)
	}
	seg.f.Close()
	if err := os.Rename(name+".tmp", name); err != nil {
		b.Fatal(err)
	}
	if err := syncDir(m.dir); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	m.disk -= seg.size - size
	seg.f, seg.size, seg.kept = f, size, kept
}

func (m *layoutModel) create(b *testing.B, ch *modelChain) {
	m.segments++
	f, err := os.OpenFile(filepath.Join(m.dir, fmt.Sprintf("%016x.wal", m.segments)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if err := preallocate(f, modelSegment); err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, segmentHeaderSize), 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := syncDir(m.dir); err != nil {
		b.Fatal(err)
	}
	ch.segs = append(ch.segs, &modelSeg{f: f, size: modelSegment, kept: PriorityDiagnostics})
	ch.off = segmentHeaderSize
	m.disk += modelSegment
}

func (m *layoutModel) closeAll() {
	for _, ch := range append([]*modelChain{m.mixed}, m.classes[:]...) {
		if ch == nil {
			continue
		}
		for _, seg := range ch.segs {
			seg.f.Close()
		}
	}
}
