package sinkstest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fatalTB records the first Fatalf and ends the goroutine that called it,
// as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) message() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

// await runs c.Await(tb, n) and reports whether it returned (true) or
// failed tb (false).
func await(t *testing.T, c *Clock, tb *fatalTB, n int) bool {
	t.Helper()
	returned := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Await(tb, n)
		returned = true
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("Await(%d) neither returned nor failed within a minute", n)
	}
	return returned
}

// TestClockAwaitBounded: an Await nobody satisfies fails its test with
// what it awaited, instead of hanging until go test kills the package.
func TestClockAwaitBounded(t *testing.T) {
	c := NewClock()
	c.AwaitTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slept := make(chan error, 1)
	go func() { slept <- c.Sleep(ctx, time.Second) }()

	tb := &fatalTB{TB: t}
	if !await(t, c, tb, 1) {
		t.Fatalf("Await(1) failed with a retry waiting: %s", tb.message())
	}
	if await(t, c, tb, 3) {
		t.Fatal("Await(3) returned with one retry waiting")
	}
	if msg, want := tb.message(), "Clock.Await(3): 1 of 3 retries started waiting within 50ms"; !strings.Contains(msg, want) {
		t.Errorf("Await(3) failed with %q, want it to say %q", msg, want)
	}
	c.Release()
	if err := <-slept; err != nil {
		t.Errorf("Sleep after Release: %v", err)
	}
}
