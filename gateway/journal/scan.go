package journal

import (
	"encoding/binary"
	"fmt"
	"io"
)

// window gives cheap random access to a file through one cached chunk; scans and
// readers go mostly forward, so one chunk is enough. It never reads at or past
// limit: bytes past the durable end of the active segment may still change.
type window struct {
	r     io.ReaderAt
	limit int64
	buf   []byte
	off   int64 // file offset of buf[0]
}

const windowChunk = 64 << 10

func newWindow(r io.ReaderAt, limit int64) *window {
	return &window{r: r, limit: limit, off: -1}
}

// get returns n bytes at off; the slice is valid until the next call.
func (w *window) get(off int64, n int) ([]byte, error) {
	if off < 0 || off+int64(n) > w.limit {
		return nil, io.ErrUnexpectedEOF
	}
	if w.off >= 0 && off >= w.off && off+int64(n) <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off : off-w.off+int64(n)], nil
	}
	size := max(n, windowChunk)
	if rest := w.limit - off; int64(size) > rest {
		size = int(rest)
	}
	if cap(w.buf) < size {
		w.buf = make([]byte, size)
	}
	w.buf = w.buf[:size]
	m, err := w.r.ReadAt(w.buf, off)
	if m < n {
		w.off = -1
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	w.buf, w.off = w.buf[:m], off
	return w.buf[:n], nil
}

// LossKind tells what damage looked like.
type LossKind int

const (
	// LossTorn: an interrupted write (zeroed sectors, a record cut short at the
	// tail). Records here were being written when the power went: their Append had
	// not returned unless the disk lied about a flush.
	LossTorn LossKind = iota + 1
	// LossCorrupt: bytes changed after they were written (a flipped bit). The good
	// records after the damage are kept.
	LossCorrupt
)

func (k LossKind) String() string {
	switch k {
	case LossTorn:
		return "torn"
	case LossCorrupt:
		return "corrupt"
	}
	return fmt.Sprintf("LossKind(%d)", int(k))
}

// Loss describes records that recovery or a reader could not read back.
type Loss struct {
	Segment   string   // segment file name
	Offset    int64    // where the damage starts
	Bytes     int64    // damaged bytes
	Records   uint64   // records lost, as far as can be told (see FirstSeq/LastSeq)
	FirstSeq  uint64   // first lost sequence number
	LastSeq   uint64   // last lost sequence number; 0 when the count is unknown
	Kind      LossKind // torn write or corruption
	Truncated bool     // true at the tail: the log was cut there; false: skipped mid-log
}

func (l Loss) String() string {
	where := "mid-log, skipped"
	if l.Truncated {
		where = "at the tail, truncated"
	}
	seqs := fmt.Sprintf("seq %d..%d", l.FirstSeq, l.LastSeq)
	if l.LastSeq == 0 {
		seqs = fmt.Sprintf("from seq %d", l.FirstSeq)
	}
	return fmt.Sprintf("%s damage in %s at offset %d (%d bytes, %s): %d records lost, %s",
		l.Kind, l.Segment, l.Offset, l.Bytes, where, l.Records, seqs)
}

// damage is a Loss plus what repair needs.
type damage struct {
	Loss
	end     int64 // first byte after the damage (tail: after the last non-zero byte)
	nextSeq uint64
}

// scanResult is what a scan of one segment found.
type scanResult struct {
	end     int64  // offset after the last good record: where appends continue
	lastSeq uint64 // last sequence number accounted for (firstSeq-1 if none)
	records uint64 // good records (holes excluded)
	damage  []damage
}

// scanner walks the records of one segment. FORMAT.md §4 is the algorithm.
type scanner struct {
	w       *window
	maxBody int
}

// visitFunc sees every good record; body is valid only during the call.
type visitFunc func(h recordHeader, off int64, body []byte)

// scan reads a whole segment from its first record. It does not stop at damage:
// it looks for the next good record, so corruption costs only the damaged records.
func (s *scanner) scan(name string, firstSeq uint64, visit visitFunc) (scanResult, error) {
	res := scanResult{end: segmentHeaderSize, lastSeq: firstSeq - 1}
	off, next := int64(segmentHeaderSize), firstSeq
	for {
		h, size, ok, err := s.recordAt(off)
		if err != nil {
			return res, err
		}
		if ok && h.Seq == next {
			off, next = s.accept(&res, h, off, size, visit)
			continue
		}
		if ok && h.Seq > next {
			// A good record with a later number and no damaged bytes before it:
			// numbers are dense, so records next..h.Seq-1 are missing.
			res.damage = append(res.damage, damage{
				Loss: Loss{Segment: name, Offset: off, Records: h.Seq - next, FirstSeq: next, LastSeq: h.Seq - 1, Kind: LossCorrupt},
				end:  off, nextSeq: h.Seq,
			})
			off, next = s.accept(&res, h, off, size, visit)
			continue
		}
		// off holds no acceptable record: the end, a torn tail, or damage. Past
		// the last non-zero byte no record can start, and in the common case (the
		// clean end of a preallocated segment) that is off itself.
		dirty, err := s.lastNonZero(off)
		if err != nil {
			return res, err
		}
		if dirty <= off {
			return res, nil
		}
		found, fh, err := s.search(off+recordAlign, next, dirty)
		if err != nil {
			return res, err
		}
		if found >= 0 {
			res.damage = append(res.damage, damage{
				Loss: Loss{Segment: name, Offset: off, Bytes: found - off, Records: fh.Seq - next,
					FirstSeq: next, LastSeq: fh.Seq - 1, Kind: s.kind(off, found)},
				end: found, nextSeq: fh.Seq,
			})
			off, next = found, fh.Seq
			continue
		}
		n, last := s.countTorn(off, dirty, next)
		l := Loss{Segment: name, Offset: off, Bytes: dirty - off, Records: n, FirstSeq: next,
			Kind: s.kind(off, dirty), Truncated: true}
		if n > 0 {
			l.LastSeq = last
		}
		res.damage = append(res.damage, damage{Loss: l, end: dirty, nextSeq: next})
		return res, nil
	}
}

