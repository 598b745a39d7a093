package link

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Stats counts what a link has seen since it was made.
type Stats struct {
	FramesIn, FramesOut uint64 // valid frames received, frames queued for the line
	WireIn, WireOut     uint64 // bytes read from and written to the line
	Retransmits         uint64 // sequenced frames sent again (timeout, resume, BUSY)
	FastRetransmits     uint64 // times duplicate ACKs triggered a retransmission
	Duplicates          uint64 // sequenced frames received again, acknowledged, not delivered
	OutOfOrder          uint64 // sequenced frames ahead of the next expected, dropped
	OverWindow          uint64 // sequenced frames beyond the window, dropped
	BusySent, BusyRecv  uint64 // BUSY frames sent and received
	BadAcks             uint64 // acks for frames never sent
	Malformed           uint64 // bodies that failed to decode (PROTOCOL.md §5.7)
	Unknown             uint64 // frames of a type not known or not expected here
	Overruns            uint64 // frames dropped because a queue between goroutines was full
	Sessions, Resumes   uint64 // new sessions opened, sessions resumed
	LinkDowns           uint64 // times the peer was silent for 3 heartbeats
	// AuthRefused counts HELLOs refused for authentication: untagged from
	// an enrolled (or approved, keyless) device, or with a bad tag. Someone
	// may be impersonating the device (gateway side).
	AuthRefused uint64
	Enrolled    uint64 // key agreements completed (gateway side, §6.7)
	// Dropped counts frames the reader rejected, by reason (PROTOCOL.md §2.6).
	Dropped [frame.NumReasons]uint64
}

// DroppedTotal returns the number of frames rejected for any reason.
func (s Stats) DroppedTotal() uint64 {
	var n uint64
	for _, d := range s.Dropped {
		n += d
	}
	return n
}

func (s *Stats) add(o Stats) {
	s.FramesIn += o.FramesIn
	s.FramesOut += o.FramesOut
	s.WireIn += o.WireIn
	s.WireOut += o.WireOut
	s.Overruns += o.Overruns
	for i := range s.Dropped {
		s.Dropped[i] += o.Dropped[i]
	}
}

// entry is a sequenced frame sent and not yet acknowledged. The message is
// kept so that a new session can move it to the application level
// (PROTOCOL.md §6.4); the body so that a retransmission is the same bytes.
type entry struct {
	seq  uint32
	m    msg.Message
	body []byte
}

// before reports whether sequence number a comes before b in RFC 1982
// serial arithmetic (PROTOCOL.md §5.1).
func before(a, b uint32) bool { d := b - a; return d != 0 && d < 1<<31 }

// inc returns the sequence number after s: 0 is never a sequenced frame's.
func inc(s uint32) uint32 {
	if s++; s == 0 {
		return 1
	}
	return s
}

// core is the reliability engine both roles share (PROTOCOL.md §5): the
// send window with its retransmission timer and BUSY back-off, the receive
// side with its cumulative ack and duplicate detection, heartbeats. It is
// embedded in Gateway and Device and guarded by their mutex; it never
// blocks, it only queues bytes for the writer goroutine.
type core struct {
	// Immutable after construction.
	fromDevice bool
	clock      Clock
	rand       func() uint64
	timing     Timing

	// Mutable; guarded by the embedding type's mu.
	p    *port       // the active Run's port; nil between Runs
	auth *frame.Auth // tags outgoing frames; nil without a key
	up   bool        // a session is established and its peer alive: sequenced frames flow

	// Session parameters, fixed by WELCOME.
	window  int
	mtu     int
	hb      time.Duration
	rtoInit time.Duration
	rtoMax  time.Duration

	// Sending.
	sndNext   uint32  // seq of the next new frame
	unacked   []entry // sent and not acknowledged, oldest first
	rto       time.Duration
	rtxAt     time.Time // when the oldest unacknowledged frame is due again; zero if none
	busySeq   uint32    // the frame the peer refused last
	busyWait  time.Duration
	busyUntil time.Time // no sequenced frame goes before this; zero if not refused
	dupAcks   int       // standalone ACKs in a row that did not advance
	fastSeq   uint32    // oldest frame already fast-retransmitted

	// Receiving.
	rcvNext  uint32    // next seq expected
	ack      uint32    // highest seq delivered (on the gateway: committed)
	ackDue   time.Time // a standalone ACK is due; zero if none
	ackOwed  int       // frames delivered since an ack last went out
	ackFlush bool      // committed frames await ackCommitted (gateway)
	lastTx   time.Time
	lastRx   time.Time
	stats    Stats
	runStats Stats // counters of Runs that ended (reader and port counters)
}

