package fwcheck

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Options configures a run. The zero value checks a device at 115200 baud.
type Options struct {
	// Baud is the line's rate: the retransmission bounds follow from it
	// (PROTOCOL.md §5.4). 0 means 115200.
	Baud int
	// Hello is how long to wait for the device's first HELLO; 0 means 20 s.
	Hello time.Duration
}

// timing is what §5.4 says for a baud rate.
type timing struct {
	tmax, rto, ackDelay time.Duration
}

func timingFor(baud int) timing {
	b := float64(baud)
	tmax := 1030 * 10 / b
	tack := 19 * 10 / b
	ackDelay := max(0.020, 96*10/b)
	rto := 2*tmax + tack + 0.250 + ackDelay
	rtoMs := (int((rto*1000)+499) / 500) * 500 // up to a multiple of 500 ms
	return timing{
		tmax:     time.Duration(tmax * float64(time.Second)),
		rto:      time.Duration(rtoMs) * time.Millisecond,
		ackDelay: time.Duration(ackDelay * float64(time.Second)),
	}
}

// Run plays the gateway on rw (the device's serial port) and returns the
// report. rw is closed when Run returns if it is an io.Closer, which ends
// its reader. An error is returned only when the run could not start (no
// HELLO at all); every rule broken is a failed check in the report.
func Run(ctx context.Context, rw io.ReadWriter, o Options) (*Report, error) {
	if o.Baud == 0 {
		o.Baud = 115200
	}
	if o.Hello == 0 {
		o.Hello = 20 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	c := newConn(ctx, rw)
	defer func() {
		cancel()
		if cl, ok := rw.(io.Closer); ok {
			cl.Close()
		}
		<-c.done
	}()
	r := &Report{}
	rn := &run{c: c, r: r, t: timingFor(o.Baud)}
	if err := rn.handshake(ctx, o.Hello); err != nil {
		return r, err
	}
	rn.session(ctx)
	st := c.rd.Stats()
	if d := st.Dropped(); d > 0 {
		r.add("framing and CRC", "2.6", fmt.Errorf("%d of the device's frames failed COBS, CRC or length checks (%v)", d, st.Drops), "")
	} else {
		r.add("framing and CRC", "2.6", nil, fmt.Sprintf("(%d frames, none dropped)", st.Frames))
	}
	if c.macBad > 0 {
		r.add("tagged frames", "2.5", fmt.Errorf("%d frames after enrollment failed their tag", c.macBad), "")
	}
	return r, nil
}

type run struct {
	c      *conn
	r      *Report
	t      timing
	hello  *msg.Hello
	gwBoot uint32
	win    int
	events []msg.EventID // EVENT ids the device sent, in order of first arrival
	seen   map[msg.EventID]int
	bySeq  map[uint32]msg.EventID // EVENT ids by the seq they came in, this session
	acked  uint32                 // the device seq the window check acknowledged
}

func decode[T msg.Message](f frame.Frame) (T, error) {
	var zero T
	m, err := msg.Decode(f)
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("got %v", f.Type)
	}
	return t, nil
}

func isType(t frame.Type) func(frame.Frame) bool {
	return func(f frame.Frame) bool { return f.Type == t }
}

