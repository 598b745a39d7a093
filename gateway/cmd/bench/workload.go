package main

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// queue is a durable store-and-forward queue as the workload drives it: many
// appenders, one in-order reader that acknowledges what it read, and deletion
// of acknowledged data. Each store under test implements it.
type queue interface {
	// Append stores bodies (one appender's batch, in order) and returns once
	// all are durable. Safe for concurrent use; bodies may be reused when it
	// returns.
	Append(bodies [][]byte) error
	// Next calls fn, in order, for up to max records after the last one it
	// delivered, waiting until at least one is available or ctx ends. It
	// returns how many it delivered, with ctx's error if ctx ended first.
	Next(ctx context.Context, max int, fn func(body []byte) error) (int, error)
	// Ack acknowledges every delivered record; the store may then delete them.
	Ack() error
	// Counters reports the store's durable commits and fsync-class calls so far.
	Counters() counters
	Close() error
}

type counters struct {
	Commits uint64 // durable commits (group commits, write transactions)
	Fsyncs  uint64 // fsync and fdatasync calls, counted as each store explains
}

// workload is the store-and-forward work every store does.
type workload struct {
	Duration  time.Duration // how long the appenders append
	Appenders int           // concurrent appenders
	Batch     int           // records per append call: what a device link has in flight
	Size      int           // record body bytes
	// DrainIdle is how long the reader may find nothing new after the
	// appenders stopped while records are still missing, before it declares
	// them lost. Zero means 10 s.
	DrainIdle time.Duration
}

// A record body starts with the appender's number and the record's number
// among that appender's records (from 1), which the reader checks; the rest
// is filler.
const bodyHeader = 4 + 8

// readBatch bounds one Next: the reader acknowledges (and the SQL stores
// delete) at most this many records at a time.
const readBatch = 1024

// outcome is what one run measured.
type outcome struct {
	Appended    uint64        // records whose Append returned
	ReadInTime  uint64        // records read when the appenders stopped
	Elapsed     time.Duration // first append started to last append returned
	Counters    counters      // during Elapsed
	Latency     *histogram    // of Append calls
	DrainedTime time.Duration // after Elapsed, for the reader to catch up
}

// run drives q with the workload: w.Appenders goroutines append for
// w.Duration while one reader reads, checks and acknowledges. When the
// appenders stop, the reader drains the backlog. It fails unless the reader
// saw every appended record exactly once and in each appender's order.
func (w workload) run(ctx context.Context, q queue) (outcome, error) {
	out := outcome{Latency: &histogram{}}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	v := &verifier{size: w.Size, next: make([]uint64, w.Appenders)}
	for i := range v.next {
		v.next[i] = 1
	}
	var (
		read      atomic.Uint64 // records delivered to the reader and checked
		total     atomic.Uint64 // set once the appenders have stopped
		readerErr = make(chan error, 1)
	)
	// The reader reads with liveCtx while the appenders run, then drains.
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	go func() {
		readerErr <- readAll(ctx, liveCtx, q, v, &read, &total, cmp.Or(w.DrainIdle, 10*time.Second))
	}()

	appended := make([]uint64, w.Appenders)
	before := q.Counters()
	start := time.Now()
	deadline := start.Add(w.Duration)
	var wg sync.WaitGroup
	for a := range w.Appenders {
		wg.Go(func() {
			n, err := appendLoop(ctx, q, a, w.Size, max(w.Batch, 1), deadline, out.Latency)
			appended[a] = n
			if err != nil {
				cancel(fmt.Errorf("appender %d, record %d: %w", a, n+1, err))
			}
		})
	}
	wg.Wait()
	out.Elapsed = time.Since(start)
	after := q.Counters()
	out.Counters = counters{Commits: after.Commits - before.Commits, Fsyncs: after.Fsyncs - before.Fsyncs}
	for _, n := range appended {
		out.Appended += n
	}
	out.ReadInTime = read.Load()
	total.Store(out.Appended)
	stopLive()

	err := <-readerErr
	out.DrainedTime = time.Since(start) - out.Elapsed
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return out, cause // an appender failed; the reader's error follows from it
	}
	if err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	for a, n := range appended {
		if got := v.next[a] - 1; got != n {
			return out, fmt.Errorf("appender %d: %d records durably appended, %d read", a, n, got)
		}
	}
	return out, nil
}

