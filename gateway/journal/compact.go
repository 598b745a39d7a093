package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Compaction (FORMAT.md §7) rewrites a sealed segment without the records
// that may go when room is needed: acknowledged ones, ones past their
// maximum age, and undelivered ones of the streams being shed. Records of
// different priorities share segments (a device's window of events is one
// commit, in the order the device recorded them), so freeing whole segments
// alone could never shed room telemetry while a single punch sat among it.
//
// Why rewriting rather than segments per priority class: per-class segments
// would cost one fdatasync per class in every commit and split a device's
// window across files, on every event, for a situation (the cap reached) that
// a gateway sees rarely. Compaction costs nothing until the cap is reached
// and then reads and rewrites only what it frees room in. FORMAT.md §7 has
// both measured (BenchmarkCapInterleaved, BenchmarkCapLayoutModel).
//
// Crash safety: the copy is written as NAME.tmp, fsync'd, and renamed over
// the segment, then the directory is fsync'd; a crash leaves the old file or
// the new one (a .tmp is deleted at Open). Records keep their sequence
// numbers and bytes; every run of removed numbers becomes one hole record,
// so the scan's density rule (§4.1) holds and nothing is reported as lost.
// The segment's summary is deleted before the rename and written again after
// it; a stale one could not pass for the new file anyway: its end of data
// lies past the new, shorter file (loadIndex rejects it).
//
// Offsets change, so cursors into the segment are reset to its start (the
// reader skips what is at or below the cursor), a Reader with the old file
// open reads the new one from its start (segment.gen), and an offset in a
// persisted cursor is only a hint that the reader checks (§5.2).

// sheds reports whether st's undelivered records go when shedding at level:
// sheddable streams of that priority or less important.
func (st *stream) sheds(level Priority) bool {
	return !st.cfg.Priority.Protected() && st.cfg.Priority >= level
}

// spanCount estimates how many of sp's records have numbers in (lo, hi],
// assuming they are spread evenly over [First, Last].
func spanCount(sp *span, lo, hi uint64) float64 {
	from, to := max(lo+1, sp.First), min(hi, sp.Last)
	if from > to {
		return 0
	}
	if from == sp.First && to == sp.Last {
		return float64(sp.Count)
	}
	return float64(sp.Count) * float64(to-from+1) / float64(sp.Last-sp.First+1)
}

// compactGainLocked estimates the bytes compacting seg at level would free
// (zero when it would remove nothing). It reads only the segment's summary.
func (j *Journal) compactGainLocked(seg *segment, level Priority, nowMs int64) int64 {
	if !seg.sealed || seg.records == 0 {
		return 0
	}
	if seg.futileKey != 0 && seg.futileKey == j.progressKeyLocked() && level >= seg.futileLevel {
		return 0
	}
	var n float64
	for id, sp := range seg.streams {
		st := j.byID[id]
		if st == nil {
			continue
		}
		passed := st.passedLocked()
		n += spanCount(sp, 0, passed)
		if st.sheds(level) || st.expiredSpan(sp, nowMs) {
			n += spanCount(sp, max(passed, st.readHighLocked()), ^uint64(0))
		}
	}
	if n < 1 {
		return 0
	}
	avg := float64(seg.end-segmentHeaderSize) / float64(seg.records)
	// Each removed run leaves a hole of recordHeaderSize+8 bytes; at worst
	// every removed record is a run of its own. The preallocated tail goes
	// too, but only with something else: it alone does not make a copy worth
	// writing.
	gain := int64(n * (avg - recordHeaderSize - recordAlign))
	if gain <= 0 {
		return 0
	}
	return gain + (seg.size - seg.end)
}

// progressKeyLocked sums what decides which records compaction may remove,
// apart from the clock: every stream's cursor and read position.
func (j *Journal) progressKeyLocked() uint64 {
	key := uint64(1)
	for _, st := range j.byName {
		for _, cs := range st.consumersLocked() {
			key += cs.cur.Acked + cs.readHigh
		}
	}
	return key
}

// dropOnCompactLocked decides one record's fate in a compaction at level,
// and whether it counts as shed or expired.
func (j *Journal) dropOnCompactLocked(h recordHeader, level Priority, nowMs int64) (drop, shed, expired bool) {
	st := j.byID[h.Stream]
	switch {
	case st == nil:
		return false, false, false
	case h.Seq <= st.passedLocked():
		return true, false, false // delivered to every consumer: kept records go first when room is needed
	case h.Seq <= st.readHighLocked():
		return false, false, false // read and in flight: its Ack is coming
	case st.cfg.MaxAge > 0 && h.TimeMs < nowMs-st.cfg.MaxAge.Milliseconds():
		return true, false, true
	case st.sheds(level):
		return true, true, false
	}
	return false, false, false
}

