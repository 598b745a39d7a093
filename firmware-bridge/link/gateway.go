package link

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// gatewayCaps is what this gateway implements (PROTOCOL.md §7). SACK is
// not offered: out-of-order frames are dropped and go-back-N recovers.
const gatewayCaps = msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig |
	msg.CapFirmware | msg.CapAuth | msg.CapRTC

// answeredKeep is how many answered command ids a Gateway remembers so
// that a repeated Send returns the same result without a second execution.
const answeredKeep = 1024

// Gateway is the gateway side of the link to the one device on a port. It
// outlives the port's openings: Run serves one opening and returns when
// the port fails, and the next Run resumes the session (PROTOCOL.md §6.4).
// All methods are safe for concurrent use; Run may not overlap itself.
type Gateway struct {
	// Immutable.
	sink  Sink
	store Store
	dir   Directory
	tsync TimeSync
	logf  func(string, ...any)

	running atomic.Bool
	wakeT   atomic.Pointer[Timer] // the active Run's timer, for wake; nil between Runs

	mu sync.Mutex
	// Guarded by mu.
	core
	timer    Timer      // the active Run's: a turn when it fires
	sess     *gwSession // the session, nil until a HELLO is accepted
	helloJob bool       // a HELLO lookup is with the worker
	helloNew *helloIn   // a HELLO that arrived during that lookup
	gen      uint64     // bumped when the receive side rewinds or the session changes
	w        *worker    // the active Run's worker
	jobsOut  int        // jobs handed to w (or queued for it) and not yet reported
	jobsNew  []*job     // jobs queued for w in this turn of the loop, in order
	backlog  []*job     // records waiting for room in w's queue
	// held are the device's frames accepted while its clock is being
	// measured (timeSync.holding), in order; everything after the first
	// held frame is held too, so the worker still sees the device's order.
	held     []*job
	cmds     map[string]*cmdReq
	queue    []*cmdReq // commands not yet sent, in Send order
	ctlq     []msg.Message
	nextCmd  uint64                // numbers Send calls
	answered map[string]msg.Result // results committed in this process
	ansOrder []string
	cfg      cfgState
	fw       *fwJob
	act      *actJob
	ts       timeSync
	status   Status
	changed  chan struct{} // closed and replaced when status changes
	onChange func()        // called when status changes (OnChange); nil for none
	lastNoSn time.Time     // last CLOSE no_session, to send at most one per RTO

	// Owned by the active Run's worker goroutine; Runs never overlap, and
	// Run waits for its worker before returning.
	marks     map[string]*Mark
	committed *idSet
}

// gwSession is the session with one device boot (PROTOCOL.md §6.4).
type gwSession struct {
	hw      string
	ident   Identity
	devBoot uint32
	gwBoot  uint32 // this session's gateway boot id: fresh for every new session
	hello   msg.Hello
	welcome msg.Welcome // as first sent, to answer a repeated HELLO the same way
	caps    msg.Caps
}

type helloIn struct {
	f frame.Frame
	h *msg.Hello
}

// NewGateway validates cfg and returns a Gateway with no session.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if cfg.Sink == nil {
		return nil, errors.New("link: gateway config has no sink")
	}
	t, err := cfg.Timing.withDefaults()
	if err != nil {
		return nil, err
	}
	ts := cfg.TimeSync
	if ts.Every == 0 {
		ts.Every = 10 * time.Minute
	}
	if ts.Samples == 0 {
		ts.Samples = 3
	}
	if ts.Spacing == 0 {
		ts.Spacing = 2 * time.Second
	}
	if ts.MaxDelay == 0 {
		ts.MaxDelay = defaultSampleLimit(t.Baud)
	}
	if ts.Step == 0 {
		ts.Step = time.Second
	}
	if ts.Every < 0 || ts.Samples < 0 || ts.Spacing < 0 || ts.MaxDelay < 0 || ts.Step < 0 {
		return nil, fmt.Errorf("link: negative time sync setting %+v", ts)
	}
	g := &Gateway{
		sink: cfg.Sink, store: cfg.Store, dir: cfg.Directory, tsync: ts, logf: cfg.Logf,
		cmds:      make(map[string]*cmdReq),
		answered:  make(map[string]msg.Result),
		changed:   make(chan struct{}),
		marks:     make(map[string]*Mark),
		committed: newIDSet(answeredKeep),
	}
	g.core = core{clock: cfg.Clock, rand: cfg.Rand, timing: t}
	if g.clock == nil {
		g.clock = SystemClock{}
	}
	if g.rand == nil {
		g.rand = defaultRand
	}
	if g.logf == nil {
		g.logf = func(string, ...any) {}
	}
	return g, nil
}