// resetSession starts both sequence spaces again (PROTOCOL.md §6.4).
func (c *core) resetSession() {
	c.sndNext, c.unacked, c.rto, c.rtxAt = 1, nil, c.rtoInit, time.Time{}
	c.busySeq, c.busyWait, c.busyUntil = 0, 0, time.Time{}
	c.dupAcks, c.fastSeq = 0, 0
	c.rcvNext, c.ack, c.ackDue, c.ackOwed, c.ackFlush = 1, 0, time.Time{}, 0, false
}

// canSend reports whether a new sequenced frame may go now (§5.2, §5.5).
func (c *core) canSend() bool {
	return c.up && c.p != nil && len(c.unacked) < c.window && c.busyUntil.IsZero()
}

// fits reports whether a body of n bytes makes a frame the peer accepts.
func (c *core) fits(n int) bool {
	size := frame.MinLen + n
	if c.auth != nil {
		size += frame.AuthLen
	}
	return size <= c.mtu
}

// sendNew assigns the next sequence number to m and sends it.
func (c *core) sendNew(now time.Time, m msg.Message) error {
	body, err := msg.Marshal(m)
	if err != nil {
		return err
	}
	if !c.fits(len(body)) {
		return errTooLarge{m.Type(), len(body), c.mtu}
	}
	e := entry{seq: c.sndNext, m: m, body: body}
	c.sndNext = inc(c.sndNext)
	c.unacked = append(c.unacked, e)
	c.transmit(now, frame.Frame{Type: m.Type(), Seq: e.seq, Body: body})
	if len(c.unacked) == 1 {
		c.armRtx(now)
	}
	return nil
}

type errTooLarge struct {
	t    frame.Type
	body int
	mtu  int
}

func (e errTooLarge) Error() string {
	return fmt.Sprintf("link: %v body of %d bytes does not fit the session mtu of %d", e.t, e.body, e.mtu)
}

// sendCtl sends an unsequenced frame.
func (c *core) sendCtl(now time.Time, m msg.Message) { c.sendCtlAuth(now, c.auth, m) }

// sendCtlAuth sends an unsequenced frame tagged with a (nil: untagged)
// rather than the session's key: a handshake frame for a device other than
// the session's, or a boot other than the session's.
func (c *core) sendCtlAuth(now time.Time, a *frame.Auth, m msg.Message) {
	body, err := msg.Marshal(m)
	if err != nil {
		return // only our own well-formed messages come here
	}
	c.transmitAuth(now, frame.Frame{Type: m.Type(), Body: body}, a)
}

// transmit encodes f with the current ack and queues it for the writer.
// Handshake frames carry ack 0: they straddle sessions.
func (c *core) transmit(now time.Time, f frame.Frame) { c.transmitAuth(now, f, c.auth) }

func (c *core) transmitAuth(now time.Time, f frame.Frame, a *frame.Auth) {
	if c.p == nil {
		return
	}
	if !f.Type.Handshake() {
		f.Ack = c.ack
	}
	if c.fromDevice {
		f.Flags |= frame.FlagFromDevice
	}
	b, err := frame.Append(nil, f, a)
	if err != nil {
		return // sizes are checked before; an oversize frame is never queued
	}
	if c.p.send(b) {
		c.stats.FramesOut++
	}
	c.lastTx = now
	if !f.Type.Handshake() && f.Ack == c.ack {
		c.ackDue, c.ackOwed = time.Time{}, 0
	}
}

// armRtx starts the oldest frame's timer from when it will have left the
// UART: bytes queued ahead of it delay it by their wire time (§5.4).
func (c *core) armRtx(now time.Time) {
	var ahead int64
	if c.p != nil {
		ahead = c.p.queued.Load()
	}
	c.rtxAt = now.Add(c.rto + c.timing.wireTime(ahead))
}

