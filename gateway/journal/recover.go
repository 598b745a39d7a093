package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Recovery is what Open found and did: the value a caller logs and exports.
type Recovery struct {
	Segments     int      // segment files in use
	Scanned      []string // segments read record by record (the active one, and any without a usable index)
	Losses       []Loss   // records that could not be recovered
	Broken       []string // .broken copies kept of damaged files
	RemovedTemp  []string // stale temp files from an interrupted create or rename
	CursorsReset string   // non-empty: why delivery restarts from the oldest retained record
	Notes        []string // other repairs, one sentence each
}

// Lost is the number of records the losses account for.
func (r Recovery) Lost() uint64 {
	var n uint64
	for _, l := range r.Losses {
		n += l.Records
	}
	return n
}

// Open opens (creating if needed) the journal in dir, recovers it and starts its
// committer. Recovery never fails because records are damaged: it keeps what is
// good, cuts a torn tail, skips corruption, and reports it in Recovery().
func Open(dir string, opts *Options) (*Journal, error) {
	if opts == nil {
		opts = &Options{}
	}
	opt, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", dir, err)
	}
	lockF, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: open lock: %w", err)
	}
	if err := unix.Flock(int(lockF.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lockF.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("journal: lock %s: %w", dir, err)
	}
	j := &Journal{
		dir: dir, opt: opt, log: *opt.Log, lockF: lockF,
		byName:   map[string]*stream{},
		cur:      newBatch(),
		commitCh: make(chan struct{}),
		full:     fullTracker{changed: make(chan struct{})},
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	if err := j.recover(); err != nil {
		if j.w != nil {
			j.w.Close()
		}
		lockF.Close()
		return nil, err
	}
	j.lastCursorSave = time.Now()
	j.window = newWindowTimer()
	j.wg.Add(1)
	go j.run()
	return j, nil
}

func (j *Journal) recover() error {
	rec := &j.recovery
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("journal: read %s: %w", j.dir, err)
	}
	var segs []*segment
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			// An interrupted create or atomic write: the rename never happened, so
			// the file holds nothing acknowledged.
			if err := os.Remove(filepath.Join(j.dir, name)); err != nil {
				return fmt.Errorf("journal: remove stale %s: %w", name, err)
			}
			rec.RemovedTemp = append(rec.RemovedTemp, name)
			continue
		}
		if index, first, ok := parseSegmentName(name); ok {
			segs = append(segs, newSegment(j.dir, index, first, 0))
		}
	}
	slices.SortFunc(segs, func(a, b *segment) int { return cmpUint(a.index, b.index) })
	for i := 1; i < len(segs); i++ {
		if segs[i].firstSeq < segs[i-1].firstSeq {
			return fmt.Errorf("journal: segments %s and %s are out of order", segs[i-1].name(), segs[i].name())
		}
	}
	if err := j.loadStreams(len(segs) > 0); err != nil {
		return err
	}

	// Sealed segments: trust their index; scan those without one. The last
	// segment is always scanned: it is where a crash leaves a torn tail.
	var kept []*segment
	for i, seg := range segs {
		last := i == len(segs)-1
		nextFirst := uint64(0)
		if !last {
			nextFirst = segs[i+1].firstSeq
		}
		ok, err := j.recoverSegment(seg, last, nextFirst)
		if err != nil {
			return err
		}
		if ok {
			kept = append(kept, seg)
		}
	}
	j.segs = kept
	fresh := len(segs) == 0 && !exists(filepath.Join(j.dir, cursorsFile))
	if err := j.loadCursorsInto(); err != nil {
		return err
	}
	if fresh {
		// A new journal gets its cursors file at once, so that "missing" can
		// only ever mean lost: a journal whose cursors never moved would
		// otherwise report a reset at every open.
		if err := saveCursors(j.dir, map[string]cursor{}); err != nil {
			return err
		}
	}

	// The active segment: the last one if it was scanned (not sealed), else a new one.
	if n := len(kept); n > 0 && !kept[n-1].sealed {
		act := kept[n-1]
		f, err := os.OpenFile(act.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("journal: open %s: %w", act.name(), err)
		}
		j.w = f
	} else {
		index, first := uint64(1), uint64(1)
		if n > 0 {
			index, first = kept[n-1].index+1, kept[n-1].lastSeq+1
		}
		// After every segment was deleted the numbers must still go on from the
		// cursors, or new records would look acknowledged.
		first = max(first, j.maxAckedLocked()+1)
		f, err := createSegment(j.dir, index, first, j.opt.SegmentSize)
		if err != nil {
			return err
		}
		j.w = f
		seg := newSegment(j.dir, index, first, j.opt.SegmentSize)
		j.segs = append(j.segs, seg)
	}
	for _, seg := range j.segs {
		j.diskBytes += seg.size
	}
	act := j.segs[len(j.segs)-1]
	j.nextSeq = act.lastSeq + 1
	rec.Segments = len(j.segs)

	for _, st := range j.byName {
		if st.cur.Acked >= j.nextSeq {
			rec.Notes = append(rec.Notes, fmt.Sprintf("cursor of %q (seq %d) is past the last record (%d): clamped", st.cfg.Name, st.cur.Acked, j.nextSeq-1))
			st.cur = cursor{Acked: j.nextSeq - 1}
			st.saved = st.cur
		}
		if err := j.countDepth(st); err != nil {
			return err
		}
		if err := j.recoverNamed(st); err != nil {
			return err
		}
	}
	for _, st := range j.byName {
		if !st.configured && st.depth > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("stream %q is no longer configured but holds %d undelivered records: kept, shed first when the disk is full", st.cfg.Name, st.depth))
		}
	}
	return nil
}

