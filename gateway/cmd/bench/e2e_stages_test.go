package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// labelShares adds up a real CPU profile's samples by label: two goroutines
// labelled side=a and side=b burn CPU, and both labels get a share, the
// shares summing to one.
func TestLabelShares(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("CPU profiler busy: %v", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var spins [2]int // per side, written by its goroutine only
	for i, side := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = benchSide(side, func() error {
				for {
					select {
					case <-stop:
						return nil
					default:
					}
					for k := 0; k < 100_000; k++ {
						spins[i] += k & 1
					}
				}
			})
		}()
	}
	// Until both have burnt enough CPU for the profiler (a sample per 10 ms
	// of CPU) to see each: a wait on the process's CPU time, bounded.
	cpu0, deadline := selfCPU(), time.Now().Add(20*time.Second)
	for selfCPU()-cpu0 < time.Second && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	pprof.StopCPUProfile()
	shares, err := labelShares(&buf, "side")
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, v := range shares {
		sum += v
	}
	if shares["a"] == 0 || shares["b"] == 0 || math.Abs(sum-1) > 1e-9 {
		t.Fatalf("shares %v (spins %v)", shares, spins)
	}
}

// ctxSwitches counts this process's threads' switches: a goroutine that
// blocks and wakes again adds voluntary ones.
func TestCtxSwitches(t *testing.T) {
	v0, _, err := ctxSwitches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for v1 := v0; v1 == v0; {
		// A timer wait parks the thread: the kernel counts a voluntary switch.
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		<-ctx.Done()
		cancel()
		if v1, _, err = ctxSwitches(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
}
