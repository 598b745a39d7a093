package sinks

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/officegate/officegate/gateway/journal"
)

// WindowSink is a Sink that keeps a window of deliveries in flight instead
// of waiting for each one (the MQTT uplink: QoS 1 publishes awaiting their
// PUBACKs; a round trip per event would cap it at one event per round trip).
// The runner then drives it through Send rather than Deliver: one sender
// for all the sink's streams, the most important stream with a record ready
// first, and an acknowledger that waits for each delivery in the order it
// was started and moves the journal cursor only past the accepted ones.
//
// A delivery that fails (not ErrPermanent) ends the round: the runner waits
// for nothing more of it, rewinds every stream to its cursor and starts
// again, after a backoff, from the first record not accepted — so records
// already sent may be sent again (their ids are stable: consumers
// deduplicate), and none is skipped or reordered within its stream.
type WindowSink interface {
	Sink
	// Window is the most deliveries in flight at once, across the streams.
	Window() int
	// Send starts delivering ev and returns without waiting for the
	// destination's answer. It may block while the destination is down
	// (until it is back, or ctx ends). An error wrapping ErrPermanent means
	// ev can never be delivered (it is dead-lettered); any other error ends
	// the round.
	Send(ctx context.Context, ev Event) (Pending, error)
}

// Pending is a delivery in flight.
type Pending interface {
	// Wait returns once the destination answered: nil when it accepted the
	// event; an error wrapping ErrPermanent when it never will; any other
	// error when the delivery failed (the connection went down). It returns
	// ctx's error if ctx ends first.
	Wait(ctx context.Context) error
}

// flight is a record whose delivery is in flight.
type flight struct {
	p   Pending
	rd  *journal.Reader
	rec journal.Record
	ev  Event
}

// runWindow drives a WindowSink until ctx ends, round after round.
func (r *Runner) runWindow(ctx context.Context, ws WindowSink) error {
	for attempt := 0; ; {
		accepted, err := r.round(ctx, ws)
		if ctx.Err() != nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if accepted {
			attempt = 0
		}
		r.opt.Metrics.Failed(r.opt.Name)
		r.failed.Add(1)
		delay := r.backoff(attempt)
		attempt++
		if r.setDown(err) {
			r.log.Warn().Err(err).Dur("retry_in", delay).
				Msg("sinks: delivery failed; starting again from the first record not accepted")
		}
		if err := r.opt.Sleep(ctx, delay); err != nil {
			return nil
		}
		for _, rd := range r.readers {
			rd.Rewind() // what was in flight comes again, in order
		}
	}
}

// fatalError is a journal failure under a round: the runner stops.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// round sends records until a delivery fails or ctx ends, and reports
// whether any was accepted.
func (r *Runner) round(ctx context.Context, ws WindowSink) (accepted bool, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	feeds := make([]chan journal.Record, len(r.readers))
	for i, rd := range r.readers {
		feeds[i] = make(chan journal.Record)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				rec, err := rd.Next(rctx)
				if err != nil {
					if rctx.Err() == nil {
						cancel(&fatalError{fmt.Errorf("sinks: sink %q: read: %w", r.opt.Name, err)})
					}
					return
				}
				select {
				case feeds[i] <- rec:
				case <-rctx.Done():
					return
				}
			}
		}()
	}
	flights := make(chan flight, max(ws.Window(), 1))
	var ok sync.Once
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var f flight
			select {
			case f = <-flights:
			case <-rctx.Done():
				return
			}
			err := f.p.Wait(rctx)
			switch {
			case rctx.Err() != nil:
				return
			case err == nil:
				r.opt.Metrics.Delivered(r.opt.Name)
				r.delivered.Add(1)
				ok.Do(func() { accepted = true; r.setDown(nil) })
			case errors.Is(err, ErrPermanent):
				if err := r.deadLetter(rctx, f.rec, f.ev, err); err != nil {
					cancel(&fatalError{err})
					return
				}
			default:
				cancel(err)
				return
			}
			if err := f.rd.Ack(f.rec.Seq); err != nil {
				cancel(&fatalError{fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)})
				return
			}
		}
	}()
	r.send(rctx, cancel, ws, feeds, flights)
	cancel(nil)
	wg.Wait()
	err = context.Cause(rctx)
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		err = nil
	}
	return accepted, err
}

// send starts a delivery for each record, the most important stream with
// a record ready first, until rctx ends.
func (r *Runner) send(rctx context.Context, cancel context.CancelCauseFunc, ws WindowSink, feeds []chan journal.Record, flights chan<- flight) {
	cases := make([]reflect.SelectCase, len(feeds)+1)
	cases[0] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(rctx.Done())}
	for i, f := range feeds {
		cases[i+1] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(f)}
	}
	for {
		var rec journal.Record
		idx := -1
		for i, f := range feeds {
			select {
			case rec = <-f:
				idx = i
			default:
				continue
			}
			break
		}
		if idx < 0 {
			chosen, v, ok := reflect.Select(cases)
			if chosen == 0 || !ok {
				return
			}
			rec, idx = v.Interface().(journal.Record), chosen-1
		}
		rd := r.readers[idx]
		ev, skip, err := r.render(rec)
		if err == nil && !skip {
			var p Pending
			p, err = ws.Send(rctx, ev)
			if err == nil {
				select {
				case flights <- flight{p: p, rd: rd, rec: rec, ev: ev}:
					continue
				case <-rctx.Done():
					return
				}
			}
			if rctx.Err() != nil {
				return
			}
			if !errors.Is(err, ErrPermanent) {
				cancel(err)
				return
			}
		}
		if err != nil {
			if err := r.undeliverable(rctx, rec, ev, err); err != nil {
				cancel(&fatalError{err})
				return
			}
		}
		if err := rd.Ack(rec.Seq); err != nil {
			cancel(&fatalError{fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)})
			return
		}
	}
}

// undeliverable dead-letters a record the sink can never take; a journal
// opened without the dead-letter stream (a bare uplink in a test or an
// embedding) logs and counts it instead.
func (r *Runner) undeliverable(ctx context.Context, rec journal.Record, ev Event, cause error) error {
	if !errors.Is(cause, ErrPermanent) {
		cause = Permanent(cause)
	}
	err := r.deadLetter(ctx, rec, ev, cause)
	if errors.Is(err, journal.ErrUnknownStream) {
		r.opt.Metrics.DeadLettered(r.opt.Name)
		r.log.Error().Err(cause).Str("stream", rec.Stream).Uint64("seq", rec.Seq).
			Msg("sinks: the sink can never accept this record, and the journal has no dead-letter stream: dropped")
		dl := r.deadLetterOf(rec, ev, cause)
		dl.Body = nil // not kept anywhere
		r.alarm(ctx, dl)
		return nil
	}
	return err
}
