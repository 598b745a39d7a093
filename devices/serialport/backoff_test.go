package serialport

import (
	"math"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 1 * time.Second}
	for _, tc := range []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{0, 0, 50 * time.Millisecond}, // never sooner than half the step
		{0, 0.5, 75 * time.Millisecond},
		{1, 0, 100 * time.Millisecond},
		{2, 0.5, 300 * time.Millisecond},
		{3, 0, 400 * time.Millisecond},
		{4, 0, 500 * time.Millisecond}, // 1.6 s capped at Max
		{4, 0.999999, 999999500 * time.Nanosecond},
		{math.MaxInt, 0.5, 750 * time.Millisecond}, // no overflow however long a device stays away
	} {
		if got := b.Delay(tc.attempt, tc.r); got != tc.want {
			t.Errorf("Delay(%d, %v) = %v; want %v", tc.attempt, tc.r, got, tc.want)
		}
	}
}

func TestBackoffValidate(t *testing.T) {
	for _, b := range []Backoff{{0, time.Second}, {time.Second, time.Millisecond}, {-1, 0}} {
		if err := b.validate(); err == nil {
			t.Errorf("%v accepted", b)
		}
	}
	if err := (Backoff{DefaultMinBackoff, DefaultMaxBackoff}).validate(); err != nil {
		t.Errorf("default backoff: %v", err)
	}
}

// TestBackoffDelayHugeMax: a ceiling near the largest duration must not make
// the doubling wrap negative (the delay was ≤ 0: a retry storm).
func TestBackoffDelayHugeMax(t *testing.T) {
	b := Backoff{Min: time.Second, Max: math.MaxInt64}
	for _, attempt := range []int{33, 34, 62} {
		if got := b.Delay(attempt, 0); got < time.Second {
			t.Errorf("Delay(%d, 0) = %v; want at least Min", attempt, got)
		}
	}
}
