package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/internal/backoff"
)

// Metrics is what a runner reports, by sink name; the gateway's metrics
// package implements it. Methods must not block.
type Metrics interface {
	Delivered(sink string)
	Failed(sink string)
	DeadLettered(sink string)
}

type nopMetrics struct{}

func (nopMetrics) Delivered(string)    {}
func (nopMetrics) Failed(string)       {}
func (nopMetrics) DeadLettered(string) {}

// Options configure a Runner.
type Options struct {
	// Name is the sink's name: its journal consumer (journal.Consumer.Name),
	// its metrics label and its log field.
	Name string
	// Streams are the journal streams it delivers; the journal must have been
	// opened with a Consumer of this Name and these Streams.
	Streams []string
	// Topics render each event's topic as the uplink would publish it.
	Topics envelope.Topics

	BackoffMin time.Duration // after a failed delivery; default 250 ms
	BackoffMax time.Duration // default 30 s

	// Alarm, if set, is called once a dead letter is durable, to raise the
	// visible alarm (the daemon journals a device.alarm). An error is logged.
	Alarm   func(ctx context.Context, dl DeadLetter) error
	Log     *zerolog.Logger
	Metrics Metrics
}

// Runner delivers a sink's streams to it from the sink's journal cursors.
type Runner struct {
	// Immutable.
	j       *journal.Journal
	sink    Sink
	opt     Options
	log     zerolog.Logger
	readers []*journal.Reader

	mu sync.Mutex
	// Guarded by mu.
	down error // the last delivery error while the sink is failing; nil when delivering
}

// New prepares a runner; Run starts it.
func New(j *journal.Journal, s Sink, o Options) (*Runner, error) {
	if o.BackoffMin == 0 {
		o.BackoffMin = 250 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	log := zerolog.Nop()
	if o.Log != nil {
		log = *o.Log
	}
	log = log.With().Str("sink", o.Name).Logger()
	if o.BackoffMin > o.BackoffMax {
		return nil, fmt.Errorf("sinks: sink %q: backoff min %v above max %v", o.Name, o.BackoffMin, o.BackoffMax)
	}
	if len(o.Streams) == 0 {
		return nil, fmt.Errorf("sinks: sink %q: no streams to deliver", o.Name)
	}
	r := &Runner{j: j, sink: s, opt: o, log: log}
	for _, st := range o.Streams {
		rd, err := j.ConsumerReader(o.Name, st)
		if err != nil {
			r.closeReaders()
			return nil, fmt.Errorf("sinks: sink %q: stream %q: %w", o.Name, st, err)
		}
		r.readers = append(r.readers, rd)
	}
	return r, nil
}

func (r *Runner) closeReaders() {
	for _, rd := range r.readers {
		rd.Close()
	}
}

// Close releases the journal readers and the sink of a runner that will
// not Run (Run releases them itself).
func (r *Runner) Close() {
	r.closeReaders()
	if c, ok := r.sink.(Closer); ok {
		c.Close()
	}
}

// Name is the sink's name.
func (r *Runner) Name() string { return r.opt.Name }

// Down returns the last delivery error while the sink is failing, nil while
// it delivers.
func (r *Runner) Down() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}