// appendLoop appends batches of numbered records until deadline and returns
// how many became durable. An append in flight is never cancelled: its outcome
// would be unknown. Latency is per append call (per batch).
func appendLoop(ctx context.Context, q queue, a, size, batch int, deadline time.Time, lat *histogram) (uint64, error) {
	bodies := make([][]byte, batch)
	rng := rand.New(rand.NewPCG(uint64(a), 1))
	for k := range bodies {
		body := make([]byte, size)
		for i := bodyHeader; i < size; i++ {
			body[i] = byte(rng.Uint32())
		}
		binary.LittleEndian.PutUint32(body[0:4], uint32(a))
		bodies[k] = body
	}
	var n uint64
	for ctx.Err() == nil && time.Now().Before(deadline) {
		for k, body := range bodies {
			binary.LittleEndian.PutUint64(body[4:12], n+uint64(k)+1)
		}
		t0 := time.Now()
		if err := q.Append(bodies); err != nil {
			return n, err
		}
		lat.add(time.Since(t0))
		n += uint64(batch)
	}
	return n, nil
}

// readAll reads and acknowledges until liveCtx ends, then until it has read
// total records; ctx ending stops it at once.
func readAll(ctx, liveCtx context.Context, q queue, v *verifier, read, total *atomic.Uint64, idle time.Duration) error {
	check := func(body []byte) error {
		if err := v.check(body); err != nil {
			return err
		}
		read.Add(1)
		return nil
	}
	for {
		rctx, cancel := liveCtx, context.CancelFunc(func() {})
		draining := liveCtx.Err() != nil
		if draining {
			if read.Load() >= total.Load() {
				return nil
			}
			rctx, cancel = context.WithTimeout(ctx, idle)
		}
		n, err := q.Next(rctx, readBatch, check)
		cancel()
		if n > 0 {
			if err := q.Ack(); err != nil {
				return fmt.Errorf("ack after record %d: %w", read.Load(), err)
			}
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.Canceled) && !draining:
			// The appenders stopped: drain.
		case errors.Is(err, context.DeadlineExceeded) && draining:
			return fmt.Errorf("records lost: %d appended durably, %d read, nothing new for %v",
				total.Load(), read.Load(), idle)
		default:
			return fmt.Errorf("read after record %d: %w", read.Load(), err)
		}
	}
}

// verifier checks exactly-once, per-appender-order delivery. Only the reader
// uses it.
type verifier struct {
	size int
	next []uint64 // per appender: the record number expected next
}

func (v *verifier) check(body []byte) error {
	if len(body) != v.size {
		return fmt.Errorf("record of %d bytes delivered, want %d", len(body), v.size)
	}
	a := binary.LittleEndian.Uint32(body[0:4])
	n := binary.LittleEndian.Uint64(body[4:12])
	if int64(a) >= int64(len(v.next)) {
		return fmt.Errorf("record from appender %d delivered, there are %d", a, len(v.next))
	}
	switch want := v.next[a]; {
	case n < want:
		return fmt.Errorf("appender %d: record %d delivered again or out of order (want %d)", a, n, want)
	case n > want:
		return fmt.Errorf("appender %d: record %d delivered, want %d: records lost or reordered", a, n, want)
	}
	v.next[a]++
	return nil
}

// histogram counts durations in buckets 1/16 of a power of two wide (about
// 4 %), so percentiles need neither a sample per append nor a lock.
type histogram struct {
	n [64 * 16]atomic.Uint64
}

func (h *histogram) add(d time.Duration) { h.n[bucketOf(uint64(max(d, 1)))].Add(1) }

func bucketOf(ns uint64) int {
	e := bits.Len64(ns) - 1
	if e < 4 {
		return int(ns) // exact below 16 ns; these indexes stay below 64
	}
	return e*16 + int(ns>>(e-4)&15)
}

// lowerBound is the smallest duration in bucket i.
func lowerBound(i int) time.Duration {
	e, m := i/16, i%16
	if e < 4 {
		return time.Duration(i)
	}
	return time.Duration((16 + m) << (e - 4))
}

// middle is the middle of bucket i: within 1/32 of any duration in it.
func middle(i int) time.Duration {
	if i < 64 {
		return time.Duration(i)
	}
	return lowerBound(i) + time.Duration(1)<<(i/16-4)/2
}

// quantile returns the middle of the bucket holding quantile q (0..1).
func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.n {
		total += h.n[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	var seen uint64
	for i := range h.n {
		seen += h.n[i].Load()
		if seen > rank {
			return middle(i)
		}
	}
	return middle(len(h.n) - 1)
}