// handshake reads the HELLO, enrolls the device if it offers a key, and
// opens a session.
func (rn *run) handshake(ctx context.Context, wait time.Duration) error {
	c, r := rn.c, rn.r
	h, err := c.await(ctx, wait, isType(frame.TypeHello), nil)
	if err != nil {
		return fmt.Errorf("fwcheck: no HELLO from the device within %v: %w", wait, err)
	}
	hello, err := decode[*msg.Hello](h.f)
	if err == nil {
		err = hello.Validate()
	}
	if err == nil && h.f.Flags&frame.FlagFromDevice == 0 {
		err = errors.New("FROM_DEVICE flag clear (§2.3)")
	}
	if err == nil && h.f.Seq != 0 {
		err = fmt.Errorf("HELLO has seq %d: unsequenced frames carry 0 (§3)", h.f.Seq)
	}
	r.add("HELLO fields", "4.2", err, "")
	if err != nil {
		return fmt.Errorf("fwcheck: the device's HELLO is unusable: %w", err)
	}
	rn.hello = hello
	r.Device = fmt.Sprintf("%s (%s, firmware %s, boot %d, caps %#x)", hello.HardwareID, hello.Model, hello.Firmware, hello.Boot, uint32(hello.Caps))
	if h.f.Authenticated() {
		return errors.New("fwcheck: the device already holds a link key fwcheck does not know: reset it to its factory state (no key) and run again")
	}
	if hello.Caps&msg.CapAuth == 0 || len(hello.EnrollPub) == 0 {
		r.skip("enrollment, tagged frames", "6.7", "the device does not offer the auth capability with an enrollment key")
	} else if err := rn.enroll(ctx); err != nil {
		r.add("enrollment, tagged frames", "6.7", err, "")
		return fmt.Errorf("fwcheck: enrollment failed: %w", err)
	}
	return rn.welcome(ctx, nil)
}

// enroll agrees a link key (§6.7) and expects the next HELLO tagged with it.
func (rn *run) enroll(ctx context.Context) error {
	c := rn.c
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pub, err := ecdh.X25519().NewPublicKey(rn.hello.EnrollPub)
	if err != nil {
		return fmt.Errorf("enrollment key: %w", err)
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		return fmt.Errorf("enrollment key: %w", err)
	}
	key, err := hkdf.Key(sha256.New, z, []byte(rn.hello.HardwareID), "officegate link key v1\x00\x01", frame.KeyLen)
	if err != nil {
		return err
	}
	if err := c.send(&msg.Close{Code: msg.CodeEnrolled, Enroll: &msg.Enroll{Pub: priv.PublicKey().Bytes(), Epoch: 1}}, 0); err != nil {
		return err
	}
	h, err := c.await(ctx, 5*time.Second, isType(frame.TypeHello), nil)
	if err != nil {
		return fmt.Errorf("no HELLO after CLOSE enrolled: %w", err)
	}
	hello, err := decode[*msg.Hello](h.f)
	if err != nil {
		return err
	}
	auth := &frame.Auth{Epoch: 1, Key: key, DeviceBoot: hello.Boot}
	if err := h.f.Verify(auth); err != nil {
		return fmt.Errorf("the HELLO after enrollment is not tagged with the agreed key (§2.5): %w", err)
	}
	if len(hello.EnrollPub) != 0 {
		return errors.New("the tagged HELLO still offers an enrollment key")
	}
	c.auth = auth
	rn.hello = hello
	rn.r.add("enrollment, tagged frames", "6.7", nil, "(key agreed, HELLO tagged)")
	return nil
}

// welcome opens a new session; mark is the event high-water mark.
func (rn *run) welcome(ctx context.Context, mark *msg.EventID) error {
	c := rn.c
	rn.gwBoot = mrand.Uint32() | 1
	rn.win = min(int(rn.hello.Window), 4)
	if c.auth != nil {
		c.auth.DeviceBoot = rn.hello.Boot
		c.auth.GatewayBoot = rn.gwBoot
	}
	c.ack, c.snd = 0, 0
	mtu := min(rn.hello.MTU, 1024)
	w := &msg.Welcome{DeviceID: "fwcheck", Time: uint64(time.Now().UnixMilli()), Window: uint8(rn.win),
		Heartbeat: 10000, Proto: 1, Caps: rn.hello.Caps, GatewayBoot: rn.gwBoot, EventAck: mark,
		MTU: mtu, RTO: uint32(rn.t.rto / time.Millisecond)}
	return c.send(w, 0)
}