// Run serves one opening of the port: it answers the device's HELLO,
// resumes or opens the session, and runs it until ctx is done (it returns
// nil) or rw fails (it returns the error). The session, and everything
// queued for the device, survive for the next Run.
//
// Run owns rw while it runs: when ctx is done, or a write failed, it closes
// rw if rw is an io.Closer, so that its Read returns. Run returns only after
// its goroutines have.
//
// Run's own goroutine reads the port. The session has no goroutine of its
// own: whoever has news takes the link's mutex and runs a turn of it (turn)
// — the reader with the frames of a read, the worker with the reports of a
// commit, the timer when a deadline is due, an API call through wake. None
// of them blocks under the mutex, so the reader never waits on the sink or
// the disk.
func (g *Gateway) Run(ctx context.Context, rw io.ReadWriter) error {
	if !g.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer g.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	p := newPort(ctx, rw, nil, cancel)
	w := &worker{g: g, ctx: ctx, wg: &wg, jobs: make(chan []*job, workerDepth)}
	if c, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	timer, stopTimer := newFuncTimer(g.clock, time.Hour, func() {
		// A goroutine of the runtime's: give it the Run's profiler labels
		// (the gateway's stage), which it would not inherit.
		pprof.SetGoroutineLabels(ctx)
		g.mu.Lock()
		if g.w != w || ctx.Err() != nil {
			g.mu.Unlock()
			return
		}
		// This goroutine may block, so it writes what its turn sends (a
		// heartbeat, a retransmission) itself: no writer to wake.
		p.holdWriter()
		g.turn(g.clock.Now())
		mine := p.releaseWriter()
		g.mu.Unlock()
		if mine {
			p.write()
		}
	})
	defer func() {
		cancel()
		stopTimer()
		g.wakeT.Store(nil)
		g.mu.Lock()
		w.stopped = true // a turn still running (the timer's) starts no worker now
		g.mu.Unlock()
		p.stop()
		wg.Wait() // the worker, if it runs
		g.mu.Lock()
		g.runStats.add(portStats(p))
		g.p, g.w, g.jobsOut, g.jobsNew, g.backlog, g.held = nil, nil, 0, nil, nil, nil
		g.timer = nil
		g.gen++ // reports of this Run will never come
		// Frames accepted but not reported committed will never be
		// acknowledged: expect them again. What did commit is dropped by
		// the worker's high-water mark when it comes back.
		g.rcvNext = inc(g.ack)
		g.up = false
		g.helloJob, g.helloNew = false, nil
		g.setOnline(false)
		g.mu.Unlock()
	}()

	g.mu.Lock()
	g.p, g.w, g.jobsOut, g.jobsNew = p, w, 0, nil
	g.timer = timer
	g.gen++
	now := g.clock.Now()
	g.lastTx = now
	// A leading delimiter ends whatever garbage is already on the line
	// (PROTOCOL.md §2.1).
	p.send([]byte{0})
	// From here an API call's wake runs a turn: one that changed something
	// after this turn would otherwise wait for the next deadline.
	g.wakeT.Store(&timer)
	g.turn(now)
	g.mu.Unlock()

	fs := make([]frame.Frame, 0, 8)
	for {
		// One read system call, every frame it completed, one turn: a burst
		// of the peer's window costs what a single frame did, and its acks
		// stay cumulative.
		var err error
		fs, err = p.rd.ReadFrames(fs[:0])
		if ctx.Err() != nil || err != nil {
			select {
			case werr := <-p.werr:
				return werr
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("link: read: %w", err)
		}
		g.mu.Lock()
		now := g.clock.Now()
		for _, f := range fs {
			g.onFrame(now, f)
		}
		g.turn(now)
		g.mu.Unlock()
	}
}

// turn runs the session's timers, sends what is due, hands the worker what
// was accepted and sets the timer for the next deadline. Called with mu held
// during a Run.
func (g *Gateway) turn(now time.Time) {
	g.tickLocked(now)
	g.pump(now)
	g.ackCommitted(now)
	g.flushJobs()
	if next := g.deadlineLocked(); next.IsZero() {
		g.timer.Reset(time.Hour)
	} else {
		g.timer.Reset(max(next.Sub(now), time.Millisecond))
	}
}

// onReports runs a turn with the worker's reports of one commit: one
// cumulative ACK for all of it. Reports that come after the Run ended (or
// its context did) are dropped, as the Run's end expects.
func (g *Gateway) onReports(w *worker, rs []report) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w != w || w.ctx.Err() != nil {
		return
	}
	now := g.clock.Now()
	for _, r := range rs {
		g.onReport(now, r)
	}
	g.turn(now)
}

