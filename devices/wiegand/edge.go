package wiegand

import (
	"context"
	"errors"
	"io"
	"time"
)

// Line names a Wiegand data line. A low pulse on D0 is a 0 bit, on D1 a 1 bit.
type Line uint8

const (
	D0 Line = 0
	D1 Line = 1
)

func (l Line) String() string {
	if l == D1 {
		return "D1"
	}
	return "D0"
}

// Edge is one level change on a data line as the kernel saw it.
type Edge struct {
	// Time is the kernel's timestamp of the edge on the source's monotonic clock
	// (CLOCK_MONOTONIC for the GPIO character device). Only differences matter.
	Time time.Duration
	// Seq numbers the edges of both lines together; it increases by one per edge, so a
	// jump means the kernel dropped edges (its buffer overflowed).
	Seq uint32
	// LineSeq numbers the edges of this line alone.
	LineSeq uint32
	Line    Line
	// Falling is true for the start of a pulse (the line goes low). Sources that
	// request falling edges only never deliver false.
	Falling bool
}

// EdgeSource delivers edges in the order the kernel recorded them.
type EdgeSource interface {
	// ReadEdges fills dst with the edges that have arrived, waiting up to wait (which
	// must be positive) for the first one. It returns 0, nil when wait passes with no
	// edge; ctx.Err() when ctx is done; io.EOF when a finite source has no more edges.
	ReadEdges(ctx context.Context, dst []Edge, wait time.Duration) (int, error)
}

// ErrClosed is returned by a source read after the source was closed.
var ErrClosed = errors.New("wiegand: source closed")

// idleWait bounds a read when the decoder has nothing pending: waking once a second costs
// nothing and spares the interface a "wait forever" value that drivers disagree on.
const idleWait = time.Second

// Run reads edges from src and decodes them with d, calling emit for every frame, until
// ctx is done (it returns nil) or src fails. A source that ends (io.EOF) flushes what is
// pending and returns nil. emit runs on Run's goroutine and must not block for long: the
// kernel buffer fills while it does.
func Run(ctx context.Context, src EdgeSource, d *Decoder, emit func(Frame)) error {
	edges := make([]Edge, 512)
	frames := make([]Frame, 0, 8)
	// quiet is a lower bound on how long the lines have been silent since the last edge:
	// a read that returned nothing after waiting w proves w more of silence.
	var quiet time.Duration
	for {
		wait := idleWait
		if need := d.WaitHint(); need > 0 {
			wait = max(need-quiet, time.Millisecond)
		}
		n, err := src.ReadEdges(ctx, edges, wait)
		frames = frames[:0]
		switch {
		case n > 0:
			quiet = 0
			frames = d.Append(frames, edges[:n]...)
		case err == nil:
			quiet += wait
			frames = d.AppendIdle(frames, quiet)
		}
		if errors.Is(err, io.EOF) {
			frames = d.Flush(frames)
		}
		for _, f := range frames {
			emit(f)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
