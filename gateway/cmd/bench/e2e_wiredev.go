package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/cbormode"
)

// wireDev is an emulated attendance terminal that costs little, so that the
// bench's figures describe the gateway rather than the devices (the
// "wire" device mode, the default). It speaks the device side of
// firmware-bridge/PROTOCOL.md as a microcontroller would, with none of the
// emulator's generality:
//
//   - its record store is a ring of (time, t_us) pairs in RAM, not a flash
//     file rewritten and fsync'd at every record (fwemu's);
//   - an EVENT frame is written by hand into a buffer reused for every
//     frame: the punch body's fixed parts are constants, the event id,
//     time and data fields are written in, then the header's seq and ack,
//     the CRC-32C and the COBS encoding. The bytes are those msg.Marshal
//     and frame.Append produce for the same event (TestWireFrames): no
//     reflection, no maps, no allocation per event;
//   - the session is the protocol's, minimally: HELLO (untagged, no
//     enrollment key: it offers the events, time and rtc capabilities),
//     WELCOME (new session or resume, the high-water mark), CLOSE and its
//     retry, a window of unacknowledged frames, cumulative acks, go-back-N
//     retransmission on the timer with the timeout doubling up to its cap,
//     fast retransmit on the second standalone ACK that does not advance,
//     BUSY, heartbeats after H of silence, link down after 3 × H, TIME_REQ
//     answered with TIME_RESP (key 6 included). Sequenced frames from the
//     gateway are acknowledged at once and discarded: with no commands,
//     config or firmware capability offered, none is expected.
//
// One goroutine per device reads the line; frames go out from whichever
// goroutine made them (the emitter, the reader, the timer), one writer at a
// time, without the lock held. A single timer per device runs the session's
// deadlines.
type wireDev struct {
	// Immutable.
	id, hwID, path string
	bootID         uint32
	f              *os.File // the PTY master, non-blocking under the poller
	hold           *os.File // the slave, kept open so the PTY outlives the gateway's opens
	userNo         int      // the user of its latency punches
	helloMin       time.Duration
	done           chan struct{} // the reader ended
	timer          *time.Timer

	mu sync.Mutex
	// Guarded by mu.
	// The record store: events acked+1 … last, in recs[seq & ringMask].
	recs        []wireRec
	acked, last uint32
	clockOff    int64 // ms added to the host clock: the device's RTC
	// The session.
	state               wireState
	gwBoot              uint32
	window              int
	hb, rtoInit, rtoMax time.Duration
	rto                 time.Duration
	sndNext             uint32
	unacked             []wireOut // oldest first; at most window
	cursor              uint32    // the last event put in a frame this session
	rcvNext, ack        uint32    // the gateway's stream
	lastTx, lastRx      time.Time
	rtxAt, busyUntil    time.Time
	busySeq             uint32
	busyWait            time.Duration
	dupAcks             int
	fastSeq             uint32
	helloAt             time.Time
	helloWait           time.Duration
	armed               time.Time // when the timer fires; zero when stopped
	closed              bool
	stats               wireStats
	// Output: frames are appended to out; one goroutine at a time writes it.
	out, spare []byte
	writing    bool
	raw        []byte // scratch: the decoded frame being built
	rnd        *rand.Rand
}

type wireState int

const (
	wireHelloSent wireState = iota
	wireWaiting
	wireEstablished
)

// wireRec is one record of the store.
type wireRec struct {
	timeMs uint64 // the device clock when recorded
	tUs    uint64 // the emit time for the latency phase; 0: a generated punch
}

// wireOut is one unacknowledged frame: the event it carries.
type wireOut struct {
	seq uint32
	ev  uint32
}

// wireStats are a device's counters, for tests and diagnosis.
type wireStats struct {
	Sessions, Resumes, Retransmits, FastRetransmits, LinkDowns, BusyRecv, Dropped int
}

