package roomdrv

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
)

// maxQueue bounds the events waiting for the sink. A room makes a few
// events an hour; thousands waiting means the sink has been busy for days,
// and memory is better spent elsewhere.
const maxQueue = 4096

// queue holds events in the order they happened, for the one goroutine that
// emits them.
type queue struct {
	mu     sync.Mutex
	items  []devices.Event // guarded by mu
	closed bool            // guarded by mu; the emitter has stopped
	ready  chan struct{}   // 1-buffered: something was pushed
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

// push appends es, all or none; false when the queue is closed or full.
func (q *queue) push(es ...devices.Event) bool {
	if len(es) == 0 {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.items)+len(es) > maxQueue {
		return false
	}
	q.items = append(q.items, es...)
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// next returns the oldest event without removing it.
func (q *queue) next() (devices.Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return devices.Event{}, false
	}
	return q.items[0], true
}

func (q *queue) pop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items[0] = devices.Event{}
	q.items = q.items[1:]
}

// close refuses further pushes and returns what was left.
func (q *queue) close() []devices.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	left := q.items
	q.items = nil
	return left
}

// drainTimeout bounds the hand-over of the queue at shutdown.
const drainTimeout = 5 * time.Second

// emitLoop emits queued events in order until ctx ends, then hands what is
// still queued to the sink under a short deadline of its own: those events
// are decisions already saved in the state file, which will not be made
// again, and the gateway keeps its journal open until every driver has
// returned. Only what the sink still cannot take is lost, and counted.
func (d *Driver) emitLoop(ctx context.Context, sink devices.Sink) {
	d.emitUntil(ctx, sink, false)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	defer func() {
		for _, e := range d.q.close() {
			d.lose(e, dctx.Err(), "the driver stopped before the sink took it")
		}
	}()
	d.emitUntil(dctx, sink, true)
}

// emitUntil emits queued events until ctx ends; draining, it also returns
// as soon as the queue is empty.
func (d *Driver) emitUntil(ctx context.Context, sink devices.Sink, draining bool) {
	for {
		e, ok := d.q.next()
		if !ok {
			if draining || ctx.Err() != nil {
				return
			}
			select {
			case <-d.q.ready:
				continue
			case <-ctx.Done():
				return
			}
		}
		if !d.deliver(ctx, sink, e) {
			return
		}
		d.q.pop()
	}
}

// deliver emits e, retrying a busy sink with backoff for as long as it takes:
// a room's events are decisions already saved in the state file, which will
// not be made again. It returns false, leaving e queued, only when ctx ends.
func (d *Driver) deliver(ctx context.Context, sink devices.Sink, e devices.Event) bool {
	err := devices.EmitRetry(ctx, sink, e, 0, func(w time.Duration) (<-chan time.Time, func()) { return gpio.After(d.clock, w) }, func() { d.busyRetries.Add(1) })
	switch {
	case err == nil:
		d.emitted.Add(1)
	case ctx.Err() != nil:
		return false
	default:
		d.lose(e, err, "the sink refused it")
	}
	return true
}

func (d *Driver) lose(e devices.Event, err error, why string) {
	n := d.lost.Add(1)
	ev := d.log.Error().Err(err).Str("type", e.Type).Time("at", e.Time).Uint64("events_lost", n)
	if b, ok := e.Data["booking"].(string); ok {
		ev = ev.Str("booking", b)
	}
	ev.Msg("roomdrv: event lost: " + why)
}

// roomEvent makes the devices.Event of an event of the room or the sensor.
func (d *Driver) event(typ string, at time.Time, data map[string]any) devices.Event {
	return devices.Event{Device: d.id, Type: typ, Time: at, Clock: devices.ClockSynced, Data: data}
}

// errQueueFull is what the sensor's sink answers when the queue is full; the
// sensor retries, then counts the transition lost.
var errQueueFull = fmt.Errorf("roomdrv: event queue full: %w", devices.ErrBusy)