// onAck processes a cumulative ack and returns the frames it acknowledges.
func (c *core) onAck(now time.Time, a uint32) []entry {
	if a == 0 {
		return nil
	}
	if last := c.sndNext - 1; before(last, a) {
		c.stats.BadAcks++ // acknowledges a frame never sent
		return nil
	}
	if len(c.unacked) == 0 || before(a, c.unacked[0].seq) {
		return nil
	}
	i := 0
	for i < len(c.unacked) && !before(a, c.unacked[i].seq) {
		i++
	}
	done := c.unacked[:i:i]
	c.unacked = append([]entry(nil), c.unacked[i:]...)
	c.rto = c.rtoInit
	c.dupAcks = 0
	if c.busySeq != 0 && !before(a, c.busySeq) {
		c.busySeq, c.busyWait, c.busyUntil = 0, 0, time.Time{}
	}
	if len(c.unacked) > 0 && c.busyUntil.IsZero() {
		c.armRtx(now)
	} else {
		c.rtxAt = time.Time{}
	}
	return done
}

type verdict int

const (
	vDeliver verdict = iota
	vDuplicate
	vOutOfOrder
	vOverWindow
)

// accept decides what to do with sequenced frame seq (§5.3, §5.6).
func (c *core) accept(now time.Time, seq uint32) verdict {
	switch {
	case seq == c.rcvNext:
		// A well-behaved peer never has more than window frames beyond
		// what it knows we acknowledged, and what it knows is ≤ c.ack.
		if seq-c.ack > uint32(c.window) {
			c.stats.OverWindow++
			return vOverWindow
		}
		c.rcvNext = inc(seq)
		return vDeliver
	case before(seq, c.rcvNext):
		c.stats.Duplicates++
		c.sendAck(now) // at once, so the sender learns where we stand
		return vDuplicate
	default:
		c.stats.OutOfOrder++
		c.sendAck(now)
		return vOutOfOrder
	}
}

// delivered records that seq was handed over (and, on the gateway,
// committed). The ack goes at once when half a window is owed, so the
// sender's window never stalls on the ack delay; otherwise within it.
func (c *core) delivered(now time.Time, seq uint32) {
	c.ack = seq
	c.ackOwed++
	if c.ackOwed >= max(1, c.window/2) || c.timing.AckDelay == 0 {
		c.sendAck(now)
		return
	}
	if c.ackDue.IsZero() {
		c.ackDue = now.Add(c.timing.AckDelay)
	}
}

// onCommitted records that the gateway's Sink made seq durable (PROTOCOL.md
// §5.3). Nothing goes yet: the loop calls ackCommitted once it has taken
// the reports that came in together, so that one cumulative ACK covers
// every frame of a commit (or of several) unless a frame the loop sends
// first carries it. Sending it at once is within the ack delay; waiting
// for more would only stall the device's window.
func (c *core) onCommitted(seq uint32) {
	c.ack = seq
	c.ackOwed++
	c.ackFlush = true
}

// ackCommitted sends the ACK committed owes, if no frame has carried it:
// one per batch of commit reports, however many frames they cover.
func (c *core) ackCommitted(now time.Time) {
	if !c.ackFlush {
		return
	}
	c.ackFlush = false
	if c.ackOwed > 0 {
		c.sendAck(now)
	}
}

// refuse answers BUSY for seq and rewinds so that seq is expected again;
// frames after it that were already accepted are dropped (§5.5).
func (c *core) refuse(now time.Time, seq uint32, retry time.Duration) {
	c.rcvNext = seq
	c.stats.BusySent++
	c.sendCtl(now, &msg.Busy{Seq: seq, Retry: uint32(retry / time.Millisecond)})
}

func (c *core) sendAck(now time.Time) {
	c.sendCtl(now, &msg.Ack{})
}

// onBusy handles the peer's refusal of one of our frames (§5.5).
func (c *core) onBusy(now time.Time, b *msg.Busy) {
	c.stats.BusyRecv++
	found := false
	for _, e := range c.unacked {
		if e.seq == b.Seq {
			found = true
			break
		}
	}
	if !found {
		return
	}
	wait := time.Duration(b.Retry) * time.Millisecond
	if b.Seq == c.busySeq && c.busyWait > 0 {
		wait = max(wait, 2*c.busyWait)
	}
	if wait <= 0 {
		wait = time.Second
	}
	c.busySeq, c.busyWait = b.Seq, min(wait, maxBusyWait)
	c.busyUntil = now.Add(c.busyWait)
	c.rtxAt = time.Time{}
}