// Run delivers until ctx ends, one goroutine per stream so that each stream
// keeps its order and a slow one does not hold the others. It returns nil on
// cancellation, and an error only if the journal fails under it; it closes
// the sink if the sink is a Closer.
func (r *Runner) Run(ctx context.Context) error {
	defer func() {
		if c, ok := r.sink.(Closer); ok {
			if err := c.Close(); err != nil {
				r.log.Warn().Err(err).Msg("sinks: close")
			}
		}
	}()
	defer r.closeReaders()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, rd := range r.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.stream(ctx, rd); err != nil && ctx.Err() == nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// stream delivers one stream in order: a record is acknowledged to the
// journal only once the sink accepted it or it is a durable dead letter.
func (r *Runner) stream(ctx context.Context, rd *journal.Reader) error {
	for {
		rec, err := rd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sinks: sink %q: read: %w", r.opt.Name, err)
		}
		ev, skip, err := r.render(rec)
		switch {
		case err != nil:
			err = r.deadLetter(ctx, rec, ev, Permanent(err))
		case skip:
		default:
			err = r.deliver(ctx, rec, ev)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := rd.Ack(rec.Seq); err != nil {
			return fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
		}
	}
}

// deliver hands ev to the sink until it accepts it, or refuses it for good
// (then it becomes a dead letter), or ctx ends.
func (r *Runner) deliver(ctx context.Context, rec journal.Record, ev Event) error {
	for attempt := 0; ; attempt++ {
		err := r.sink.Deliver(ctx, ev)
		if err == nil {
			r.setDown(nil)
			r.opt.Metrics.Delivered(r.opt.Name)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrPermanent) {
			r.setDown(nil)
			return r.deadLetter(ctx, rec, ev, err)
		}
		r.opt.Metrics.Failed(r.opt.Name)
		delay := r.backoff(attempt)
		if r.setDown(err) {
			r.log.Warn().Err(err).Str("stream", rec.Stream).Uint64("seq", rec.Seq).Dur("retry_in", delay).
				Msg("sinks: delivery failed; retrying (later records of the stream wait)")
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// setDown records the sink's state and reports whether it just went down.
func (r *Runner) setDown(err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	was := r.down
	r.down = err
	if was != nil && err == nil {
		r.log.Info().Msg("sinks: delivering again")
	}
	return was == nil && err != nil
}

// deadLetter journals a record the sink can never accept in the dead-letter
// stream, waiting while the journal refuses it (a full disk), then raises
// the alarm. Only then may the record's cursor move past it.
func (r *Runner) deadLetter(ctx context.Context, rec journal.Record, ev Event, cause error) error {
	dl := DeadLetter{Sink: r.opt.Name, Stream: rec.Stream, Seq: rec.Seq, ID: ev.ID, Device: ev.Device,
		Type: ev.Type, Error: cause.Error(), Body: rec.Body}
	for attempt := 0; ; attempt++ {
		_, err := r.j.AppendCBOR(ctx, DeadLetterStream.Name, dl)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, journal.ErrFull) {
			return fmt.Errorf("sinks: sink %q: dead letter for %s seq %d: %w", r.opt.Name, rec.Stream, rec.Seq, err)
		}
		if err := sleep(ctx, r.backoff(attempt)); err != nil {
			return err
		}
	}
	r.opt.Metrics.DeadLettered(r.opt.Name)
	r.log.Error().Err(cause).Str("stream", rec.Stream).Uint64("seq", rec.Seq).Str("id", ev.ID).Str("device", ev.Device).
		Msg("sinks: the sink can never accept this record: kept in the dead-letter stream")
	if r.opt.Alarm != nil {
		if err := r.opt.Alarm(ctx, dl); err != nil && ctx.Err() == nil {
			r.log.Warn().Err(err).Uint64("seq", rec.Seq).Msg("sinks: could not raise the dead-letter alarm")
		}
	}
	return nil
}

// render turns a journaled record into the event the sink receives. skip
// is set for a record with nothing to deliver (a command log marker).
func (r *Runner) render(rec journal.Record) (ev Event, skip bool, err error) {
	ev = Event{Stream: rec.Stream, Seq: rec.Seq}
	o, err := envelope.DecodeOutbound(rec.Body)
	if err != nil {
		return ev, false, err
	}
	switch {
	case o.Marker != nil:
		return ev, true, nil
	case o.Event != nil:
		ev.ID, ev.Device, ev.Type = o.Event.ID, o.Event.Device, o.Event.Type
	case o.Result != nil:
		ev.ID, ev.Device, ev.Type = o.Result.ID, o.Result.Device, "result"
	}
	ev.Topic, ev.Payload, err = o.Message(r.opt.Topics, envelope.JSON)
	return ev, false, err
}

// backoff is the module's (internal/backoff).
func (r *Runner) backoff(attempt int) time.Duration {
	return backoff.Backoff{Min: r.opt.BackoffMin, Max: r.opt.BackoffMax}.Delay(attempt, rand.Float64())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
