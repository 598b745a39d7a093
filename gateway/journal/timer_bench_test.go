package journal

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkTimerWake measures how late a goroutine waiting on a timer, as
// the committer waits for the rest of its window (run), is woken, by the
// sub-millisecond part f of the wait: the Go runtime sleeps in epoll_pwait,
// whose timeout is in whole milliseconds (runtime/netpoll_epoll.go: a delay
// of 1 ms or more is truncated, one under 1 ms waits 1 ms), so a wait of
// 9 ms + f wakes about 1 ms − f late, and a committer whose waits have a
// uniform f wakes 0.5 ms late at the median. The committer's windowTimer
// (window.go: a Linux timerfd read through the same netpoller, nanosecond
// expiry) is beside it. It
// reports the lateness's p50 and p90 in µs; nothing is asserted
// (docs/PERFORMANCE.md, "Where the latency goes at 1 000 events/s").
//
//	go test -run '^$' -bench TimerWake -benchtime 200x ./gateway/journal
func BenchmarkTimerWake(b *testing.B) {
	for _, f := range []time.Duration{0, 100, 300, 500, 700, 900} {
		d := 9*time.Millisecond + f*time.Microsecond
		b.Run(fmt.Sprintf("timer/f=%.1fms", float64(f)/1000), func(b *testing.B) {
			lateness(b, func() time.Time {
				deadline := time.Now().Add(d)
				t := time.NewTimer(d)
				<-t.C
				return deadline
			})
		})
	}
	w := newWindowTimer() // the committer's (window.go): a timerfd
	defer w.close()
	stop := make(chan struct{})
	for _, f := range []time.Duration{0, 500, 900} {
		d := 9*time.Millisecond + f*time.Microsecond
		b.Run(fmt.Sprintf("window/f=%.1fms", float64(f)/1000), func(b *testing.B) {
			lateness(b, func() time.Time {
				deadline := time.Now().Add(d)
				w.sleep(d, stop)
				return deadline
			})
		})
	}
}

// lateness runs wait b.N times and reports how long after the deadline it
// returned that each wait returned.
func lateness(b *testing.B, wait func() (deadline time.Time)) {
	late := make([]time.Duration, 0, b.N)
	for b.Loop() {
		late = append(late, time.Since(wait()))
	}
	slices.Sort(late)
	q := func(p float64) float64 {
		return float64(late[min(len(late)-1, int(p*float64(len(late))))].Microseconds())
	}
	b.ReportMetric(q(0.5), "late-p50-µs")
	b.ReportMetric(q(0.9), "late-p90-µs")
}
