package frame

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ReaderOptions configures a Reader. The zero value is valid.
type ReaderOptions struct {
	// ReadSize is the size of each Read on the underlying stream; 0 means
	// DefaultReadSize.
	ReadSize int
	// OnDrop, if set, is called with every rejected frame's error (a
	// *Error) from the goroutine calling Next, for logging. It must not
	// block.
	OnDrop func(error)
}

// DefaultReadSize is the Read size of a Reader by default: the kernel's
// tty buffer (4 KiB, ≈ 355 ms at 115200 baud), so that one read system call
// takes whatever a burst left there — a peer's whole window of typical
// frames (8 × ≈ 100 bytes) and more — rather than a frame or two.
const DefaultReadSize = 4096

// Stats counts what a Reader has seen. Drops is indexed by Reason.
type Stats struct {
	Frames uint64 // good frames returned by Next
	Bytes  uint64 // bytes read from the stream
	Empty  uint64 // empty frames (consecutive delimiters), which are not errors
	Drops  [NumReasons]uint64
}

// Dropped returns the total number of rejected frames.
func (s Stats) Dropped() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

// Reader splits a byte stream into frames at 0x00 delimiters (PROTOCOL.md
// §2.6). It resynchronises after noise at the next delimiter, drops and
// counts bad frames by reason, and never holds more than one maximal
// encoded frame: an unterminated run of non-zero bytes is discarded as
// oversize as soon as it passes the cap, not buffered.
//
// Next must be called from one goroutine at a time; SetAuth and Stats may
// be called from any goroutine.
type Reader struct {
	r      io.Reader
	onDrop func(error)

	rbuf       []byte // bytes read but not yet split; rbuf[rpos:rend]
	rpos, rend int
	acc        []byte // the encoded frame being accumulated; cap MaxWireLen-1
	discarding bool   // past the cap: skip to the next delimiter
	err        error  // from the stream, returned after the bytes read with it

	mu   sync.Mutex
	auth *Auth // guarded by mu

	frames, bytes, empty atomic.Uint64
	drops                [NumReasons]atomic.Uint64
}

// NewReader returns a Reader of frames from r. opts may be nil.
func NewReader(r io.Reader, opts *ReaderOptions) *Reader {
	var o ReaderOptions
	if opts != nil {
		o = *opts
	}
	if o.ReadSize <= 0 {
		o.ReadSize = DefaultReadSize
	}
	return &Reader{
		r:      r,
		onDrop: o.OnDrop,
		rbuf:   make([]byte, o.ReadSize),
		acc:    make([]byte, 0, MaxWireLen-1),
	}
}

