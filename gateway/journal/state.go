package journal

import (
	"fmt"
	"os"
	"path/filepath"
)

// The stream table maps stream names to the one-byte ids records carry
// (FORMAT.md §5.1). It is written twice (streams, streams.bak): without it no
// record can be attributed, so one damaged copy must not stop the gateway.
const (
	streamsFile    = "streams"
	streamsBakFile = "streams.bak"
	cursorsFile    = "cursors"
	lockFile       = "LOCK"
)

func loadStreamTable(dir string) (map[string]uint8, error) {
	var firstErr error
	for _, name := range []string{streamsFile, streamsBakFile} {
		body, err := readMeta(filepath.Join(dir, name), magicStreams)
		if err == nil && body == nil {
			continue
		}
		var t map[string]uint8
		if err == nil {
			if err = decMode.Unmarshal(body, &t); err != nil {
				err = fmt.Errorf("journal: decode %s: %w", name, err)
			}
		}
		if err == nil {
			err = checkStreamTable(t)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return t, nil
	}
	return nil, firstErr
}

func checkStreamTable(t map[string]uint8) error {
	ids := map[uint8]string{}
	for name, id := range t {
		if id == 0 {
			return fmt.Errorf("journal: stream table: stream %q has reserved id 0", name)
		}
		if other, dup := ids[id]; dup {
			return fmt.Errorf("journal: stream table: streams %q and %q share id %d", name, other, id)
		}
		ids[id] = name
	}
	return nil
}

func saveStreamTable(dir string, t map[string]uint8) error {
	body, err := encMode.Marshal(t)
	if err != nil {
		return fmt.Errorf("journal: encode stream table: %w", err)
	}
	data := encodeMeta(magicStreams, body)
	for _, name := range []string{streamsFile, streamsBakFile} {
		if err := writeFileAtomic(dir, name, data); err != nil {
			return err
		}
	}
	return nil
}

// position is a place in the log: a segment and a byte offset in it.
type position struct {
	Seg uint64 `cbor:"1,keyasint"`
	Off int64  `cbor:"2,keyasint"`
}

// cursor is a stream's delivered cursor: every record of the stream up to and
// including Acked has been acknowledged; reading resumes at Pos.
type cursor struct {
	Acked uint64   `cbor:"1,keyasint"`
	Pos   position `cbor:"2,keyasint"`
}

func loadCursors(dir string) (map[string]cursor, error) {
	body, err := readMeta(filepath.Join(dir, cursorsFile), magicCursors)
	if err != nil || body == nil {
		return nil, err
	}
	var c map[string]cursor
	if err := decMode.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("journal: decode %s: %w", cursorsFile, err)
	}
	return c, nil
}

func saveCursors(dir string, c map[string]cursor) error {
	body, err := encMode.Marshal(c)
	if err != nil {
		return fmt.Errorf("journal: encode cursors: %w", err)
	}
	// The file is synced so the name never points at an empty file; the directory
	// is not: a crash may bring back the previous cursors, which redelivers.
	return writeFileMode(dir, cursorsFile, encodeMeta(magicCursors, body), syncFile)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
