package journal

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// fullBody is a record body of a fixed 200 bytes, so that once one is
// refused every later one is too.
func fullBody(stream string, n int) []byte {
	return []byte(fmt.Sprintf("%-200s", fmt.Sprintf("%s-%06d", stream, n)))
}

// fillUntilFull appends records until one is refused and returns how many
// were stored and the refusal.
func fillUntilFull(t *testing.T, j *Journal, stream string, limit int) (int, error) {
	t.Helper()
	for n := 0; n < limit; n++ {
		if _, err := j.Append(ctxT(t), stream, fullBody(stream, n)); err != nil {
			return n, err
		}
	}
	t.Fatalf("%d appends to %q and the journal never filled", limit, stream)
	return 0, nil
}

// drain reads and acknowledges every record of stream.
func drain(t *testing.T, j *Journal, stream string) int {
	t.Helper()
	r, err := j.Reader(stream)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs := readAll(t, r)
	for _, rec := range recs {
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
	}
	return len(recs)
}

func countLines(log, msg string) int { return strings.Count(log, `"message":"`+msg) }

// The cap reached: refusals are counted per stream, the state says full
// with its cause, one warning starts the episode (rate-limited across
// episodes), and an info line ends it once delivery frees room.
func TestFullAtCapIsVisible(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	o := capOpts()
	o.Now = clk.Now
	var logBuf syncBuffer
	lg := zerolog.New(&logBuf)
	o.Log = &lg
	j := mustOpen(t, t.TempDir(), o)

	st0, changed := j.FullState()
	if st0.Full {
		t.Fatalf("a fresh journal says full: %+v", st0)
	}
	n, err := fillUntilFull(t, j, "attendance", 10000)
	var fe *FullError
	if !errors.As(err, &fe) || fe.Cause != FullCap {
		t.Fatalf("after %d appends: %v, want a *FullError with cause %q", n, err, FullCap)
	}
	select {
	case <-changed:
	default:
		t.Fatal("FullState's channel not closed when refusing began")
	}
	// Refused again, by another stream too: one episode, one warning.
	for i := 0; i < 5; i++ {
		if _, err := j.Append(ctxT(t), "attendance", fullBody("again", i)); !errors.Is(err, ErrFull) {
			t.Fatalf("append %d on a full journal: %v", i, err)
		}
	}
	if _, err := j.Append(ctxT(t), "control", fullBody("control", 0)); !errors.Is(err, ErrFull) {
		t.Fatalf("control append on a full journal: %v", err)
	}
	s := j.Stats()
	if !s.Full.Full || s.Full.Cause != FullCap || !s.Full.Since.Equal(clk.Now()) || s.Full.Refused != 7 ||
		!strings.Contains(s.Full.Reason, `"attendance"`) {
		t.Fatalf("Stats().Full = %+v, want full since %v with 7 refused", s.Full, clk.Now())
	}
	if a, c := streamStats(j, "attendance"), streamStats(j, "control"); a.Refused != 6 || c.Refused != 1 {
		t.Fatalf("refused per stream: attendance %d, control %d; want 6, 1", a.Refused, c.Refused)
	}
	if s.FreeBytes <= 0 {
		t.Fatalf("FreeBytes = %d, want the file system's free space", s.FreeBytes)
	}
	if got := countLines(logBuf.String(), "journal: full: refusing appends"); got != 1 {
		t.Fatalf("%d full warnings, want 1; log:\n%s", got, logBuf.String())
	}
	if !strings.Contains(logBuf.String(), `"level":"warn","cause":"cap"`) {
		t.Fatalf("the warning does not name its cause; log:\n%s", logBuf.String())
	}

	// Delivery frees whole segments; the episode ends without an append.
	_, changed = j.FullState()
	if got := drain(t, j, "attendance"); got != n {
		t.Fatalf("drained %d of %d", got, n)
	}
	select {
	case <-changed:
	case <-time.After(20 * time.Second):
		t.Fatal("the episode did not end after delivery")
	}
	if st, _ := j.FullState(); st.Full || st.Refused != 7 {
		t.Fatalf("after delivery: %+v", st)
	}
	waitFor(t, "the info line", func() bool {
		return countLines(logBuf.String(), "journal: room again: accepting appends") == 1
	})
	if _, err := j.Append(ctxT(t), "attendance", []byte("after")); err != nil {
		t.Fatalf("append after delivery: %v", err)
	}

	// A second episode within the minute is not logged, nor is its end; the
	// next one after the minute is, with the count of those it left out.
	for episode := 0; episode < 2; episode++ {
		clk.Add(40 * time.Second)
		fillUntilFull(t, j, "attendance", 10000)
		drain(t, j, "attendance")
		waitFor(t, "room again", func() bool { st, _ := j.FullState(); return !st.Full })
	}
	log := logBuf.String()
	if w, i := countLines(log, "journal: full: refusing appends"), countLines(log, "journal: room again"); w != 2 || i != 2 {
		t.Fatalf("%d warnings and %d infos over three episodes, want 2 and 2; log:\n%s", w, i, log)
	}
	if !strings.Contains(log, `"episodes_not_logged":1`) {
		t.Fatalf("the second warning does not count the episode it left out; log:\n%s", log)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts it
// when the test ends. It needs root (CI runs as root): elsewhere the test is
// skipped, but under CI=true not being able to mount fails it.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a %d-byte tmpfs for a genuinely full file system: %v", size, err)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// A genuinely full file system below the cap: refused appends say "disk",
// the journal does not fail (nothing was lost), and the episode ends once
// delivery deleted segments and statfs shows room again.
func TestFullDiskIsVisible(t *testing.T) {
	mnt := mountTmpfs(t, 256<<10)
	var logBuf syncBuffer
	lg := zerolog.New(&logBuf)
	o := smallOpts() // 4 KiB segments, a 64 MiB cap: the file system fills first
	o.SegmentSize = 32 << 10
	o.Log = &lg
	j, err := Open(mnt+"/journal", o)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()

	n, err := fillUntilFull(t, j, "attendance", 100000)
	if !errors.Is(err, ErrFull) || errors.Is(err, ErrFailed) {
		t.Fatalf("after %d appends: %v, want ErrFull and not ErrFailed", n, err)
	}
	// Refused at admission from now on: no batch reaches the disk to fail.
	for i := 0; i < 3; i++ {
		var fe *FullError
		if _, err := j.Append(ctxT(t), "attendance", fullBody("again", i)); !errors.As(err, &fe) || fe.Cause != FullDisk {
			t.Fatalf("append %d on a full file system: %v, want a *FullError with cause %q", i, err, FullDisk)
		}
	}
	s := j.Stats()
	if s.Failed != nil || !s.Full.Full || s.Full.Cause != FullDisk || s.Full.Refused < 4 {
		t.Fatalf("Stats: failed %v, full %+v", s.Failed, s.Full)
	}
	if s.FreeBytes < 0 || s.FreeBytes >= o.SegmentSize {
		t.Fatalf("FreeBytes = %d on a full file system (segments are %d)", s.FreeBytes, o.SegmentSize)
	}
	if !strings.Contains(logBuf.String(), `"cause":"disk"`) || countLines(logBuf.String(), "journal: full: refusing appends") != 1 {
		t.Fatalf("want one full warning with cause disk; log:\n%s", logBuf.String())
	}
	if st := streamStats(j, "attendance"); st.Depth != uint64(n) || st.Shed != 0 {
		t.Fatalf("attendance after the disk filled: %+v, stored %d", st, n)
	}

	if got := drain(t, j, "attendance"); got != n {
		t.Fatalf("drained %d of %d", got, n)
	}
	waitFor(t, "room again", func() bool { st, _ := j.FullState(); return !st.Full })
	if _, err := j.Append(ctxT(t), "attendance", []byte("after")); err != nil {
		t.Fatalf("append after delivery: %v", err)
	}
	waitFor(t, "the info line", func() bool {
		return countLines(logBuf.String(), "journal: room again: accepting appends") == 1
	})
}
