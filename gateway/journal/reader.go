package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// Record is one record as a Reader delivers it.
type Record struct {
	Seq    uint64    // journal-wide sequence number: stable for the life of the record
	Stream string    // the stream it was appended to
	Time   time.Time // when it was appended (gateway clock)
	Body   []byte    // owned by the caller
	cbor   bool
}

// IsCBOR reports whether the record was appended with AppendCBOR.
func (r *Record) IsCBOR() bool { return r.cbor }

// Decode decodes a CBOR record into v with safe limits.
func (r *Record) Decode(v any) error {
	if !r.cbor {
		return fmt.Errorf("journal: record %d of %q is not CBOR", r.Seq, r.Stream)
	}
	if err := decMode.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("journal: decode record %d of %q: %w", r.Seq, r.Stream, err)
	}
	return nil
}

// Reader delivers one stream's records in order from its delivered cursor.
// Next and Rewind are for one goroutine; Ack may be called from any.
type Reader struct {
	// Immutable.
	j        *Journal
	st       *stream
	cs       *cstate // the consumer's state on st (guarded by j.mu)
	consumer string  // empty for the primary consumer

	// Owned by the goroutine calling Next.
	f      *os.File
	fseg   uint64
	fgen   uint64 // the generation of fseg that f is (segment.gen)
	win    *window
	pos    position
	floor  uint64 // records at or below this were delivered or acknowledged
	expect uint64 // the sequence number of the record at pos; 0 if unknown
	// verify: pos came from a cursor and is a hint, checked against the
	// sequence number found there (FORMAT.md §5.2: compaction moves records).
	verify bool

	mu sync.Mutex
	// Guarded by mu.
	pending []pend // delivered and not yet acknowledged, in order
}

type pend struct {
	seq     uint64
	end     position // where the record ends: the cursor position once acked
	seg     uint64
	gen     uint64 // the segment's generation when the record was read
	acked   bool
	expired bool
}

// Reader opens the reader of a stream, positioned at its delivered cursor. A
// stream has at most one reader at a time.
func (j *Journal) Reader(streamName string) (*Reader, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, ErrClosed
	}
	st := j.byName[streamName]
	if st == nil || !st.configured {
		return nil, fmt.Errorf("%w: %q", ErrUnknownStream, streamName)
	}
	return j.openReaderLocked(st, &st.cstate, "")
}

func (j *Journal) openReaderLocked(st *stream, cs *cstate, consumer string) (*Reader, error) {
	if cs.reader != nil {
		if consumer != "" {
			return nil, fmt.Errorf("%w: %q of consumer %q", ErrReaderOpen, st.cfg.Name, consumer)
		}
		return nil, fmt.Errorf("%w: %q", ErrReaderOpen, st.cfg.Name)
	}
	r := &Reader{j: j, st: st, cs: cs, consumer: consumer}
	r.reset(cs.cur)
	cs.reader = r
	return r, nil
}

