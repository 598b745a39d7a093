package devices

import (
	"context"
	"errors"
	"time"
)

// Back-pressure backoff of EmitRetry: a journal behind clears within
// milliseconds, a full disk takes much longer, and the cap keeps a long
// outage from spinning.
const (
	BusyBackoffMin = 10 * time.Millisecond
	BusyBackoffMax = time.Second
)

// Timer starts a timer of d: its channel receives once d has passed, and
// stop ends it early. gpio.Clock's Timer is one; nil means the real clock.
type Timer func(d time.Duration) (<-chan time.Time, func())

// EmitRetry emits e to sink and, while the sink answers ErrBusy
// (back-pressure), waits and tries again, the wait doubling from
// BusyBackoffMin to BusyBackoffMax, for at most limit of waiting in all (0:
// until ctx ends). onRetry, if set, is called before each wait (a counter).
//
// It returns nil once the sink took e; otherwise the last error, which says
// why: ctx's error when ctx ended first (ctx.Err() is set), an error wrapping
// ErrBusy when limit was spent, any other error when the sink refused e.
func EmitRetry(ctx context.Context, sink Sink, e Event, limit time.Duration, timer Timer, onRetry func()) error {
	if timer == nil {
		timer = realTimer
	}
	wait := BusyBackoffMin
	var waited time.Duration
	for {
		err := sink.Emit(ctx, e)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, ErrBusy), limit > 0 && waited >= limit:
			return err
		}
		if onRetry != nil {
			onRetry()
		}
		d := wait
		if limit > 0 {
			d = min(d, limit-waited)
		}
		ch, stop := timer(d)
		select {
		case <-ch:
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
		waited += d
		wait = min(2*wait, BusyBackoffMax)
	}
}

func realTimer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}