// compactLocked rewrites seg without what may go at level and returns the
// bytes it freed. Called with mu held: readers and appenders wait for one
// segment's read and write, only when the cap is reached.
func (j *Journal) compactLocked(seg *segment, level Priority, nowMs int64) (int64, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return 0, fmt.Errorf("journal: compact %s: %w", seg.name(), err)
	}
	defer f.Close()

	type tally struct {
		shed, expired uint64
		undelivered   map[*cstate]uint64 // by consumer: the dropped records past its cursor
	}
	dropped := map[uint8]*tally{}
	streams := map[uint8]*span{}
	var records uint64
	buf := make([]byte, 0, seg.end)
	buf = append(buf, encodeSegmentHeader(seg.index, seg.firstSeq)...)
	next := seg.firstSeq
	sc := scanner{w: newWindow(f, seg.end), maxBody: j.opt.MaxRecordSize}
	res, err := sc.scan(seg.name(), seg.firstSeq, func(h recordHeader, _ int64, body []byte) {
		if drop, shed, expired := j.dropOnCompactLocked(h, level, nowMs); drop {
			if shed || expired {
				t := dropped[h.Stream]
				if t == nil {
					t = &tally{undelivered: map[*cstate]uint64{}}
					dropped[h.Stream] = t
				}
				for _, cs := range j.byID[h.Stream].consumersLocked() {
					if h.Seq > cs.cur.Acked {
						t.undelivered[cs]++
					}
				}
				if shed {
					t.shed++
				} else {
					t.expired++
				}
			}
			return
		}
		if h.Seq > next {
			buf = append(buf, holeRecord(recordHeaderSize+recordAlign, next, h.Seq-1)...)
		}
		buf = appendRecord(buf, h.Seq, h.TimeMs, h.Stream, h.Flags, body)
		sp := streams[h.Stream]
		if sp == nil {
			sp = &span{}
			streams[h.Stream] = sp
		}
		sp.add(h.Seq, h.TimeMs)
		records++
		next = h.Seq + 1
	})
	if err != nil {
		return 0, fmt.Errorf("journal: compact %s: %w", seg.name(), err)
	}
	if records == 0 {
		// Nothing stays: deleting the segment is the same, and cheaper.
		size := seg.size
		return size, j.dropSegmentLocked(seg, nowMs, true)
	}
	if seg.lastSeq >= next {
		buf = append(buf, holeRecord(recordHeaderSize+recordAlign, next, seg.lastSeq)...)
	}
	if int64(len(buf)) >= seg.end {
		// Nothing to gain (and a stale summary must not fit the new file).
		seg.futileKey, seg.futileLevel = j.progressKeyLocked(), level
		return 0, nil
	}
	for _, d := range res.damage {
		// Damage the reader had not reached yet: the copy covers it with a
		// hole like any removed range, so report it now, once.
		j.keepBroken(seg)
		j.losses = append(j.losses, d.Loss)
		j.log.Error().Str("loss", d.Loss.String()).Msg("journal: damaged records found while compacting")
	}

	tmpPath := seg.path + ".tmp"
	if err := writeSynced(tmpPath, buf); err != nil {
		os.Remove(tmpPath)
		return 0, fmt.Errorf("journal: compact %s: %w", seg.name(), err)
	}
	os.Remove(filepath.Join(j.dir, indexName(seg.index, seg.firstSeq)))
	if err := os.Rename(tmpPath, seg.path); err != nil {
		os.Remove(tmpPath)
		return 0, fmt.Errorf("journal: compact %s: %w", seg.name(), err)
	}
	// The file is replaced from here on, whatever the directory sync says.
	if err := syncDir(j.dir); err != nil {
		j.log.Warn().Err(err).Str("segment", seg.name()).Msg("journal: directory sync after compaction")
	}
	freed := seg.size - int64(len(buf))
	j.diskBytes -= freed
	j.st.compactBytes += uint64(len(buf))
	seg.size, seg.end, seg.records, seg.streams = int64(len(buf)), int64(len(buf)), records, streams
	seg.gen++
	j.st.fsyncs += 2
	j.st.compactions++
	for _, st := range j.byName {
		for _, cs := range st.consumersLocked() {
			if cs.cur.Pos.Seg == seg.index {
				cs.cur.Pos.Off = 0 // the offset no longer holds: read the segment from its start
				j.cursorsDirty = true
			}
		}
	}
	for id, t := range dropped {
		st := j.byID[id]
		for cs, n := range t.undelivered {
			cs.depth -= min(cs.depth, n)
		}
		st.expired += t.expired // logged by maintain, with the reader's skips
		if t.shed > 0 {
			st.shed += t.shed
			j.log.Warn().Str("stream", st.cfg.Name).Str("priority", st.cfg.Priority.String()).
				Uint64("records", t.shed).Str("segment", seg.name()).Int64("cap_bytes", j.opt.MaxBytes).
				Int64("freed_bytes", freed).
				Msg("journal: disk cap reached: shed undelivered records")
		}
	}
	if err := seg.writeIndex(j.dir); err != nil {
		j.log.Warn().Err(err).Str("segment", seg.name()).Msg("journal: could not write segment index")
	}
	return freed, nil
}