// onStandaloneAck counts ACK frames that do not advance: a receiver sends
// one at once for every frame after a gap (§5.3), so the second in a row
// means the oldest frame was lost. Retransmitting then, once per oldest
// frame, saves waiting for its timer (fast retransmit, §5.4).
func (c *core) onStandaloneAck(now time.Time, a uint32) {
	if len(c.unacked) == 0 || a+1 != c.unacked[0].seq {
		c.dupAcks = 0
		return
	}
	c.dupAcks++
	if c.dupAcks >= 2 && c.fastSeq != c.unacked[0].seq && c.busyUntil.IsZero() && c.up {
		c.fastSeq = c.unacked[0].seq
		c.stats.FastRetransmits++
		c.retransmit(now)
	}
}

// retransmit sends every unacknowledged frame again (go-back-N: the
// receiver drops frames after a gap, §5.4).
func (c *core) retransmit(now time.Time) {
	for _, e := range c.unacked {
		c.stats.Retransmits++
		c.transmit(now, frame.Frame{Type: e.m.Type(), Seq: e.seq, Body: e.body})
	}
	if len(c.unacked) > 0 {
		c.armRtx(now)
	}
}

// tick runs the timers of §5.4, §5.5 and §6.3 that are due.
func (c *core) tick(now time.Time) {
	if !c.busyUntil.IsZero() && !now.Before(c.busyUntil) {
		c.busyUntil = time.Time{}
		if c.up {
			c.retransmit(now)
		}
	}
	if c.up && !c.rtxAt.IsZero() && !now.Before(c.rtxAt) {
		c.rto = min(2*c.rto, c.rtoMax)
		c.retransmit(now)
	}
	if !c.ackDue.IsZero() && !now.Before(c.ackDue) {
		c.sendAck(now)
	}
	if c.up && !now.Before(c.heartbeatAt()) {
		c.sendCtl(now, &msg.Heartbeat{})
	}
}

// deadline returns the earliest time tick has something to do; zero if
// nothing is scheduled.
func (c *core) deadline() time.Time {
	var d time.Time
	c.earliest(&d, c.busyUntil)
	c.earliest(&d, c.ackDue)
	if c.up {
		c.earliest(&d, c.rtxAt)
		c.earliest(&d, c.heartbeatAt())
		c.earliest(&d, c.lastRx.Add(missedBeats*c.hb))
	}
	return d
}

func (c *core) earliest(d *time.Time, t time.Time) {
	if !t.IsZero() && (d.IsZero() || t.Before(*d)) {
		*d = t
	}
}

// heartbeatGrid divides H into the steps a gateway's heartbeats are rounded
// down to: at most H/8 early, so at most 8 instants per H for every link.
const heartbeatGrid = 8

// heartbeatAt is when this side's next HEARTBEAT is due (§6.3: once it has
// sent nothing for H). A device sends it at that moment. The gateway rounds
// it down onto multiples of H/heartbeatGrid of the wall clock, the same for
// all its links: an idle gateway with many links then wakes for their
// heartbeats a few times per H, not once per link. Early is within the rule
// (a peer only needs a frame at least every H) and costs at most one extra
// heartbeat, after a frame was sent between two steps; from then on they go
// every H, on the steps. The rounding is subtracted from a time that keeps
// its monotonic reading, so a step of the wall clock only moves the grid.
func (c *core) heartbeatAt() time.Time {
	at := c.lastTx.Add(c.hb)
	step := c.hb / heartbeatGrid
	if c.fromDevice || step <= 0 {
		return at
	}
	r := at.UnixNano() % int64(step)
	if r < 0 {
		r += int64(step) // before 1970: still down, not up
	}
	return at.Add(-time.Duration(r))
}

// silent reports whether the peer has been quiet for 3 heartbeats (§6.3).
func (c *core) silent(now time.Time) bool {
	return now.Sub(c.lastRx) >= missedBeats*c.hb
}

// snapshot returns the counters including those of the active Run.
func (c *core) snapshot() Stats {
	s := c.stats
	s.add(c.runStats)
	if c.p != nil {
		s.add(portStats(c.p))
	}
	return s
}

func portStats(p *port) Stats {
	rs := p.rd.Stats()
	s := Stats{WireIn: rs.Bytes, WireOut: p.wire.Load(), Overruns: p.inDrops.Load() + p.outDrops.Load()}
	copy(s.Dropped[:], rs.Drops[:])
	return s
}
