package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BatchSink is a Sink that takes several events of a stream at once (one
// HTTP request, one database transaction). The runner hands it up to
// MaxBatch events that are already durable in the journal, in stream
// order; it never waits to fill a batch.
type BatchSink interface {
	Sink
	// MaxBatch is the most events one DeliverBatch may be given; below 1
	// means 1.
	MaxBatch() int
	// DeliverBatch hands evs to the destination. accepted is the number of
	// leading events the destination accepted; err describes evs[accepted],
	// the first one it did not: wrapping ErrPermanent, that one event goes
	// to the dead-letter stream; any other error is retried, from that
	// event, after a backoff (RetryAfter sets its minimum). The events after
	// it were not attempted and are offered again in order.
	//
	// accepted < len(evs) with a nil err is a sink taking less than it was
	// offered (a size limit): the rest comes again at once. A sink whose
	// destination answers per event (and may refuse one in the middle)
	// returns a *BatchError instead; accepted is then ignored. evs is the
	// runner's, reused for the next batch: a sink does not keep it.
	DeliverBatch(ctx context.Context, evs []Event) (accepted int, err error)
}

// BatchError is the per-event outcome of a DeliverBatch whose destination
// answers for each event: Errs[i] is the result for evs[i]: nil accepted,
// an error wrapping ErrPermanent dead-lettered, any other error retried.
// The runner acknowledges every accepted or dead-lettered event, and offers
// the retried ones again, in order, after a backoff; an event missing from
// Errs (it is shorter than the batch) is retried too. It deliberately does
// not unwrap to its parts: errors.Is(err, ErrPermanent) on the whole batch
// would be wrong.
type BatchError struct {
	Errs []error
}

func (e *BatchError) Error() string {
	n, first := 0, -1
	for i, err := range e.Errs {
		if err != nil {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		return "sinks: batch: every event accepted"
	}
	return fmt.Sprintf("sinks: batch: %d of %d events not accepted; event %d: %v", n, len(e.Errs), first, e.Errs[first])
}

// RetryAfter marks err as a failure not to retry before d has passed (an
// HTTP Retry-After, a platform's rate-limit window). The runner waits the
// longer of d and its own backoff, but at most Options.RetryAfterMax. A nil
// err stays nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, d: d}
}

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryDelay is the minimum delay RetryAfter put on err (the longest, if
// wrapped twice); 0 if none.
func RetryDelay(err error) time.Duration {
	var d time.Duration
	for err != nil {
		var ra *retryAfterError
		if !errors.As(err, &ra) {
			break
		}
		d = max(d, ra.d)
		err = ra.err
	}
	return d
}

// single is a Sink seen as a BatchSink of one.
type single struct{ Sink }

func (s single) MaxBatch() int { return 1 }

func (s single) DeliverBatch(ctx context.Context, evs []Event) (int, error) {
	if err := s.Deliver(ctx, evs[0]); err != nil {
		return 0, err
	}
	return 1, nil
}

// errNoProgress is a DeliverBatch that accepted nothing and said nothing.
var errNoProgress = errors.New("sinks: the sink accepted no event and returned no error")

// errNotTried marks an event after the first refused one: offered again
// without counting as a failure.
var errNotTried = errors.New("sinks: not attempted")

// outcomes spreads DeliverBatch's answer over its n events: nil accepted,
// errNotTried not attempted, else that event's error.
func outcomes(n, accepted int, err error) []error {
	out := make([]error, n)
	var be *BatchError
	if errors.As(err, &be) {
		for i := range out {
			out[i] = errNotTried
			if i < len(be.Errs) {
				out[i] = be.Errs[i]
			}
		}
		return out
	}
	accepted = min(max(accepted, 0), n)
	for i := accepted; i < n; i++ {
		out[i] = errNotTried
	}
	if accepted < n {
		switch {
		case err != nil:
			out[accepted] = err
		case accepted == 0:
			out[0] = errNoProgress
		}
	}
	return out
}