// wake runs a turn soon after an API call changed what there is to send:
// it fires the running Run's timer. Safe with or without mu held.
func (g *Gateway) wake() {
	if t := g.wakeT.Load(); t != nil {
		(*t).Reset(0)
	}
}

func (g *Gateway) tickLocked(now time.Time) {
	if g.sess == nil {
		return
	}
	if g.up && g.silent(now) {
		// §6.3: the device is offline; keep the session for its HELLO.
		g.up = false
		g.stats.LinkDowns++
		g.setOnline(false)
	}
	g.tick(now)
	g.tickTime(now)
}

func (g *Gateway) deadlineLocked() time.Time {
	d := g.deadline()
	if g.up {
		g.earliest(&d, g.ts.nextAt)
	}
	if len(g.held) > 0 {
		g.earliest(&d, g.ts.holdUntil)
	}
	return d
}

// onFrame handles one valid frame from the reader.
func (g *Gateway) onFrame(now time.Time, f frame.Frame) {
	g.stats.FramesIn++
	if f.Flags&frame.FlagFromDevice == 0 {
		// Our own frame echoed back by the line (§2.3).
		g.stats.Unknown++
		return
	}
	if f.Type == frame.TypeHello {
		g.onHello(now, f)
		return
	}
	s := g.sess
	if s == nil {
		if f.Type.Sequenced() || f.Type == frame.TypeHeartbeat {
			g.noSession(now)
		}
		return
	}
	g.lastRx = now
	if !g.up {
		// Heard again without a HELLO: the device never noticed the silence.
		g.up = true
		g.setOnline(true)
	}
	g.status.LastSeen = now
	switch f.Type {
	case frame.TypeHeartbeat:
		g.ackIn(now, f.Ack)
	case frame.TypeAck:
		g.ackIn(now, f.Ack)
		g.onStandaloneAck(now, f.Ack)
	case frame.TypeBusy:
		g.ackIn(now, f.Ack)
		if m, err := msg.Decode(f); err == nil {
			g.onBusy(now, m.(*msg.Busy))
		} else {
			g.stats.Malformed++
		}
	case frame.TypeTimeResp:
		if m, err := msg.Decode(f); err == nil {
			g.onTimeResp(now, m.(*msg.TimeResp))
		} else {
			g.stats.Malformed++
		}
	case frame.TypeClose:
		// A planned power-off: offline at once rather than after 3 beats.
		g.up = false
		g.setOnline(false)
	default:
		if !f.Type.Sequenced() {
			g.stats.Unknown++ // WELCOME, TIME_REQ from a device, or a future type
			return
		}
		g.ackIn(now, f.Ack)
		if g.accept(now, f.Seq) != vDeliver {
			return
		}
		g.deliver(now, f)
	}
}

// noSession tells a device we do not know to say HELLO (§6.3), at most
// once per retransmit timeout so a window of frames gets one answer.
func (g *Gateway) noSession(now time.Time) {
	if now.Sub(g.lastNoSn) < g.timing.RTO {
		return
	}
	g.lastNoSn = now
	g.sendCtl(now, &msg.Close{Code: msg.CodeNoSession})
}

func (g *Gateway) ackIn(now time.Time, a uint32) {
	for _, e := range g.onAck(now, a) {
		_ = e // commands wait for their RESULT, chunks for FW_STATUS
	}
}