// session runs the checks that need a session.
func (rn *run) session(ctx context.Context) {
	c, r := rn.c, rn.r
	rn.seen = map[msg.EventID]int{}
	rn.bySeq = map[uint32]msg.EventID{}
	// The device speaks in the session within a second (an ACK, an EVENT,
	// a HEARTBEAT): it took the WELCOME.
	first, err := c.await(ctx, 3*time.Second, func(f frame.Frame) bool { return f.Type != frame.TypeHello }, nil)
	if err != nil {
		r.add("session opens on WELCOME", "6.2", fmt.Errorf("nothing but HELLO after WELCOME: %w", err), "")
		return
	}
	r.add("session opens on WELCOME", "6.2", nil, "")
	c.mu.Lock()
	c.pending = append(c.pending, first)
	c.mu.Unlock()
	rn.windowAndRetransmit(ctx)
	rn.resume(ctx)
	rn.busy(ctx)
	rn.duplicates(ctx)
	rn.badCRC(ctx)
	rn.commands(ctx)
	rn.timeSync(ctx)
	rn.badSignature(ctx)
}

// note records an EVENT's id.
func (rn *run) note(f frame.Frame) {
	if f.Type != frame.TypeEvent {
		return
	}
	if e, err := decode[*msg.Event](f); err == nil {
		if rn.seen[e.ID] == 0 {
			rn.events = append(rn.events, e.ID)
		}
		rn.seen[e.ID]++
		rn.bySeq[f.Seq] = e.ID
	}
}

// firstTimed, when set (by a test), is called when the retransmission
// check has stamped the first frame it times.
var firstTimed func()

// stalledNote says how long this host stalled while it timed the device,
// if it did.
func stalledNote(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("; this host stalled up to %v meanwhile, allowed for", d.Round(time.Millisecond))
}

// windowAndRetransmit (§5.2, §5.4): with nothing acknowledged, the device
// sends at most a window of sequenced frames, then retransmits the oldest
// after the initial timeout, then after twice that.
func (rn *run) windowAndRetransmit(ctx context.Context) {
	c, r := rn.c, rn.r
	type sent struct{ first, again []time.Time }
	bySeq := map[uint32]*sent{}
	var oldest uint32
	watch, stop := watchStalls(ctx) // this host's own lateness (stall.go)
	defer stop()
	deadline := time.Now().Add(3*rn.t.rto + 4*rn.t.tmax + time.Second)
	begin := time.Now()
	for {
		// Frames that came while this host stalled wait in the reader:
		// the stall does not shorten the time the device is given.
		end := deadline.Add(watch.longest(begin, time.Now()))
		if !time.Now().Before(end) {
			break
		}
		x, err := c.next(ctx, time.Until(end))
		if err != nil {
			break
		}
		if !x.f.Type.Sequenced() {
			continue
		}
		rn.note(x.f)
		s := bySeq[x.f.Seq]
		if s == nil {
			s = &sent{}
			bySeq[x.f.Seq] = s
			if oldest == 0 {
				oldest = x.f.Seq
				if firstTimed != nil {
					firstTimed()
				}
				// Its second retransmission is due 3 timeouts after it
				// left: time that from when it came, not from when we
				// started listening.
				if d := x.at.Add(3*rn.t.rto + 4*rn.t.tmax + time.Second); d.After(deadline) {
					deadline = d
				}
			}
		}
		if len(s.first) == 0 {
			s.first = append(s.first, x.at)
		} else {
			s.again = append(s.again, x.at)
		}
		if o := bySeq[oldest]; o != nil && len(o.again) >= 2 {
			break
		}
	}
	if len(bySeq) == 0 {
		r.skip("window", "5.2", "the device sent no EVENT: record some (press a button, badge a card) and run again")
		r.skip("retransmission timing", "5.4", "no sequenced frame to time")
		return
	}
	if len(bySeq) > rn.win {
		r.add("window", "5.2", fmt.Errorf("%d sequenced frames outstanding, the session's window is %d", len(bySeq), rn.win), "")
	} else {
		r.add("window", "5.2", nil, fmt.Sprintf("(%d outstanding, window %d)", len(bySeq), rn.win))
	}
	o := bySeq[oldest]
	// The timer starts when the frame has left the UART: allow its wire time
	// and the frames queued before it, and scheduling slack. Below, half the
	// timeout: this end timestamps frames when it reads them, so a first
	// copy read late (a loaded host) shortens the interval it measures; a
	// device that retransmits at half the timeout or sooner is wrong
	// whatever the host does.
	lo, hi := rn.t.rto/2, rn.t.rto+time.Duration(rn.win+1)*rn.t.tmax+250*time.Millisecond
	// An interval between two stamps is at most the earlier stamp's
	// lateness short of the truth and at most the later one's over it: a
	// bound fails the device only when it fails whatever this host's
	// stalls did to the stamps.
	interval := func(a, b time.Time) (short, long time.Duration) {
		return b.Sub(a) - watch.early(b), b.Sub(a) + watch.early(a)
	}
	var stalled string
	var short, long time.Duration
	if len(o.again) > 0 {
		short, long = interval(o.first[0], o.again[0])
		stalled = stalledNote(watch.longest(o.first[0], o.again[len(o.again)-1]))
	}
	switch {
	case len(o.again) == 0:
		r.add("retransmission timing", "5.4", fmt.Errorf("seq %d never retransmitted within %v (initial timeout %v)", oldest, 3*rn.t.rto, rn.t.rto), "")
	case long < lo || short > hi:
		r.add("retransmission timing", "5.4", fmt.Errorf("seq %d retransmitted after %v, the bounds are [%v, %v] at this baud rate%s", oldest,
			o.again[0].Sub(o.first[0]).Round(time.Millisecond), lo, hi, stalled), "")
	case len(o.again) == 1:
		// §5.4: no retry limit; retransmission goes on while the link is up.
		r.add("retransmission timing", "5.4", fmt.Errorf("seq %d retransmitted once, then not again within %v (the timeout doubles to %v; there is no retry limit)",
			oldest, deadline.Sub(o.again[0]).Round(time.Millisecond), 2*rn.t.rto), "")
	case func() bool { _, long := interval(o.again[0], o.again[1]); return long < 2*rn.t.rto-rn.t.rto/2 }():
		// Half a timeout short, as for the first: a device that does not
		// double retransmits after one timeout.
		r.add("retransmission timing", "5.4", fmt.Errorf("the second retransmission came %v after the first: the timeout must double (%v)%s",
			o.again[1].Sub(o.again[0]).Round(time.Millisecond), 2*rn.t.rto, stalled), "")
	default:
		r.add("retransmission timing", "5.4", nil, fmt.Sprintf("(first after %v, timeout %v%s)", o.again[0].Sub(o.first[0]).Round(time.Millisecond), rn.t.rto, stalled))
	}
	// Acknowledge the first half of what arrived in order, as if the rest
	// were still on its way to the journal: the resume check needs both.
	n := 0
	for s := oldest; bySeq[s] != nil; s++ {
		n++
	}
	for s := oldest; s < oldest+uint32((n+1)/2); s++ {
		c.ack = s
	}
	rn.acked = c.ack
	c.send(&msg.Ack{}, 0)
}