const (
	wireCapacity = 10000 // records, as fwemu's store
	wireRing     = 16384 // ≥ wireCapacity, a power of two
	wireRingMask = wireRing - 1
	wireWindow   = 8          // offered in HELLO
	wireModel    = "OG-EMU-1" // fwemu's
	wireFirmware = "1.0.0"    // fwemu's factory image
	wireCaps     = msg.CapEvents | msg.CapTime | msg.CapRTC
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Pre-encoded bodies of the two empty unsequenced frames.
var (
	heartbeatBody = mustMarshalMsg(&msg.Heartbeat{})
	ackBody       = mustMarshalMsg(&msg.Ack{})
)

func mustMarshalMsg(m msg.Message) []byte {
	b, err := msg.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("bench: %T: %v", m, err)) // constant messages: a programming error
	}
	return b
}

// startWireDev starts a device with hardware id "EMU-"+id and boot id boot
// on a new PTY. helloMin is the first HELLO retry (PROTOCOL.md §6.3: 1 s).
func startWireDev(id string, user int, boot uint32, helloMin time.Duration) (*wireDev, error) {
	master, s, err := fwemu.OpenPTY(id)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	d := newWireDev(id, user, boot, helloMin, master)
	d.path, d.hold = s.Name(), s
	d.start()
	return d, nil
}

// newWireDev makes a device on the line f; start runs it.
func newWireDev(id string, user int, boot uint32, helloMin time.Duration, f *os.File) *wireDev {
	d := &wireDev{id: id, hwID: "EMU-" + id, bootID: boot, userNo: user, f: f, helloMin: helloMin, done: make(chan struct{}),
		recs: make([]wireRec, wireRing), window: wireWindow, hb: 2 * time.Second,
		rtoInit: 500 * time.Millisecond, rtoMax: 4 * time.Second,
		out: make([]byte, 0, 4096), spare: make([]byte, 0, 4096), raw: make([]byte, 0, frame.MaxLen),
		rnd: rand.New(rand.NewPCG(uint64(boot), uint64(len(id))))}
	d.rto = d.rtoInit
	d.timer = time.AfterFunc(time.Hour, d.onTimer)
	d.timer.Stop()
	return d
}

func (d *wireDev) start() {
	d.mu.Lock()
	now := time.Now()
	d.out = append(d.out, 0) // end whatever garbage is on the line (§2.1)
	d.helloWait = d.helloMin
	d.sendHello(now)
	d.rearm(now)
	d.mu.Unlock()
	d.flush()
	go d.read()
}

// stop closes the line and waits for the reader.
func (d *wireDev) stop() error {
	d.mu.Lock()
	d.closed = true
	d.timer.Stop()
	d.mu.Unlock()
	err := d.f.Close()
	<-d.done
	if d.hold != nil {
		d.hold.Close()
	}
	return err
}

// now is the device clock: the host's, plus what TIME_REQ adjusted (an RTC,
// so always set).
func (d *wireDev) clockMs(now time.Time) uint64 { return uint64(now.UnixMilli() + d.clockOff) }

// record puts n events in the store (a generated punch when tUs is 0) and
// sends what the window allows; it returns the last event's seq. A store
// without room for all n refuses them: the bench never offers more than a
// device holds (-backlog is at most 10 000 a device).
func (d *wireDev) record(n int, tUs uint64) (uint32, error) {
	d.mu.Lock()
	if int(d.last-d.acked)+n > wireCapacity {
		held := d.last - d.acked
		d.mu.Unlock()
		return 0, fmt.Errorf("bench: device %s holds %d events: no room for %d more (%d)", d.id, held, n, wireCapacity)
	}
	now := time.Now()
	t := d.clockMs(now)
	for range n {
		d.last++
		d.recs[d.last&wireRingMask] = wireRec{timeMs: t, tUs: tUs}
	}
	last := d.last
	d.pump(now)
	d.rearm(now)
	d.mu.Unlock()
	d.flush()
	return last, nil
}

// held is how many records the gateway has not acknowledged.
func (d *wireDev) held() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.last - d.acked)
}

func (d *wireDev) counters() wireStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// read takes frames from the line until it fails (closed).
func (d *wireDev) read() {
	defer close(d.done)
	r := frame.NewReader(d.f, nil)
	var fs []frame.Frame
	for {
		var err error
		fs, err = r.ReadFrames(fs[:0])
		if len(fs) > 0 {
			d.mu.Lock()
			now := time.Now()
			for _, f := range fs {
				d.onFrame(now, f)
			}
			d.pump(now)
			d.rearm(now)
			d.mu.Unlock()
			d.flush()
		}
		if err != nil {
			return
		}
	}
}

