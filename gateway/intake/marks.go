package intake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"unicode/utf8"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/internal/atomicfile"
	"github.com/officegate/officegate/internal/cbormode"
)

// A device's high-water mark lives in two places (PROTOCOL.md §6.4):
//
//   - In the journal, in the same commit as the events: each commit of a
//     device's events carries one record on the marks stream (StreamMarks),
//     the CBOR array [hardware id, boot, seq] of the highest event in it. A
//     mark is durable exactly when its events are, before the device is
//     acknowledged and forgets them.
//   - In the marks file, a checkpoint: every MarksEvery the intake reads the
//     marks stream, saves the file, and only then acknowledges the records it
//     read, so the journal keeps every mark record newer than the file.
//
// At open the mark of a device is the file's, raised by the unacknowledged
// mark records: exactly the highest event the journal committed. A mark that
// is too low is not harmless: the device has forgotten what the gateway
// acknowledged, so the link would take the distance for events the device
// lost and publish a false device.events_lost. A mark that is too high makes
// the device delete records the journal never had.
//
// The marks file: the magic "OGMARKS1", a CRC-32C (Castagnoli) of the body,
// little-endian, then the body: a CBOR map from hardware id to
// [boot, high-water boot, high-water seq]. The checksum matters more here than
// anywhere: a flipped bit that raised a mark would make a device delete
// records the journal never had. A file that fails it is ignored and logged.
var marksMagic = []byte("OGMARKS1")

// markRecord is a record of the marks stream.
type markRecord struct {
	_    struct{} `cbor:",toarray"`
	HW   string
	Boot uint32
	Seq  uint32
}

var (
	marksEnc = cbormode.Enc
	// A mark record is 3 elements; the decoder's smallest caps are ample.
	marksDec = cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 4, MaxArrayElements: 16, MaxMapPairs: 16})
)

// markEntries are the marks-stream records for recs: one per device, its
// highest event, to append after the events themselves (a batch's priority
// under a disk cap is its first record's).
func markEntries(recs []link.Record) ([]journal.Entry, error) {
	return appendMarkEntries(nil, recs)
}

// appendMarkEntries appends recs' mark records (markEntries) to dst.
func appendMarkEntries(dst []journal.Entry, recs []link.Record) ([]journal.Entry, error) {
	if len(recs) == 0 {
		return dst, nil
	}
	// A link commits one device's events (link.BatchSink): its highest
	// event, found without a map.
	hw, high := recs[0].HardwareID, recs[0].Event.ID
	for _, rec := range recs[1:] {
		if rec.HardwareID != hw {
			return appendMarkEntriesOf(dst, recs)
		}
		if eventAfter(rec.Event.ID, high) {
			high = rec.Event.ID
		}
	}
	b, err := encodeMarkRecord(hw, high)
	if err != nil {
		return dst, err
	}
	return append(dst, journal.Entry{Stream: StreamMarks, Body: b}), nil
}

// encodeMarkRecord encodes a mark record as marksEnc does (core
// deterministic: the array head, the hardware id, boot and seq in their
// shortest heads; TestMarkRecordEncoding), by hand for valid UTF-8 text: one
// is written with every commit.
func encodeMarkRecord(hw string, id msg.EventID) ([]byte, error) {
	if !utf8.ValidString(hw) {
		b, err := marksEnc.Marshal(markRecord{HW: hw, Boot: id.Boot, Seq: id.Seq})
		if err != nil {
			return nil, fmt.Errorf("intake: encode the mark of %q: %w", hw, err)
		}
		return b, nil
	}
	b := make([]byte, 0, 1+9+len(hw)+5+5)
	b = append(cbormode.AppendHead(append(b, 0x83), 3, uint64(len(hw))), hw...)
	return cbormode.AppendHead(cbormode.AppendHead(b, 0, uint64(id.Boot)), 0, uint64(id.Seq)), nil
}

// appendMarkEntriesOf is appendMarkEntries for the records of several
// devices, in the order each first appears.
func appendMarkEntriesOf(dst []journal.Entry, recs []link.Record) ([]journal.Entry, error) {
	high := map[string]msg.EventID{}
	var order []string
	for _, rec := range recs {
		id := rec.Event.ID
		cur, ok := high[rec.HardwareID]
		if !ok {
			order = append(order, rec.HardwareID)
		}
		if !ok || eventAfter(id, cur) {
			high[rec.HardwareID] = id
		}
	}
	for _, hw := range order {
		b, err := encodeMarkRecord(hw, high[hw])
		if err != nil {
			return dst, err
		}
		dst = append(dst, journal.Entry{Stream: StreamMarks, Body: b})
	}
	return dst, nil
}

func decodeMarkRecord(b []byte) (markRecord, error) {
	var m markRecord
	if err := marksDec.Unmarshal(b, &m); err != nil {
		return m, err
	}
	if m.HW == "" || m.Boot == 0 || m.Seq == 0 {
		return m, fmt.Errorf("mark %q [%d %d]: empty", m.HW, m.Boot, m.Seq)
	}
	return m, nil
}

// eventAfter reports whether a comes after b, lexicographically on [boot, n].
func eventAfter(a, b msg.EventID) bool {
	return a.Boot > b.Boot || a.Boot == b.Boot && a.Seq > b.Seq
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type markRow struct {
	_      struct{} `cbor:",toarray"`
	Boot   uint32
	HWBoot uint32
	HWSeq  uint32
}

func saveMarks(path string, m map[string]link.Mark) error {
	rows := make(map[string]markRow, len(m))
	for hw, v := range m {
		rows[hw] = markRow{Boot: v.Boot, HWBoot: v.HighWater.Boot, HWSeq: v.HighWater.Seq}
	}
	body, err := cbormode.Enc.Marshal(rows)
	if err != nil {
		return fmt.Errorf("intake: encode marks: %w", err)
	}
	b := append([]byte{}, marksMagic...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	b = append(b, body...)
	return atomicfile.WriteFile(path, b, 0o600)
}

func loadMarks(path string) (map[string]link.Mark, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("intake: read %s: %w", path, err)
	}
	if len(b) < len(marksMagic)+4 || !bytes.Equal(b[:len(marksMagic)], marksMagic) {
		return nil, fmt.Errorf("intake: %s: not a marks file", path)
	}
	body := b[len(marksMagic)+4:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(marksMagic):]) {
		return nil, fmt.Errorf("intake: %s: checksum mismatch", path)
	}
	var rows map[string]markRow
	// The checksum above vouches for the bytes: they are our own.
	if err := cbormode.Trusted.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("intake: %s: %w", path, err)
	}
	m := make(map[string]link.Mark, len(rows))
	for hw, r := range rows {
		m[hw] = link.Mark{Boot: r.Boot, HighWater: msg.EventID{Boot: r.HWBoot, Seq: r.HWSeq}}
	}
	return m, nil
}
