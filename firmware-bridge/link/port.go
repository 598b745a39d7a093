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
// between the device's reading goroutine and its session loop. The loop never
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

// port is one Run's line: a frame reader, and a writer that only writes.
// The device's Run reads in a goroutine of the port's (startPort), which only
// decodes and hands frames on, a read's worth at a time; the gateway's reads
// in its own (newPort). Neither touches session state, so neither ever waits
// on the sink or the disk. The writer runs only while there is something to
// write: send starts it and it ends once the queue is empty, so an idle link
// costs no goroutine for it (docs/PERFORMANCE.md, Memory).
type port struct {
	rd     *frame.Reader
	in     chan []frame.Frame // the good frames of one read, in order; never empty
	out    chan []byte
	ctx    context.Context
	w      io.Writer
	onFail func() // after a write failed; nil for none

	// Closed (buffered, one value) when the stream fails; rerr only with the
	// reading goroutine.
	rerr chan error
	werr chan error

	queued   atomic.Int64  // bytes handed to the writer and not yet written
	inDrops  atomic.Uint64 // frames the loop was too slow to take
	outDrops atomic.Uint64 // frames the writer was too slow to take
	wire     atomic.Uint64 // bytes written
	wg       sync.WaitGroup

	mu sync.Mutex
	// Guarded by mu.
	writing bool // a writer runs; it alone clears this
	stopped bool // stop was called or a write failed: no writer starts again
	hold    bool // holdWriter: a send that needs a writer claims the caller (held)
	held    bool // a send claimed the holdWriter caller as the writer
}

// startPort returns a port with its reading goroutine running.
func startPort(ctx context.Context, rw io.ReadWriter, onDrop func(error)) *port {
	p := newPort(ctx, rw, onDrop, nil)
	p.in = make(chan []frame.Frame, inDepth)
	p.rerr = make(chan error, 1)
	p.wg.Add(1)
	go p.read(ctx)
	return p
}

// newPort returns a port whose owner reads rw itself (p.rd). onFail, if
// set, is called once a write failed, after the error is in werr: it must
// make the owner's read return (the Gateway closes rw).
func newPort(ctx context.Context, rw io.ReadWriter, onDrop func(error), onFail func()) *port {
	return &port{
		rd:     frame.NewReader(rw, &frame.ReaderOptions{OnDrop: onDrop}),
		out:    make(chan []byte, outDepth),
		ctx:    ctx,
		w:      rw,
		werr:   make(chan error, 1),
		onFail: onFail,
	}
}

// stop waits for the port's goroutines once ctx is done (the reader returns
// when its Run closes the stream), and starts no writer after it.
func (p *port) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.wg.Wait()
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

// write writes what is queued, in order, and returns once the queue is
// empty, ctx is done or a write failed.
func (p *port) write() {
	defer p.wg.Done()
	for {
		var b []byte
		select {
		case b = <-p.out:
		default:
			// Empty: end, unless send queued more since (it starts no writer
			// while this one is marked running).
			p.mu.Lock()
			if len(p.out) > 0 {
				p.mu.Unlock()
				continue
			}
			p.writing = false
			p.mu.Unlock()
			return
		}
		if p.ctx.Err() != nil {
			p.drain(b)
			return
		}
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
		n, err := p.w.Write(b)
		p.queued.Add(-int64(len(b)))
		p.wire.Add(uint64(n))
		if err != nil {
			p.fail(fmt.Errorf("link: write: %w", err))
			return
		}
	}
}

// drain drops b and what is queued after it: the Run is over.
func (p *port) drain(b []byte) {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	for {
		p.queued.Add(-int64(len(b)))
		select {
		case b = <-p.out:
		default:
			return
		}
	}
}

// fail reports the first write error to the Run and starts no writer again.
func (p *port) fail(err error) {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case p.werr <- err:
	default:
	}
	if p.onFail != nil {
		p.onFail()
	}
}

// send queues wire bytes without blocking; it reports whether they were
// queued.
func (p *port) send(b []byte) bool {
	p.queued.Add(int64(len(b)))
	select {
	case p.out <- b:
	default:
		p.queued.Add(-int64(len(b)))
		p.outDrops.Add(1)
		return false
	}
	p.mu.Lock()
	if !p.writing && !p.stopped {
		p.writing = true
		p.wg.Add(1)
		if p.hold {
			p.held = true
		} else {
			go p.write()
		}
	}
	p.mu.Unlock()
	return true
}

// holdWriter makes the sends until releaseWriter start no writer goroutine:
// the caller, a goroutine that may block (the session's timer callback),
// writes what they queue itself, rather than wake another goroutine (and a
// thread) to write a heartbeat.
func (p *port) holdWriter() {
	p.mu.Lock()
	p.hold = true
	p.mu.Unlock()
}

// releaseWriter ends holdWriter and reports whether a send made the caller
// the writer: it must then call write.
func (p *port) releaseWriter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	mine := p.held
	p.hold, p.held = false, false
	return mine
}
