package fwcheck

import (
	"context"
	"sync"
	"time"
)

// fwcheck stamps a frame when its reader returns it, not when its bytes
// reached the port. On a loaded host (a laptop building while it checks, a
// CI machine running other tests) the process can be held off the CPU for
// hundreds of milliseconds, and a frame the device sent on time is then
// stamped late. A timing check that took that for the device's fault would
// fail a correct device. So while it times the device, fwcheck watches its
// own lateness: a goroutine that should wake every stallTick notes each
// time it woke later than that by more than stallMin, as a stall from when
// it last ran to when it ran again. A frame stamped within a stall (or
// right after it) may have arrived as early as the stall's start; the
// timing checks widen their bounds by that much, and say so.

const (
	stallTick = 5 * time.Millisecond
	stallMin  = 20 * time.Millisecond
	stallKeep = 256 // the stalls remembered, the latest
)

// stall is a time the watch did not run.
type stall struct{ from, to time.Time }

type stallWatch struct {
	mu     sync.Mutex
	stalls []stall
	done   chan struct{}
}

// watchStalls starts a watch that runs until ctx ends; stop waits for it.
func watchStalls(ctx context.Context) (w *stallWatch, stop func()) {
	w = &stallWatch{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	// From now, not from when the goroutine first runs: a stall before
	// that is one too.
	prev := time.Now()
	t := time.NewTicker(stallTick)
	go func() {
		defer close(w.done)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			w.ran(prev, time.Now())
			prev = time.Now()
		}
	}()
	return w, func() { cancel(); <-w.done }
}

// ran records that the watch ran at now, having last run at prev.
func (w *stallWatch) ran(prev, now time.Time) {
	if now.Sub(prev) <= stallTick+stallMin {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.stalls) == stallKeep {
		w.stalls = append(w.stalls[:0], w.stalls[1:]...)
	}
	w.stalls = append(w.stalls, stall{prev, now})
}

// early is how much earlier than at a frame stamped at at may have
// arrived: at minus the start of the stall at falls in, or 0. A stamp up
// to a tick after a stall's end counts as in it: the reader may have run
// just after the watch did.
func (w *stallWatch) early(at time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var d time.Duration
	for _, s := range w.stalls {
		if !at.Before(s.from) && !at.After(s.to.Add(stallTick)) {
			d = max(d, at.Sub(s.from))
		}
	}
	return d
}

// longest is the longest stall that overlaps [from, to].
func (w *stallWatch) longest(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var d time.Duration
	for _, s := range w.stalls {
		if s.to.After(from) && s.from.Before(to) {
			d = max(d, s.to.Sub(s.from))
		}
	}
	return d
}
