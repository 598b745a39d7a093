package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// userHZ is the unit of times in /proc/<pid>/stat. It is 100 on every Linux
// architecture Go supports (the kernel's USER_HZ, fixed for ABI reasons);
// procfs, which client_golang used, assumes the same.
const userHZ = 100

// appendProcess appends the process families from /proc/self. A figure that
// cannot be read is left out, not reported as 0: a scrape shows what it
// knows and the gap is visible.
func appendProcess(dst []family) []family {
	one := func(d desc, v float64) { dst = append(dst, family{d, []sample{{v: v}}}) }
	if st, err := readSelfStat(); err == nil {
		one(dCPU, float64(st.utime+st.stime)/userHZ)
		one(dVSize, float64(st.vsize))
		one(dRSS, float64(st.rss*uint64(os.Getpagesize())))
	}
	if t, err := startTime(); err == nil {
		one(dStartTime, t)
	}
	if n, err := countOpenFDs(); err == nil {
		one(dOpenFDs, float64(n))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		one(dMaxFDs, float64(lim.Cur))
	}
	return dst
}

// selfStat holds the fields of /proc/self/stat used here, in their units:
// clock ticks (userHZ) for times, bytes for vsize, pages for rss.
type selfStat struct {
	utime, stime, starttime, vsize, rss uint64
}

// readSelfStat parses /proc/self/stat (proc(5)). Its second field, the
// command name in parentheses, may itself hold spaces and parentheses, so
// fields are counted from after the last ')': field 3 (state) is index 0
// there, so field n is index n-3.
func readSelfStat() (selfStat, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return selfStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return selfStat{}, fmt.Errorf("metrics: /proc/self/stat: no command name in %q", b)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 24-3+1 {
		return selfStat{}, fmt.Errorf("metrics: /proc/self/stat: %d fields after the command name", len(f))
	}
	var st selfStat
	for _, x := range []struct {
		field int
		dst   *uint64
	}{{14, &st.utime}, {15, &st.stime}, {22, &st.starttime}, {23, &st.vsize}, {24, &st.rss}} {
		v, err := strconv.ParseUint(string(f[x.field-3]), 10, 64)
		if err != nil {
			return selfStat{}, fmt.Errorf("metrics: /proc/self/stat field %d: %w", x.field, err)
		}
		*x.dst = v
	}
	return st, nil
}

// startTime is the process's start in Unix seconds: its start in ticks since
// boot plus the boot time (btime in /proc/stat). Both are fixed for the
// process's life, so it is read once.
var startTime = sync.OnceValues(func() (float64, error) {
	st, err := readSelfStat()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			btime, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("metrics: /proc/stat btime: %w", err)
			}
			return float64(btime) + float64(st.starttime)/userHZ, nil
		}
	}
	return 0, errors.New("metrics: /proc/stat has no btime")
})

// countOpenFDs counts the entries of /proc/self/fd, the directory's own
// descriptor included (as client_golang did).
func countOpenFDs() (int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n := 0
	for {
		// In batches, so a process with many descriptors does not allocate
		// all their names at once.
		names, err := d.Readdirnames(256)
		n += len(names)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