// drain reads for d, noting events, and acknowledges what arrived in order.
func (rn *run) drain(ctx context.Context, d time.Duration) {
	c := rn.c
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		x, err := c.next(ctx, time.Until(deadline))
		if err != nil {
			return
		}
		rn.note(x.f)
		if x.f.Type.Sequenced() && x.f.Seq == c.ack+1 {
			c.ack = x.f.Seq
			c.send(&msg.Ack{}, 0)
		}
	}
}

// result waits for the RESULT of command id, acknowledging frames as they
// come; other RESULTs are counted in others.
func (rn *run) result(ctx context.Context, id string, d time.Duration) (*msg.Result, rx, error) {
	c := rn.c
	deadline := time.Now().Add(d)
	for {
		x, err := c.next(ctx, time.Until(deadline))
		if err != nil {
			return nil, rx{}, err
		}
		rn.note(x.f)
		if x.f.Type.Sequenced() && x.f.Seq == c.ack+1 {
			c.ack = x.f.Seq
			c.send(&msg.Ack{}, 0)
		}
		if x.f.Type == frame.TypeResult {
			if res, err := decode[*msg.Result](x.f); err == nil && res.ID == id {
				return res, x, nil
			}
		}
	}
}

// busy (§5.5): a RESULT refused with BUSY is sent again after the wait
// asked, not before, and not acknowledged in between.
func (rn *run) busy(ctx context.Context) {
	c, r := rn.c, rn.r
	if rn.hello.Caps&msg.CapCommands == 0 {
		r.skip("BUSY honoured", "5.5", "the device does not accept commands, whose results fwcheck refuses")
		return
	}
	rn.drain(ctx, 300*time.Millisecond)
	if _, err := c.seq(&msg.Command{ID: "fwcheck-busy", Name: "fwcheck_unknown"}); err != nil {
		r.add("BUSY honoured", "5.5", err, "")
		return
	}
	var res rx
	x, err := c.await(ctx, 3*time.Second, isType(frame.TypeResult), func(x rx) { rn.note(x.f) })
	if err != nil {
		r.add("BUSY honoured", "5.5", fmt.Errorf("no RESULT to refuse: %w", err), "")
		return
	}
	res = x
	const wait = 700 * time.Millisecond
	busyAt := time.Now()
	c.send(&msg.Busy{Seq: res.f.Seq, Retry: uint32(wait / time.Millisecond)}, 0)
	again, err := c.await(ctx, wait+rn.t.rto+2*time.Second, func(f frame.Frame) bool { return f.Type.Sequenced() && f.Seq == res.f.Seq },
		func(x rx) { rn.note(x.f) })
	switch {
	case err != nil:
		r.add("BUSY honoured", "5.5", fmt.Errorf("seq %d never sent again after BUSY: %w", res.f.Seq, err), "")
	case again.at.Sub(busyAt) < wait-50*time.Millisecond:
		r.add("BUSY honoured", "5.5", fmt.Errorf("seq %d sent again %v after BUSY asked for %v", res.f.Seq, again.at.Sub(busyAt).Round(time.Millisecond), wait), "")
	default:
		r.add("BUSY honoured", "5.5", nil, fmt.Sprintf("(resent after %v)", again.at.Sub(busyAt).Round(time.Millisecond)))
	}
	if again.f.Seq == c.ack+1 {
		c.ack = again.f.Seq
	}
	c.send(&msg.Ack{}, 0)
	rn.drain(ctx, 200*time.Millisecond)
}