// Next returns the next record, waiting until one is durable or ctx ends.
func (r *Reader) Next(ctx context.Context) (Record, error) {
	for {
		rec, ok, wait, err := r.readOne()
		if err != nil || ok {
			return rec, err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
}

// TryNext returns the next record if one is durable now, without waiting:
// ok is false when the reader has caught up. A batching consumer takes its
// first record with Next and tops the batch up with TryNext, so a batch is
// what is already on disk and never waits for more.
func (r *Reader) TryNext() (rec Record, ok bool, err error) {
	rec, ok, _, err = r.readOne()
	return rec, ok, err
}

// readOne delivers the next record if one is durable; otherwise it returns the
// channel that the next commit closes.
func (r *Reader) readOne() (rec Record, ok bool, wait <-chan struct{}, err error) {
	j := r.j
	for {
		j.mu.Lock()
		if j.closed || r.cs.reader != r {
			j.mu.Unlock()
			return rec, false, nil, ErrClosed
		}
		seg, last := r.locateLocked()
		if seg == nil {
			wait = j.commitCh
			j.mu.Unlock()
			return rec, false, wait, nil
		}
		if r.f != nil && r.fseg == seg.index && r.fgen != seg.gen {
			// Compacted since we opened it (FORMAT.md §7): offsets changed, so
			// read the new file from its start; the floor skips what was read.
			r.f.Close()
			r.f = nil
			r.pos.Off, r.expect = segmentHeaderSize, seg.firstSeq
		}
		limit, gen := seg.end, seg.gen
		if r.pos.Off >= limit {
			if last {
				wait = j.commitCh
				j.mu.Unlock()
				return rec, false, wait, nil
			}
			if r.verify {
				// A cursor at the end of a sealed segment that still holds
				// records of the stream past the floor is stale: look again.
				r.pos.Off, r.expect, r.verify = segmentHeaderSize, seg.firstSeq, false
				j.mu.Unlock()
				continue
			}
			r.pos, r.expect = position{Seg: seg.index + 1}, 0
			j.mu.Unlock()
			continue
		}
		// Opened under mu, so the file is the generation seg describes.
		err := r.open(seg)
		j.mu.Unlock()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted while we looked: locate moves on
			}
			return rec, false, nil, err
		}
		r.win.limit = limit
		sc := scanner{w: r.win, maxBody: j.opt.MaxRecordSize}
		h, size, good, err := sc.recordAt(r.pos.Off)
		if err != nil {
			return rec, false, nil, fmt.Errorf("journal: read %s at offset %d: %w", seg.name(), r.pos.Off, err)
		}
		if r.pos.Off == segmentHeaderSize {
			r.expect, r.verify = seg.firstSeq, false
		}
		if r.verify {
			r.verify = false
			if !good || !r.expected(h) {
				r.pos.Off, r.expect = segmentHeaderSize, seg.firstSeq
				continue
			}
		}
		if !good {
			next, nextSeq, err := j.damagedAt(seg, gen, r.f, r.pos.Off, limit, r.expect)
			if errors.Is(err, errCompacted) {
				continue
			}
			if err != nil {
				return rec, false, nil, err
			}
			r.pos.Off, r.expect = next, nextSeq
			continue
		}
		at := r.pos
		r.pos.Off += int64(size)
		r.expect = h.Seq + 1
		if h.Flags&flagHole != 0 {
			b, _ := r.win.get(at.Off+recordHeaderSize, 8)
			r.expect = binary.LittleEndian.Uint64(b) + 1
		}
		if h.Flags&flagHole != 0 || h.Stream != r.st.id || h.Seq <= r.floor {
			continue
		}
		if maxAge := r.st.cfg.MaxAge; maxAge > 0 && h.TimeMs < j.opt.Now().Add(-maxAge).UnixMilli() {
			j.mu.Lock()
			if seg.gen != gen {
				j.mu.Unlock()
				continue // compacted meanwhile: the next round reads the new file
			}
			r.floor = h.Seq
			r.push(pend{seq: h.Seq, end: r.pos, seg: seg.index, gen: gen, acked: true, expired: true})
			if r.consumer == "" {
				r.st.expired++ // the stream's count; a named consumer's skips are not counted again
			}
			r.cs.readHigh = max(r.cs.readHigh, h.Seq)
			j.mu.Unlock()
			r.advance()
			continue
		}
		body, err := r.win.get(at.Off+recordHeaderSize, int(h.Len))
		if err != nil {
			return rec, false, nil, fmt.Errorf("journal: read %s at offset %d: %w", seg.name(), at.Off, err)
		}
		rec = Record{
			Seq: h.Seq, Stream: r.st.cfg.Name, Time: time.UnixMilli(h.TimeMs),
			Body: slices.Clone(body), cbor: h.Flags&flagCBOR != 0,
		}
		// Delivered only if the segment was not compacted while we read it:
		// compaction sheds only records past readHigh, which this one
		// becomes part of under the same lock.
		j.mu.Lock()
		if seg.gen != gen {
			j.mu.Unlock()
			continue
		}
		r.floor = h.Seq
		r.push(pend{seq: h.Seq, end: r.pos, seg: seg.index, gen: gen})
		r.cs.readHigh = max(r.cs.readHigh, h.Seq)
		j.mu.Unlock()
		return rec, true, nil, nil
	}
}

// expected reports whether the record at a cursor's position is the one the
// cursor says comes next: the record numbered expect, or a hole covering it.
func (r *Reader) expected(h recordHeader) bool {
	if r.expect == 0 {
		return false
	}
	if h.Flags&flagHole != 0 {
		b, err := r.win.get(r.pos.Off+recordHeaderSize, 8)
		return err == nil && h.Seq <= r.expect && r.expect <= binary.LittleEndian.Uint64(b)+1
	}
	return h.Seq == r.expect
}

