package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// reserveLocked admits records of size bytes for streams sts under the disk
// cap. Space grows only by whole preallocated segments, so the question is
// whether the bytes not yet committed need a new segment, and whether one fits
// under MaxBytes; if not, it makes room by shedding, or refuses with a
// *FullError. After ENOSPC the file system is the cap: a new segment is
// admitted only once one has been freed (or statfs shows room again).
func (j *Journal) reserveLocked(sts []*stream, size int) error {
	active := j.segs[len(j.segs)-1]
	need := j.inflight + int64(size)
	room := active.size - active.end
	if need <= room {
		return nil
	}
	// Records never span segments, so a segment may end with up to one record's
	// worth of unused space: count segments conservatively.
	per := j.opt.SegmentSize - segmentHeaderSize - int64(recordSize(j.opt.MaxRecordSize))
	segsNeeded := (need - room + per - 1) / per
	want := j.diskBytes + segsNeeded*j.opt.SegmentSize
	limit, cause := j.opt.MaxBytes, FullCap
	if j.full.fsFull {
		limit, cause = min(limit, j.diskBytes), FullDisk
	}
	if want <= limit {
		if cause == FullCap {
			j.roomLocked()
			j.shedEndLocked()
		}
		return nil
	}
	if err := j.makeRoomLocked(sts, want-limit, cause); err != nil {
		if errors.Is(err, ErrFull) {
			j.refusedLocked(sts, cause, err)
		}
		return err
	}
	if cause == FullCap {
		j.roomLocked()
	}
	return nil
}

// livePriorityLocked returns the most important priority among the streams
// with records in seg that are neither acknowledged nor expired, and one such
// stream (nil when the segment is dead). With keep, acknowledged records a
// stream keeps (Stream.Keep) count as live too: that is the question for
// routine deletion, not for making room.
func (j *Journal) livePriorityLocked(seg *segment, nowMs int64, keep bool) (Priority, *stream) {
	prio := PriorityDiagnostics + 1
	var holder *stream
	for id, sp := range seg.streams {
		st := j.byID[id]
		if st == nil || st.expiredSpan(sp, nowMs) {
			continue
		}
		kept := keep && st.cfg.Keep > 0 && sp.MaxTime >= nowMs-st.cfg.Keep.Milliseconds()
		if sp.Last <= st.passedLocked() && !kept {
			continue
		}
		if holder == nil || st.cfg.Priority < prio {
			prio, holder = st.cfg.Priority, st
		}
	}
	return prio, holder
}

func (st *stream) expiredSpan(sp *span, nowMs int64) bool {
	return st.cfg.MaxAge > 0 && sp.MaxTime < nowMs-st.cfg.MaxAge.Milliseconds()
}

// dropSegmentLocked deletes a sealed segment, counting the records it still
// held for a stream as expired (past their MaxAge) or, if shed, as shed.
func (j *Journal) dropSegmentLocked(seg *segment, nowMs int64, shed bool) error {
	for id, sp := range seg.streams {
		st := j.byID[id]
		if st == nil {
			continue
		}
		if err := j.dropNamedLocked(seg, st); err != nil {
			return err
		}
		if sp.Last <= st.cur.Acked {
			continue
		}
		live, err := j.countAfter(seg, id, st.cur.Acked)
		if err != nil {
			return err
		}
		// Records the reader already passed were counted (as expired) or are in
		// flight; count only the ones it never reached.
		unread, err := j.countAfter(seg, id, max(st.cur.Acked, st.readHigh))
		if err != nil {
			return err
		}
		st.depth -= min(st.depth, live)
		if st.expiredSpan(sp, nowMs) {
			st.expired += unread // logged by maintain, with the reader's skips
		} else if shed {
			st.shed += live
			j.log.Warn().Str("stream", st.cfg.Name).Str("priority", st.cfg.Priority.String()).
				Uint64("records", live).Str("segment", seg.name()).Int64("cap_bytes", j.opt.MaxBytes).
				Msg("journal: disk cap reached: shed undelivered records")
		}
	}
	os.Remove(filepath.Join(j.dir, indexName(seg.index, seg.firstSeq)))
	if err := os.Remove(seg.path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("journal: delete %s: %w", seg.name(), err)
	}
	seg.deleted = true
	j.diskBytes -= seg.size
	j.segs = slices.DeleteFunc(j.segs, func(s *segment) bool { return s == seg })
	return nil
}