// SetAuth puts a key in force (nil removes it). While a key is in force,
// every frame except HELLO must carry a tag that verifies with it, or it is
// dropped as ReasonBadMAC. HELLO frames are passed through unverified: their
// context (the device's new boot id) and key are only known once the body
// is read, so the session verifies them with Frame.Verify.
func (r *Reader) SetAuth(a *Auth) {
	var cp *Auth
	if a != nil {
		c := *a
		c.Key = append([]byte(nil), a.Key...)
		cp = &c
	}
	r.mu.Lock()
	r.auth = cp
	r.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (r *Reader) Stats() Stats {
	s := Stats{Frames: r.frames.Load(), Bytes: r.bytes.Load(), Empty: r.empty.Load()}
	for i := range s.Drops {
		s.Drops[i] = r.drops[i].Load()
	}
	return s
}

// Next returns the next good frame. Bad frames are counted, reported to
// OnDrop and skipped. Next returns an error only when the stream does,
// after splitting the bytes that came with it. At io.EOF a partial frame
// is counted as ReasonShort and discarded; after any other error (a read
// timeout, say) the partial frame is kept and a later call to Next
// continues it. Body does not alias the Reader's buffers.
func (r *Reader) Next() (Frame, error) {
	var arena []byte
	f, _, err := r.next(&arena, true, false)
	return f, err
}

// ReadFrames appends to dst every good frame the bytes already read hold,
// reading from the stream (once, or more while only partial or bad frames
// arrive) only when they hold none: a burst that one Read brought in comes
// back from one call, for one hand-off. It returns at least one frame, or
// none and the stream's error, with the semantics of Next; an error that
// came with bytes holding frames is returned by the next call. The frames'
// bodies share one allocation per call and do not alias the Reader's
// buffers; ReadFrames and Next may be mixed.
func (r *Reader) ReadFrames(dst []Frame) ([]Frame, error) {
	var arena []byte
	f, _, err := r.next(&arena, true, true)
	if err != nil {
		return dst, err
	}
	dst = append(dst, f)
	for {
		f, ok, _ := r.next(&arena, false, true)
		if !ok {
			return dst, nil
		}
		dst = append(dst, f)
	}
}

// next returns the next good frame, its body decoded into *arena (grown, or
// replaced when full, never overwritten; with burst, sized for the rest of
// the read buffer too). Without read it only splits the bytes already read
// and reports !ok once they are used up.
func (r *Reader) next(arena *[]byte, read, burst bool) (Frame, bool, error) {
	for {
		if r.rpos == r.rend {
			if !read {
				return Frame{}, false, nil
			}
			if r.err != nil {
				err := r.err
				r.err = nil
				if errors.Is(err, io.EOF) {
					r.flushPartial()
				}
				return Frame{}, false, err
			}
			n, err := r.r.Read(r.rbuf)
			if n < 0 || n > len(r.rbuf) {
				n, err = 0, fmt.Errorf("frame: reader returned %d bytes for a %d-byte buffer", n, len(r.rbuf))
			}
			r.bytes.Add(uint64(n))
			r.rpos, r.rend = 0, n
			r.err = err // returned once the bytes read with it are split
			continue
		}
		chunk := r.rbuf[r.rpos:r.rend]
		i := bytes.IndexByte(chunk, 0)
		if i < 0 {
			r.accumulate(chunk)
			r.rpos = r.rend
			continue
		}
		enc := chunk[:i]
		r.rpos += i + 1
		if len(r.acc) > 0 || r.discarding {
			// The frame began in an earlier read: finish it in acc.
			r.accumulate(enc)
			enc = r.acc
		}
		if r.discarding {
			r.discarding = false
			continue
		}
		if len(enc) == 0 {
			r.empty.Add(1)
			continue
		}
		f, err := r.decode(arena, enc, burst)
		r.acc = r.acc[:0]
		if err != nil {
			r.drop(err)
			continue
		}
		r.frames.Add(1)
		return f, true, nil
	}
}

// accumulate adds encoded bytes to the current frame, or starts discarding
// when they would pass the cap; the drop is counted once, at the moment the
// cap is passed, so a line stuck sending non-zero bytes shows up at once.
func (r *Reader) accumulate(b []byte) {
	if r.discarding || len(b) == 0 {
		return
	}
	if len(r.acc)+len(b) > cap(r.acc) {
		r.drop(newError(ReasonOversize, fmt.Sprintf("more than %d bytes before a delimiter", cap(r.acc))))
		r.acc = r.acc[:0]
		r.discarding = true
		return
	}
	r.acc = append(r.acc, b...)
}

func (r *Reader) flushPartial() {
	if len(r.acc) > 0 {
		r.drop(newError(ReasonShort, fmt.Sprintf("stream ended %d bytes into a frame", len(r.acc))))
		r.acc = r.acc[:0]
	}
	r.discarding = false
}

func (r *Reader) drop(err error) {
	r.drops[ReasonOf(err)].Add(1)
	if r.onDrop != nil {
		r.onDrop(err)
	}
}

// decode decodes one encoded frame (no delimiter) into *arena. A frame that
// does not fit what is left of the arena gets a new one, with burst sized
// for the bytes still waiting in the read buffer too, so that a burst costs
// one allocation (a decoded frame is never longer than its encoding).
func (r *Reader) decode(arena *[]byte, enc []byte, burst bool) (Frame, error) {
	if cap(*arena)-len(*arena) < len(enc) {
		n := len(enc)
		if burst {
			n += r.rend - r.rpos
		}
		*arena = make([]byte, 0, n)
	}
	start := len(*arena)
	f, out, err := appendDecodeFrame(*arena, enc)
	if err != nil {
		*arena = out[:start]
		return Frame{}, err
	}
	*arena = out
	r.mu.Lock()
	a := r.auth
	r.mu.Unlock()
	if a != nil && f.Type != TypeHello {
		if err := f.Verify(a); err != nil {
			return Frame{}, err
		}
	}
	return f, nil
}