func (d *wireDev) onTimer() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	now := time.Now()
	d.armed = time.Time{}
	d.tick(now)
	d.pump(now)
	d.rearm(now)
	d.mu.Unlock()
	d.flush()
}

// tick runs what is due (§5.4, §5.5, §6.3).
func (d *wireDev) tick(now time.Time) {
	up := d.state == wireEstablished
	if up && now.Sub(d.lastRx) >= 3*d.hb {
		d.stats.LinkDowns++
		d.state = wireHelloSent
		d.helloWait = d.helloMin
		d.helloAt = now.Add(d.jitter(d.helloWait))
		up = false
	}
	if !up && !d.helloAt.IsZero() && !now.Before(d.helloAt) {
		d.state = wireHelloSent
		d.sendHello(now)
	}
	if !d.busyUntil.IsZero() && !now.Before(d.busyUntil) {
		d.busyUntil = time.Time{}
		if up {
			d.retransmit(now)
		}
	}
	if up && !d.rtxAt.IsZero() && !now.Before(d.rtxAt) {
		d.rto = min(2*d.rto, d.rtoMax)
		d.retransmit(now)
	}
	if up && !now.Before(d.lastTx.Add(d.hb)) {
		d.sendCtl(now, frame.TypeHeartbeat, heartbeatBody)
	}
}

// rearm sets the timer to the next deadline if that is earlier than the one
// it is set to; a timer that fires early finds nothing due and re-arms.
func (d *wireDev) rearm(now time.Time) {
	if d.closed {
		return
	}
	var next time.Time
	early := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	early(d.helloAt)
	early(d.busyUntil)
	if d.state == wireEstablished {
		early(d.rtxAt)
		early(d.lastTx.Add(d.hb))
		early(d.lastRx.Add(3 * d.hb))
	}
	if next.IsZero() || (!d.armed.IsZero() && !next.Before(d.armed)) {
		return
	}
	d.armed = next
	d.timer.Reset(max(next.Sub(now), time.Millisecond))
}

func (d *wireDev) jitter(t time.Duration) time.Duration {
	return time.Duration(float64(t) * (0.8 + 0.4*d.rnd.Float64()))
}

// sendHello says HELLO and schedules the next (§6.1, §6.3).
func (d *wireDev) sendHello(now time.Time) {
	h := msg.Hello{HardwareID: d.hwID, Model: wireModel, Kind: msg.KindAttendance, Firmware: wireFirmware,
		Boot: d.bootID, Caps: wireCaps, ProtoMin: msg.ProtoVersion, ProtoMax: msg.ProtoVersion,
		GatewayBoot: d.gwBoot, MTU: frame.MaxLen, Window: wireWindow, Time: d.clockMs(now), Clock: msg.ClockSet}
	if d.gwBoot != 0 {
		h.Ack = d.ack
	}
	body, err := msg.Marshal(&h)
	if err == nil {
		d.sendCtl(now, frame.TypeHello, body)
	}
	d.helloAt = now.Add(d.jitter(d.helloWait))
	d.helloWait = min(2*d.helloWait, 8*time.Second)
}

// sendCtl sends an unsequenced frame; handshake frames carry ack 0.
func (d *wireDev) sendCtl(now time.Time, t frame.Type, body []byte) {
	ack := d.ack
	if t.Handshake() {
		ack = 0
	}
	d.appendFrame(t, 0, ack, body)
	d.lastTx = now
}

// appendFrame encodes a frame onto the output: header, body, CRC, COBS,
// delimiter (PROTOCOL.md §2).
func (d *wireDev) appendFrame(t frame.Type, seq, ack uint32, body []byte) {
	raw := append(d.raw[:0], frame.Version, byte(t), byte(frame.FlagFromDevice))
	raw = binary.BigEndian.AppendUint32(raw, seq)
	raw = binary.BigEndian.AppendUint32(raw, ack)
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(body)))
	raw = append(raw, body...)
	d.finishFrame(raw)
}

