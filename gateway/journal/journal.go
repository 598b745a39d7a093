package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// Journal is an open journal directory. Its methods are safe for concurrent use.
type Journal struct {
	// Immutable after Open.
	dir      string
	opt      Options
	log      zerolog.Logger
	lockF    *os.File
	byName   map[string]*stream
	byID     [256]*stream
	recovery Recovery

	// Owned by the committer goroutine (and by Open before it starts).
	w              *os.File // the active segment
	nextSeq        uint64
	lastSync       time.Time
	lastCursorSave time.Time

	mu sync.Mutex
	// Guarded by mu.
	segs         []*segment // ascending index; the last one is active
	cur          *batch
	inflight     int64 // bytes appended but not yet committed
	diskBytes    int64 // bytes of segment files
	closed       bool
	failed       error
	commitCh     chan struct{} // closed after each commit, to wake readers
	cursorsDirty bool
	losses       []Loss // damage found by readers after Open
	full         fullTracker
	shedding     shedState

	repairMu sync.Mutex // serialises read-time repairs
	st       counters

	kick   chan struct{} // wakes the committer; capacity 1
	stop   chan struct{} // closed by Close
	window *windowTimer  // the committer's wait for the rest of its window
	wg     sync.WaitGroup
}

// stream is the state of one stream.
type stream struct {
	// Immutable.
	cfg        Stream
	id         uint8
	configured bool // false: found on disk, no longer in Options.Streams

	// Guarded by Journal.mu.
	cstate                      // the primary consumer's cursor and reader
	named    map[string]*cstate // the named consumers' (consumer.go), by name
	appended uint64             // since Open
	shed     uint64             // since Open
	expired  uint64             // since Open
	logged   uint64             // expired as last logged
	refused  uint64             // records refused with ErrFull since Open
}

type counters struct {
	commits, records, bytes, fsyncs uint64
	compactions                     uint64
	compactBytes                    uint64 // bytes of compacted copies written
	shedOnArrival                   uint64 // records shed on arrival (shed.go)
	syncTime                        time.Duration
}

// CPU profiler labels of the committer (the gateway's per-stage breakdown,
// docs/PERFORMANCE.md): stage=journal, and stage=fsync while it is in
// fdatasync. Immutable; made once so that setting them allocates nothing.
var (
	commitLabels = pprof.WithLabels(context.Background(), pprof.Labels("stage", "journal"))
	fsyncLabels  = pprof.WithLabels(context.Background(), pprof.Labels("stage", "fsync"))
)

// batch is the set of records that share one commit.
type batch struct {
	buf      []byte
	offs     []int // record start offsets in buf
	done     chan struct{}
	err      error
	firstSeq uint64
	// shed lists, in log order, the stream of each record of the batch that
	// is shed on arrival (shed.go): written as a hole, counted as shed.
	shed []*stream
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Append adds a record with a raw body to stream and returns its sequence number
// once it is durable (fdatasync'd). Concurrent appenders share commits.
//
// Its result is the record's fate, also when ctx ends: an Append whose ctx
// ends before the record joins a commit returns ctx's error and appends
// nothing; once the record is in a commit, Append waits for that commit's
// outcome (one SyncWindow and an fdatasync at most), so a caller never has
// to guess whether a record it was refused is durable.
func (j *Journal) Append(ctx context.Context, streamName string, body []byte) (uint64, error) {
	return j.append(ctx, streamName, body, 0)
}

// AppendCBOR encodes v as deterministic CBOR and appends it like Append; the
// record reads back with Record.IsCBOR true.
func (j *Journal) AppendCBOR(ctx context.Context, streamName string, v any) (uint64, error) {
	body, err := encMode.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("journal: encode record for %q: %w", streamName, err)
	}
	return j.append(ctx, streamName, body, flagCBOR)
}

// AppendBatch appends several records to one stream in one commit and returns
// their sequence numbers (consecutive, in order) once all are durable. It is how
// an intake that received a window of events from a device stores them: one wait,
// one fdatasync shared with every other appender. The batch must fit in
// Options.MaxBatchBytes.
func (j *Journal) AppendBatch(ctx context.Context, streamName string, bodies [][]byte) ([]uint64, error) {
	entries := make([]Entry, len(bodies))
	for i, b := range bodies {
		entries[i] = Entry{Stream: streamName, Body: b}
	}
	return j.AppendEntries(ctx, entries)
}

// Entry is one record for AppendEntries.
type Entry struct {
	Stream string
	Body   []byte
}

