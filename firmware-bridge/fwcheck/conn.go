package fwcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// rx is a frame the device sent and when it arrived.
type rx struct {
	f  frame.Frame
	at time.Time
}

// conn is the gateway's end of the line for one run: a reader goroutine
// hands frames over, the checks send frames themselves.
type conn struct {
	rw   io.ReadWriter
	rd   *frame.Reader
	in   chan rx
	done chan struct{}
	rerr error // set before done closes

	auth   *frame.Auth // the link key once the device is enrolled
	ack    uint32      // our cumulative ack of the device's stream
	snd    uint32      // our last sequenced frame's seq
	macBad int         // device frames that failed their tag

	mu      sync.Mutex
	pending []rx // frames read but not yet wanted
}

func newConn(ctx context.Context, rw io.ReadWriter) *conn {
	c := &conn{rw: rw, rd: frame.NewReader(rw, nil), in: make(chan rx, 256), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			f, err := c.rd.Next()
			if err != nil {
				c.rerr = err
				return
			}
			select {
			case c.in <- rx{f, time.Now()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return c
}

var errTimeout = errors.New("no answer")

// next returns the next frame the device sent within d. With a key in
// force, frames that fail their tag are counted and skipped.
func (c *conn) next(ctx context.Context, d time.Duration) (rx, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		r := c.pending[0]
		c.pending = c.pending[1:]
		c.mu.Unlock()
		return r, nil
	}
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case r := <-c.in:
			if c.auth != nil && r.f.Type != frame.TypeHello {
				if err := r.f.Verify(c.auth); err != nil {
					c.macBad++
					continue
				}
			}
			return r, nil
		case <-c.done:
			return rx{}, fmt.Errorf("the line failed: %w", c.rerr)
		case <-t.C:
			return rx{}, errTimeout
		case <-ctx.Done():
			return rx{}, ctx.Err()
		}
	}
}

// await returns the first frame within d for which want is true; the
// others are passed to other (which may be nil).
func (c *conn) await(ctx context.Context, d time.Duration, want func(frame.Frame) bool, other func(rx)) (rx, error) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return rx{}, errTimeout
		}
		r, err := c.next(ctx, left)
		if err != nil {
			return rx{}, err
		}
		if want(r.f) {
			return r, nil
		}
		if other != nil {
			other(r)
		}
	}
}

// send writes m as a gateway frame with seq (0 for unsequenced types).
func (c *conn) send(m msg.Message, seq uint32) error {
	f, err := msg.Frame(m, seq, c.ack)
	if err != nil {
		return err
	}
	return c.sendFrame(f)
}

func (c *conn) sendFrame(f frame.Frame) error {
	b, err := frame.Append(nil, f, c.auth)
	if err != nil {
		return err
	}
	_, err = c.rw.Write(b)
	return err
}

// seq sends m as the next sequenced frame and returns its seq.
func (c *conn) seq(m msg.Message) (uint32, error) {
	c.snd++
	return c.snd, c.send(m, c.snd)
}
