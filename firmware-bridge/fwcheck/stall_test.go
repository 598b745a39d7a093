package fwcheck

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestStallArithmetic: what a recorded stall makes of a stamp, and which
// gaps count as stalls.
func TestStallArithmetic(t *testing.T) {
	w := &stallWatch{}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	w.ran(t0, t0.Add(stallTick+stallMin)) // on time enough: no stall
	if len(w.stalls) != 0 {
		t.Fatalf("a gap of %v recorded as a stall", stallTick+stallMin)
	}
	from, to := t0.Add(time.Second), t0.Add(time.Second+300*time.Millisecond)
	w.ran(from, to)
	for _, tc := range []struct {
		at   time.Time
		want time.Duration
	}{
		{from.Add(-time.Millisecond), 0}, // before it
		{from, 0},                        // at its start
		{to, 300 * time.Millisecond},     // stamped as it ended
		{to.Add(stallTick), 300*time.Millisecond + stallTick}, // just after: the reader ran after the watch
		{to.Add(stallTick + time.Millisecond), 0},             // later: on time
	} {
		if got := w.early(tc.at); got != tc.want {
			t.Errorf("early(%v after the stall's start) = %v, want %v", tc.at.Sub(from), got, tc.want)
		}
	}
	if got := w.longest(t0, from); got != 0 {
		t.Errorf("longest before the stall = %v", got)
	}
	if got := w.longest(to.Add(-time.Millisecond), to.Add(time.Second)); got != 300*time.Millisecond {
		t.Errorf("longest over the stall's end = %v, want 300ms", got)
	}
	for i := range stallKeep + 10 {
		at := t0.Add(time.Hour + time.Duration(i)*time.Second)
		w.ran(at, at.Add(100*time.Millisecond))
	}
	if len(w.stalls) != stallKeep {
		t.Errorf("%d stalls kept, want the last %d", len(w.stalls), stallKeep)
	}
}

// TestStallWatchSeesAStoppedProcess: the whole process stopped (SIGSTOP,
// then SIGCONT from a child), as a host that takes the CPU away does: the
// watch records the stall, and a frame stamped as the process resumed may
// have arrived as early as it stopped.
func TestStallWatchSeesAStoppedProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, stop := watchStalls(ctx)
	defer stop()
	// Told to, the child continues this process after 300 ms, and again
	// every 300 ms, ten times: should the stop come late, one ends it.
	cont := exec.Command("sh", "-c", "read go; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.3; kill -CONT "+strconv.Itoa(os.Getpid())+"; done")
	in, err := cont.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cont.Start(); err != nil {
		t.Fatal(err)
	}
	defer cont.Wait()
	if _, err := in.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The stop takes effect when the kernel gets to it; the watch records
	// it once it runs again.
	var got stall
	for got.to.IsZero() {
		w.mu.Lock()
		for _, s := range w.stalls {
			if s.to.Sub(s.from) >= 100*time.Millisecond {
				got = s
			}
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			w.mu.Lock()
			defer w.mu.Unlock()
			t.Fatalf("no stall of 100 ms or more recorded for a process stopped for 300 ms: %v", w.stalls)
		case <-time.After(stallTick):
		}
	}
	if e := w.early(got.to); e != got.to.Sub(got.from) {
		t.Errorf("a frame stamped as the process resumed may be early by %v, want the stall's %v", e, got.to.Sub(got.from))
	}
	t.Logf("a stall of %v recorded", got.to.Sub(got.from))
}