// locateLocked finds the segment to read, skipping deleted segments and sealed
// ones without records of this stream past the floor. It reports whether the
// segment is the active one.
func (r *Reader) locateLocked() (*segment, bool) {
	segs := r.j.segs
	i := sort.Search(len(segs), func(i int) bool { return segs[i].index >= r.pos.Seg })
	for ; i < len(segs); i++ {
		seg := segs[i]
		last := i == len(segs)-1
		if seg.index != r.pos.Seg {
			r.pos, r.expect = position{Seg: seg.index, Off: segmentHeaderSize}, seg.firstSeq
		}
		if r.pos.Off < segmentHeaderSize {
			r.pos.Off = segmentHeaderSize
		}
		if sp := seg.streams[r.st.id]; !last && (sp == nil || sp.Last <= r.floor) {
			continue
		}
		return seg, last
	}
	return nil, false
}

func (r *Reader) open(seg *segment) error {
	if r.f != nil && r.fseg == seg.index {
		return nil
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	f, err := os.Open(seg.path)
	if err != nil {
		return err
	}
	r.f, r.fseg, r.fgen, r.win = f, seg.index, seg.gen, newWindow(f, 0)
	return nil
}

func (r *Reader) push(p pend) {
	r.mu.Lock()
	r.pending = append(r.pending, p)
	r.mu.Unlock()
}

// Ack acknowledges a delivered record. The cursor advances over the longest
// acknowledged prefix of what was delivered, so acks may come in any order.
func (r *Reader) Ack(seq uint64) error {
	r.mu.Lock()
	i := sort.Search(len(r.pending), func(i int) bool { return r.pending[i].seq >= seq })
	if i == len(r.pending) || r.pending[i].seq != seq {
		r.mu.Unlock()
		return fmt.Errorf("%w: %d in stream %q", ErrNotPending, seq, r.st.cfg.Name)
	}
	r.pending[i].acked = true
	r.mu.Unlock()
	r.advance()
	return nil
}

// advance moves the cursor over the acknowledged prefix of pending.
func (r *Reader) advance() {
	r.mu.Lock()
	n := 0
	for n < len(r.pending) && r.pending[n].acked {
		n++
	}
	if n == 0 {
		r.mu.Unlock()
		return
	}
	// Reslice rather than shift what remains: acking a batch in order, one
	// record at a time, would otherwise move the rest of the batch on every
	// ack. Appends only ever write past the end, so done stays as it is; the
	// acknowledged prefix is let go when append next grows the array.
	done := r.pending[:n:n]
	r.pending = r.pending[n:]
	r.mu.Unlock()

	j := r.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.cs.reader != r {
		return // closed meanwhile: its deliveries no longer count
	}
	last := done[n-1]
	if last.seq > r.cs.cur.Acked {
		pos := last.end
		if s := j.findSegLocked(last.seg); s != nil && s.gen != last.gen {
			pos.Off = 0 // compacted since: the offset no longer holds (FORMAT.md §5.2)
		}
		r.cs.cur = cursor{Acked: last.seq, Pos: pos}
		j.cursorsDirty = true
	}
	for _, p := range done {
		if !p.expired {
			r.cs.acked++
		}
		// A record whose segment was shed or expired was counted out of the
		// backlog when the segment went.
		if j.findSegLocked(p.seg) != nil && r.cs.depth > 0 {
			r.cs.depth--
		}
	}
}

// Rewind forgets every delivered but unacknowledged record: the next call to
// Next returns the first of them again. The uplink calls it on each new broker
// session, whose replay starts from the cursor.
func (r *Reader) Rewind() {
	r.mu.Lock()
	r.pending = nil
	r.mu.Unlock()
	r.j.mu.Lock()
	r.reset(r.cs.cur)
	r.j.mu.Unlock()
}

// reset positions the reader at a cursor: just after its acknowledged record,
// whose successor in the log has the next sequence number (numbers are dense).
func (r *Reader) reset(c cursor) {
	r.pos, r.floor, r.expect = c.Pos, c.Acked, 0
	if c.Pos.Seg != 0 && c.Acked != 0 {
		r.expect = c.Acked + 1
	}
	r.verify = c.Pos.Off > segmentHeaderSize
}

// Pending is the number of delivered records not yet acknowledged.
func (r *Reader) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Close releases the stream for another reader. Unacknowledged records are
// delivered again by the next reader.
func (r *Reader) Close() error {
	r.j.mu.Lock()
	if r.cs.reader == r {
		r.cs.reader = nil
	}
	r.j.mu.Unlock()
	if r.f != nil {
		err := r.f.Close()
		r.f = nil
		return err
	}
	return nil
}

func (j *Journal) findSegLocked(index uint64) *segment {
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].index >= index })
	if i < len(j.segs) && j.segs[i].index == index {
		return j.segs[i]
	}
	return nil
}

