package cloud

import (
	"context"

	"github.com/officegate/officegate/gateway/sinks"
)

// Bisect finds, for a batch API that takes or refuses a call whole, which
// records it refuses: send(lo, hi) submits records [lo, hi) in one call;
// refused(err) says whether err refuses the records themselves (a bad
// field, an unknown user) rather than the destination being down. A
// refused call of more than one record is split in halves and each sent
// again, so one bad record costs about 2·log2(n) extra calls and every
// good record still goes through, in order.
//
// The result has one entry per record: nil accepted, else the error of the
// call that settled it — a refusal for a record sent alone, or the
// destination's failure for the records of a call that failed for another
// reason, and for every record after it (they were not tried: order within
// a stream is kept).
func Bisect(ctx context.Context, n int, send func(ctx context.Context, lo, hi int) error, refused func(error) bool) []error {
	out := make([]error, n)
	var stop error // the destination failed: nothing after is tried
	var walk func(lo, hi int)
	walk = func(lo, hi int) {
		if stop != nil {
			for i := lo; i < hi; i++ {
				out[i] = stop
			}
			return
		}
		err := send(ctx, lo, hi)
		switch {
		case err == nil:
		case !refused(err):
			stop = err
			for i := lo; i < hi; i++ {
				out[i] = err
			}
		case hi-lo == 1:
			out[lo] = err
		default:
			mid := lo + (hi-lo)/2
			walk(lo, mid)
			walk(mid, hi)
		}
	}
	if n > 0 {
		walk(0, n)
	}
	return out
}

// Chunks sends n records in calls of at most size records, each call
// bisected (Bisect) so that only the records the platform refuses fail, for
// good (sinks.Permanent: the dead letter names the event). After a call
// that failed for another reason nothing later is tried — order within a
// stream is kept — and each record after its chunk gets notTried.
func Chunks(ctx context.Context, n, size int, send func(ctx context.Context, lo, hi int) error, refused func(error) bool, notTried error) []error {
	out := make([]error, n)
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		errs := Bisect(ctx, hi-lo, func(ctx context.Context, a, b int) error { return send(ctx, lo+a, lo+b) }, refused)
		stop := false
		for k, err := range errs {
			switch {
			case err == nil:
			case refused(err):
				err = sinks.Permanent(err)
			default:
				stop = true
			}
			out[lo+k] = err
		}
		if stop {
			for i := hi; i < n; i++ {
				out[i] = notTried
			}
			break
		}
	}
	return out
}