// AppendEntries appends records to any streams in one commit, in the order
// given, and returns their sequence numbers (consecutive) once all are
// durable: they become durable together or not at all. A device's window of
// events, which may belong to several streams, is stored this way.
func (j *Journal) AppendEntries(ctx context.Context, entries []Entry) ([]uint64, error) {
	first, err := j.appendMany(ctx, entries, 0)
	if err != nil {
		return nil, err
	}
	seqs := make([]uint64, len(entries))
	for i := range seqs {
		seqs[i] = first + uint64(i)
	}
	return seqs, nil
}

func (j *Journal) append(ctx context.Context, streamName string, body []byte, flags uint8) (uint64, error) {
	return j.appendMany(ctx, []Entry{{Stream: streamName, Body: body}}, flags)
}

// appendMany adds entries to the current batch, contiguously, and waits for
// its commit. It returns the first record's sequence number.
func (j *Journal) appendMany(ctx context.Context, entries []Entry, flags uint8) (uint64, error) {
	if len(entries) == 0 {
		return 0, fmt.Errorf("%w: no records", ErrEmpty)
	}
	sts := make([]*stream, len(entries))
	size := 0
	for i, e := range entries {
		st := j.byName[e.Stream]
		switch {
		case st == nil || !st.configured:
			return 0, fmt.Errorf("%w: %q", ErrUnknownStream, e.Stream)
		case len(e.Body) == 0:
			return 0, fmt.Errorf("%w: stream %q, record %d of %d", ErrEmpty, e.Stream, i+1, len(entries))
		case len(e.Body) > j.opt.MaxRecordSize:
			return 0, fmt.Errorf("%w: stream %q: %d bytes, limit %d", ErrTooLarge, e.Stream, len(e.Body), j.opt.MaxRecordSize)
		}
		sts[i] = st
		size += recordSize(len(e.Body))
	}
	streamName := entries[0].Stream
	if size > j.opt.MaxBatchBytes {
		return 0, fmt.Errorf("%w: stream %q: a batch of %d records takes %d bytes, limit %d (MaxBatchBytes)",
			ErrTooLarge, streamName, len(entries), size, j.opt.MaxBatchBytes)
	}
	timeMs := j.opt.Now().UnixMilli()
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("journal: append to %q: not appended: %w", streamName, err)
	}

	j.mu.Lock()
	for {
		if err := j.usableLocked(); err != nil {
			j.mu.Unlock()
			return 0, err
		}
		if b := j.cur; len(b.offs) > 0 && len(b.buf)+size > j.opt.MaxBatchBytes {
			// This commit is full: wait for it, then join the next one.
			j.mu.Unlock()
			select {
			case <-b.done:
			case <-ctx.Done():
				return 0, fmt.Errorf("journal: append to %q: not appended: %w", streamName, ctx.Err())
			}
			j.mu.Lock()
			continue
		}
		break
	}
	shed := j.shedOnArrivalLocked(sts)
	if shed != nil {
		size = 0
		for i, e := range entries {
			if shed[i] {
				size += holeSize
			} else {
				size += recordSize(len(e.Body))
			}
		}
	}
	if err := j.reserveLocked(sts, size); err != nil {
		j.mu.Unlock()
		return 0, err
	}
	b := j.cur
	idx := len(b.offs)
	for i, e := range entries {
		b.offs = append(b.offs, len(b.buf))
		if shed != nil && shed[i] {
			b.buf = appendUnsealed(b.buf, 0, 0, flagHole, make([]byte, holeSize-recordHeaderSize))
			b.shed = append(b.shed, sts[i])
			continue
		}
		b.buf = appendUnsealed(b.buf, timeMs, sts[i].id, flags, e.Body)
	}
	j.inflight += int64(size)
	j.mu.Unlock()

	select {
	case j.kick <- struct{}{}:
	default:
	}
	// The entries are in the batch: whatever ctx says now, they become durable
	// or fail with it, and the caller must learn which. Returning on ctx here
	// made a link resend (after an unplug) an event that was in fact
	// committed, journaled twice with two received times. The wait is bounded
	// by the committer, which commits every batch, also on Close.
	<-b.done
	if b.err != nil {
		return 0, fmt.Errorf("journal: append to %q: %w", streamName, b.err)
	}
	return b.firstSeq + uint64(idx), nil
}

func (j *Journal) usableLocked() error {
	if j.closed {
		return ErrClosed
	}
	if j.failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, j.failed)
	}
	return nil
}

