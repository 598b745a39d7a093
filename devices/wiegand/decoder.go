package wiegand

import (
	"math"
	"sync"
	"time"
)

// Stats counts what the decoder delivered and why it rejected the rest. Each rejected
// frame is counted once, under the first fault found in it.
type Stats struct {
	Frames     uint64 // card frames and PIN entries delivered
	BitCount   uint64 // bursts whose pulse count fits no configured format (noise, truncation)
	Parity     uint64 // card parity errors, and Keypad8 bursts whose nibbles are not complements
	SeqGap     uint64 // frames the kernel dropped edges from (sequence number jumped)
	BothLow    uint64 // frames in which D0 and D1 were low at once
	Spacing    uint64 // frames with pulses closer than MinSpacing or further than MaxSpacing
	BadKey     uint64 // Keypad4 bursts with a code that is no key (12–15)
	PINTimeout uint64 // keypad entries abandoned for lack of a key within KeyTimeout
	PINTooLong uint64 // keypad entries longer than MaxPIN
}

// reason is why a frame is rejected; 0 means it is not (yet).
type reason uint8

const (
	okFrame reason = iota
	rBitCount
	rParity
	rSeqGap
	rBothLow
	rSpacing
	rBadKey
)

// Decoder turns edges into frames. Feed it from one goroutine; Stats may be called from
// any. It does not allocate per edge.
type Decoder struct {
	// Immutable.
	cfg    Config
	byBits [65]Format // the configured format for each pulse count; 0 for none

	// Mutable, owned by the goroutine that feeds edges.
	haveEdge  bool
	last      time.Duration // time of the last edge of any kind
	haveSeq   bool
	seq       uint32
	sawRising bool    // the source delivers rising edges, so low is exact
	low       [2]bool // line levels; trusted only once sawRising

	// The frame being received.
	n        int    // pulses so far; may exceed 64, then raw stops growing
	raw      uint64 // pulses so far, first pulse most significant
	start    time.Duration
	lastFall time.Duration    // start of the previous pulse on either line
	lineFall [2]time.Duration // start of the previous pulse per line
	lineSeen [2]bool          // whether lineFall holds a pulse of this frame
	bad      reason

	// The keypad entry being typed. Digits are wiped when the entry ends.
	pin       [maxPINCap]byte
	pinN      int
	pinActive bool
	pinOver   bool          // more keys than MaxPIN: the entry is void
	pinLast   time.Duration // time of the last edge of the previous key

	ctr *counters // shared with Stats callers
}

type counters struct {
	mu sync.Mutex
	s  Stats // guarded by mu
}