// deliver hands an accepted frame to the worker, in order. Nothing is
// acknowledged until the worker reports it committed.
func (g *Gateway) deliver(now time.Time, f frame.Frame) {
	s := g.sess
	j := &job{gen: g.gen, seq: f.Seq, kind: jobRecord}
	j.rec = Record{HardwareID: s.hw, DeviceID: s.ident.DeviceID, DeviceBoot: s.devBoot, DeviceKind: s.hello.Kind, Received: now}
	m, err := msg.Decode(f)
	switch m := m.(type) {
	case nil:
		g.stats.Malformed++
		j.rec.Kind, j.rec.Type, j.rec.Body, j.rec.Err = RecordMalformed, f.Type, append([]byte(nil), f.Body...), err.Error()
		if errors.Is(err, msg.ErrUnknownType) {
			// A newer device's type: acknowledge and discard (§3).
			g.stats.Unknown++
			j.kind, j.note = jobNote, nil
		}
	case *msg.Event:
		j.rec.Kind, j.rec.Event = RecordEvent, m // its clock is judged at hand-over
	case *msg.Result:
		j.rec.Kind, j.rec.Result = RecordResult, m
	default:
		j.kind, j.note = jobNote, m
	}
	if len(g.held) > 0 || g.ts.holding(now) {
		g.held = append(g.held, j)
		return
	}
	if !g.handOver(j) {
		g.rcvNext = f.Seq // no room: as if lost; the device sends it again
		g.stats.Overruns++
	}
}

// handOver judges an event's clock (§8) and submits the job to the worker.
func (g *Gateway) handOver(j *job) bool {
	if j.kind == jobRecord && j.rec.Kind == RecordEvent {
		j.rec.Clock = g.clockFor(j.rec.Event)
	}
	return g.submit(j)
}

// releaseHeld hands the held frames to the worker once the device clock is
// measured, or the wait for it has timed out.
func (g *Gateway) releaseHeld(now time.Time) {
	if len(g.held) == 0 || g.ts.holding(now) {
		return
	}
	for _, j := range g.held {
		if !g.handOver(j) {
			// No room: this frame and those after it count as lost; the
			// device sends them again.
			g.rcvNext = j.seq
			g.stats.Overruns++
			break
		}
	}
	g.held = nil
}

// submit queues j for the worker; the loop hands what this turn queued
// over in one go (flushJobs), so that the worker wakes once for a burst and
// commits it together.
func (g *Gateway) submit(j *job) bool {
	if g.w == nil || g.jobsOut >= workerDepth {
		return false
	}
	g.jobsOut++
	g.jobsNew = append(g.jobsNew, j)
	return true
}

// flushJobs hands the jobs submit queued to the worker without blocking.
func (g *Gateway) flushJobs() {
	if len(g.jobsNew) == 0 || g.w == nil {
		return
	}
	g.w.jobs <- g.jobsNew // cannot block: every batch holds a job counted in jobsOut ≤ cap
	g.jobsNew = nil
	g.w.start()
}

// onReport handles the worker's answer to one job.
func (g *Gateway) onReport(now time.Time, r report) {
	g.jobsOut--
	j := r.job
	if j.kind == jobHello {
		g.finishHello(now, r)
		return
	}
	if j.kind == jobRecord && j.rec.Kind == RecordResult && r.err == nil && !r.skipped {
		g.answer(j.rec.Result)
	}
	if j.seq == 0 {
		if r.err != nil {
			g.logf("link: %s: committing a result of the gateway: %v", j.rec.HardwareID, r.err)
			g.backlog = append(g.backlog, j) // try again
		}
		return
	}
	if j.gen != g.gen || r.skipped {
		return
	}
	if r.err != nil {
		if !isBusy(r.err) {
			g.logf("link: %s: sink refused seq %d: %v", j.rec.HardwareID, j.seq, r.err)
		}
		g.gen++ // frames after it in the worker's queue are skipped
		g.refuse(now, j.seq, g.retryAfter())
		return
	}
	g.onCommitted(j.seq)
	if j.note != nil {
		g.onNote(now, j.note)
	}
}

// answer resolves the Send waiting for a committed result. A duplicate
// resolves it too: the first copy was committed, but its report may have
// been lost when the Run it came in ended.
func (g *Gateway) answer(res *msg.Result) {
	if _, ok := g.answered[res.ID]; !ok {
		if len(g.ansOrder) >= answeredKeep {
			delete(g.answered, g.ansOrder[0])
			g.ansOrder = g.ansOrder[1:]
		}
		g.ansOrder = append(g.ansOrder, res.ID)
		g.answered[res.ID] = *res
	}
	if req := g.cmds[res.ID]; req != nil {
		delete(g.cmds, res.ID)
		req.resolve(*res, nil)
	}
}