// duplicates (§5.6, §9.2): a COMMAND frame received twice (same seq) is
// acknowledged, not executed again; the same command id in a new frame
// gets the stored outcome, once.
func (rn *run) duplicates(ctx context.Context) {
	c, r := rn.c, rn.r
	if rn.hello.Caps&msg.CapCommands == 0 {
		r.skip("duplicate suppression", "5.6", "the device does not accept commands")
		return
	}
	cmd := &msg.Command{ID: "fwcheck-dup", Name: "fwcheck_unknown"}
	f, err := msg.Frame(cmd, c.snd+1, c.ack)
	if err != nil {
		r.add("duplicate suppression", "5.6", err, "")
		return
	}
	c.snd++
	c.sendFrame(f)
	_, first, err := rn.result(ctx, cmd.ID, 3*time.Second)
	if err != nil {
		r.add("duplicate suppression", "5.6", fmt.Errorf("no RESULT for %s: %w", cmd.ID, err), "")
		return
	}
	f.Ack = c.ack
	c.sendFrame(f) // the same frame, the same seq
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		// A retransmission of the first RESULT (its seq) is not an answer.
		res, x, err := rn.result(ctx, cmd.ID, time.Until(deadline))
		if err != nil {
			break
		}
		if x.f.Seq != first.f.Seq {
			r.add("duplicate suppression", "5.6", fmt.Errorf("a retransmitted COMMAND (same seq) was answered again: %+v", res), "")
			return
		}
	}
	if _, err := c.seq(cmd); err != nil {
		r.add("duplicate suppression", "5.6", err, "")
		return
	}
	if _, _, err := rn.result(ctx, cmd.ID, 3*time.Second); err != nil {
		r.add("duplicate suppression", "9.2", fmt.Errorf("a command id seen before, in a new frame, got no RESULT (the stored one must be resent): %w", err), "")
		return
	}
	r.add("duplicate suppression", "5.6", nil, "")
}

