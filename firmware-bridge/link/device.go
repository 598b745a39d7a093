package link

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// EventStore is the device's non-volatile record store (PROTOCOL.md §9.1),
// as the device side of the link sees it.
type EventStore interface {
	// Next returns up to n durable records with ids after after, oldest
	// first. A record is durable once it survives the device's power loss.
	Next(after msg.EventID, n int) []msg.Event
	// Ack deletes every record with an id at or below id: the gateway has
	// committed them.
	Ack(id msg.EventID)
}

// Handler is the device application: it acts on what the gateway sends.
type Handler interface {
	// Handle acts on a COMMAND (after the link's duplicate and deadline
	// checks, §9.2), a CONFIG (after its hash check, §9.3), or FW_OFFER,
	// FW_CHUNK, FW_ACTIVATE (§10), and returns the messages to send back:
	// exactly one *msg.Result for a COMMAND, a *msg.ConfigStatus for a
	// CONFIG, FW_STATUS as §10 says. An error wrapping ErrBusy refuses the
	// frame with BUSY (§5.5): it comes again and Handle sees it again.
	// Handle runs on the session loop: it must not block for long.
	Handle(ctx context.Context, m msg.Message) ([]msg.Message, error)
}

// DeviceClock is the device's wall clock (§8).
type DeviceClock interface {
	// Now returns ms since the Unix epoch and whether the clock was set.
	Now() (uint64, msg.ClockState)
	// Adjust adds delta ms to the clock and marks it set.
	Adjust(delta int64)
}

// ClockStepper is a DeviceClock that can step itself and say, in the same
// atomic action, the seq its next event will get (TIME_RESP key 6, §8): no
// event may read the clock before the step and take a seq after it. A device
// whose clock implements it lets the gateway flag exactly the events recorded
// before a step.
type ClockStepper interface {
	DeviceClock
	// Step adds delta ms (possibly 0) to the clock, marks it set if delta is
	// not 0, and returns the seq of the next event of this boot.
	Step(delta int64) (next uint32)
}

// DeviceConfig configures the device side of a link.
type DeviceConfig struct {
	// Hello returns the application's HELLO fields (hardware id, model,
	// kind, firmware, capabilities, config hash, image state) at each
	// HELLO; the link fills in the rest.
	Hello func() msg.Hello
	// Boot is this boot's id, ≠ 0: a counter in non-volatile memory,
	// incremented at every boot before anything is sent (§6.4).
	Boot uint32
	Key  *Key // the link key once enrolled; nil before
	// OnKey, if set, lets a device without a Key agree one when it is
	// approved (§6.7): it must store the key durably (flash) and return nil
	// only then; from its next HELLO on the device tags every frame with it.
	OnKey   func(Key) error
	Events  EventStore
	Handler Handler
	Clock   DeviceClock
	// MTU is the largest frame the device accepts, 256..1024; 0 means 1024.
	MTU       int
	Timing    Timing
	LinkClock Clock         // timers; nil: the system clock
	Rand      func() uint64 // HELLO jitter; nil: math/rand/v2
}

type devState int

const (
	stHelloSent devState = iota // waiting for WELCOME
	stWaiting                   // after CLOSE, until its retry time
	stEstablished
)

// commandTable is how many answered command ids a device remembers (§9.2).
const commandTable = 32

// Device is the device side of the link: the firmware's view. It outlives
// port openings within one boot; a reboot is a new Device with a new boot
// id. All methods are safe for concurrent use; Run may not overlap itself.
type Device struct {
	// Immutable.
	cfg     DeviceConfig
	maxMTU  int
	running atomic.Bool

	mu sync.Mutex
	// Guarded by mu.
	core
	kick      chan struct{}
	state     devState
	gwBoot    uint32    // the session's gateway boot id; 0 = none yet
	deviceID  string    // from WELCOME
	helloAt   time.Time // next HELLO; zero when established
	helloWait time.Duration
	cursor    msg.EventID   // last event put in a frame this session
	ctlq      []msg.Message // replies waiting for the window
	results   map[string]msg.Result
	resOrder  []string
	changed   chan struct{}
	key       *Key             // the link key: cfg.Key, or agreed (§6.7)
	enroll    *ecdh.PrivateKey // this boot's enrollment key pair while keyless
	hwID      string           // from the last HELLO, for the key derivation
}