// New returns a decoder for cfg; nil means the defaults.
func New(cfg *Config) (*Decoder, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	c.Formats = append([]Format(nil), c.Formats...)
	d := &Decoder{cfg: c, ctr: new(counters)}
	for _, f := range c.Formats {
		d.byBits[f.Bits()] = f
	}
	return d, nil
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats {
	d.ctr.mu.Lock()
	defer d.ctr.mu.Unlock()
	return d.ctr.s
}

// Reset forgets the stream (pending frame, keypad entry, sequence numbers) without
// counting anything, for a source that was reopened and numbers its edges afresh.
func (d *Decoder) Reset() {
	clear(d.pin[:])
	*d = Decoder{cfg: d.cfg, byBits: d.byBits, ctr: d.ctr}
}

// Append decodes edges and appends the frames they complete to dst. A frame completes
// when the next edge comes EndGap or more after its last edge; AppendIdle and Flush
// complete it when no edge comes.
func (d *Decoder) Append(dst []Frame, edges ...Edge) []Frame {
	for i := range edges {
		dst = d.edge(dst, &edges[i])
	}
	return dst
}

func (d *Decoder) edge(dst []Frame, e *Edge) []Frame {
	gap := d.haveSeq && e.Seq != d.seq+1
	d.haveSeq, d.seq = true, e.Seq
	if gap {
		// The dropped edges fell between the last edge and this one: they may belong
		// to the pending frame or to the one this edge starts, so both are void. The
		// levels are unknown too: a rising edge may be among those lost.
		d.setBad(rSeqGap)
		d.low = [2]bool{}
	}
	if d.haveEdge && e.Time-d.last >= d.cfg.EndGap {
		dst = d.endFrame(dst)
		if gap {
			d.setBad(rSeqGap)
		}
	}
	d.haveEdge, d.last = true, e.Time
	l := e.Line & 1
	if !e.Falling {
		d.sawRising = true
		d.low[l] = false
		return dst
	}
	other := l ^ 1
	bothLow := d.sawRising && d.low[other]
	if d.n > 0 {
		if !d.sawRising && d.lineSeen[other] && e.Time-d.lineFall[other] < d.cfg.BothLowWindow {
			bothLow = true
		}
		if sp := e.Time - d.lastFall; !bothLow && (sp < d.cfg.MinSpacing || sp > d.cfg.MaxSpacing) {
			d.setBad(rSpacing)
		}
	} else {
		d.start = e.Time
	}
	if bothLow {
		d.setBad(rBothLow)
	}
	d.low[l] = true // meaningful once rising edges are seen, but as cheap to keep as to test
	if d.n < 64 {
		d.raw = d.raw<<1 | uint64(l)
	}
	if d.n < math.MaxInt32 {
		d.n++
	}
	d.lastFall = e.Time
	d.lineFall[l], d.lineSeen[l] = e.Time, true
	return dst
}

func (d *Decoder) setBad(r reason) {
	if d.bad == okFrame {
		d.bad = r
	}
}

// AppendIdle tells the decoder the lines have been quiet for at least quiet since the
// last edge given to Append, and appends the frames that this completes.
func (d *Decoder) AppendIdle(dst []Frame, quiet time.Duration) []Frame {
	if d.n > 0 && quiet >= d.cfg.EndGap {
		dst = d.endFrame(dst)
	}
	// Subtracting rather than adding keeps a huge quiet from overflowing.
	if d.pinActive && quiet >= d.cfg.KeyTimeout-(d.last-d.pinLast) {
		d.endPIN(func(s *Stats) { s.PINTimeout++ })
	}
	return dst
}

// Flush completes whatever is pending, as at the end of a stream. A keypad entry without
// its '#' is abandoned.
func (d *Decoder) Flush(dst []Frame) []Frame {
	if d.n > 0 {
		dst = d.endFrame(dst)
	}
	if d.pinActive {
		d.endPIN(func(s *Stats) { s.PINTimeout++ })
	}
	return dst
}

// WaitHint returns how long after the last edge the decoder next has something to
// complete (a frame, a keypad timeout), or 0 if nothing is pending.
func (d *Decoder) WaitHint() time.Duration {
	if d.n > 0 {
		return d.cfg.EndGap
	}
	if d.pinActive {
		return max(d.pinLast+d.cfg.KeyTimeout-d.last, 1)
	}
	return 0
}

// endFrame classifies the pending frame, counts or delivers it, and starts afresh.
func (d *Decoder) endFrame(dst []Frame) []Frame {
	n, raw, bad, start := d.n, d.raw, d.bad, d.start
	d.n, d.raw, d.bad, d.lineSeen = 0, 0, okFrame, [2]bool{}
	if n == 0 {
		return dst
	}
	var f Format
	if n < len(d.byBits) {
		f = d.byBits[n]
	}
	if bad == okFrame && f == 0 {
		bad = rBitCount
	}
	if bad == okFrame && f.isCard() && !specs[f].parityOK(raw) {
		bad = rParity
	}
	var key uint64
	if bad == okFrame && f.isKeypad() {
		var ok bool
		if key, ok = decodeKey(f, raw); !ok {
			bad = rBadKey
			if f == Keypad8 {
				bad = rParity
			}
		}
	}
	if bad != okFrame {
		d.count(bad)
		return dst
	}
	if f.isKeypad() {
		return d.key(dst, key, start)
	}
	fac, card := specs[f].split(raw)
	d.bump(func(s *Stats) { s.Frames++ })
	return append(dst, Frame{Format: f, Bits: n, Raw: raw, Facility: fac, Card: card, Time: start})
}

func (d *Decoder) count(r reason) {
	d.bump(func(s *Stats) {
		switch r {
		case rBitCount:
			s.BitCount++
		case rParity:
			s.Parity++
		case rSeqGap:
			s.SeqGap++
		case rBothLow:
			s.BothLow++
		case rSpacing:
			s.Spacing++
		case rBadKey:
			s.BadKey++
		}
	})
}

// bump applies inc to the counters under their lock.
func (d *Decoder) bump(inc func(*Stats)) {
	d.ctr.mu.Lock()
	inc(&d.ctr.s)
	d.ctr.mu.Unlock()
}

// key adds one key burst, started at t, to the keypad entry. '*' clears the entry and
// '#' delivers it, as on the keypads HID and most vendors sell.
func (d *Decoder) key(dst []Frame, key uint64, t time.Duration) []Frame {
	if d.pinActive && t-d.pinLast >= d.cfg.KeyTimeout {
		d.endPIN(func(s *Stats) { s.PINTimeout++ })
	}
	switch key {
	case keyStar:
		d.endPIN(nil)
		return dst
	case keyHash:
		switch {
		case d.pinOver:
			d.endPIN(func(s *Stats) { s.PINTooLong++ })
		case d.pinN > 0:
			// The one allocation per entry; the digits leave the decoder here and are
			// wiped from its buffer.
			dst = append(dst, Frame{Format: PIN, Keys: string(d.pin[:d.pinN]), Time: t})
			d.endPIN(func(s *Stats) { s.Frames++ })
		default:
			d.endPIN(nil) // a lone '#' is no entry
		}
		return dst
	}
	d.pinActive, d.pinLast = true, d.last
	if d.pinN == d.cfg.MaxPIN {
		d.pinOver = true
		return dst
	}
	d.pin[d.pinN] = byte('0' + key)
	d.pinN++
	return dst
}

// endPIN wipes the keypad entry and counts it with inc, if not nil.
func (d *Decoder) endPIN(inc func(*Stats)) {
	if inc != nil && (d.pinActive || d.pinN > 0) {
		d.bump(inc)
	}
	clear(d.pin[:])
	d.pinN, d.pinActive, d.pinOver = 0, false, false
}