// badCRC (§2.6): a COMMAND whose CRC is wrong is dropped: not answered,
// not acknowledged. The same seq is then free for the next command.
func (rn *run) badCRC(ctx context.Context) {
	c, r := rn.c, rn.r
	if rn.hello.Caps&msg.CapCommands == 0 {
		r.skip("damaged frames dropped", "2.6", "the device does not accept commands")
		return
	}
	f, err := msg.Frame(&msg.Command{ID: "fwcheck-crc", Name: "fwcheck_no_such_command"}, c.snd+1, c.ack)
	if err != nil {
		r.add("damaged frames dropped", "2.6", err, "")
		return
	}
	raw, err := frame.AppendRaw(nil, f, c.auth)
	if err != nil {
		r.add("damaged frames dropped", "2.6", err, "")
		return
	}
	raw[len(raw)-1] ^= 0x5a // the CRC
	c.rw.Write(append(frame.AppendEncode(nil, raw), 0))
	deadline := time.Now().Add(800 * time.Millisecond)
	for time.Now().Before(deadline) {
		x, err := c.next(ctx, time.Until(deadline))
		if err != nil {
			break
		}
		rn.note(x.f)
		if x.f.Ack > c.snd && x.f.Ack-c.snd < 1<<31 {
			r.add("damaged frames dropped", "2.6", fmt.Errorf("the device acknowledged seq %d, sent only with a bad CRC", x.f.Ack), "")
			return
		}
		if x.f.Type == frame.TypeResult {
			if res, err := decode[*msg.Result](x.f); err == nil && res.ID == "fwcheck-crc" {
				r.add("damaged frames dropped", "2.6", errors.New("the device answered a COMMAND whose CRC was wrong"), "")
				return
			}
		}
		if x.f.Type.Sequenced() && x.f.Seq == c.ack+1 {
			c.ack = x.f.Seq
			c.send(&msg.Ack{}, 0)
		}
	}
	r.add("damaged frames dropped", "2.6", nil, "")
}

// commands (§9.2): an unknown name is answered unsupported; a deadline
// already past, expired.
func (rn *run) commands(ctx context.Context) {
	c, r := rn.c, rn.r
	if rn.hello.Caps&msg.CapCommands == 0 {
		r.skip("command results", "9.2", "the device does not accept commands")
		return
	}
	c.seq(&msg.Command{ID: "fwcheck-unknown", Name: "fwcheck_no_such_command"})
	res, _, err := rn.result(ctx, "fwcheck-unknown", 3*time.Second)
	switch {
	case err != nil:
		r.add("command results", "9.2", fmt.Errorf("no RESULT for an unknown command: %w", err), "")
		return
	case res.Status != msg.StatusUnsupported:
		r.add("command results", "9.2", fmt.Errorf("an unknown command was answered %v, want unsupported", res.Status), "")
		return
	}
	c.seq(&msg.Command{ID: "fwcheck-late", Name: "fwcheck_no_such_command", Deadline: uint64(time.Now().Add(-time.Hour).UnixMilli())})
	res, _, err = rn.result(ctx, "fwcheck-late", 3*time.Second)
	switch {
	case err != nil:
		r.add("command results", "9.2", fmt.Errorf("no RESULT for a command past its deadline: %w", err), "")
	case res.Status != msg.StatusExpired:
		r.add("command results", "9.2", fmt.Errorf("a command whose deadline passed an hour ago was answered %v, want expired", res.Status), "")
	default:
		r.add("command results", "9.2", nil, "")
	}
}