// NewDevice validates cfg.
func NewDevice(cfg DeviceConfig) (*Device, error) {
	if cfg.Hello == nil || cfg.Events == nil || cfg.Handler == nil || cfg.Clock == nil {
		return nil, errors.New("link: device config needs Hello, Events, Handler and Clock")
	}
	if cfg.Boot == 0 {
		return nil, errors.New("link: device boot id is 0")
	}
	if cfg.MTU == 0 {
		cfg.MTU = frame.MaxLen
	}
	if cfg.MTU < msg.MinMTU || cfg.MTU > frame.MaxLen {
		return nil, fmt.Errorf("link: device mtu %d outside [%d, %d]", cfg.MTU, msg.MinMTU, frame.MaxLen)
	}
	if cfg.Key != nil && len(cfg.Key.Secret) != frame.KeyLen {
		return nil, fmt.Errorf("link: device key is %d bytes, need %d", len(cfg.Key.Secret), frame.KeyLen)
	}
	t, err := cfg.Timing.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Device{cfg: cfg, maxMTU: cfg.MTU, kick: make(chan struct{}, 1),
		results: make(map[string]msg.Result), changed: make(chan struct{})}
	d.core = core{fromDevice: true, clock: cfg.LinkClock, rand: cfg.Rand, timing: t}
	if d.clock == nil {
		d.clock = SystemClock{}
	}
	if d.rand == nil {
		d.rand = defaultRand
	}
	// Until WELCOME says otherwise, the device's own numbers apply.
	d.window, d.mtu, d.hb = t.Window, cfg.MTU, t.Heartbeat
	d.rtoInit, d.rtoMax = t.RTO, t.RTOMax
	d.resetSession()
	d.key = cfg.Key
	d.setAuth()
	return d, nil
}

func (d *Device) setAuth() {
	d.auth = nil
	if k := d.key; k != nil {
		d.auth = &frame.Auth{Epoch: k.Epoch, Key: k.Secret, DeviceBoot: d.cfg.Boot, GatewayBoot: d.gwBoot}
	}
	if d.p != nil {
		d.p.rd.SetAuth(d.auth)
	}
}

// acceptKey completes §6.7 on the device: the key agreed with the gateway's
// offer, stored through OnKey, then used for every frame. Called with mu
// held; false leaves the device keyless (it offers again at its next HELLO).
func (d *Device) acceptKey(e *msg.Enroll) bool {
	k, err := agreeKey(d.enroll, e.Pub, d.hwID, e.Epoch)
	if err != nil {
		d.stats.Malformed++
		return false
	}
	if err := d.cfg.OnKey(*k); err != nil {
		return false // not stored: a key lost at the next reset would lock the device out
	}
	d.key, d.enroll = k, nil
	d.setAuth()
	return true
}

// Key returns the device's link key, nil while it has none.
func (d *Device) Key() *Key {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.key
}

