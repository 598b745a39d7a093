package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

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
func peakRSS() (uint64, error) { return statusField("/proc/self/status", "VmHWM") }

// peakRSSOf is VmHWM of another process, in bytes; read it before the
// process exits.
func peakRSSOf(pid int) (uint64, error) {
	return statusField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
}

// rssOf is a process's resident memory now, in bytes: anonymous (heap,
// stacks) and file-backed (mostly the executable's pages, shared with the
// page cache and reclaimable).
func rssOf(pid int) (anon, file uint64, err error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	anon, err1 := statusField(path, "RssAnon")
	file, err2 := statusField(path, "RssFile")
	return anon, file, errors.Join(err1, err2)
}

// statusField reads a "kB" field of a /proc/<pid>/status file, in bytes.
func statusField(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

// userHZ is the unit of the times in /proc/<pid>/stat: USER_HZ, which the
// kernel fixes at 100 for user space on every architecture (proc(5)).
const userHZ = 100

// procCPU is the CPU time (user + system) a process has used so far, from
// /proc/<pid>/stat, in 10 ms ticks: measure over seconds, not milliseconds.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: the fields
	// that follow start after its last ')'. utime and stime are fields 14 and
	// 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// selfCPU is this process's CPU time (user + system) with microsecond
// resolution.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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

// workspace makes a run's scratch directory on the real disk under base
// (default "."), where the stores under test write, and a memory-backed one
// for the emulated devices' flash, so their fsyncs do not compete with the
// journal's; exe is this program, for the child processes. cleanup removes
// both directories.
func workspace(base, prefix string) (work, flash, exe string, cleanup func(), err error) {
	if base == "" {
		base = "."
	}
	if err := checkRealDisk(base); err != nil {
		return "", "", "", nil, err
	}
	if exe, err = os.Executable(); err != nil {
		return "", "", "", nil, err
	}
	if work, err = os.MkdirTemp(base, prefix); err != nil {
		return "", "", "", nil, err
	}
	if flash, err = memDir(work); err != nil {
		os.RemoveAll(work)
		return "", "", "", nil, err
	}
	return work, flash, exe, func() { os.RemoveAll(flash); os.RemoveAll(work) }, nil
}
