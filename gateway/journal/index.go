package journal

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/officegate/officegate/internal/cbormode"
)

// span summarises one stream's records in one segment: enough to decide whether
// the segment is still needed, to count a backlog and to find a cursor's segment
// without reading records (FORMAT.md §5.3).
type span struct {
	Count   uint64 `cbor:"1,keyasint"`
	First   uint64 `cbor:"2,keyasint"`
	Last    uint64 `cbor:"3,keyasint"`
	MinTime int64  `cbor:"4,keyasint"` // ms since the Unix epoch
	MaxTime int64  `cbor:"5,keyasint"`
}

func (s *span) add(seq uint64, timeMs int64) {
	if s.Count == 0 {
		s.First, s.MinTime, s.MaxTime = seq, timeMs, timeMs
	}
	s.Count++
	s.Last = seq
	s.MinTime = min(s.MinTime, timeMs)
	s.MaxTime = max(s.MaxTime, timeMs)
}

// segIndex is the on-disk form of a sealed segment's summary (the .idx file).
type segIndex struct {
	Index    uint64          `cbor:"1,keyasint"`
	FirstSeq uint64          `cbor:"2,keyasint"`
	LastSeq  uint64          `cbor:"3,keyasint"`
	End      int64           `cbor:"4,keyasint"`
	Records  uint64          `cbor:"5,keyasint"`
	Streams  map[uint8]*span `cbor:"6,keyasint"`
}

// The module's CBOR modes (internal/cbormode). Metadata files and CBOR bodies
// are read back from our own disk, but a damaged disk is hostile input all the
// same.
var (
	encMode = cbormode.Enc
	decMode = cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 16, MaxArrayElements: 4096, MaxMapPairs: 4096})
)

// segment is the in-memory state of one segment file.
type segment struct {
	// Immutable.
	index    uint64
	firstSeq uint64
	path     string
	size     int64 // file size (preallocated)

	// Guarded by Journal.mu.
	end     int64  // durable end of data: readers read below it
	lastSeq uint64 // last sequence number in the segment; firstSeq-1 when empty
	records uint64
	streams map[uint8]*span
	sealed  bool
	deleted bool
	// gen counts compactions since Open: a reader that opened the file at
	// another generation reads the new one from its start.
	gen uint64
	// A compaction at futileLevel that found nothing to gain, while the
	// streams' progress summed to futileKey (progressKeyLocked): not tried
	// again at that level or a less aggressive one until progress moves.
	futileKey   uint64
	futileLevel Priority
}

func newSegment(dir string, index, firstSeq uint64, size int64) *segment {
	return &segment{
		index: index, firstSeq: firstSeq, size: size,
		path:    filepath.Join(dir, segmentName(index, firstSeq)),
		end:     segmentHeaderSize,
		lastSeq: firstSeq - 1,
		streams: map[uint8]*span{},
	}
}

func (s *segment) name() string { return filepath.Base(s.path) }

func (s *segment) add(h recordHeader) {
	sp := s.streams[h.Stream]
	if sp == nil {
		sp = &span{}
		s.streams[h.Stream] = sp
	}
	sp.add(h.Seq, h.TimeMs)
	s.records++
}

func (s *segment) writeIndex(dir string) error {
	body, err := encMode.Marshal(segIndex{
		Index: s.index, FirstSeq: s.firstSeq, LastSeq: s.lastSeq, End: s.end,
		Records: s.records, Streams: s.streams,
	})
	if err != nil {
		return fmt.Errorf("journal: encode index of %s: %w", s.name(), err)
	}
	// Not synced: a summary lost to a crash is rebuilt by scanning the segment.
	return writeFileMode(dir, indexName(s.index, s.firstSeq), encodeMeta(magicIndex, body), syncNone)
}

// loadIndex fills s from its .idx file. It fails when the file is missing,
// damaged, or disagrees with the segment: the caller then scans the segment.
func (s *segment) loadIndex(dir string) error {
	body, err := readMeta(filepath.Join(dir, indexName(s.index, s.firstSeq)), magicIndex)
	if err != nil {
		return err
	}
	if body == nil {
		return fmt.Errorf("journal: %s: %w", indexName(s.index, s.firstSeq), os.ErrNotExist)
	}
	var ix segIndex
	if err := decMode.Unmarshal(body, &ix); err != nil {
		return fmt.Errorf("journal: decode %s: %w", indexName(s.index, s.firstSeq), err)
	}
	if ix.Index != s.index || ix.FirstSeq != s.firstSeq || ix.End < segmentHeaderSize || ix.End > s.size ||
		ix.LastSeq+1 < s.firstSeq {
		return fmt.Errorf("journal: %s disagrees with its segment", indexName(s.index, s.firstSeq))
	}
	s.end, s.lastSeq, s.records = ix.End, ix.LastSeq, ix.Records
	s.streams = ix.Streams
	if s.streams == nil {
		s.streams = map[uint8]*span{}
	}
	for id, sp := range s.streams {
		if sp == nil || sp.Count == 0 {
			delete(s.streams, id)
		}
	}
	return nil
}