// writeSynced creates path with data and fsyncs it (size included: fsync,
// not fdatasync).
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeRoomLocked frees at least excess bytes for an append to sts, or
// refuses it with a *FullError having freed nothing it need not. In order:
// segments nothing needs (no loss); then, for diagnostics and then room
// telemetry, whole segments holding nothing more important, and compaction
// of the others, oldest first. An append never sheds a class more important
// than its own, and protected records are never shed. After ENOSPC
// (cause FullDisk) there is no room to write a compacted copy: only whole
// segments go.
func (j *Journal) makeRoomLocked(sts []*stream, excess int64, cause string) error {
	nowMs := j.opt.Now().UnixMilli()
	top := sts[0].cfg.Priority
	for _, st := range sts {
		top = min(top, st.cfg.Priority)
	}
	floor := max(top, PriorityTelemetry) // the most important class this append may shed
	compact := cause == FullCap

	for _, seg := range slices.Clone(j.segs) {
		if excess <= 0 {
			return nil
		}
		if _, holder := j.livePriorityLocked(seg, nowMs, false); seg.sealed && holder == nil {
			size := seg.size
			if err := j.dropSegmentLocked(seg, nowMs, false); err != nil {
				return err
			}
			excess -= size
		}
	}
	if excess <= 0 {
		return nil
	}
	// Shed nothing unless shedding everything allowed would make room: a
	// loss that does not admit the record buys nothing.
	var possible int64
	for _, seg := range j.segs {
		if prio, holder := j.livePriorityLocked(seg, nowMs, false); seg.sealed && holder != nil && prio >= floor && !prio.Protected() {
			possible += seg.size
		} else if compact {
			possible += j.compactGainLocked(seg, floor, nowMs)
		}
	}
	if possible < excess {
		return j.fullErrorLocked(sts[0], cause, nowMs)
	}
	reached := PriorityDiagnostics + 1
	for level := PriorityDiagnostics; level >= floor && excess > 0; level-- {
		reached = level
		for _, seg := range slices.Clone(j.segs) {
			if excess <= 0 {
				break
			}
			if prio, holder := j.livePriorityLocked(seg, nowMs, false); seg.sealed && holder != nil && prio >= level {
				size := seg.size
				if err := j.dropSegmentLocked(seg, nowMs, true); err != nil {
					return err
				}
				excess -= size
			}
		}
		for _, seg := range slices.Clone(j.segs) {
			if excess <= 0 || !compact {
				break
			}
			if seg.deleted || j.compactGainLocked(seg, level, nowMs) == 0 {
				continue
			}
			freed, err := j.compactLocked(seg, level, nowMs)
			if err != nil {
				j.log.Warn().Err(err).Msg("journal: compaction failed; shedding whole segments only")
				if errors.Is(err, unix.ENOSPC) {
					j.full.fsFull = true
				}
				compact = false
				break
			}
			excess -= freed
		}
	}
	if excess > 0 {
		return j.fullErrorLocked(sts[0], cause, nowMs)
	}
	if compact && reached <= PriorityDiagnostics {
		j.shedStartLocked(reached)
	}
	return nil
}

// fullErrorLocked describes a refusal: the most important stream holding the
// oldest undelivered record is what blocks.
func (j *Journal) fullErrorLocked(st *stream, cause string, nowMs int64) *FullError {
	fe := &FullError{Stream: st.cfg.Name, Used: j.diskBytes, Cap: j.opt.MaxBytes, Cause: cause}
	for _, seg := range j.segs {
		if _, holder := j.livePriorityLocked(seg, nowMs, false); holder != nil {
			fe.Blocking = holder.cfg.Name
			break
		}
	}
	return fe
}