// run is the committer: it turns batches into durable records, at most one
// fdatasync per SyncWindow, and does the journal's housekeeping between commits.
// The window is wall-clock pacing (a performance bound), not the injected clock.
func (j *Journal) run() {
	defer j.wg.Done()
	pprof.SetGoroutineLabels(commitLabels)
	tick := time.NewTicker(max(j.opt.CursorInterval, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-j.kick:
			// Due exactly one window after the last write began, and never
			// earlier: at most one fdatasync per window. A timerfd, not a Go
			// timer, which would wake up to 1 ms late (window_linux.go).
			j.window.sleep(j.opt.SyncWindow-time.Since(j.lastSync), j.stop)
			j.commit()
			j.maintain(false)
		case <-tick.C:
			j.maintain(false)
		case <-j.stop:
			j.commit()
			j.maintain(true)
			return
		}
	}
}

// commit makes the current batch durable and releases its appenders.
func (j *Journal) commit() {
	j.mu.Lock()
	b := j.cur
	if len(b.offs) == 0 {
		j.mu.Unlock()
		return
	}
	j.cur = newBatch()
	failed := j.failed
	j.mu.Unlock()

	var sealed []*segment
	err := failed
	if err == nil {
		sealed, err = j.write(b)
	}
	j.mu.Lock()
	j.inflight -= int64(len(b.buf))
	if errors.Is(err, ErrFull) {
		j.refusedLocked(j.batchStreamsLocked(b), FullDisk, err)
	}
	j.mu.Unlock()
	b.err = err
	close(b.done)
	// Under mu: a sealed segment may be compacted or deleted at any time
	// (compact.go), and its summary must describe the file that is there.
	j.mu.Lock()
	for _, s := range sealed {
		if s.deleted {
			continue
		}
		if err := s.writeIndex(j.dir); err != nil {
			// Not fatal: Open rebuilds a missing index by scanning the segment.
			j.log.Warn().Err(err).Str("segment", s.name()).Msg("journal: could not write segment index")
		}
	}
	j.mu.Unlock()
}