// loadStreams reads the stream table and adds the configured streams to it.
func (j *Journal) loadStreams(haveSegments bool) error {
	t, err := loadStreamTable(j.dir)
	if err != nil {
		if haveSegments {
			return fmt.Errorf("%w (both copies unusable; records cannot be attributed to streams without it: restore %s from a backup or move the journal aside)", err, streamsFile)
		}
		for _, name := range []string{streamsFile, streamsBakFile} {
			if exists(filepath.Join(j.dir, name)) {
				if b, err := keepBroken(filepath.Join(j.dir, name)); err == nil {
					j.recovery.Broken = append(j.recovery.Broken, filepath.Base(b))
				}
			}
		}
		j.recovery.Notes = append(j.recovery.Notes, fmt.Sprintf("stream table unusable and no records exist: started afresh (%v)", err))
	}
	if t == nil {
		t = map[string]uint8{}
	}
	changed := false
	for _, s := range j.opt.Streams {
		if _, ok := t[s.Name]; !ok {
			id, err := freeStreamID(t)
			if err != nil {
				return err
			}
			t[s.Name] = id
			changed = true
		}
	}
	if changed {
		if err := saveStreamTable(j.dir, t); err != nil {
			return err
		}
	}
	cfg := map[string]Stream{}
	for _, s := range j.opt.Streams {
		cfg[s.Name] = s
	}
	for name, id := range t {
		st := &stream{id: id}
		if c, ok := cfg[name]; ok {
			st.cfg, st.configured = c, true
		} else {
			st.cfg = Stream{Name: name, Priority: PriorityDiagnostics}
		}
		j.byName[name] = st
		j.byID[id] = st
	}
	return nil
}

func freeStreamID(t map[string]uint8) (uint8, error) {
	used := map[uint8]bool{}
	for _, id := range t {
		used[id] = true
	}
	for id := 1; id < 256; id++ {
		if !used[uint8(id)] {
			return uint8(id), nil
		}
	}
	return 0, fmt.Errorf("%w: more than 255 streams have ever been used in this journal", ErrConfig)
}

// recoverSegment loads or rebuilds one segment's summary and repairs damage.
// It returns false when the segment holds nothing usable and was set aside.
func (j *Journal) recoverSegment(seg *segment, last bool, nextFirst uint64) (bool, error) {
	rec := &j.recovery
	fi, err := os.Stat(seg.path)
	if err != nil {
		return false, fmt.Errorf("journal: stat %s: %w", seg.name(), err)
	}
	seg.size = fi.Size()
	if seg.size < segmentHeaderSize+recordHeaderSize+recordAlign {
		// Too short to hold even one record: a create that never completed its
		// preallocation, or a truncated file.
		l := Loss{Segment: seg.name(), Bytes: seg.size, FirstSeq: seg.firstSeq, Kind: LossTorn, Truncated: true}
		if !last && nextFirst > seg.firstSeq {
			l.LastSeq, l.Records = nextFirst-1, nextFirst-seg.firstSeq
		}
		if seg.size > 0 {
			if b, err := keepBroken(seg.path); err == nil {
				rec.Broken = append(rec.Broken, filepath.Base(b))
			}
		}
		if l.Records > 0 || seg.size > 0 {
			rec.Losses = append(rec.Losses, l)
		}
		rec.Notes = append(rec.Notes, fmt.Sprintf("segment %s is %d bytes long: set aside", seg.name(), seg.size))
		os.Remove(filepath.Join(j.dir, indexName(seg.index, seg.firstSeq)))
		if err := os.Remove(seg.path); err != nil {
			return false, fmt.Errorf("journal: remove %s: %w", seg.name(), err)
		}
		return false, nil
	}
	if !last {
		if err := seg.loadIndex(j.dir); err == nil {
			seg.sealed = true
			return true, nil
		}
	}
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("journal: open %s: %w", seg.name(), err)
	}
	defer f.Close()
	rec.Scanned = append(rec.Scanned, seg.name())
	hdr := make([]byte, segmentHeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return false, fmt.Errorf("journal: read %s: %w", seg.name(), err)
	}
	if herr := checkSegmentHeader(hdr, seg.index, seg.firstSeq); herr != nil {
		// The name carries the same numbers: rewrite the header from it.
		j.keepBroken(seg)
		if _, err := f.WriteAt(encodeSegmentHeader(seg.index, seg.firstSeq), 0); err != nil {
			return false, fmt.Errorf("journal: rewrite header of %s: %w", seg.name(), err)
		}
		rec.Notes = append(rec.Notes, fmt.Sprintf("segment %s: %v: rewritten from its name", seg.name(), herr))
	}
	sc := scanner{w: newWindow(f, seg.size), maxBody: j.opt.MaxRecordSize}
	res, err := sc.scan(seg.name(), seg.firstSeq, func(h recordHeader, _ int64, _ []byte) { seg.add(h) })
	if err != nil {
		return false, fmt.Errorf("journal: scan %s: %w", seg.name(), err)
	}
	seg.end, seg.lastSeq = res.end, res.lastSeq
	for _, d := range res.damage {
		if d.Truncated && !last && nextFirst > d.FirstSeq {
			// Inside the log the next segment's name tells exactly what is missing.
			d.LastSeq, d.Records = nextFirst-1, nextFirst-d.FirstSeq
		}
		if d.Bytes > 0 {
			j.keepBroken(seg)
		}
		if err := repair(f, d); err != nil {
			return false, fmt.Errorf("journal: repair %s at offset %d: %w", seg.name(), d.Offset, err)
		}
		rec.Losses = append(rec.Losses, d.Loss)
		j.log.Error().Str("loss", d.Loss.String()).Msg("journal: damaged records")
	}
	if len(res.damage) > 0 {
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return false, fmt.Errorf("journal: fdatasync %s after repair: %w", seg.name(), err)
		}
	}
	if !last {
		seg.sealed = true
		if err := seg.writeIndex(j.dir); err != nil {
			return false, err
		}
	}
	return true, nil
}