// onNote acts on a status message once it is delivered in order.
func (g *Gateway) onNote(now time.Time, m msg.Message) {
	switch m := m.(type) {
	case *msg.ConfigStatus:
		g.onConfigStatus(m)
	case *msg.FwStatus:
		g.onFwStatus(now, m)
	default:
		g.stats.Unknown++ // a gateway-bound type in the wrong direction
	}
}

func (g *Gateway) setOnline(on bool) {
	if g.status.Online != on {
		g.status.Online = on
		g.notify()
	}
}

// notify wakes Wait callers and calls the OnChange function; called with
// mu held.
func (g *Gateway) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
	if g.onChange != nil {
		g.onChange()
	}
}

// OnChange sets f to be called whenever the status changes, when Wait
// callers wake: one goroutine can then watch many links, where Wait costs a
// goroutine each. f is called with the link's mutex held, so it must not
// block nor call the Gateway; it typically marks the link and wakes its
// watcher. Like Wait's, its calls do not follow Status.LastSeen, which moves
// with every frame.
func (g *Gateway) OnChange(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onChange = f
}

// onHello starts the handshake of §6.1.
func (g *Gateway) onHello(now time.Time, f frame.Frame) {
	m, err := msg.Decode(f)
	if err != nil {
		g.stats.Malformed++
		return
	}
	h := m.(*msg.Hello)
	if h.ProtoMin > msg.ProtoVersion || h.ProtoMax < msg.ProtoVersion {
		g.sendClose(now, nil, msg.CodeUnsupportedVersion, fmt.Sprintf("gateway speaks version %d to %d", msg.ProtoVersion, msg.ProtoVersion), 0)
		return
	}
	if s := g.sess; s != nil && s.hw == h.HardwareID && s.devBoot == h.Boot {
		// The same device boot: no lookup needed (§6.4).
		if !g.helloAuthOK(now, f, h, s.ident) {
			return
		}
		g.lastRx = now
		g.status.LastSeen = now
		if h.GatewayBoot == s.gwBoot {
			g.resume(now, h)
		} else {
			// Sent before the device learnt of this session (§6.2): answer as
			// before, without starting another session with the same boots.
			w := s.welcome
			w.Time = unixMS(now)
			g.sendCtl(now, &w)
		}
		return
	}
	if g.helloJob {
		g.helloNew = &helloIn{f, h}
		return
	}
	if !g.submit(&job{kind: jobHello, gen: g.gen, hello: h, raw: f}) {
		return // the device says HELLO again
	}
	g.helloJob = true
}

// helloAuthOK applies §2.5 to a HELLO from an enrolled hardware id.
func (g *Gateway) helloAuthOK(now time.Time, f frame.Frame, h *msg.Hello, id Identity) bool {
	if id.Key == nil {
		return true
	}
	if !f.Authenticated() {
		g.stats.AuthRefused++
		g.status.RefusedHardwareID = h.HardwareID
		g.sendClose(now, nil, msg.CodeAuthRequired, "enrolled device must tag its frames", 0)
		return false
	}
	a := &frame.Auth{Epoch: id.Key.Epoch, Key: id.Key.Secret, DeviceBoot: h.Boot}
	if err := f.Verify(a); err != nil {
		g.stats.AuthRefused++
		g.status.RefusedHardwareID = h.HardwareID
		g.notify()
		g.stats.Dropped[frame.ReasonBadMAC]++
		g.logf("link: HELLO from %q: %v", h.HardwareID, err)
		return false
	}
	return true
}

// sendClose refuses a HELLO. The CLOSE is tagged with a, the key of the
// refused hardware id in that HELLO's handshake context (helloAuth), or
// untagged when a is nil (no key is known for it): never with the key of
// whatever session the port had before (§2.5, §6.6).
func (g *Gateway) sendClose(now time.Time, a *frame.Auth, code msg.Code, text string, retry time.Duration) {
	g.sendCtlAuth(now, a, &msg.Close{Code: code, Text: text, Retry: uint32(retry / time.Millisecond)})
	if g.status.Refused != code {
		g.status.Refused = code
		g.notify()
	}
}

