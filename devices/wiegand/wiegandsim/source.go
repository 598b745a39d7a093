package wiegandsim

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
)

// Source is an EdgeSource fed by Push, for tests and the demo: edges pushed are read at
// once, and a read with nothing queued waits in real time, as on a quiet line. After
// Close, reads drain the queue and then return io.EOF, like a capture played to its end.
type Source struct {
	mu     sync.Mutex
	queue  []wiegand.Edge // guarded by mu
	closed bool           // guarded by mu
	wake   chan struct{}  // closed and replaced (under mu) whenever queue or closed change
}

var _ wiegand.EdgeSource = (*Source)(nil)

// NewSource returns an empty, open source.
func NewSource() *Source { return &Source{wake: make(chan struct{})} }

// Push queues edges for reading. Pushing to a closed source does nothing.
func (s *Source) Push(edges ...wiegand.Edge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.queue = append(s.queue, edges...)
	s.signal()
}

// Close ends the stream once the queued edges are read.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.signal()
	return nil
}

func (s *Source) signal() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// ReadEdges implements wiegand.EdgeSource.
func (s *Source) ReadEdges(ctx context.Context, dst []wiegand.Edge, wait time.Duration) (int, error) {
	var timer *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s.mu.Lock()
		n := copy(dst, s.queue)
		s.queue = s.queue[n:]
		closed, wake := s.closed, s.wake
		s.mu.Unlock()
		switch {
		case n > 0 || len(dst) == 0:
			return n, nil
		case closed:
			return 0, io.EOF
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}