// finishFrame appends the CRC to the decoded frame raw and its COBS
// encoding and delimiter to the output.
func (d *wireDev) finishFrame(raw []byte) {
	raw = binary.BigEndian.AppendUint32(raw, crc32.Checksum(raw, castagnoli))
	d.raw = raw[:0]
	d.out = append(frame.AppendEncode(d.out, raw), 0)
}

// sendEvent encodes event ev of the store as an EVENT frame with seq.
func (d *wireDev) sendEvent(seq, ev uint32) {
	raw := append(d.raw[:0], frame.Version, byte(frame.TypeEvent), byte(frame.FlagFromDevice))
	raw = binary.BigEndian.AppendUint32(raw, seq)
	raw = binary.BigEndian.AppendUint32(raw, d.ack)
	raw = append(raw, 0, 0) // the body length, below
	rec := d.recs[ev&wireRingMask]
	raw = appendPunch(raw, d.bootID, ev, rec, d.userOf(ev, rec))
	binary.BigEndian.PutUint16(raw[frame.HeaderLen-2:], uint16(len(raw)-frame.HeaderLen))
	d.finishFrame(raw)
}

// userOf is the punch's user, verify method and state: for a latency
// punch the device's own user, card, 0 (as the fwemu fleet emits them);
// for a generated punch drawn from the event's number, as fwemu's
// generator spreads them (500 users, four methods, two states).
func (d *wireDev) userOf(ev uint32, rec wireRec) punchFields {
	if rec.tUs != 0 {
		return punchFields{user: d.userNo, verify: 0, state: 0}
	}
	h := uint64(ev) * 0x9e3779b97f4a7c15
	h ^= h >> 29
	return punchFields{user: 10000 + int(h%500), verify: int(h>>20) & 3, state: int(h>>40) & 1}
}

// pump sends stored events while the window has room (§5.2).
func (d *wireDev) pump(now time.Time) {
	if d.state != wireEstablished || !d.busyUntil.IsZero() {
		return
	}
	if d.cursor < d.acked {
		d.cursor = d.acked
	}
	for len(d.unacked) < d.window && d.cursor != d.last {
		d.cursor++
		seq := d.sndNext
		d.sndNext++
		if d.sndNext == 0 {
			d.sndNext = 1
		}
		d.unacked = append(d.unacked, wireOut{seq: seq, ev: d.cursor})
		d.sendEvent(seq, d.cursor)
		d.lastTx = now
		if len(d.unacked) == 1 {
			d.rtxAt = now.Add(d.rto)
		}
	}
}

// retransmit sends every unacknowledged frame again (go-back-N, §5.4).
func (d *wireDev) retransmit(now time.Time) {
	for _, o := range d.unacked {
		d.stats.Retransmits++
		d.sendEvent(o.seq, o.ev)
	}
	if len(d.unacked) > 0 {
		d.lastTx = now
		d.rtxAt = now.Add(d.rto)
	}
}

// serial arithmetic (§5.1): a before b.
func seqBefore(a, b uint32) bool { return int32(b-a) > 0 }

