package intake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/atomicfile"
)

// The marks file: the magic "OGMARKS1", a CRC-32C (Castagnoli) of the body,
// little-endian, then the body: a CBOR map from hardware id to
// [boot, high-water boot, high-water seq]. The checksum matters more here than
// anywhere: a flipped bit that raised a mark would make a device delete
// records the journal never had. A file that fails it is ignored (devices then
// resend, which only costs duplicates).
var marksMagic = []byte("OGMARKS1")

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
	em, _ := cbor.CoreDetEncOptions().EncMode()
	body, err := em.Marshal(rows)
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
	dm, _ := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, MaxMapPairs: 1 << 16, TagsMd: cbor.TagsForbidden}.DecMode()
	var rows map[string]markRow
	if err := dm.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("intake: %s: %w", path, err)
	}
	m := make(map[string]link.Mark, len(rows))
	for hw, r := range rows {
		m[hw] = link.Mark{Boot: r.Boot, HighWater: msg.EventID{Boot: r.HWBoot, Seq: r.HWSeq}}
	}
	return m, nil
}