// helloAuth is the key of id in the handshake context of h (§2.5), or nil
// when id has no key.
func helloAuth(h *msg.Hello, id Identity) *frame.Auth {
	if id.Key == nil {
		return nil
	}
	return &frame.Auth{Epoch: id.Key.Epoch, Key: id.Key.Secret, DeviceBoot: h.Boot}
}

// finishHello completes §6.1 once the worker has looked the device up.
func (g *Gateway) finishHello(now time.Time, r report) {
	g.helloJob = false
	if n := g.helloNew; n != nil {
		// A later HELLO supersedes this one.
		g.helloNew = nil
		g.onHello(now, n.f)
		return
	}
	h, f := r.job.hello, r.job.raw
	if r.err != nil {
		g.logf("link: HELLO from %q: lookup: %v", h.HardwareID, r.err)
		g.sendClose(now, nil, msg.CodeBusy, "gateway cannot look the device up now", 5*time.Second)
		return
	}
	id := r.ident
	switch id.Enrollment {
	case Enrolled:
	case Retired:
		g.sendClose(now, helloAuth(h, id), msg.CodeRetired, "", time.Hour)
		return
	case Keying:
		if id.offer == nil {
			g.stats.AuthRefused++
			g.status.RefusedHardwareID = h.HardwareID
			g.sendClose(now, nil, msg.CodeAuthRequired, "approved: offer an enrollment key (HELLO key 19) to agree a link key", 30*time.Second)
			return
		}
		// The key is stored: the device derives it and says HELLO again,
		// tagged (§6.7).
		g.stats.Enrolled++
		// Untagged: the device has no key until it reads this.
		g.sendCtlAuth(now, nil, &msg.Close{Code: msg.CodeEnrolled, Text: "enrolled", Enroll: id.offer})
		g.status.Refused = msg.CodeEnrolled
		g.notify()
		return
	default:
		retry := id.Retry
		if retry == 0 {
			retry = 30 * time.Second
		}
		g.sendClose(now, nil, msg.CodePending, "enrollment pending", retry)
		return
	}
	if !g.helloAuthOK(now, f, h, id) {
		return
	}
	if h.Boot < r.mark.Boot {
		g.sendClose(now, helloAuth(h, id), msg.CodeBootRegressed, fmt.Sprintf("boot %d after boot %d", h.Boot, r.mark.Boot), 0)
		return
	}
	if s := g.sess; s != nil && s.hw == h.HardwareID && s.devBoot == h.Boot {
		// The session was opened while this lookup ran; answer as §6.4 says.
		g.onHello(now, f)
		return
	}
	g.open(now, h, id, r.mark)
}