// maintain persists changed cursors (at most once per CursorInterval unless
// forced) and deletes segments nothing needs any more.
func (j *Journal) maintain(force bool) {
	j.mu.Lock()
	var snap map[string]cursor
	if j.cursorsDirty && (force || time.Since(j.lastCursorSave) >= j.opt.CursorInterval) {
		snap = j.cursorSnapshotLocked()
		j.cursorsDirty = false
	}
	j.mu.Unlock()
	if snap != nil {
		j.lastCursorSave = time.Now()
		err := saveCursors(j.dir, snap)
		j.mu.Lock()
		if err != nil {
			j.cursorsDirty = true
			j.log.Warn().Err(err).Msg("journal: could not persist cursors (will retry)")
		} else {
			j.st.fsyncs++ // the file (not the directory: see saveCursors)
			j.savedLocked(snap)
		}
		j.mu.Unlock()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	nowMs := j.opt.Now().UnixMilli()
	for _, seg := range slices.Clone(j.segs) {
		if !seg.sealed {
			continue
		}
		if _, holder := j.livePriorityLocked(seg, nowMs, true); holder == nil {
			if err := j.dropSegmentLocked(seg, nowMs, false); err != nil {
				j.log.Warn().Err(err).Msg("journal: could not delete a delivered segment")
			}
		}
	}
	j.checkRoomLocked()
	// Expiries are logged in aggregate: a long outage can expire thousands.
	for _, st := range j.byName {
		if st.expired > st.logged {
			j.log.Warn().Str("stream", st.cfg.Name).Uint64("records", st.expired-st.logged).
				Dur("max_age", st.cfg.MaxAge).Uint64("expired_total", st.expired).
				Msg("journal: records past their retention age were not delivered")
			st.logged = st.expired
		}
	}
}

// StreamStats describes one stream.
type StreamStats struct {
	Name       string
	Priority   Priority
	Configured bool
	Cursor     uint64 // last acknowledged sequence number
	Depth      uint64 // records not yet acknowledged, still on disk
	// OldestUndelivered is the append time of the oldest segment holding an
	// undelivered record of the stream (a lower bound; zero when Depth is 0).
	OldestUndelivered time.Time
	Appended, Acked   uint64 // since Open
	Shed, Expired     uint64 // since Open
	Refused           uint64 // records refused with ErrFull since Open
}

// Stats is a snapshot of the journal's counters, for metrics and health.
type Stats struct {
	Streams   []StreamStats
	Segments  int
	DiskBytes int64 // bytes of segment files (preallocated)
	MaxBytes  int64
	Commits   uint64 // group commits since Open
	Records   uint64 // records committed since Open
	Bytes     uint64 // record bytes committed since Open
	Fsyncs    uint64 // fdatasync and fsync calls since Open, metadata included
	// Compactions counts segments rewritten without shed or delivered
	// records to make room under the cap (FORMAT.md §7).
	Compactions uint64
	// CompactedBytes is the bytes of compacted copies written; ShedOnArrival
	// the records shed as they arrived, written as holes (FORMAT.md §7).
	CompactedBytes uint64
	ShedOnArrival  uint64
	SyncTime       time.Duration
	Losses         []Loss // damage found while reading, since Open
	Failed         error  // non-nil once a write failed
	// Pending is the record bytes appended and not yet durable (waiting for
	// or in a commit). Pending above zero while Commits stands still is a
	// stalled disk: the watchdog's test (gateway/sdnotify).
	Pending int64
	// Full says whether appends are being refused for lack of room, since
	// when and why (FullState).
	Full FullState
	// FreeBytes is what the journal's file system has left for it (statfs
	// f_bavail); -1 when statfs failed.
	FreeBytes int64
}

// Stats returns a snapshot of the counters.
func (j *Journal) Stats() Stats {
	free, err := fsFree(j.dir)
	if err != nil {
		free = -1
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	s := Stats{
		Full: j.full.state, FreeBytes: free,
		Segments: len(j.segs), DiskBytes: j.diskBytes, MaxBytes: j.opt.MaxBytes,
		Commits: j.st.commits, Records: j.st.records, Bytes: j.st.bytes, Fsyncs: j.st.fsyncs,
		Compactions: j.st.compactions, CompactedBytes: j.st.compactBytes, ShedOnArrival: j.st.shedOnArrival, SyncTime: j.st.syncTime, Losses: slices.Clone(j.losses), Failed: j.failed, Pending: j.inflight,
	}
	for _, st := range j.byName {
		ss := StreamStats{
			Name: st.cfg.Name, Priority: st.cfg.Priority, Configured: st.configured,
			Cursor: st.cur.Acked, Depth: st.depth, Appended: st.appended, Acked: st.acked,
			Shed: st.shed, Expired: st.expired, Refused: st.refused,
		}
		if st.depth > 0 {
			for _, seg := range j.segs {
				if sp := seg.streams[st.id]; sp != nil && sp.Last > st.cur.Acked {
					ss.OldestUndelivered = time.UnixMilli(sp.MinTime)
					break
				}
			}
		}
		s.Streams = append(s.Streams, ss)
	}
	slices.SortFunc(s.Streams, func(a, b StreamStats) int {
		if a.Priority != b.Priority {
			return int(a.Priority - b.Priority)
		}
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return s
}