// damagedAt handles a record that fails its checks below the durable end: the
// disk changed it after it was written. It finds the next good record, repairs
// the gap with a hole record, reports the loss and returns where to go on and
// the sequence number found there. expect is the number the damaged record
// should have had (0: unknown, then the range cannot be told or repaired).
func (j *Journal) damagedAt(seg *segment, gen uint64, f *os.File, off, limit int64, expect uint64) (int64, uint64, error) {
	j.repairMu.Lock()
	defer j.repairMu.Unlock()
	// Read with a fresh window: the reader's own may predate another reader's repair.
	sc := scanner{w: newWindow(f, limit), maxBody: j.opt.MaxRecordSize}
	if h, _, ok, err := sc.recordAt(off); err != nil {
		return 0, 0, fmt.Errorf("journal: read %s at offset %d: %w", seg.name(), off, err)
	} else if ok {
		return off, h.Seq, nil // repaired meanwhile
	}
	found, fh, err := sc.search(off+recordAlign, expect, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("journal: search %s after offset %d: %w", seg.name(), off, err)
	}
	end, nextSeq := limit, uint64(0)
	if found >= 0 {
		end, nextSeq = found, fh.Seq
	}
	d := damage{Loss: Loss{Segment: seg.name(), Offset: off, Bytes: end - off, Kind: sc.kind(off, end)}, end: end, nextSeq: nextSeq}
	if expect != 0 {
		d.FirstSeq = expect
		if found >= 0 {
			d.LastSeq, d.Records = fh.Seq-1, fh.Seq-expect
		}
	}
	// Under mu, so that compaction cannot replace the file between the check
	// and the repair: a repair at these offsets in a compacted file would
	// damage it.
	j.mu.Lock()
	defer j.mu.Unlock()
	if seg.gen != gen || seg.deleted {
		return 0, 0, errCompacted
	}
	j.keepBroken(seg)
	if expect != 0 && found >= 0 {
		if err := j.repairFile(seg, d); err != nil {
			j.log.Warn().Err(err).Str("segment", seg.name()).Msg("journal: could not repair damaged records")
		}
	}
	j.log.Error().Str("loss", d.Loss.String()).Msg("journal: damaged records found while reading")
	j.losses = append(j.losses, d.Loss)
	return end, nextSeq, nil
}

// errCompacted tells a reader that the segment it read was compacted (or
// deleted) meanwhile: what looked like damage may be the file's replacement.
var errCompacted = errors.New("journal: segment changed while read")

func (j *Journal) repairFile(seg *segment, d damage) error {
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := repair(f, d); err != nil {
		return err
	}
	return f.Sync()
}

// Replay calls fn with every retained record of a stream, oldest first,
// whatever its cursor says: delivered records a stream keeps (Stream.Keep) and
// undelivered ones alike, but not records past MaxAge. It reads what is durable
// when it starts. The command log rebuilds its memory of command ids this way.
func (j *Journal) Replay(ctx context.Context, streamName string, fn func(Record) error) error {
	j.mu.Lock()
	st := j.byName[streamName]
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	if st == nil || !st.configured {
		j.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownStream, streamName)
	}
	type part struct {
		seg *segment
		end int64
	}
	var parts []part
	for _, seg := range j.segs {
		if seg.streams[st.id] != nil {
			parts = append(parts, part{seg, seg.end})
		}
	}
	j.mu.Unlock()
	cutoff := int64(0)
	if st.cfg.MaxAge > 0 {
		cutoff = j.opt.Now().Add(-st.cfg.MaxAge).UnixMilli()
	}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(p.seg.path)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted meanwhile: nothing in it was needed
		}
		if err != nil {
			return fmt.Errorf("journal: replay %q: %w", streamName, err)
		}
		// A segment compacted since the list was taken is shorter than p.end
		// said; the copy is whole, so its size bounds it.
		limit := p.end
		if fi, err := f.Stat(); err == nil {
			limit = min(limit, fi.Size())
		}
		var ferr error
		sc := scanner{w: newWindow(f, limit), maxBody: j.opt.MaxRecordSize}
		_, err = sc.scan(p.seg.name(), p.seg.firstSeq, func(h recordHeader, _ int64, body []byte) {
			if ferr != nil || h.Stream != st.id || h.TimeMs < cutoff {
				return
			}
			ferr = fn(Record{Seq: h.Seq, Stream: streamName, Time: time.UnixMilli(h.TimeMs),
				Body: slices.Clone(body), cbor: h.Flags&flagCBOR != 0})
		})
		f.Close()
		if err != nil {
			return fmt.Errorf("journal: replay %q: %w", streamName, err)
		}
		if ferr != nil {
			return ferr
		}
	}
	return nil
}
