package devices

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// countSink is busy for its first busy calls, then takes events or refuses
// them with refuse.
type countSink struct {
	calls, busy int
	refuse      error
}

func (s *countSink) Emit(context.Context, Event) error {
	s.calls++
	if s.calls <= s.busy {
		return fmt.Errorf("journal behind: %w", ErrBusy)
	}
	return s.refuse
}

// now is an instant timer: the tests count waits, they do not sleep.
func now(time.Duration) (<-chan time.Time, func()) {
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch, func() {}
}

func TestEmitRetry(t *testing.T) {
	ctx := context.Background()
	retries := 0
	s := &countSink{busy: 3}
	if err := EmitRetry(ctx, s, Event{}, 0, now, func() { retries++ }); err != nil || s.calls != 4 || retries != 3 {
		t.Errorf("busy three times: %v after %d calls, %d retries", err, s.calls, retries)
	}
	refused := errors.New("no device id")
	s = &countSink{refuse: refused}
	if err := EmitRetry(ctx, s, Event{}, 0, now, nil); !errors.Is(err, refused) || s.calls != 1 {
		t.Errorf("refused: %v after %d calls", err, s.calls)
	}
	// Limited: 10+20+40 ms of waiting then 30 ms to reach 100 ms, then give up.
	var waits []time.Duration
	s = &countSink{busy: 1 << 30}
	timer := func(d time.Duration) (<-chan time.Time, func()) { waits = append(waits, d); return now(d) }
	if err := EmitRetry(ctx, s, Event{}, 100*time.Millisecond, timer, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("limit spent: %v", err)
	}
	if fmt.Sprint(waits) != "[10ms 20ms 40ms 30ms]" {
		t.Errorf("waits %v", waits)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := EmitRetry(cctx, &countSink{busy: 1}, Event{}, 0, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