// timeSync (§8): TIME_REQ answered at once, T1 echoed, T2 ≤ T3; a step
// applied before T2 is read, with key 6.
func (rn *run) timeSync(ctx context.Context) {
	c, r := rn.c, rn.r
	if rn.hello.Caps&msg.CapTime == 0 {
		r.skip("time sync", "8", "the device does not offer the time capability")
		return
	}
	ask := func(id uint32, adjust int64) (*msg.TimeResp, time.Duration, error) {
		t1 := uint64(time.Now().UnixMilli())
		sent := time.Now()
		if err := c.send(&msg.TimeReq{ID: id, T1: t1, Adjust: adjust}, 0); err != nil {
			return nil, 0, err
		}
		x, err := c.await(ctx, 2*time.Second, func(f frame.Frame) bool {
			if f.Type != frame.TypeTimeResp {
				return false
			}
			m, err := decode[*msg.TimeResp](f)
			return err == nil && m.ID == id
		}, func(x rx) { rn.note(x.f) })
		if err != nil {
			return nil, 0, fmt.Errorf("no TIME_RESP %d within 2 s (§8: answered at once): %w", id, err)
		}
		m, _ := decode[*msg.TimeResp](x.f)
		if m.T1 != t1 || m.T3 < m.T2 {
			return nil, 0, fmt.Errorf("TIME_RESP %d: T1 %d (sent %d), T2 %d, T3 %d", id, m.T1, t1, m.T2, m.T3)
		}
		return m, x.at.Sub(sent), nil
	}
	a, _, err := ask(1, 0)
	if err != nil {
		r.add("time sync", "8", err, "")
		return
	}
	b, _, err := ask(2, 5000)
	if err == nil && int64(b.T2)-int64(a.T2) < 4500 {
		err = fmt.Errorf("a step of +5000 ms moved the device clock by %d ms", int64(b.T2)-int64(a.T2))
	}
	if err == nil && b.Next == 0 {
		err = errors.New("TIME_RESP to a step has no key 6 (the next event's seq)")
	}
	if err == nil && b.Clock != msg.ClockSet {
		err = errors.New("after a step the device says its clock is unset")
	}
	ask(3, -5000)
	r.add("time sync", "8", err, "")
}

// resume (§6.4): after a forced session reset the device names the session
// in its HELLO, and in the new session sends every event after the
// high-water mark once, none at or below it.
func (rn *run) resume(ctx context.Context) {
	c, r := rn.c, rn.r
	// The window check acknowledged part of what the device sent: the mark
	// is the last event acknowledged, the rest is outstanding.
	mark := msg.EventID{}
	for s := uint32(1); s <= rn.acked; s++ {
		if id, ok := rn.bySeq[s]; ok {
			mark = id
		}
	}
	delivered := c.snd // every COMMAND and FW frame we sent was answered
	c.send(&msg.Close{Code: msg.CodeNoSession}, 0)
	h, err := c.await(ctx, 3*time.Second, isType(frame.TypeHello), nil)
	if err != nil {
		r.add("resume after a session reset", "6.4", fmt.Errorf("no HELLO after CLOSE no_session (§6.3: at once): %w", err), "")
		return
	}
	hello, err := decode[*msg.Hello](h.f)
	if err == nil && (hello.GatewayBoot != rn.gwBoot || hello.Ack != delivered) {
		err = fmt.Errorf("HELLO names session %#x ack %d, want %#x ack %d", hello.GatewayBoot, hello.Ack, rn.gwBoot, delivered)
	}
	if err != nil {
		r.add("resume after a session reset", "6.4", err, "")
		return
	}
	rn.hello = hello
	var markp *msg.EventID
	if mark.Boot != 0 {
		markp = &mark
	}
	if err := rn.welcome(ctx, markp); err != nil {
		r.add("resume after a session reset", "6.4", err, "")
		return
	}
	before := map[msg.EventID]bool{}
	for _, id := range rn.events {
		before[id] = true
	}
	rn.bySeq = map[uint32]msg.EventID{}
	var after []msg.EventID
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		x, err := c.next(ctx, time.Until(deadline))
		if err != nil {
			break
		}
		if x.f.Type == frame.TypeEvent {
			if e, err := decode[*msg.Event](x.f); err == nil && (len(after) == 0 || after[len(after)-1] != e.ID) {
				after = append(after, e.ID)
			}
			rn.note(x.f)
		}
		if x.f.Type.Sequenced() && x.f.Seq == c.ack+1 {
			c.ack = x.f.Seq
			c.send(&msg.Ack{}, 0)
		}
	}
	if mark.Boot == 0 {
		r.skip("resume after a session reset", "6.4", "the device sent no EVENT: record some and run again (the HELLO named the session correctly)")
		return
	}
	seen := map[msg.EventID]bool{}
	for i, id := range after {
		if id.Boot < mark.Boot || (id.Boot == mark.Boot && id.Seq <= mark.Seq) {
			r.add("resume after a session reset", "6.4", fmt.Errorf("event %s sent again though the WELCOME mark %s covers it (a duplicate)", idString(id), idString(mark)), "")
			return
		}
		if seen[id] {
			r.add("resume after a session reset", "6.4", fmt.Errorf("event %s sent twice in the new session", idString(id)), "")
			return
		}
		seen[id] = true
		if i == 0 && id.Boot == mark.Boot && id.Seq != mark.Seq+1 {
			r.add("resume after a session reset", "6.4", fmt.Errorf("the first event after the mark %s is %s: events lost", idString(mark), idString(id)), "")
			return
		}
	}
	// What was outstanding before the reset came again.
	for id := range before {
		if (id.Boot > mark.Boot || (id.Boot == mark.Boot && id.Seq > mark.Seq)) && !seen[id] {
			r.add("resume after a session reset", "6.4", fmt.Errorf("event %s, unacknowledged before the reset, was not sent again", idString(id)), "")
			return
		}
	}
	r.add("resume after a session reset", "6.4", nil, fmt.Sprintf("(mark %s, %d events after it)", idString(mark), len(after)))
}

