package journal

import (
	"testing"
	"time"
)

// TestWindowTimerNeverEarly holds the committer's wait to its promise of at
// most one fdatasync per window: it never returns before its time is up.
// (How late it may be is a benchmark's business: BenchmarkTimerWake.)
func TestWindowTimerNeverEarly(t *testing.T) {
	w := newWindowTimer()
	defer w.close()
	if w.f == nil {
		t.Fatal("no timerfd: the committer would fall back to a Go timer")
	}
	stop := make(chan struct{})
	for _, d := range []time.Duration{50 * time.Microsecond, 300 * time.Microsecond, 900 * time.Microsecond, 2300 * time.Microsecond} {
		for range 20 {
			start := time.Now()
			w.sleep(d, stop)
			if got := time.Since(start); got < d {
				t.Fatalf("sleep(%v) returned after %v", d, got)
			}
		}
	}
}

// TestWindowTimerInterrupt: Close ends the committer's wait however long it
// is, whether the wait began before stop was closed or after.
func TestWindowTimerInterrupt(t *testing.T) {
	t.Run("during", func(t *testing.T) {
		w := newWindowTimer()
		defer w.close()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.sleep(time.Hour, stop)
		}()
		close(stop)
		w.interrupt()
		<-done
	})
	t.Run("before", func(t *testing.T) {
		w := newWindowTimer()
		defer w.close()
		stop := make(chan struct{})
		close(stop)
		w.interrupt()
		w.sleep(time.Hour, stop)
	})
	t.Run("stale interrupt", func(t *testing.T) {
		// An expiry nobody read (an interrupt while not sleeping) must not
		// end the next sleep early.
		w := newWindowTimer()
		defer w.close()
		w.interrupt()
		time.Sleep(time.Millisecond) // let the 1 ns expiry happen: it is only read below
		stop := make(chan struct{})
		d := 2 * time.Millisecond
		start := time.Now()
		w.sleep(d, stop)
		if got := time.Since(start); got < d {
			t.Fatalf("sleep(%v) after a stale expiry returned after %v", d, got)
		}
	})
}