// repair makes damage permanent-and-quiet: a torn tail is zeroed (so appends
// continue on clean space), a mid-log gap becomes a hole record that carries the
// lost sequence range, so later scans skip it without reporting it again.
func repair(f *os.File, d damage) error {
	size := d.end - d.Offset
	if size <= 0 {
		return nil
	}
	if d.Truncated {
		_, err := f.WriteAt(make([]byte, size), d.Offset)
		return err
	}
	if size < recordHeaderSize+recordAlign {
		return nil // too small for a hole record: reported again on the next scan
	}
	last := d.nextSeq - 1
	_, err := f.WriteAt(holeRecord(int(size), d.FirstSeq, last), d.Offset)
	return err
}

func (j *Journal) keepBroken(seg *segment) {
	b, err := keepBroken(seg.path)
	if err != nil {
		j.log.Warn().Err(err).Str("segment", seg.name()).Msg("journal: could not keep a copy of a damaged segment")
		return
	}
	if !slices.Contains(j.recovery.Broken, filepath.Base(b)) {
		j.recovery.Broken = append(j.recovery.Broken, filepath.Base(b))
	}
}

// loadCursorsInto sets every stream's cursor from the cursors file. A damaged
// file is kept aside and delivery restarts from the oldest retained record:
// redelivery, never loss.
func (j *Journal) loadCursorsInto() error {
	c, err := loadCursors(j.dir)
	if err != nil {
		if b, kerr := keepBroken(filepath.Join(j.dir, cursorsFile)); kerr == nil {
			j.recovery.Broken = append(j.recovery.Broken, filepath.Base(b))
		}
		j.recovery.CursorsReset = err.Error()
		j.log.Warn().Err(err).Msg("journal: cursors unusable: every retained record will be delivered again")
		c = nil
	} else if c == nil && j.hasRecords() {
		j.recovery.CursorsReset = "cursors file missing"
	}
	for name, st := range j.byName {
		st.cur = c[name]
		st.saved = st.cur
	}
	j.loadNamedCursors(c)
	return nil
}

func (j *Journal) hasRecords() bool {
	for _, s := range j.segs {
		if s.records > 0 {
			return true
		}
	}
	return false
}

// countDepth counts a stream's records after its cursor. Only a segment the
// cursor points into is read; the others are counted from their summaries.
func (j *Journal) countDepth(st *stream) error {
	st.depth = 0
	for _, seg := range j.segs {
		n, err := j.countAfter(seg, st.id, st.cur.Acked)
		if err != nil {
			return err
		}
		st.depth += n
	}
	return nil
}

// countAfter counts the records of stream id in seg with a sequence number above
// after. Called with mu held or before the committer starts.
func (j *Journal) countAfter(seg *segment, id uint8, after uint64) (uint64, error) {
	sp := seg.streams[id]
	switch {
	case sp == nil || sp.Last <= after:
		return 0, nil
	case sp.First > after:
		return sp.Count, nil
	}
	f, err := os.Open(seg.path)
	if err != nil {
		return 0, fmt.Errorf("journal: open %s: %w", seg.name(), err)
	}
	defer f.Close()
	var n uint64
	sc := scanner{w: newWindow(f, seg.end), maxBody: j.opt.MaxRecordSize}
	_, err = sc.scan(seg.name(), seg.firstSeq, func(h recordHeader, _ int64, _ []byte) {
		if h.Stream == id && h.Seq > after {
			n++
		}
	})
	if err != nil {
		return 0, fmt.Errorf("journal: scan %s: %w", seg.name(), err)
	}
	return n, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