func (d *wireDev) onFrame(now time.Time, f frame.Frame) {
	if f.Flags&frame.FlagFromDevice != 0 {
		d.stats.Dropped++ // our own frame looped back (§2.3)
		return
	}
	switch f.Type {
	case frame.TypeWelcome:
		m, err := msg.Decode(f)
		if err != nil {
			d.stats.Dropped++
			return
		}
		d.onWelcome(now, m.(*msg.Welcome))
		return
	case frame.TypeClose:
		m, err := msg.Decode(f)
		if err != nil {
			d.stats.Dropped++
			return
		}
		c := m.(*msg.Close)
		d.state = wireWaiting
		switch {
		case c.Retry != 0:
			d.helloAt = now.Add(time.Duration(c.Retry) * time.Millisecond)
		case c.Code == msg.CodeNoSession:
			d.helloAt = now
		default:
			d.helloAt = now.Add(d.jitter(d.helloWait))
			d.helloWait = min(2*d.helloWait, 8*time.Second)
		}
		return
	}
	if d.state != wireEstablished {
		return // §6.1: until WELCOME only WELCOME and CLOSE count
	}
	d.lastRx = now
	switch f.Type {
	case frame.TypeHeartbeat:
		d.ackIn(now, f.Ack)
	case frame.TypeAck:
		d.ackIn(now, f.Ack)
		d.onStandaloneAck(now, f.Ack)
	case frame.TypeBusy:
		d.ackIn(now, f.Ack)
		if m, err := msg.Decode(f); err == nil {
			d.onBusy(now, m.(*msg.Busy))
		}
	case frame.TypeTimeReq:
		m, err := msg.Decode(f)
		if err != nil {
			d.stats.Dropped++
			return
		}
		r := m.(*msg.TimeReq)
		d.clockOff += r.Adjust
		t := d.clockMs(now)
		body, err := msg.Marshal(&msg.TimeResp{ID: r.ID, T1: r.T1, T2: t, T3: t, Clock: msg.ClockSet, Next: d.last + 1})
		if err == nil {
			d.sendCtl(now, frame.TypeTimeResp, body)
		}
	default:
		if !f.Type.Sequenced() {
			return // an unknown unsequenced type: ignored (§3)
		}
		d.ackIn(now, f.Ack)
		// Delivered at once and discarded (§3), acknowledged at once; a
		// duplicate or a frame after a gap is answered with an ACK too (§5.3).
		if f.Seq == d.rcvNext {
			d.ack, d.rcvNext = f.Seq, f.Seq+1
		}
		d.sendCtl(now, frame.TypeAck, ackBody)
	}
}

func (d *wireDev) onWelcome(now time.Time, w *msg.Welcome) {
	if d.state == wireEstablished && !w.Resume && w.GatewayBoot == d.gwBoot {
		return // the answer to a HELLO sent before this session (§6.2)
	}
	if w.Resume && w.GatewayBoot != d.gwBoot {
		return // a resume of a session we never had
	}
	d.window = min(int(w.Window), wireWindow)
	d.hb = time.Duration(w.Heartbeat) * time.Millisecond
	d.rtoInit = time.Duration(w.RTO) * time.Millisecond
	d.rtoMax = 8 * d.rtoInit
	d.state, d.lastRx, d.helloAt, d.helloWait = wireEstablished, now, time.Time{}, d.helloMin
	if w.Resume {
		d.stats.Resumes++
		d.ackIn(now, w.Ack)
		d.retransmit(now)
		return
	}
	// A new session (§6.4): both streams restart at 1; the events not
	// acknowledged go again from the store, minus the high-water mark.
	d.stats.Sessions++
	d.gwBoot = w.GatewayBoot
	d.sndNext, d.unacked, d.rto, d.rtxAt = 1, d.unacked[:0], d.rtoInit, time.Time{}
	d.busySeq, d.busyWait, d.busyUntil = 0, 0, time.Time{}
	d.dupAcks, d.fastSeq = 0, 0
	d.rcvNext, d.ack = 1, 0
	d.cursor = d.acked
	if a := w.EventAck; a != nil && a.Boot == d.bootID && seqBefore(d.acked, a.Seq) && !seqBefore(d.last, a.Seq) {
		d.acked, d.cursor = a.Seq, a.Seq
	}
}

// ackIn processes a cumulative ack of our stream (§5.3).
func (d *wireDev) ackIn(now time.Time, a uint32) {
	if a == 0 || len(d.unacked) == 0 || seqBefore(d.sndNext-1, a) || seqBefore(a, d.unacked[0].seq) {
		return
	}
	i := 0
	for i < len(d.unacked) && !seqBefore(a, d.unacked[i].seq) {
		i++
	}
	d.acked = d.unacked[i-1].ev
	n := copy(d.unacked, d.unacked[i:])
	d.unacked = d.unacked[:n]
	d.rto, d.dupAcks = d.rtoInit, 0
	if d.busySeq != 0 && !seqBefore(a, d.busySeq) {
		d.busySeq, d.busyWait, d.busyUntil = 0, 0, time.Time{}
	}
	if len(d.unacked) > 0 && d.busyUntil.IsZero() {
		d.rtxAt = now.Add(d.rto)
	} else {
		d.rtxAt = time.Time{}
	}
}

