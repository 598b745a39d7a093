package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
	// Format is the payload's encoding; default JSON.
	Format envelope.Format
	// Primary reads the journal's primary cursors of Streams instead of a
	// named consumer's: the MQTT uplink's, the journal's first consumer.
	Primary bool
	// Decode, if set, reads each journaled record instead of the gateway's
	// envelope.Outbound (Topics and Format are then unused): officegate
	// connect journals the messages it took from the backbone as they were
	// published (gateway/connect). skip: nothing to deliver; an error
	// dead-letters the record.
	Decode func(rec journal.Record) (ev Event, skip bool, err error)

	BackoffMin time.Duration // after a failed delivery; default 250 ms
	BackoffMax time.Duration // default 30 s
	// RetryAfterMax caps the delay a RetryAfter error asks for (a server
	// asking for a day does not stall the sink for a day); default 10 min.
	RetryAfterMax time.Duration
	// Sleep waits between retries; nil: a timer. Tests inject it to run
	// minutes of backoff without waiting for them.
	Sleep func(ctx context.Context, d time.Duration) error

	// Alarm, if set, is called once a dead letter is durable, to raise the
	// visible alarm (the daemon journals a device.alarm). An error is logged.
	Alarm   func(ctx context.Context, dl DeadLetter) error
	Log     *zerolog.Logger
	Metrics Metrics

	// HeldDir, if set, is where the sink keeps the records it holds
	// (held.go): a record the sink refuses as Unmapped is kept there and
	// its stream moves on. Without it such a record is retried like a
	// sink that is down.
	HeldDir string
	// Retry, if set, signals that held records may now be deliverable
	// (the person directory changed: people.Directory.Watch).
	Retry <-chan struct{}
	// HoldAlarm, if set, is called when a person's first record is held
	// (once per person while any of theirs is held). An error is logged.
	HoldAlarm func(ctx context.Context, h Held) error
	// BacklogAlarm, if set, is called once each time the sink's backlog
	// rises to the alarm's threshold (Status.Alarm turns on), to raise the
	// visible alarm (the daemon journals a device.alarm). An error is
	// logged; the next rise calls it again.
	BacklogAlarm func(ctx context.Context, st Status) error
	// BacklogCheck is how often the backlog is compared with the
	// threshold; default BacklogCheck.
	BacklogCheck time.Duration
}

// Runner delivers a sink's streams to it from the sink's journal cursors.
type Runner struct {
	// Immutable.
	j         *journal.Journal
	s         Sink      // as configured: closed if a Closer
	sink      BatchSink // s, or s as a batch of one
	max       int       // the most events per DeliverBatch
	opt       Options
	log       zerolog.Logger
	readers   []*journal.Reader
	failed    atomic.Uint64 // failed deliveries since New: each is retried (Status.Failed)
	delivered atomic.Uint64 // records the destination accepted since New (Status.Delivered)

	mu sync.Mutex
	// Guarded by mu.
	down error    // the last delivery error while the sink is failing; nil when delivering
	held heldList // the records it holds (held.go)
}