// write lays a batch into the active segment (rotating as needed), fdatasyncs it
// and publishes the records to readers. It returns the segments it sealed.
func (j *Journal) write(b *batch) ([]*segment, error) {
	j.mu.Lock()
	active := j.segs[len(j.segs)-1]
	off := active.end
	j.mu.Unlock()

	// Plan the split first and create every new segment before writing anything,
	// so a full disk fails the whole batch and no sequence number is spent.
	type chunk struct {
		seg      *segment
		f        *os.File
		from, to int // record indexes [from, to)
		off      int64
	}
	// A batch that does not fit in the active segment goes whole into a new one
	// (leaving the old one's tail unused) so that a commit costs one fdatasync;
	// only a batch larger than a segment is split.
	chunks := []chunk{{seg: active, f: j.w, off: off}}
	if off+int64(len(b.buf)) > active.size {
		chunks = append(chunks, chunk{off: segmentHeaderSize})
		off = segmentHeaderSize
	}
	for i := range b.offs {
		size := int64(b.size(i))
		if off+size > j.opt.SegmentSize && len(chunks) > 1 && i > chunks[len(chunks)-1].from {
			chunks[len(chunks)-1].to = i
			chunks = append(chunks, chunk{from: i, off: segmentHeaderSize})
			off = segmentHeaderSize
		}
		off += size
	}
	chunks[len(chunks)-1].to = len(b.offs)
	seq := j.nextSeq
	j.mu.Lock()
	index := active.index
	j.mu.Unlock()
	for k := 1; k < len(chunks); k++ {
		index++
		c := &chunks[k]
		f, err := createSegment(j.dir, index, seq+uint64(c.from), j.opt.SegmentSize)
		if err != nil {
			for _, c := range chunks[1:k] {
				c.f.Close()
				os.Remove(c.seg.path)
			}
			if errors.Is(err, unix.ENOSPC) {
				return nil, fmt.Errorf("%w: no space for a new segment: %w", ErrFull, err)
			}
			return nil, err
		}
		c.f, c.seg = f, newSegment(j.dir, index, seq+uint64(c.from), j.opt.SegmentSize)
	}

	// Seal (number and checksum) in log order, then write and sync each file.
	b.firstSeq = seq
	for i, o := range b.offs {
		if b.buf[o+23]&flagHole != 0 {
			// A record shed on arrival: a hole standing for its own number.
			binary.LittleEndian.PutUint64(b.buf[o+recordHeaderSize:], seq+uint64(i))
		}
		sealRecord(b.buf[o:], seq+uint64(i))
	}
	start := time.Now()
	// Pace commits start to start: still at most one fdatasync per window, and
	// the time the sync itself takes is not added to every cycle.
	j.lastSync = start
	syncs := 0
	for _, c := range chunks {
		if c.from == c.to {
			continue
		}
		data := b.buf[b.offs[c.from]:b.end(c.to-1)]
		if _, err := c.f.WriteAt(data, c.off); err != nil {
			return nil, j.fail(fmt.Errorf("write %s at offset %d: %w", c.seg.name(), c.off, err))
		}
		pprof.SetGoroutineLabels(fsyncLabels)
		err := unix.Fdatasync(int(c.f.Fd()))
		pprof.SetGoroutineLabels(commitLabels)
		if err != nil {
			return nil, j.fail(fmt.Errorf("fdatasync %s: %w", c.seg.name(), err))
		}
		syncs++
	}
	latency := time.Since(start)
	j.nextSeq = seq + uint64(len(b.offs))

	// Publish.
	var sealed []*segment
	holes := 0
	j.mu.Lock()
	for k, c := range chunks {
		seg := c.seg
		if k > 0 {
			prev := chunks[k-1]
			prev.seg.sealed = true
			sealed = append(sealed, prev.seg)
			j.segs = append(j.segs, seg)
			j.diskBytes += seg.size
		}
		o := c.off
		for i := c.from; i < c.to; i++ {
			h := decodeHeader(b.buf[b.offs[i]:])
			o += int64(b.size(i))
			if h.Flags&flagHole != 0 {
				st := b.shed[0]
				b.shed = b.shed[1:]
				st.appended++
				st.shed++
				holes++
				continue
			}
			seg.add(h)
			st := j.byID[h.Stream]
			st.appended++
			st.depth++
			for _, cs := range st.named {
				cs.depth++
			}
		}
		seg.end = o
		if c.to > c.from {
			seg.lastSeq = seq + uint64(c.to) - 1
		}
	}
	j.st.commits++
	j.st.records += uint64(len(b.offs) - holes)
	j.st.shedOnArrival += uint64(holes)
	j.st.bytes += uint64(len(b.buf))
	j.st.fsyncs += uint64(syncs + 2*(len(chunks)-1)) // each new segment: its header and the directory
	j.st.syncTime += latency
	if len(chunks) > 1 {
		j.roomLocked() // a new segment fit on the file system
	}
	close(j.commitCh)
	j.commitCh = make(chan struct{})
	j.mu.Unlock()
	if len(chunks) > 1 {
		j.w.Close()
		j.w = chunks[len(chunks)-1].f
	}
	if j.opt.OnSync != nil {
		j.opt.OnSync(latency, len(b.offs), len(b.buf))
	}
	return sealed, nil
}

func (b *batch) size(i int) int { return b.end(i) - b.offs[i] }

// batchStreamsLocked lists the stream of every record in b, for counting refusals.
func (j *Journal) batchStreamsLocked(b *batch) []*stream {
	sts := make([]*stream, 0, len(b.offs))
	for _, o := range b.offs {
		if st := j.byID[decodeHeader(b.buf[o:]).Stream]; st != nil {
			sts = append(sts, st)
		}
	}
	return sts
}

func (b *batch) end(i int) int {
	if i+1 < len(b.offs) {
		return b.offs[i+1]
	}
	return len(b.buf)
}

// fail puts the journal in the failed state: after a write or fsync error the
// page cache may no longer match the disk, so nothing more is acknowledged.
func (j *Journal) fail(err error) error {
	j.mu.Lock()
	if j.failed == nil {
		j.failed = err
	}
	j.mu.Unlock()
	j.log.Error().Err(err).Msg("journal: write failed; refusing appends until reopened")
	return fmt.Errorf("%w: %w", ErrFailed, err)
}

// Close flushes pending appends, persists the cursors and releases the directory.
// Readers return ErrClosed afterwards.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	// No new appender gets in; the ones already in the batch are committed by
	// the committer's last round.
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	j.window.interrupt()
	j.wg.Wait()
	j.window.close()
	j.mu.Lock()
	close(j.commitCh) // wake readers; they see closed
	j.commitCh = make(chan struct{})
	failed := j.failed
	j.mu.Unlock()
	var errs []error
	if j.w != nil {
		errs = append(errs, j.w.Close())
	}
	errs = append(errs, j.lockF.Close())
	if failed != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrFailed, failed))
	}
	return errors.Join(errs...)
}

// Dir returns the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Recovery reports what Open found and repaired.
func (j *Journal) Recovery() Recovery { return j.recovery }