// onStandaloneAck: the second ACK in a row that does not advance while
// frames are outstanding means the oldest was lost (fast retransmit, §5.4).
func (d *wireDev) onStandaloneAck(now time.Time, a uint32) {
	if len(d.unacked) == 0 || a+1 != d.unacked[0].seq {
		d.dupAcks = 0
		return
	}
	d.dupAcks++
	if d.dupAcks >= 2 && d.fastSeq != d.unacked[0].seq && d.busyUntil.IsZero() {
		d.fastSeq = d.unacked[0].seq
		d.stats.FastRetransmits++
		d.retransmit(now)
	}
}

// onBusy: the gateway refused b.Seq; wait, then send it again (§5.5).
func (d *wireDev) onBusy(now time.Time, b *msg.Busy) {
	d.stats.BusyRecv++
	found := false
	for _, o := range d.unacked {
		found = found || o.seq == b.Seq
	}
	if !found {
		return
	}
	wait := time.Duration(b.Retry) * time.Millisecond
	if b.Seq == d.busySeq && d.busyWait > 0 {
		wait = max(wait, 2*d.busyWait)
	}
	if wait <= 0 {
		wait = time.Second
	}
	d.busySeq, d.busyWait = b.Seq, min(wait, 30*time.Second)
	d.busyUntil = now.Add(d.busyWait)
	d.rtxAt = time.Time{}
}

// flush writes the output, one goroutine at a time, without the lock: a
// write that waits for the gateway to read must not stop the others from
// queueing frames.
func (d *wireDev) flush() {
	d.mu.Lock()
	if d.writing || len(d.out) == 0 || d.closed {
		d.mu.Unlock()
		return
	}
	d.writing = true
	for len(d.out) > 0 && !d.closed {
		buf := d.out
		d.out = d.spare[:0]
		d.mu.Unlock()
		_, err := d.f.Write(buf)
		d.mu.Lock()
		d.spare = buf[:0]
		if err != nil {
			d.out = d.out[:0] // the line is gone: the reader ends too
			break
		}
	}
	d.writing = false
	d.mu.Unlock()
}

// punchFields are a punch's data fields.
type punchFields struct {
	user   int // 10000…
	verify int // index into verifyNames
	state  int
}

var verifyNames = [4]string{"card", "finger", "face", "pin"}

// appendPunch appends the CBOR body of a punch EVENT (PROTOCOL.md §4.9)
// exactly as msg.Marshal encodes msg.Event (RFC 8949 core deterministic:
// shortest integers, map keys sorted), without reflection or allocation:
//
//	{1: [boot, seq], 2: "punch", 3: time, 4: 1, 5: {"t_us"?: …, "user": "NNNNN", "state": s, "verify": v}}
func appendPunch(b []byte, boot, seq uint32, rec wireRec, p punchFields) []byte {
	b = append(b, 0xa5, 0x01, 0x82)
	b = cbormode.AppendHead(b, 0, uint64(boot))
	b = cbormode.AppendHead(b, 0, uint64(seq))
	b = append(b, 0x02, 0x65, 'p', 'u', 'n', 'c', 'h', 0x03)
	b = cbormode.AppendHead(b, 0, rec.timeMs)
	b = append(b, 0x04, 0x01, 0x05)
	n := byte(3)
	if rec.tUs != 0 {
		n++
	}
	b = append(b, 0xa0|n)
	// Keys in their encoded order: "t_us", "user" (4 bytes), "state" (5), "verify" (6).
	if rec.tUs != 0 {
		b = append(b, 0x64, 't', '_', 'u', 's')
		b = cbormode.AppendHead(b, 0, rec.tUs)
	}
	b = append(b, 0x64, 'u', 's', 'e', 'r', 0x65)
	u := p.user
	b = append(b, byte('0'+u/10000%10), byte('0'+u/1000%10), byte('0'+u/100%10), byte('0'+u/10%10), byte('0'+u%10))
	b = append(b, 0x65, 's', 't', 'a', 't', 'e')
	b = cbormode.AppendHead(b, 0, uint64(p.state))
	b = append(b, 0x66, 'v', 'e', 'r', 'i', 'f', 'y')
	v := verifyNames[p.verify&3]
	b = append(b, 0x60|byte(len(v)))
	return append(b, v...)
}
