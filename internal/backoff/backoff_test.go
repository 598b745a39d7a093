package backoff_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/officegate/officegate/internal/backoff"
)

func TestDelay(t *testing.T) {
	for _, tc := range []struct {
		b       backoff.Backoff
		attempt int
		r       float64
		want    time.Duration
	}{
		{backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, 0, 0, 50 * time.Millisecond}, // never sooner than half the step
		{backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, 2, 0.5, 300 * time.Millisecond},
		{backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, 4, 0, 500 * time.Millisecond}, // 1.6 s capped at Max
		{backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, math.MaxInt, 0.5, 750 * time.Millisecond},
		// A ceiling near the largest duration: doubling must not wrap negative.
		{backoff.Backoff{Min: time.Second, Max: math.MaxInt64}, 62, 0, math.MaxInt64 - math.MaxInt64/2},
		{backoff.Backoff{Min: 3 * time.Second, Max: math.MaxInt64 - 1}, 100, 0, (math.MaxInt64 - 1) - (math.MaxInt64-1)/2},
		{backoff.Backoff{Min: 0, Max: time.Second}, 0, 0, 500 * time.Millisecond},
	} {
		got := tc.b.Delay(tc.attempt, tc.r)
		if got != tc.want {
			t.Errorf("%v.Delay(%d, %v) = %v; want %v", tc.b, tc.attempt, tc.r, got, tc.want)
		}
		if got <= 0 {
			t.Errorf("%v.Delay(%d, %v) = %v: not positive", tc.b, tc.attempt, tc.r, got)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, b := range []backoff.Backoff{{}, {Min: time.Second, Max: time.Millisecond}, {Min: -1}} {
		if err := b.Validate(); !errors.Is(err, backoff.ErrBad) {
			t.Errorf("%v: Validate = %v, want ErrBad", b, err)
		}
	}
	if err := (backoff.Backoff{Min: time.Millisecond, Max: time.Millisecond}).Validate(); err != nil {
		t.Errorf("Min = Max: %v", err)
	}
}
