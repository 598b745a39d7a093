package link

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/officegate/officegate/firmware-bridge/frame"
)

// inDepth is how many bursts of decoded frames (one read each) may wait
// between the reading goroutine and the session loop. The loop never
// blocks, so this only absorbs scheduling jitter; with windows of at most
// 16 it is never reached by a well-behaved peer. When full the reader drops
// the burst (counted per frame) rather than stop reading: the kernel's tty
// buffer holds only ≈ 355 ms at 115200 baud, and a dropped frame is
// recovered by the peer's retransmission like any frame lost to noise.
const inDepth = 64

// outDepth bounds the frames queued for the writer. When the line cannot
// take them (a peer that stopped reading), more frames are dropped, not
// queued: sequenced ones stay in the retransmission queue anyway.
const outDepth = 64

// port runs the two goroutines of one Run: a reader that only decodes and
// hands frames on, a read's worth at a time, and a writer that only writes. Neither touches session
// state, so neither ever waits on the session, the sink or the disk.
type port struct {
	rd  *frame.Reader
	in  chan []frame.Frame // the good frames of one read, in order; never empty
	out chan []byte

	// Closed (buffered, one value) when the stream fails.
	rerr chan error
	werr chan error

	queued   atomic.Int64  // bytes handed to the writer and not yet written
	inDrops  atomic.Uint64 // frames the loop was too slow to take
	outDrops atomic.Uint64 // frames the writer was too slow to take
	wire     atomic.Uint64 // bytes written
	wg       sync.WaitGroup
}

func startPort(ctx context.Context, rw io.ReadWriter, onDrop func(error)) *port {
	p := &port{
		rd:   frame.NewReader(rw, &frame.ReaderOptions{OnDrop: onDrop}),
		in:   make(chan []frame.Frame, inDepth),
		out:  make(chan []byte, outDepth),
		rerr: make(chan error, 1),
		werr: make(chan error, 1),
	}
	p.wg.Add(2)
	go p.read(ctx)
	go p.write(ctx, rw)
	return p
}

func (p *port) read(ctx context.Context) {
	defer p.wg.Done()
	for {
		// One read system call, every frame it completed, one hand-off: a
		// burst of the peer's window costs what a single frame did. The slice
		// goes to the loop with the frames; the reader starts a new one.
		fs, err := p.rd.ReadFrames(make([]frame.Frame, 0, 8))
		if err != nil {
			p.rerr <- fmt.Errorf("link: read: %w", err)
			return
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case p.in <- fs:
		default:
			p.inDrops.Add(uint64(len(fs)))
		}
	}
}

func (p *port) write(ctx context.Context, w io.Writer) {
	defer p.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-p.out:
			// Coalesce what else is queued into one write: one system call
			// for a burst of frames instead of one each.
			for more := true; more && len(b) < 4096; {
				select {
				case c := <-p.out:
					b = append(b[:len(b):len(b)], c...)
				default:
					more = false
				}
			}
			n, err := w.Write(b)
			p.queued.Add(-int64(len(b)))
			p.wire.Add(uint64(n))
			if err != nil {
				p.werr <- fmt.Errorf("link: write: %w", err)
				return
			}
		}
	}
}

// send queues wire bytes without blocking; it reports whether they were
// queued.
func (p *port) send(b []byte) bool {
	p.queued.Add(int64(len(b)))
	select {
	case p.out <- b:
		return true
	default:
		p.queued.Add(-int64(len(b)))
		p.outDrops.Add(1)
		return false
	}
}
