package natstest

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStartStress starts NATSTEST_STRESS clusters one after another in each
// of NATSTEST_PAR goroutines (default 1) and counts the starts that failed
// (a single attempt each, not Start's three) and the raft-silent nodes
// restarted (member.go). It runs only when NATSTEST_STRESS is set:
//
//	NATSTEST_STRESS=10 NATSTEST_PAR=3 go test -run TestStartStress -v ./internal/natstest
func TestStartStress(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NATSTEST_STRESS"))
	if n <= 0 {
		t.Skip("NATSTEST_STRESS is not set")
	}
	par, _ := strconv.Atoi(os.Getenv("NATSTEST_PAR"))
	par = max(par, 1)
	bin := Binary(t)
	var failed, restarted atomic.Int64
	var wg sync.WaitGroup
	for p := range par {
		wg.Go(func() {
			for i := range n {
				logf := func(format string, a ...any) {
					if strings.Contains(format, "restarting") {
						restarted.Add(1)
						t.Logf("worker %d start %d: "+format, append([]any{p, i}, a...)...)
					}
				}
				t0 := time.Now()
				c, err := startOnce(bin, t.TempDir(), &Opts{}, logf)
				if err != nil {
					failed.Add(1)
					t.Logf("worker %d start %d failed after %v: %v", p, i, time.Since(t0).Round(time.Second), err)
					continue
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	t.Logf("%d cluster starts: %d failed, %d raft-silent nodes restarted", n*par, failed.Load(), restarted.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d cluster starts failed", failed.Load(), n*par)
	}
}