// New prepares a runner; Run starts it.
func New(j *journal.Journal, s Sink, o Options) (*Runner, error) {
	if o.BackoffMin == 0 {
		o.BackoffMin = 250 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.RetryAfterMax == 0 {
		o.RetryAfterMax = 10 * time.Minute
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.BacklogCheck <= 0 {
		o.BacklogCheck = BacklogCheck
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
	bs, ok := s.(BatchSink)
	if !ok {
		bs = single{s}
	}
	r := &Runner{j: j, s: s, sink: bs, opt: o, log: log, max: max(bs.MaxBatch(), 1)}
	if err := r.loadHeld(); err != nil {
		return nil, err
	}
	for _, st := range o.Streams {
		open := func() (*journal.Reader, error) { return j.ConsumerReader(o.Name, st) }
		if o.Primary {
			open = func() (*journal.Reader, error) { return j.Reader(st) }
		}
		rd, err := open()
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
	if c, ok := r.s.(Closer); ok {
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
		if c, ok := r.s.(Closer); ok {
			if err := c.Close(); err != nil {
				r.log.Warn().Err(err).Msg("sinks: close")
			}
		}
	}()
	defer r.closeReaders()
	if ws, ok := r.s.(WindowSink); ok {
		return r.runWindow(ctx, ws) // window.go
	}
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.watchBacklog(ctx) // ops.go
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.runHeld(ctx); err != nil && ctx.Err() == nil {
			cancel(err)
		}
	}()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// item is a record of a batch and the event rendered from it.
type item struct {
	rec journal.Record
	ev  Event
}

// stream delivers one stream in order, in batches of what is already
// durable: a record is acknowledged to the journal only once the sink
// accepted it or it is a durable dead letter.
func (r *Runner) stream(ctx context.Context, rd *journal.Reader) error {
	// One batch's arrays, reused by the next: a batch is delivered (or
	// the runner stops) before the next is gathered.
	var items []item
	var evs []Event
	for {
		batch, err := r.gather(ctx, rd, items[:0])
		if err == nil {
			items = batch
			if cap(evs) < len(batch) {
				evs = make([]Event, 0, len(batch))
			}
			err = r.deliver(ctx, rd, batch, evs)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// gather reads the next batch: it waits for a first record, then takes
// what else is durable now, up to the sink's MaxBatch; it never waits to
// fill a batch (under load, a group commit's records are there together). A record with nothing to deliver is acknowledged at once, and
// one that cannot be rendered is dead-lettered at once: neither waits for
// the batch.
func (r *Runner) gather(ctx context.Context, rd *journal.Reader, batch []item) ([]item, error) {
	for len(batch) < r.max {
		var rec journal.Record
		var err error
		ok := true
		switch {
		case len(batch) == 0:
			rec, err = rd.Next(ctx)
		default:
			rec, ok, err = rd.TryNext()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("sinks: sink %q: read: %w", r.opt.Name, err)
		}
		if !ok {
			break
		}
		ev, skip, err := r.render(rec)
		switch {
		case err != nil:
			if err := r.deadLetter(ctx, rec, ev, Permanent(err)); err != nil {
				return nil, err
			}
		case skip:
		default:
			batch = append(batch, item{rec, ev})
			continue
		}
		if err := rd.Ack(rec.Seq); err != nil {
			return nil, fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
		}
	}
	return batch, nil
}

// deliver hands a batch to the sink until every event of it is accepted or
// dead-lettered, or ctx ends. Each accepted or dead-lettered event is
// acknowledged; the rest are offered again, in order, after a backoff.
// evs is room for the batch's events.
func (r *Runner) deliver(ctx context.Context, rd *journal.Reader, batch []item, evs []Event) error {
	for attempt := 0; len(batch) > 0; {
		evs = evs[:0]
		for _, it := range batch {
			evs = append(evs, it.ev)
		}
		accepted, err := r.sink.DeliverBatch(ctx, evs)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		results := outcomes(len(evs), accepted, err)
		r.holdUnmapped(ctx, batch, results)
		var failed error // the first retryable failure of this attempt
		var wait time.Duration
		keep := batch[:0]
		for i, res := range results {
			it := batch[i]
			switch {
			case res == errHeld: // acknowledged below
			case res == nil:
				r.opt.Metrics.Delivered(r.opt.Name)
				r.delivered.Add(1)
			case errors.Is(res, ErrPermanent):
				if err := r.deadLetter(ctx, it.rec, it.ev, res); err != nil {
					return err
				}
			default:
				if res != errNotTried && failed == nil {
					failed = res
				}
				wait = max(wait, RetryDelay(res))
				keep = append(keep, it)
				continue
			}
			if err := rd.Ack(it.rec.Seq); err != nil {
				return fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
			}
		}
		batch = keep
		if failed == nil {
			r.setDown(nil)
			continue // all taken, or the sink took a prefix: offer the rest now
		}
		r.opt.Metrics.Failed(r.opt.Name)
		r.failed.Add(1)
		delay := max(r.backoff(attempt), min(wait, r.opt.RetryAfterMax))
		attempt++
		if r.setDown(failed) {
			r.log.Warn().Err(failed).Str("stream", batch[0].rec.Stream).Uint64("seq", batch[0].rec.Seq).
				Int("waiting", len(batch)).Dur("retry_in", delay).
				Msg("sinks: delivery failed; retrying (later records of the stream wait)")
		}
		if err := r.opt.Sleep(ctx, delay); err != nil {
			return err
		}
	}
	return nil
}

// errHeld marks a result of a batch whose record the sink now holds
// (held.go): acknowledged, not counted as delivered.
var errHeld = errors.New("sinks: held")

// holdUnmapped holds, in one write, the records of a batch refused as
// Unmapped, and replaces their results with errHeld, or with why they could
// not be held.
func (r *Runner) holdUnmapped(ctx context.Context, batch []item, results []error) {
	var (
		idx []int
		its []item
		ues []*UnmappedError
	)
	for i, res := range results {
		if ue := (*UnmappedError)(nil); errors.As(res, &ue) {
			idx, its, ues = append(idx, i), append(its, batch[i]), append(ues, ue)
		}
	}
	if len(idx) == 0 {
		return
	}
	for k, err := range r.hold(ctx, its, ues) {
		if err == nil {
			err = errHeld
		}
		results[idx[k]] = err
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
	if em, ok := r.opt.Metrics.(ErrorMetrics); ok && ClassOf(err) != ClassOf(was) {
		em.SinkError(r.opt.Name, ClassOf(err))
	}
	return was == nil && err != nil
}

// deadLetter journals a record the sink can never accept in the dead-letter
// stream, waiting while the journal refuses it (a full disk), then raises
// the alarm. Only then may the record's cursor move past it.
func (r *Runner) deadLetter(ctx context.Context, rec journal.Record, ev Event, cause error) error {
	dl := r.deadLetterOf(rec, ev, cause)
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
		if err := r.opt.Sleep(ctx, r.backoff(attempt)); err != nil {
			return err
		}
	}
	r.opt.Metrics.DeadLettered(r.opt.Name)
	r.log.Error().Err(cause).Str("stream", rec.Stream).Uint64("seq", rec.Seq).Str("id", ev.ID).Str("device", ev.Device).
		Msg("sinks: the sink can never accept this record: kept in the dead-letter stream")
	r.alarm(ctx, dl)
	return nil
}

func (r *Runner) deadLetterOf(rec journal.Record, ev Event, cause error) DeadLetter {
	return DeadLetter{Sink: r.opt.Name, Stream: rec.Stream, Seq: rec.Seq, ID: ev.ID, Device: ev.Device,
		Type: ev.Type, Error: cause.Error(), Body: rec.Body}
}

// alarm raises the dead-letter alarm (Options.Alarm); an error is logged.
func (r *Runner) alarm(ctx context.Context, dl DeadLetter) {
	if r.opt.Alarm == nil {
		return
	}
	if err := r.opt.Alarm(ctx, dl); err != nil && ctx.Err() == nil {
		r.log.Warn().Err(err).Uint64("seq", dl.Seq).Msg("sinks: could not raise the dead-letter alarm")
	}
}

// render turns a journaled record into the event the sink receives. skip
// is set for a record with nothing to deliver (a command log marker). A
// RecordSink gets the decoded record without its JSON rendering: a body
// that cannot be rendered is then the sink's to refuse.
func (r *Runner) render(rec journal.Record) (ev Event, skip bool, err error) {
	if r.opt.Decode != nil {
		ev, skip, err = r.opt.Decode(rec)
		ev.Stream, ev.Seq = rec.Stream, rec.Seq
		return ev, skip, err
	}
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
	ev.Record = o
	if _, ok := r.s.(RecordSink); ok {
		ev.Topic = o.Topic(r.opt.Topics)
		return ev, false, nil
	}
	ev.Topic, ev.Payload, err = o.Message(r.opt.Topics, r.opt.Format)
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
