package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Segment files, FORMAT.md §2.
var segmentMagic = [8]byte{'O', 'G', 'J', 'O', 'U', 'R', 'N', 1}

const formatVersion = 1

func segmentName(index, firstSeq uint64) string {
	return fmt.Sprintf("%016x-%016x.wal", index, firstSeq)
}

func indexName(index, firstSeq uint64) string {
	return fmt.Sprintf("%016x-%016x.idx", index, firstSeq)
}

func parseSegmentName(name string) (index, firstSeq uint64, ok bool) {
	if len(name) != 16+1+16+4 || filepath.Ext(name) != ".wal" {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(name, "%016x-%016x.wal", &index, &firstSeq); err != nil {
		return 0, 0, false
	}
	return index, firstSeq, segmentName(index, firstSeq) == name
}

func encodeSegmentHeader(index, firstSeq uint64) []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b, segmentMagic[:])
	binary.LittleEndian.PutUint32(b[8:12], formatVersion)
	binary.LittleEndian.PutUint64(b[16:24], index)
	binary.LittleEndian.PutUint64(b[24:32], firstSeq)
	binary.LittleEndian.PutUint32(b[12:16], segmentHeaderCRC(b))
	return b
}

func segmentHeaderCRC(b []byte) uint32 {
	c := crc32.Update(0, castagnoli, b[:12])
	return crc32.Update(c, castagnoli, b[16:32])
}

// checkSegmentHeader verifies a header against the numbers in the file's name.
func checkSegmentHeader(b []byte, index, firstSeq uint64) error {
	switch {
	case len(b) < segmentHeaderSize:
		return fmt.Errorf("header: %d bytes", len(b))
	case [8]byte(b[:8]) != segmentMagic:
		return fmt.Errorf("header: magic %q", b[:8])
	case binary.LittleEndian.Uint32(b[12:16]) != segmentHeaderCRC(b):
		return fmt.Errorf("header: checksum mismatch")
	case binary.LittleEndian.Uint32(b[8:12]) != formatVersion:
		return fmt.Errorf("header: format version %d", binary.LittleEndian.Uint32(b[8:12]))
	case binary.LittleEndian.Uint64(b[16:24]) != index || binary.LittleEndian.Uint64(b[24:32]) != firstSeq:
		return fmt.Errorf("header: says segment %d from seq %d, name says %d from %d",
			binary.LittleEndian.Uint64(b[16:24]), binary.LittleEndian.Uint64(b[24:32]), index, firstSeq)
	}
	return nil
}

// createSegment makes a new preallocated segment the etcd way: a temp file is
// extended with fallocate (so appends change no file size and fdatasync writes no
// inode), given its header, fsync'd, renamed into place and the directory fsync'd.
// Measured on ext4: 64-record commits cost 272 B per 152-byte record at the block
// device with fallocate, 334 B without (FORMAT.md §6).
func createSegment(dir string, index, firstSeq uint64, size int64) (*os.File, error) {
	name := segmentName(index, firstSeq)
	tmpPath := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: create segment %s: %w", name, err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(tmpPath)
		return nil, err
	}
	if err := preallocate(f, size); err != nil {
		return fail(fmt.Errorf("journal: preallocate segment %s (%d bytes): %w", name, size, err))
	}
	if _, err := f.WriteAt(encodeSegmentHeader(index, firstSeq), 0); err != nil {
		return fail(fmt.Errorf("journal: write segment header %s: %w", name, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("journal: fsync segment %s: %w", name, err))
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmpPath, path); err != nil {
		return fail(fmt.Errorf("journal: rename segment %s: %w", name, err))
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func preallocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		// tmpfs and some FUSE file systems: a sparse file still keeps the size fixed.
		return f.Truncate(size)
	}
	return err
}
