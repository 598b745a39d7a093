package main

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// diskTempDir is a temporary directory on a disk-backed file system:
// t.TempDir unless that is tmpfs, else one beside the package.
func diskTempDir(t *testing.T) string {
	t.Helper()
	if dir := t.TempDir(); checkRealDisk(dir) == nil {
		return dir
	}
	dir, err := os.MkdirTemp(".", "bench-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := checkRealDisk(dir); err != nil {
		t.Skipf("no disk-backed directory: %v", err)
	}
	return dir
}

// TestMeasureEachStore runs the benchmark's own code path briefly on every
// store. It checks that the figures are there and that delivery was exactly
// once and in order (measure fails otherwise), never how fast anything was.
func TestMeasureEachStore(t *testing.T) {
	dir := diskTempDir(t)
	w := workload{Duration: 200 * time.Millisecond, Appenders: 4, Batch: 3, Size: 128}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			r, err := measure(t.Context(), s.name, filepath.Join(dir, s.name), w)
			if err != nil {
				t.Fatalf("measure: %v", err)
			}
			t.Logf("%+v", r)
			switch {
			case r.Events == 0 || r.EventsPerS <= 0:
				t.Errorf("no events: %+v", r)
			case r.BytesPerEvent <= 0:
				t.Errorf("nothing reached the disk: %+v", r)
			case r.FsyncsPerS <= 0 || r.CommitsPerS <= 0:
				t.Errorf("no fsyncs or commits counted: %+v", r)
			case r.RSSMB <= 0:
				t.Errorf("no RSS: %+v", r)
			case r.AppendP99Ms < r.AppendP50Ms:
				t.Errorf("p99 below p50: %+v", r)
			}
		})
	}
}

// memQueue is an in-memory queue whose fault, if set, damages the record
// appended as number faultAt.
type memQueue struct {
	fault   string // "", "drop", "duplicate", "swap"
	faultAt int
	notify  chan struct{}

	mu sync.Mutex
	// Guarded by mu.
	recs     [][]byte
	appended int
	held     []byte // for "swap": the record waiting for its successor

	next int // owned by the reader
}

func newMemQueue(fault string) *memQueue {
	return &memQueue{fault: fault, faultAt: 20, notify: make(chan struct{}, 1)}
}

func (q *memQueue) Append(bodies [][]byte) error {
	q.mu.Lock()
	for _, body := range bodies {
		b := slices.Clone(body)
		q.appended++
		switch {
		case q.appended != q.faultAt || q.fault == "":
			q.recs = append(q.recs, b)
			if q.held != nil {
				q.recs = append(q.recs, q.held)
				q.held = nil
			}
		case q.fault == "duplicate":
			q.recs = append(q.recs, b, b)
		case q.fault == "swap":
			q.held = b
		}
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

func (q *memQueue) Next(ctx context.Context, max int, fn func([]byte) error) (int, error) {
	for {
		q.mu.Lock()
		avail := q.recs[q.next:min(len(q.recs), q.next+max)]
		q.mu.Unlock()
		for i, b := range avail {
			q.next++
			if err := fn(b); err != nil {
				return i + 1, err
			}
		}
		if len(avail) > 0 {
			return len(avail), nil
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (q *memQueue) Ack() error         { return nil }
func (q *memQueue) Counters() counters { return counters{} }
func (q *memQueue) Close() error       { return nil }

// TestWorkloadCatchesFaults makes sure the exactly-once, in-order check is not
// vacuous: each kind of damage must fail the run.
func TestWorkloadCatchesFaults(t *testing.T) {
	w := workload{Duration: 100 * time.Millisecond, Appenders: 1, Size: 32, DrainIdle: 200 * time.Millisecond}
	for _, fault := range []string{"", "drop", "duplicate", "swap"} {
		name := cmp.Or(fault, "none")
		t.Run(name, func(t *testing.T) {
			out, err := w.run(t.Context(), newMemQueue(fault))
			if out.Appended < 40 {
				t.Skipf("only %d records appended; the fault is at 20", out.Appended)
			}
			if fault == "" && err != nil {
				t.Fatalf("clean run failed: %v", err)
			}
			if fault != "" && err == nil {
				t.Fatalf("%s of record 20 of %d went unnoticed", fault, out.Appended)
			}
			t.Logf("%v", err)
		})
	}
}

func TestCheckRealDiskRefusesTmpfs(t *testing.T) {
	const shm = "/dev/shm" // tmpfs on most Linux systems
	if _, err := os.Stat(shm); err != nil {
		t.Skip("no /dev/shm")
	}
	err := checkRealDisk(shm)
	if err == nil {
		t.Skipf("%s is not a memory file system here", shm)
	}
	t.Logf("%v", err)
}

func TestHistogramBuckets(t *testing.T) {
	for _, d := range []time.Duration{1, 15, 16, 17, 999, time.Microsecond, 130 * time.Microsecond,
		time.Millisecond, 4 * time.Millisecond, 385 * time.Millisecond, time.Minute} {
		b := bucketOf(uint64(d))
		if lo := lowerBound(b); lo > d || float64(lo) < float64(d)*(1-1.0/16) {
			t.Errorf("%v falls in a bucket starting at %v", d, lo)
		}
		if m := middle(b); float64(m) < float64(d)*(1-1.0/32) || float64(m) > float64(d)*(1+1.0/32) {
			t.Errorf("%v falls in a bucket whose middle is %v", d, m)
		}
	}
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	if p50, p99 := h.quantile(0.5), h.quantile(0.99); p50 < 49*time.Millisecond || p50 > 53*time.Millisecond || p99 < 96*time.Millisecond || p99 > 103*time.Millisecond {
		t.Errorf("p50 %v, p99 %v of 1..100 ms", p50, p99)
	}
}
