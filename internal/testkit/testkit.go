// Package testkit holds what the module's tests share: a leak check and a
// bounded context. The leak check is of goroutines. Only tests import it.
package testkit

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// settle is how long goroutines a test started get to end after its
// cleanups have run: a bound that only catches a goroutine nobody stops, so
// generous enough for a loaded machine running every package under -race.
const settle = 20 * time.Second

// NoLeaks fails t if goroutines started during it are still running once
// its other cleanups have run: every goroutine must have an owner that stops
// it. Call it first, so its cleanup runs last.
func NoLeaks(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(settle)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines before the test, %d after:\n%s", before, runtime.NumGoroutine(), buf)
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond) // polling the runtime, not synchronising with the code under test
		}
	})
}

// Ctx returns a context that ends after d, or when the test ends: every wait
// in a test is bounded, so a bug fails it instead of hanging it.
func Ctx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