func (s *scanner) accept(res *scanResult, h recordHeader, off int64, size int, visit visitFunc) (int64, uint64) {
	next := h.Seq + 1
	if h.Flags&flagHole != 0 {
		b, _ := s.w.get(off+recordHeaderSize, 8)
		next = binary.LittleEndian.Uint64(b) + 1
	} else {
		res.records++
		if visit != nil {
			body, _ := s.w.get(off+recordHeaderSize, int(h.Len))
			visit(h, off, body)
		}
	}
	res.lastSeq = next - 1
	res.end = off + int64(size)
	return res.end, next
}

// recordAt decodes and checks the record at off. ok is false when the bytes there
// are not a complete record with a valid checksum.
func (s *scanner) recordAt(off int64) (h recordHeader, size int, ok bool, err error) {
	hb, err := s.w.get(off, recordHeaderSize)
	if err != nil {
		return h, 0, false, ignoreShort(err)
	}
	h = decodeHeader(hb)
	if !h.plausible(s.maxBody) {
		return h, 0, false, nil
	}
	size = recordSize(int(h.Len))
	rec, err := s.w.get(off, size)
	if err != nil {
		return h, 0, false, ignoreShort(err)
	}
	if recordCRC(rec[:recordHeaderSize+int(h.Len)]) != h.CRC {
		return h, 0, false, nil
	}
	if h.Flags&flagHole != 0 && binary.LittleEndian.Uint64(rec[recordHeaderSize:])+1 < h.Seq {
		return h, 0, false, nil
	}
	return h, size, true, nil
}

// search looks for the next good record at an aligned offset in [from, below) whose
// sequence number is at least next (and not absurdly far beyond it). It returns -1
// when there is none: everything from the damage on is the tail.
func (s *scanner) search(from int64, next uint64, below int64) (int64, recordHeader, error) {
	const maxSkip = 1 << 32 // a wilder number is noise that happens to check out
	for off := from; off+recordHeaderSize <= s.w.limit && off < below; off += recordAlign {
		h, _, ok, err := s.recordAt(off)
		if err != nil {
			return -1, h, err
		}
		if ok && h.Seq >= next && h.Seq-next < maxSkip {
			return off, h, nil
		}
	}
	return -1, recordHeader{}, nil
}

// lastNonZero returns the offset just past the last non-zero byte at or after off,
// rounded up to the record alignment; off itself if everything after is zero.
func (s *scanner) lastNonZero(off int64) (int64, error) {
	last := off
	for pos := off; pos < s.w.limit; {
		n := int(min(int64(windowChunk), s.w.limit-pos))
		b, err := s.w.get(pos, n)
		if err != nil {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				last = min(pos+int64(paddedLen(i+1)), s.w.limit)
				break
			}
		}
		pos += int64(n)
	}
	return last, nil
}

// countTorn counts the records a torn tail held, by following headers whose
// numbers still follow on; the count is a lower bound.
func (s *scanner) countTorn(off, end int64, next uint64) (n uint64, last uint64) {
	for off+recordHeaderSize <= end {
		hb, err := s.w.get(off, recordHeaderSize)
		if err != nil {
			break
		}
		h := decodeHeader(hb)
		if !h.plausible(s.maxBody) || h.Seq != next {
			break
		}
		n, last, next = n+1, next, next+1
		off += int64(recordSize(int(h.Len)))
	}
	return n, last
}

// kind tells a torn write from corruption in the damaged bytes [off, end). A
// torn write leaves bytes never written: a zero header, a record cut short (its
// length runs past the non-zero data or the file), or whole zero sectors. A
// flipped bit leaves a record complete in length whose checksum fails.
func (s *scanner) kind(off, end int64) LossKind {
	hb, err := s.w.get(off, recordHeaderSize)
	if err != nil || allZero(hb[:8]) {
		return LossTorn
	}
	h := decodeHeader(hb)
	if !h.plausible(s.maxBody) {
		if end-off < recordHeaderSize*2 {
			return LossTorn // a header cut short at the end of the data
		}
	} else if rend := off + int64(recordSize(int(h.Len))); rend > s.w.limit || rend > end {
		return LossTorn
	}
	const sector = 512
	for sec := (off + sector - 1) / sector * sector; sec+sector <= end; sec += sector {
		if b, err := s.w.get(sec, sector); err == nil && allZero(b) {
			return LossTorn
		}
	}
	return LossCorrupt
}

func ignoreShort(err error) error {
	if err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}

// holeRecord builds the record that repair writes over damaged bytes
// [off, off+size): it carries the lost sequence range so later scans continue
// without reporting the same damage again. size is at least 32.
func holeRecord(size int, firstLost, lastLost uint64) []byte {
	body := make([]byte, size-recordHeaderSize)
	binary.LittleEndian.PutUint64(body, lastLost)
	return appendRecord(nil, firstLost, 0, 0, flagHole, body)
}