// badSignature (§10.1): an image whose signature is not the vendor's is
// refused bad_signature once complete (or at the offer).
func (rn *run) badSignature(ctx context.Context) {
	c, r := rn.c, rn.r
	if rn.hello.Caps&msg.CapFirmware == 0 {
		r.skip("bad firmware signature refused", "10.1", "the device does not offer the firmware capability")
		return
	}
	img := make([]byte, 1500)
	for i := range img {
		img[i] = byte(i*7 + 1)
	}
	sum := sha256.Sum256(img)
	_, wrong, _ := ed25519.GenerateKey(nil)
	sig := ed25519.Sign(wrong, msg.FirmwareSigningInput(sum[:]))
	xfer := mrand.Uint32() | 1
	c.seq(&msg.FwOffer{Xfer: xfer, Size: uint32(len(img)), SHA256: sum[:], Signature: sig, Version: "0.0.0-fwcheck"})
	status := func() (*msg.FwStatus, error) {
		for {
			x, err := c.await(ctx, 5*time.Second, isType(frame.TypeFwStatus), func(x rx) {
				if x.f.Type.Sequenced() && x.f.Seq == c.ack+1 { // events: let the window move
					c.ack = x.f.Seq
					c.send(&msg.Ack{}, 0)
				}
			})
			if err != nil {
				return nil, err
			}
			if x.f.Seq == c.ack+1 {
				c.ack = x.f.Seq
			}
			c.send(&msg.Ack{}, 0)
			s, err := decode[*msg.FwStatus](x.f)
			if err != nil {
				return nil, err
			}
			if s.Xfer == xfer {
				return s, nil
			}
		}
	}
	s, err := status()
	if err != nil {
		r.add("bad firmware signature refused", "10.1", fmt.Errorf("no FW_STATUS for the offer: %w", err), "")
		return
	}
	if s.State == msg.FwRejected {
		rn.signatureVerdict(s)
		return
	}
	for off := int(s.Offset); off < len(img); off += 512 {
		end := min(off+512, len(img))
		c.seq(&msg.FwChunk{Xfer: xfer, Offset: uint32(off), Data: img[off:end]})
	}
	for {
		s, err = status()
		if err != nil {
			r.add("bad firmware signature refused", "10.1", fmt.Errorf("no verdict on the badly signed image: %w", err), "")
			return
		}
		if s.State != msg.FwReceiving {
			rn.signatureVerdict(s)
			return
		}
	}
}

func (rn *run) signatureVerdict(s *msg.FwStatus) {
	if s.State == msg.FwRejected && s.Code == msg.CodeBadSignature {
		rn.r.add("bad firmware signature refused", "10.1", nil, "")
		return
	}
	rn.r.add("bad firmware signature refused", "10.1", fmt.Errorf("a badly signed image got state %v code %v, want rejected bad_signature", s.State, s.Code), "")
}

func idString(id msg.EventID) string { return fmt.Sprintf("[%d, %d]", id.Boot, id.Seq) }
