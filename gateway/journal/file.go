package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/officegate/officegate/internal/atomicfile"
)

// Small metadata files (stream table, cursors, segment indexes) share one envelope,
// FORMAT.md §5: an 8-byte magic, the body length, a CRC-32C of the body, the body.
const metaHeaderSize = 16

var (
	magicStreams = [8]byte{'O', 'G', 'J', 'S', 'T', 'R', 'M', 1}
	magicCursors = [8]byte{'O', 'G', 'J', 'C', 'U', 'R', 'S', 1}
	magicIndex   = [8]byte{'O', 'G', 'J', 'I', 'N', 'D', 'X', 1}
)

var errBadMeta = errors.New("bad metadata file")

func encodeMeta(magic [8]byte, body []byte) []byte {
	b := make([]byte, metaHeaderSize, metaHeaderSize+len(body))
	copy(b, magic[:])
	binary.LittleEndian.PutUint32(b[8:12], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[12:16], crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

// decodeMeta checks the envelope and returns the body.
func decodeMeta(magic [8]byte, b []byte) ([]byte, error) {
	if len(b) < metaHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than its header", errBadMeta, len(b))
	}
	if [8]byte(b[:8]) != magic {
		return nil, fmt.Errorf("%w: magic %q, want %q", errBadMeta, b[:8], magic[:])
	}
	n := binary.LittleEndian.Uint32(b[8:12])
	if int64(n) != int64(len(b)-metaHeaderSize) {
		return nil, fmt.Errorf("%w: body length %d, file holds %d", errBadMeta, n, len(b)-metaHeaderSize)
	}
	body := b[metaHeaderSize:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[12:16]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadMeta)
	}
	return body, nil
}

// How much of a metadata write must be on disk before writeFileMode returns.
const (
	syncAll  = atomicfile.Durable     // file and directory: the new content survives a crash
	syncFile = atomicfile.ContentOnly // file only: a crash may bring back the previous file (lazy state)
	syncNone = atomicfile.Unsynced    // neither: a cache that is checked and rebuilt when damaged
)

// writeFileAtomic replaces dir/name with data so that a crash leaves the old or
// the new file, never a mix (internal/atomicfile).
func writeFileAtomic(dir, name string, data []byte) error {
	return writeFileMode(dir, name, data, syncAll)
}

func writeFileMode(dir, name string, data []byte, mode atomicfile.Durability) error {
	if err := atomicfile.Write(filepath.Join(dir, name), data, 0o600, mode); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// readMeta reads and checks a metadata file. A missing file is (nil, nil).
func readMeta(path string, magic [8]byte) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: read %s: %w", path, err)
	}
	body, err := decodeMeta(magic, b)
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	return body, nil
}

// keepBroken copies a damaged file to NAME.broken (once: an existing copy, made
// from the file before any repair, is the more useful one) for a later look.
func keepBroken(path string) (string, error) {
	dst := path + ".broken"
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("journal: copy %s: %w", path, err)
	}
	if err := writeFileAtomic(filepath.Dir(dst), filepath.Base(dst), b); err != nil {
		return "", err
	}
	return dst, nil
}
