package kiosk

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices"
)

// maxQueued bounds the events waiting for the sink: hours of a busy lobby
// while the journal is behind, a few MB at most.
const maxQueued = 10000

// outbox queues events for the one goroutine that emits them, so they reach
// the sink in the order they happened and no flow waits for the journal.
type outbox struct {
	k      *Kiosk
	notify chan struct{} // a token after put

	mu sync.Mutex
	q  []devices.Event // guarded by mu
}

func newOutbox(k *Kiosk) *outbox { return &outbox{k: k, notify: make(chan struct{}, 1)} }

// put stamps e with the device and clock state and queues it. A full queue
// loses e, counted and logged: the kiosk has nowhere else to keep it.
func (o *outbox) put(e devices.Event) {
	e.Device, e.Clock = o.k.id, devices.ClockSynced
	o.mu.Lock()
	full := len(o.q) >= maxQueued
	if !full {
		o.q = append(o.q, e)
	}
	o.mu.Unlock()
	if full {
		o.k.lose(e, errors.New("event queue full"))
		return
	}
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q)
}

// drainTimeout bounds the hand-over of the queue at shutdown.
const drainTimeout = 5 * time.Second

// run emits queued events in order until ctx ends, then hands what is still
// queued to the sink under a short deadline of its own: those events are
// decisions already acted on (a visitor let in), and the gateway keeps its
// journal open until every driver has returned. Only what the sink still
// cannot take is lost, counted and logged.
func (o *outbox) run(ctx context.Context, sink devices.Sink) {
	o.loop(ctx, sink, false)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	o.loop(dctx, sink, true)
}

// loop emits queued events in order until ctx ends; with final (the drain
// at shutdown) it returns once the queue is empty, and what is still queued
// when ctx ends is lost (counted and logged); otherwise it stays queued.
func (o *outbox) loop(ctx context.Context, sink devices.Sink, final bool) {
	for {
		o.mu.Lock()
		var e devices.Event
		have := len(o.q) > 0
		if have {
			e = o.q[0]
		}
		o.mu.Unlock()
		if !have {
			if final {
				return // drained
			}
			select {
			case <-ctx.Done():
				return
			default:
			}
			select {
			case <-o.notify:
				continue
			case <-ctx.Done():
				return
			}
		}
		if !o.emit(ctx, sink, e) && ctx.Err() != nil {
			if !final {
				return
			}
			o.mu.Lock()
			left := o.q
			o.q = nil
			o.mu.Unlock()
			for _, e := range left {
				o.k.lose(e, ctx.Err())
			}
			return
		}
		o.mu.Lock()
		o.q[0] = devices.Event{}
		o.q = o.q[1:]
		o.mu.Unlock()
	}
}

// emit delivers e, retrying a busy sink with backoff for as long as ctx
// lasts. It reports whether e was taken; an event the sink refuses outright
// is lost (counted and logged) and emit returns false with ctx still live.
func (o *outbox) emit(ctx context.Context, sink devices.Sink, e devices.Event) bool {
	err := devices.EmitRetry(ctx, sink, e, 0, nil, func() { o.k.cnt.busyRetries.Add(1) })
	switch {
	case err == nil:
		o.k.cnt.emitted.Add(1)
		return true
	case ctx.Err() == nil:
		o.k.lose(e, err)
	}
	return false
}

// lose counts and logs an event that will not be delivered: its type and
// time, never its data (names, hashes).
func (k *Kiosk) lose(e devices.Event, err error) {
	n := k.cnt.lost.Add(1)
	k.log.Error().Err(err).Str("type", e.Type).Time("at", e.Time).Uint64("events_lost", n).Msg("kiosk: event lost")
}

// counters are the kiosk's own Status counters.
type counters struct {
	emitted, lost, busyRetries                    atomic.Uint64
	checkedIn, checkedOut, scansRejected          atomic.Uint64
	approved, badgesPrinted, badgesFailed         atomic.Uint64
	doorReleased, doorBusy, doorRefused           atomic.Uint64
	stateSaveFailed, printerOpened, printerFailed atomic.Uint64
}

func (c *counters) snapshot() map[string]uint64 {
	return map[string]uint64{
		"events_emitted":      c.emitted.Load(),
		"events_lost":         c.lost.Load(),
		"busy_retries":        c.busyRetries.Load(),
		"checked_in":          c.checkedIn.Load(),
		"checked_out":         c.checkedOut.Load(),
		"scans_rejected":      c.scansRejected.Load(),
		"approved":            c.approved.Load(),
		"badges_printed":      c.badgesPrinted.Load(),
		"badges_failed":       c.badgesFailed.Load(),
		"door_released":       c.doorReleased.Load(),
		"door_busy":           c.doorBusy.Load(),
		"door_refused":        c.doorRefused.Load(),
		"state_save_failed":   c.stateSaveFailed.Load(),
		"printer_opened":      c.printerOpened.Load(),
		"printer_open_failed": c.printerFailed.Load(),
	}
}
