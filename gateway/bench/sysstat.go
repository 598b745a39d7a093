package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// checkRealDisk refuses a directory on a memory file system, where fsync
// costs nothing and bytes never reach a disk.
func checkRealDisk(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	switch uint32(st.Type) { // int32 or int64 by architecture; the magics are 32-bit
	case unix.TMPFS_MAGIC, unix.RAMFS_MAGIC:
		return fmt.Errorf("%s is on a memory file system (tmpfs or ramfs), where fsync measures nothing: pass -dir on a disk", dir)
	}
	return nil
}

// procWriteBytes is write_bytes from /proc/self/io: the bytes this process
// caused to be sent to the storage layer, counted as page-cache pages are
// dirtied (4 KiB a page), not as write(2) is called.
func procWriteBytes() (uint64, error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no write_bytes in /proc/self/io")
}

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// deviceStat is the block device's own count of what reached it: every
// process's writes, the file system's journal included. It is a cross-check
// for the per-process figures, meaningful on an otherwise idle machine.
type deviceStat struct {
	path    string // /sys/dev/block/MAJ:MIN/stat of the whole disk; "" if unknown
	sectors uint64 // 512-byte sectors written
}

// blockDevice finds the disk holding dir ("" if there is none, as on
// overlay or network file systems).
func blockDevice(dir string) string {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return ""
	}
	base := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	if _, err := os.Stat(base + "/stat"); err != nil {
		return ""
	}
	return base + "/stat"
}

func readDeviceStat(path string) deviceStat {
	d := deviceStat{path: path}
	if path == "" {
		return d
	}
	b, err := os.ReadFile(path)
	if err != nil {
		d.path = ""
		return d
	}
	// Documentation/block/stat.rst: field 7 is sectors written. (Field 15,
	// flushes, is not used: virtual disks may complete fdatasync without one.)
	f := bytes.Fields(b)
	if len(f) < 7 {
		d.path = ""
		return d
	}
	d.sectors, _ = strconv.ParseUint(string(f[6]), 10, 64)
	return d
}
