// Package wiegandsim simulates Wiegand card readers and keypads, for tests and
// the demo. It turns cards and keys into the pulse trains a real reader sends,
// as edges with kernel-style timestamps and sequence numbers, with jitter and
// injected faults, and plays them through an EdgeSource.
package wiegandsim

import (
	"math/rand/v2"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
)

// Timing is a reader's pulse shape (SIA: width 20–100 µs, gap 200 µs–20 ms).
type Timing struct {
	Width time.Duration // how long a line stays low for one bit
	Gap   time.Duration // from the end of one pulse to the start of the next
}

var (
	// Typical is the common 50 µs pulse every ≈ 2 ms.
	Typical = Timing{Width: 50 * time.Microsecond, Gap: 2 * time.Millisecond}
	// WidePulse is the 160 µs / 880 µs variant some readers use.
	WidePulse = Timing{Width: 160 * time.Microsecond, Gap: 880 * time.Microsecond}
	// Slowest is the SIA limit: 100 µs pulses 20 ms apart. A decoder that ends frames
	// after 5 ms of quiet splits these.
	Slowest = Timing{Width: 100 * time.Microsecond, Gap: 20 * time.Millisecond}
)

// Noise sets the probability, per pulse, of each fault a bad supply or cable causes.
type Noise struct {
	// Spurious adds a short pulse on a random line in the middle of the gap after the
	// pulse; the kernel sees it, so sequence numbers stay continuous.
	Spurious float64
	// Drop loses the pulse's falling edge as a kernel buffer overflow would: its
	// sequence numbers are used up, so the next edge shows a gap.
	Drop float64
	// BothLow pulls the other line low too, for part of the pulse.
	BothLow float64
}

// Reader is a simulated reader. Its fields are knobs to set before use; it keeps a
// virtual clock and the sequence counters of the line request, so the frames it makes
// follow each other like a real stream. Not safe for concurrent use.
type Reader struct {
	Timing Timing
	// Jitter varies each width and gap uniformly by ± this fraction (0.1 = ±10 %).
	Jitter float64
	// FrameGap is the quiet before each frame; keep it above the decoder's end gap.
	FrameGap time.Duration
	// BothEdges emits rising edges too, like a line request with both edges.
	BothEdges bool
	// Keypad is the format Keys uses: wiegand.Keypad4 or wiegand.Keypad8.
	Keypad wiegand.Format
	Noise  Noise

	rng     *rand.Rand
	now     time.Duration
	seq     uint32
	lineSeq [2]uint32
}

// NewReader returns a reader with Typical timing, 10 % jitter, 100 ms between frames,
// falling edges only, an 8-bit keypad and no noise, its randomness seeded by seed. The
// virtual clock starts at 1 s, as a kernel's monotonic clock is never near zero.
func NewReader(seed uint64) *Reader {
	return &Reader{
		Timing:   Typical,
		Jitter:   0.1,
		FrameGap: 100 * time.Millisecond,
		Keypad:   wiegand.Keypad8,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      time.Second,
	}
}

// Now returns the reader's virtual clock: the time of its last edge.
func (r *Reader) Now() time.Duration { return r.now }

// Idle advances the virtual clock by d with the lines quiet.
func (r *Reader) Idle(d time.Duration) { r.now += d }

// Card returns the edges of one card frame.
func (r *Reader) Card(f wiegand.Format, facility, card uint64) ([]wiegand.Edge, error) {
	return r.AppendCard(nil, f, facility, card)
}

// AppendCard appends the edges of one card frame to dst.
func (r *Reader) AppendCard(dst []wiegand.Edge, f wiegand.Format, facility, card uint64) ([]wiegand.Edge, error) {
	raw, err := wiegand.Encode(f, facility, card)
	if err != nil {
		return dst, err
	}
	return r.AppendBits(dst, raw, f.Bits()), nil
}

// Keys returns the edges of a keypad typing keys ("1234#"), one burst per key in the
// Keypad format, FrameGap apart.
func (r *Reader) Keys(keys string) ([]wiegand.Edge, error) {
	return r.AppendKeys(nil, keys)
}

// AppendKeys appends the edges of keys to dst.
func (r *Reader) AppendKeys(dst []wiegand.Edge, keys string) ([]wiegand.Edge, error) {
	for i := 0; i < len(keys); i++ {
		raw, err := wiegand.EncodeKey(r.Keypad, keys[i])
		if err != nil {
			return dst, err
		}
		dst = r.AppendBits(dst, raw, r.Keypad.Bits())
	}
	return dst, nil
}

// AppendBits appends the pulse train of the n low bits of raw, most significant first,
// after FrameGap of quiet. Any bit pattern goes, truncated and overlong frames too: bits
// beyond the 64th are zeros.
func (r *Reader) AppendBits(dst []wiegand.Edge, raw uint64, n int) []wiegand.Edge {
	t := r.now + r.FrameGap
	for i := n - 1; i >= 0; i-- {
		var line wiegand.Line
		if i < 64 {
			line = wiegand.Line(raw >> uint(i) & 1)
		}
		width := r.jitter(r.Timing.Width)
		gap := r.jitter(r.Timing.Gap)
		switch {
		case r.chance(r.Noise.Drop):
			// The kernel numbered the edge, then lost it.
			r.seq++
			r.lineSeq[line]++
		default:
			dst = r.edge(dst, line, true, t)
		}
		if r.chance(r.Noise.BothLow) {
			dst = r.edge(dst, line^1, true, t+width/4)
			dst = r.edge(dst, line^1, false, t+width/2)
		}
		dst = r.edge(dst, line, false, t+width)
		if i > 0 && r.chance(r.Noise.Spurious) {
			mid := t + width + gap/2
			l := wiegand.Line(r.rng.IntN(2))
			dst = r.edge(dst, l, true, mid)
			dst = r.edge(dst, l, false, mid+width/5)
		}
		t += width + gap
		if i == 0 {
			r.now = t - gap
		}
	}
	return dst
}

// edge numbers an edge as the kernel does and appends it, if the edge kind is reported.
func (r *Reader) edge(dst []wiegand.Edge, l wiegand.Line, falling bool, t time.Duration) []wiegand.Edge {
	if !falling && !r.BothEdges {
		return dst
	}
	r.seq++
	r.lineSeq[l]++
	return append(dst, wiegand.Edge{Time: t, Seq: r.seq, LineSeq: r.lineSeq[l], Line: l, Falling: falling})
}

func (r *Reader) jitter(d time.Duration) time.Duration {
	if r.Jitter <= 0 {
		return d
	}
	return d + time.Duration((r.rng.Float64()*2-1)*r.Jitter*float64(d))
}

func (r *Reader) chance(p float64) bool { return p > 0 && r.rng.Float64() < p }