// Wake tells the link that new records are durable in the EventStore.
func (d *Device) Wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run serves one opening of the line: it says HELLO (resuming the session
// if it has one) and runs the session until ctx is done (nil) or rw fails
// (the error). Like Gateway.Run it closes rw, if an io.Closer, when ctx is
// done, and returns only after its goroutines have.
func (d *Device) Run(ctx context.Context, rw io.ReadWriter) error {
	if !d.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer d.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	p := startPort(ctx, rw, nil)
	if c, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	defer func() {
		cancel()
		p.stop()
		d.mu.Lock()
		d.runStats.add(portStats(p))
		d.p, d.up = nil, false
		if d.state == stEstablished {
			d.state = stHelloSent
		}
		d.notify()
		d.mu.Unlock()
	}()
	d.mu.Lock()
	d.p = p
	d.setAuth()
	now := d.clock.Now()
	p.send([]byte{0}) // end whatever garbage is on the line (§2.1)
	d.state, d.up = stHelloSent, false
	d.helloWait = d.timing.HelloMin
	d.sendHello(now)
	d.mu.Unlock()

	timer := d.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		now := d.clock.Now()
		d.tickLocked(now)
		d.pump(now)
		next := d.deadline()
		d.earliest(&next, d.helloAt)
		d.mu.Unlock()
		if next.IsZero() {
			timer.Reset(time.Hour)
		} else {
			timer.Reset(max(next.Sub(now), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-p.rerr:
			return err
		case err := <-p.werr:
			return err
		case fs := <-p.in:
			d.mu.Lock()
			now := d.clock.Now()
			for _, f := range fs {
				d.onFrame(ctx, now, f)
			}
			for i := 0; i < 32; i++ {
				select {
				case fs := <-p.in:
					for _, f := range fs {
						d.onFrame(ctx, now, f)
					}
					continue
				default:
				}
				break
			}
			d.mu.Unlock()
		case <-d.kick:
		case <-timer.C():
		}
	}
}

func (d *Device) tickLocked(now time.Time) {
	if d.state == stEstablished && d.silent(now) {
		// §6.3: link down. Keep everything; say HELLO after HelloMin.
		d.stats.LinkDowns++
		d.up = false
		d.state = stHelloSent
		d.helloWait = d.timing.HelloMin
		d.helloAt = now.Add(jitter(d.helloWait, 0.2, d.rand))
		d.notify()
	}
	if d.state != stEstablished && !d.helloAt.IsZero() && !now.Before(d.helloAt) {
		d.state = stHelloSent
		d.sendHello(now)
	}
	d.tick(now)
}

// sendHello says HELLO and schedules the next one (§6.3).
func (d *Device) sendHello(now time.Time) {
	h := d.cfg.Hello()
	h.Boot = d.cfg.Boot
	h.ProtoMin, h.ProtoMax = msg.ProtoVersion, msg.ProtoVersion
	h.GatewayBoot, h.Ack = d.gwBoot, 0
	if d.gwBoot != 0 {
		h.Ack = d.ack
	}
	h.MTU, h.Window = uint16(d.maxMTU), uint8(d.timing.Window)
	h.Time, h.Clock = d.cfg.Clock.Now()
	d.hwID = h.HardwareID
	if d.key == nil && d.cfg.OnKey != nil {
		if d.enroll == nil {
			if k, err := ecdh.X25519().GenerateKey(rand.Reader); err == nil {
				d.enroll = k
			}
		}
		if d.enroll != nil {
			h.EnrollPub = d.enroll.PublicKey().Bytes()
		}
	}
	d.sendCtl(now, &h)
	d.helloAt = now.Add(jitter(d.helloWait, 0.2, d.rand))
	d.helloWait = min(2*d.helloWait, d.timing.HelloMax)
}

func (d *Device) onFrame(ctx context.Context, now time.Time, f frame.Frame) {
	d.stats.FramesIn++
	if f.Flags&frame.FlagFromDevice != 0 {
		d.stats.Unknown++ // our own frame looped back (§2.3)
		return
	}
	switch f.Type {
	case frame.TypeWelcome:
		m, err := msg.Decode(f)
		if err != nil {
			d.stats.Malformed++
			return
		}
		d.onWelcome(now, m.(*msg.Welcome))
		return
	case frame.TypeClose:
		m, err := msg.Decode(f)
		if err != nil {
			d.stats.Malformed++
			return
		}
		c := m.(*msg.Close)
		d.up = false
		d.state = stWaiting
		if c.Code == msg.CodeEnrolled && c.Enroll != nil && d.enroll != nil && d.acceptKey(c.Enroll) {
			d.helloAt = now // §6.7: say HELLO again at once, tagged
			d.notify()
			return
		}
		if c.Retry != 0 {
			d.helloAt = now.Add(time.Duration(c.Retry) * time.Millisecond)
		} else if c.Code == msg.CodeNoSession {
			d.helloAt = now // §6.3: say HELLO at once
		} else {
			d.helloAt = now.Add(jitter(d.helloWait, 0.2, d.rand))
			d.helloWait = min(2*d.helloWait, d.timing.HelloMax)
		}
		d.notify()
		return
	}
	if d.state != stEstablished {
		return // §6.1: until WELCOME, only WELCOME and CLOSE count
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
		} else {
			d.stats.Malformed++
		}
	case frame.TypeTimeReq:
		m, err := msg.Decode(f)
		if err != nil {
			d.stats.Malformed++
			return
		}
		r := m.(*msg.TimeReq)
		var next uint32
		if cs, ok := d.cfg.Clock.(ClockStepper); ok {
			next = cs.Step(r.Adjust)
		} else if r.Adjust != 0 {
			d.cfg.Clock.Adjust(r.Adjust)
		}
		t2, _ := d.cfg.Clock.Now()
		t3, st := d.cfg.Clock.Now()
		d.sendCtl(now, &msg.TimeResp{ID: r.ID, T1: r.T1, T2: t2, T3: t3, Clock: st, Next: next})
	default:
		if !f.Type.Sequenced() {
			d.stats.Unknown++
			return
		}
		d.ackIn(now, f.Ack)
		if d.accept(now, f.Seq) != vDeliver {
			return
		}
		d.deliver(ctx, now, f)
	}
}

func (d *Device) onWelcome(now time.Time, w *msg.Welcome) {
	if d.state == stEstablished && !w.Resume && w.GatewayBoot == d.gwBoot {
		// The answer to a HELLO sent before we had this session (§6.2): the
		// session it names is the one we are in. Starting it again would
		// reuse its sequence numbers for other frames.
		return
	}
	if w.Resume && w.GatewayBoot != d.gwBoot {
		d.stats.Unknown++ // resume of a session we never had: wait for a sane answer
		return
	}
	d.window, d.mtu = int(w.Window), min(int(w.MTU), d.maxMTU)
	d.hb = time.Duration(w.Heartbeat) * time.Millisecond
	d.rtoInit = time.Duration(w.RTO) * time.Millisecond
	d.rtoMax = 8 * d.rtoInit
	d.deviceID = w.DeviceID
	d.state, d.up, d.lastRx, d.helloAt = stEstablished, true, now, time.Time{}
	d.helloWait = d.timing.HelloMin
	if w.Resume {
		d.stats.Resumes++
		d.ackIn(now, w.Ack)
		d.retransmit(now)
		d.notify()
		return
	}
	// A new session (§6.4): results and statuses the old one did not get
	// acknowledged go again at the application level; events restart from
	// the store, minus what the high-water mark says is committed.
	var carry []msg.Message
	for _, e := range d.unacked {
		if e.m.Type() != frame.TypeEvent {
			carry = append(carry, e.m)
		}
	}
	d.ctlq = append(carry, d.ctlq...)
	d.rto = d.rtoInit
	d.resetSession()
	d.gwBoot = w.GatewayBoot
	d.setAuth()
	d.cursor = msg.EventID{}
	if w.EventAck != nil {
		d.cfg.Events.Ack(*w.EventAck)
		d.cursor = *w.EventAck
	}
	if _, st := d.cfg.Clock.Now(); st == msg.ClockUnset && w.Time != 0 {
		now, _ := d.cfg.Clock.Now()
		d.cfg.Clock.Adjust(int64(w.Time) - int64(now)) // §8: MAY set it from WELCOME
	}
	d.stats.Sessions++
	d.notify()
}

func (d *Device) ackIn(now time.Time, a uint32) {
	done := d.onAck(now, a)
	var last *msg.Event
	other := false
	for _, e := range done {
		if ev, ok := e.m.(*msg.Event); ok {
			last = ev
		} else {
			other = true
		}
	}
	if last != nil {
		d.cfg.Events.Ack(last.ID)
	}
	if other {
		d.notify()
	}
}

// deliver acts on an accepted frame at once: the device has no disk queue
// between the line and the application.
func (d *Device) deliver(ctx context.Context, now time.Time, f frame.Frame) {
	m, err := msg.Decode(f)
	if err != nil {
		d.stats.Malformed++
		// §5.7: acknowledge it; answer a command whose id can be read.
		if f.Type == frame.TypeCommand {
			if id, ok := commandID(f.Body); ok {
				d.ctlq = append(d.ctlq, &msg.Result{ID: id, Status: msg.StatusError, Error: truncate("malformed command: "+err.Error(), msg.MaxTextLen)})
			}
		}
		d.delivered(now, f.Seq)
		return
	}
	var replies []msg.Message
	switch m := m.(type) {
	case *msg.Command:
		if r, ok := d.results[m.ID]; ok {
			// §9.2 step 1: already done; say so again, do nothing.
			replies = []msg.Message{&r}
			break
		}
		if clk, st := d.cfg.Clock.Now(); m.Deadline != 0 && st == msg.ClockSet && clk > m.Deadline {
			replies = []msg.Message{&msg.Result{ID: m.ID, Status: msg.StatusExpired}}
		} else {
			replies, err = d.cfg.Handler.Handle(ctx, m)
			if errors.Is(err, ErrBusy) {
				d.refuse(now, f.Seq, d.timing.BusyRetry)
				return
			}
			if !hasResult(replies, m.ID) {
				text := "handler gave no result"
				if err != nil {
					text = truncate(err.Error(), msg.MaxTextLen)
				}
				replies = append(replies, &msg.Result{ID: m.ID, Status: msg.StatusError, Error: text})
			}
		}
		for _, r := range replies {
			if r, ok := r.(*msg.Result); ok && r.ID == m.ID {
				d.remember(*r)
			}
		}
	case *msg.Config, *msg.FwOffer, *msg.FwChunk, *msg.FwActivate:
		if c, ok := m.(*msg.Config); ok {
			if err := c.CheckHash(); err != nil {
				replies = []msg.Message{&msg.ConfigStatus{Hash: c.Hash, State: msg.ConfigRejected, Code: msg.CodeBadHash, Error: truncate(err.Error(), msg.MaxTextLen)}}
				break
			}
		}
		replies, err = d.cfg.Handler.Handle(ctx, m)
		if errors.Is(err, ErrBusy) {
			d.refuse(now, f.Seq, d.timing.BusyRetry)
			return
		}
	default:
		d.stats.Unknown++ // a device-bound type from the gateway: acknowledge, discard (§3)
	}
	d.ctlq = append(d.ctlq, replies...)
	d.delivered(now, f.Seq)
}

func hasResult(ms []msg.Message, id string) bool {
	for _, m := range ms {
		if r, ok := m.(*msg.Result); ok && r.ID == id {
			return true
		}
	}
	return false
}

// remember keeps the last commandTable results by command id (§9.2).
func (d *Device) remember(r msg.Result) {
	if _, ok := d.results[r.ID]; ok {
		return
	}
	if len(d.resOrder) >= commandTable {
		delete(d.results, d.resOrder[0])
		d.resOrder = d.resOrder[1:]
	}
	d.resOrder = append(d.resOrder, r.ID)
	d.results[r.ID] = r
}

// pump sends replies first, then stored events, while the window has room.
func (d *Device) pump(now time.Time) {
	for d.canSend() && len(d.ctlq) > 0 {
		m := d.ctlq[0]
		d.ctlq = d.ctlq[1:]
		if err := d.sendNew(now, m); err != nil {
			d.stats.Malformed++ // our own reply does not fit: dropped, counted
		}
	}
	for d.canSend() {
		evs := d.cfg.Events.Next(d.cursor, d.window-len(d.unacked))
		if len(evs) == 0 {
			return
		}
		for i := range evs {
			ev := evs[i]
			d.cursor = ev.ID
			if err := d.sendNew(now, &ev); err != nil {
				// A record that cannot be framed would stall the stream for
				// ever; the store must refuse such records when recording.
				d.stats.Malformed++
			}
		}
	}
}

func (d *Device) notify() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// Established reports whether a session is up, and its gateway boot id.
func (d *Device) Established() (bool, uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state == stEstablished, d.gwBoot
}

// Stats returns the link's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snapshot()
}

// Flush waits until every reply queued so far (results, statuses) has been
// acknowledged by the gateway, or ctx is done. The firmware uses it before
// rebooting into a test image (§10.3).
func (d *Device) Flush(ctx context.Context) error {
	for {
		d.mu.Lock()
		pending := len(d.ctlq) > 0
		for _, e := range d.unacked {
			if e.m.Type() != frame.TypeEvent {
				pending = true
			}
		}
		ch := d.changed
		d.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("link: flushing replies: %w", ctx.Err())
		case <-ch:
		}
	}
}

// WaitEstablished waits until a session is up, or ctx is done.
func (d *Device) WaitEstablished(ctx context.Context) error {
	for {
		d.mu.Lock()
		ok := d.state == stEstablished
		ch := d.changed
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("link: waiting for a session: %w", ctx.Err())
		case <-ch:
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the text stays valid UTF-8.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