// open starts a new session (§6.4): both sequence spaces start again and
// what was outstanding moves up to the application level.
func (g *Gateway) open(now time.Time, h *msg.Hello, id Identity, mark Mark) {
	old := g.sess
	sameDev := old != nil && old.hw == h.HardwareID
	restarted := !sameDev || old.devBoot != h.Boot

	// Commands sent without a result.
	var requeue []*cmdReq
	for _, req := range g.sentCmds() {
		if restarted {
			// The device's table of command ids is gone: sending again could
			// open a door twice. Answer it ourselves.
			g.synthesize(req, msg.StatusError, "device restarted, outcome unknown")
		} else {
			req.sent = false
			requeue = append(requeue, req)
		}
	}
	g.queue = append(requeue, g.queue...)
	if old != nil && !sameDev {
		for _, req := range g.queue {
			delete(g.cmds, req.cmd.ID)
			req.resolve(msg.Result{}, fmt.Errorf("%w: device %q replaced by %q on this port", ErrClosed, old.hw, h.HardwareID))
		}
		g.queue = nil
	}
	g.ctlq = nil
	g.held = nil // frames of the old session: the device sends its records again

	gwBoot := uint32(0)
	for gwBoot == 0 || old != nil && gwBoot == old.gwBoot {
		gwBoot = uint32(g.rand())
	}
	g.window = min(int(h.Window), g.timing.Window)
	g.mtu = min(int(h.MTU), frame.MaxLen)
	g.hb, g.rtoInit, g.rtoMax = g.timing.Heartbeat, g.timing.RTO, g.timing.RTOMax
	g.resetSession()
	g.gen++
	caps := h.Caps & gatewayCaps
	g.auth = nil
	if id.Key != nil {
		g.auth = &frame.Auth{Epoch: id.Key.Epoch, Key: id.Key.Secret, DeviceBoot: h.Boot, GatewayBoot: gwBoot}
	}
	if g.p != nil {
		g.p.rd.SetAuth(g.auth)
	}
	want := g.cfg.want
	if want == nil {
		want = id.Config
	}
	w := msg.Welcome{
		DeviceID: id.DeviceID, Time: unixMS(now), Window: uint8(g.window),
		Heartbeat: uint32(g.hb / time.Millisecond), Proto: msg.ProtoVersion, Caps: caps,
		GatewayBoot: gwBoot, MTU: uint16(g.mtu), RTO: uint32(g.rtoInit / time.Millisecond),
	}
	if want != nil {
		sum := sha256.Sum256(want)
		w.ConfigHash = sum[:]
	}
	if mark.HighWater.Boot != 0 {
		hw := mark.HighWater
		w.EventAck = &hw
	}
	g.sendCtl(now, &w)
	g.sess = &gwSession{hw: h.HardwareID, ident: id, devBoot: h.Boot, gwBoot: gwBoot, hello: *h, welcome: w, caps: caps}
	g.up, g.lastRx = true, now
	g.stats.Sessions++

	g.status = Status{
		Online: true, HardwareID: h.HardwareID, DeviceID: id.DeviceID, Model: h.Model, Kind: h.Kind,
		Firmware: h.Firmware, Boot: h.Boot, Caps: caps, Image: h.Image, Reverted: h.Reverted,
		RevertCode: h.RevertCode, ConfigHash: h.ConfigHash, LastSeen: now,
	}
	if h.Image == msg.ImageReverted && h.RevertCode == 0 {
		g.status.RevertCode = msg.CodeTestBootFailed // §10.3: the default reason
	}
	g.notify()

	g.cfgOnSession(want, h.ConfigHash)
	g.fwOnSession(now, h, restarted)
	g.ts.start(now, caps, h, g.tsync)
}

// resume continues the session after a reconnect (§6.4): the device's ack
// in HELLO clears what it has; the rest goes again with the same seqs.
func (g *Gateway) resume(now time.Time, h *msg.Hello) {
	s := g.sess
	w := s.welcome
	w.Time, w.Resume, w.Ack, w.EventAck = unixMS(now), true, g.ack, nil
	g.sendCtl(now, &w)
	g.up = true
	g.stats.Resumes++
	g.ackIn(now, h.Ack)
	g.retransmit(now)
	g.setOnline(true)
}

// pump sends what is queued while the window has room: control messages
// first, then commands, then firmware chunks.
func (g *Gateway) pump(now time.Time) {
	for len(g.backlog) > 0 && g.w != nil && g.jobsOut < workerDepth {
		j := g.backlog[0]
		g.backlog = g.backlog[1:]
		g.submit(j)
	}
	g.releaseHeld(now)
	g.actPump()
	for g.canSend() {
		if len(g.ctlq) > 0 {
			m := g.ctlq[0]
			g.ctlq = g.ctlq[1:]
			if err := g.sendNew(now, m); err != nil {
				g.logf("link: sending %v: %v", m.Type(), err)
			}
			continue
		}
		if len(g.queue) > 0 {
			req := g.queue[0]
			g.queue = g.queue[1:]
			g.sendCmd(now, req)
			continue
		}
		if g.fwPump(now) {
			continue
		}
		return
	}
}

// StepThreshold is how far off a device clock may be before it is stepped
// and its events count as drifted (TimeSync.Step).
func (g *Gateway) StepThreshold() time.Duration { return g.tsync.Step }

// Status returns what the gateway knows of the device now.
func (g *Gateway) Status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.status
	s.Clock = g.ts.info
	return s
}

// Stats returns the link's counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.snapshot()
}

// Wait blocks until cond holds for the status, or ctx is done.
func (g *Gateway) Wait(ctx context.Context, cond func(Status) bool) (Status, error) {
	for {
		g.mu.Lock()
		s := g.status
		s.Clock = g.ts.info
		ch := g.changed
		g.mu.Unlock()
		if cond(s) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("link: waiting for device %q: %w", s.HardwareID, ctx.Err())
		case <-ch:
		}
	}
}
