package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/gateway/journal"
)

// ErrorMetrics is a Metrics that also shows the class of a sink's failing
// deliveries (ClassOf; "" when it delivers again). Optional.
type ErrorMetrics interface {
	SinkError(sink, class string)
}

// BacklogCheck is how often a runner compares its backlog's bytes with the
// journal's cap: a backlog grows by a few KB per second at most, so a check
// per half minute sees the alarm's threshold long before the cap.
const BacklogCheck = 30 * time.Second

// Status is a sink's state, for an operator (officegate sinks status).
type Status struct {
	Name    string
	Streams []string
	Backlog uint64    // records not yet accepted by the destination
	Oldest  time.Time // append time of the oldest of them (a lower bound); zero when none
	Bytes   int64     // journal bytes its backlog keeps on disk
	// Alarm is set while Bytes is at least BacklogAlarmShare of the
	// journal's cap.
	Alarm bool
	// Down is the last delivery error while the sink is failing, "" while
	// it delivers; Class is its class (ClassOf).
	Down, Class string
	Held        int // records held for unmapped people
	// Delivered counts the records its destination accepted since the
	// gateway started, Failed its failed deliveries (each retried).
	Delivered, Failed uint64
}

// Status reports the sink's state.
func (r *Runner) Status() (Status, error) {
	st := Status{Name: r.opt.Name, Streams: r.opt.Streams}
	cs, err := r.j.ConsumerStats(r.opt.Name)
	if err != nil {
		return st, fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
	}
	st.Failed, st.Delivered = r.failed.Load(), r.delivered.Load()
	for _, c := range cs {
		st.Backlog += c.Depth
		if !c.OldestUndelivered.IsZero() && (st.Oldest.IsZero() || c.OldestUndelivered.Before(st.Oldest)) {
			st.Oldest = c.OldestUndelivered
		}
		st.Bytes = max(st.Bytes, c.Bytes) // its streams share segments
	}
	st.Alarm = BacklogAlarm(st.Bytes, r.j.Stats().MaxBytes)
	if err := r.Down(); err != nil {
		st.Down, st.Class = err.Error(), ClassOf(err)
	}
	st.Held = r.heldCount()
	return st, nil
}

// watchBacklog logs when the sink's backlog crosses the alarm's threshold,
// either way, and raises Options.BacklogAlarm when it rises to it; the
// metrics show the same (officegate_sink_backlog_alarm).
func (r *Runner) watchBacklog(ctx context.Context) {
	t := time.NewTicker(r.opt.BacklogCheck)
	defer t.Stop()
	alarmed := false
	for {
		st, err := r.Status()
		if err == nil && st.Alarm != alarmed {
			alarmed = st.Alarm
			if alarmed {
				r.log.Error().Int64("backlog_bytes", st.Bytes).Uint64("backlog", st.Backlog).Time("oldest", st.Oldest).
					Int64("cap_bytes", r.j.Stats().MaxBytes).Str("down", st.Down).
					Msg("sinks: the sink's backlog keeps half the journal's disk cap: fix its destination, or the journal will shed telemetry and then refuse punches")
				if r.opt.BacklogAlarm != nil {
					if err := r.opt.BacklogAlarm(ctx, st); err != nil && ctx.Err() == nil {
						r.log.Error().Err(err).Msg("sinks: raising the backlog alarm")
					}
				}
			} else {
				r.log.Info().Int64("backlog_bytes", st.Bytes).Msg("sinks: the sink's backlog is below the alarm again")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeadLetters lists the dead letters of a sink still in the journal and not
// replayed, oldest first.
func DeadLetters(ctx context.Context, j *journal.Journal, sink string) ([]DeadLetter, error) {
	by, err := DeadLettersBySink(ctx, j)
	if err != nil {
		return nil, fmt.Errorf("sinks: dead letters of %q: %w", sink, err)
	}
	return by[sink], nil
}

// DeadLettersBySink lists every sink's dead letters still in the journal
// and not replayed, oldest first, in one pass over the dead-letter stream
// (a status of every sink reads it once, not once per sink).
func DeadLettersBySink(ctx context.Context, j *journal.Journal) (map[string][]DeadLetter, error) {
	type key struct {
		sink, stream string
		seq          uint64
	}
	var all []DeadLetter
	replayed := map[key]bool{}
	err := j.Replay(ctx, DeadLetterStream.Name, func(rec journal.Record) error {
		var dl DeadLetter
		if err := rec.Decode(&dl); err != nil {
			return nil // unreadable: no sink's to list
		}
		if dl.Replayed {
			replayed[key{dl.Sink, dl.Stream, dl.Seq}] = true
			return nil
		}
		dl.At = rec.Time
		all = append(all, dl)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sinks: dead letters: %w", err)
	}
	by := map[string][]DeadLetter{}
	for _, dl := range all {
		if !replayed[key{dl.Sink, dl.Stream, dl.Seq}] {
			by[dl.Sink] = append(by[dl.Sink], dl)
		}
	}
	return by, nil
}

// ReplayResult is what Replay did with each dead letter.
type ReplayResult struct {
	Delivered int
	// Failed are the ones the destination refused again or could not take
	// now, with why; they stay dead letters, to replay later.
	Failed []ReplayFailure
}

// ReplayFailure is a dead letter Replay could not deliver.
type ReplayFailure struct {
	DeadLetter DeadLetter
	Error      string
}

// Replay offers the sink's dead letters to its destination again, once each,
// oldest first (after the cause was fixed: a mapping added, a column
// widened). A delivered one is marked replayed in the dead-letter stream and
// no longer listed; one refused again stays. A destination that is down
// stops the replay: the rest stay for the next one.
func (r *Runner) Replay(ctx context.Context) (ReplayResult, error) {
	var res ReplayResult
	dls, err := DeadLetters(ctx, r.j, r.opt.Name)
	if err != nil {
		return res, err
	}
	for i, dl := range dls {
		rec := journal.Record{Seq: dl.Seq, Stream: dl.Stream, Body: dl.Body}
		ev, skip, err := r.render(rec)
		if err == nil && !skip {
			var n int
			n, err = r.sink.DeliverBatch(ctx, []Event{ev})
			if be := (*BatchError)(nil); errors.As(err, &be) && len(be.Errs) > 0 {
				err = be.Errs[0]
			} else if err == nil && n != 1 {
				err = errNoProgress
			}
		}
		if err != nil {
			res.Failed = append(res.Failed, ReplayFailure{DeadLetter: dl, Error: err.Error()})
			if !errors.Is(err, ErrPermanent) && ctx.Err() == nil {
				for _, rest := range dls[i+1:] {
					res.Failed = append(res.Failed, ReplayFailure{DeadLetter: rest, Error: "not tried: the destination is down"})
				}
				return res, nil
			}
			continue
		}
		mark := DeadLetter{Sink: dl.Sink, Stream: dl.Stream, Seq: dl.Seq, ID: dl.ID, Device: dl.Device, Type: dl.Type, Replayed: true}
		if _, err := r.j.AppendCBOR(ctx, DeadLetterStream.Name, mark); err != nil {
			return res, fmt.Errorf("sinks: sink %q: marking %s seq %d replayed (it was delivered): %w", r.opt.Name, dl.Stream, dl.Seq, err)
		}
		r.opt.Metrics.Delivered(r.opt.Name)
		r.delivered.Add(1)
		res.Delivered++
		r.log.Info().Str("stream", dl.Stream).Uint64("seq", dl.Seq).Str("id", dl.ID).Msg("sinks: dead letter replayed")
	}
	return res, nil
}
