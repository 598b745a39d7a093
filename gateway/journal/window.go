package journal

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// windowTimer is the committer's wait for the rest of its window (run). A Go
// timer wakes up to 1 ms late: the runtime sleeps in epoll_pwait, whose
// timeout is in whole milliseconds (BenchmarkTimerWake), which made a 10 ms
// window a 10.5 ms cycle at the median. A timerfd expires on the kernel's
// high-resolution clock and its read parks in the same netpoller, which
// epoll wakes as soon as the fd is readable: the wait ends within tens of
// microseconds of its end, and never before it, so the journal still makes
// at most one fdatasync per window. If the timerfd cannot be made or used,
// the wait falls back to a Go timer.
type windowTimer struct {
	fd  int      // the timerfd; -1 if there is none
	f   *os.File // fd, non-blocking: reads park in the netpoller
	buf [8]byte  // a read's expiration count, unused
}

func newWindowTimer() *windowTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &windowTimer{fd: -1}
	}
	return &windowTimer{fd: fd, f: os.NewFile(uintptr(fd), "journal window timer")}
}

// sleep returns once d has passed, or when stop is closed and interrupt has
// been called after it. Only the committer calls it.
func (w *windowTimer) sleep(d time.Duration, stop <-chan struct{}) {
	if d <= 0 {
		return
	}
	deadline := time.Now().Add(d)
	if w.f == nil || w.arm(d) != nil {
		sleepTimer(d, stop)
		return
	}
	// Armed (which also forgot any expiry not read, such as an interrupt's)
	// before this look at stop: a Close that closes stop after the look calls
	// interrupt after it, which ends the read below.
	select {
	case <-stop:
		return
	default:
	}
	if _, err := w.f.Read(w.buf[:]); err != nil {
		sleepTimer(time.Until(deadline), stop)
	}
}

// arm sets the timerfd to expire once, d from now.
func (w *windowTimer) arm(d time.Duration) error {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	return unix.TimerfdSettime(w.fd, 0, &its, nil)
}

// interrupt ends a sleep in progress: Close calls it after closing stop and
// before waiting for the committer, which is the fd's only reader.
func (w *windowTimer) interrupt() {
	if w.f != nil {
		_ = w.arm(time.Nanosecond)
	}
}

// close releases the fd, once the committer has returned.
func (w *windowTimer) close() {
	if w.f != nil {
		_ = w.f.Close()
	}
}

// sleepTimer waits d on a Go timer, or until stop is closed: the fallback.
func sleepTimer(d time.Duration, stop <-chan struct{}) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	}
}
