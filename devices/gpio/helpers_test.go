package gpio_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/gpio/gpiosim"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// testCtx bounds every wait in a test, so a bug fails the test instead of
// hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noLeak fails the test if goroutines it started outlive it. It spins on the
// condition (yielding) rather than sleeping a guessed time.
func noLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				n := runtime.Stack(buf, true)
				t.Errorf("%d goroutines before the test, %d after:\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			runtime.Gosched()
		}
	})
}

// levels renders a pin's history compactly: "L@0s H@0s L@3s" (times from t0).
func levels(h []gpiosim.Change) string {
	var b strings.Builder
	for i, c := range h {
		if i > 0 {
			b.WriteByte(' ')
		}
		if c.Level {
			b.WriteString("H@")
		} else {
			b.WriteString("L@")
		}
		b.WriteString(c.Time.Sub(t0).String())
	}
	return b.String()
}
