package fwemu

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/cbormode"
)

// CommandFunc executes one command and returns its result data, or an
// error for RESULT error. Returning an error wrapping link.ErrBusy answers
// RESULT busy.
type CommandFunc func(ctx context.Context, args map[string]any) (map[string]any, error)

// Options configures an Emulator. StatePath is required.
type Options struct {
	// StatePath is the state file (the device's flash). The spare firmware
	// slot is StatePath + ".slot".
	StatePath  string
	HardwareID string   // default "EMU-" + the seed in hex
	Model      string   // default "OG-EMU-1"
	Kind       msg.Kind // what events it generates
	Firmware   string   // factory image version; default "1.0.0"
	// Rate is how many events per second Run generates; 0 for none. A
	// kiosk's panel (msg.KindKiosk) is a display with no events of its
	// own: it generates none at any rate.
	Rate float64
	Seed uint64
	// Capacity is how many records the store holds; default 10000.
	Capacity int
	// SigningKey verifies firmware images; nil rejects every image.
	SigningKey ed25519.PublicKey
	// SlotSize is the spare slot's size; default 1 MiB.
	SlotSize int
	Key      *link.Key // the link key once enrolled
	// RTC makes the clock start set (a battery-backed clock); ClockSkew is
	// how far it is off the host's.
	RTC       bool
	ClockSkew time.Duration
	// Commands adds command handlers by name.
	Commands map[string]CommandFunc
	// FailTestBoot, if set, says which versions crash in their test boot:
	// the bootloader reverts them and the next HELLO says so (§10.3).
	FailTestBoot func(version string) bool
	// Door says a door relay is wired to the terminal (door.pulse).
	Door bool
	// LogCapacity is how many punches an attendance terminal's log keeps
	// for attendance.fetch; default DefaultLogCapacity.
	LogCapacity int
	// MTU is the largest frame the device accepts; default 1024.
	MTU    int
	Timing link.Timing
	// LinkClock drives the link's timers; nil is the system clock.
	LinkClock link.Clock
}

// Emulator is one emulated device across its boots.
type Emulator struct {
	// Immutable.
	opts   Options
	reboot chan struct{} // an activation asked for a reboot; buffered 1

	mu sync.Mutex
	// Guarded by mu.
	st       state
	evs      []msg.Event // decoded st.Events
	nextSeq  uint32      // next event number in this boot
	dirty    bool        // acknowledged records deleted in memory, not yet in the file
	clock    *devClock
	dev      *link.Device
	rnd      *rand.Rand
	fwXfer   uint32 // transfer id of the current offer
	chunks   int    // chunks since the last FW_STATUS
	rebootN  int    // boots performed by this Emulator
	cycle    bool   // Reboot asked for a power cycle
	keyReset bool   // ForgetKey erased the key: Options.Key no longer applies
	term     terminal
	panel    PanelState // a meeting-room panel's display and LED, in RAM
}

// New loads the state file and boots the device: the boot counter goes up
// and is written before anything is sent.
func New(opts Options) (*Emulator, error) {
	if opts.StatePath == "" {
		return nil, errors.New("fwemu: no state path")
	}
	if opts.HardwareID == "" {
		opts.HardwareID = fmt.Sprintf("EMU-%016X", opts.Seed)
	}
	if opts.Model == "" {
		opts.Model = "OG-EMU-1"
	}
	if opts.Firmware == "" {
		opts.Firmware = "1.0.0"
	}
	if opts.Capacity == 0 {
		opts.Capacity = 10000
	}
	if opts.SlotSize == 0 {
		opts.SlotSize = 1 << 20
	}
	if opts.LogCapacity == 0 {
		opts.LogCapacity = DefaultLogCapacity
	}
	if opts.Rate < 0 || opts.Capacity < 0 || opts.SlotSize < 0 || opts.LogCapacity < 0 {
		return nil, fmt.Errorf("fwemu: negative rate, capacity, log capacity or slot size in %+v", opts)
	}
	st, err := loadState(opts.StatePath)
	if err != nil {
		return nil, err
	}
	e := &Emulator{opts: opts, reboot: make(chan struct{}, 1), st: st}
	if e.st.Running.Version == "" {
		e.st.Running.Version = opts.Firmware
	}
	for i, b := range st.Events {
		m, err := msg.Unmarshal(frame.TypeEvent, b)
		if err != nil {
			return nil, fmt.Errorf("fwemu: state file %s: record %d: %w", opts.StatePath, i, err)
		}
		e.evs = append(e.evs, *m.(*msg.Event))
	}
	if err := e.loadTerminal(); err != nil {
		return nil, err
	}
	e.clock = &devClock{set: opts.RTC, offset: opts.ClockSkew}
	if err := e.boot(); err != nil {
		return nil, err
	}
	return e, nil
}

// boot is what the bootloader and the firmware's start-up do (§6.4,
// §10.3). Called with mu held or before the Emulator is shared.
func (e *Emulator) boot() error {
	st := &e.st
	switch {
	case st.PendingTest:
		st.PendingTest = false
		st.Previous, st.Running = st.Running, image{Version: st.Slot.Version, SHA: st.Slot.SHA}
		st.Image = msg.ImageTesting
		if e.opts.FailTestBoot != nil && e.opts.FailTestBoot(st.Running.Version) {
			// The test image crashes at once: that boot used an id, and the
			// bootloader reverts at the next.
			st.Boot++
			e.revert()
		}
	case st.Image == msg.ImageTesting:
		e.revert() // reset before confirmation
	case st.Image == msg.ImageReverted:
		st.Image, st.Reverted = msg.ImageConfirmed, "" // reported in one boot's HELLOs
	}
	st.Boot++
	e.nextSeq = 1
	e.rebootN++
	e.panel = PanelState{} // RAM: the gateway sends the line and LED again
	e.rnd = rand.New(rand.NewPCG(e.opts.Seed, uint64(st.Boot)))
	if !e.opts.RTC {
		e.clock.reset()
	}
	if err := e.persist(); err != nil {
		return err
	}
	dev, err := link.NewDevice(link.DeviceConfig{
		Hello: e.hello, Boot: st.Boot, Key: e.linkKey(), OnKey: e.storeKey, Events: (*store)(e), Handler: (*handler)(e),
		Clock: stepClock{e}, MTU: e.opts.MTU, Timing: e.opts.Timing, LinkClock: e.opts.LinkClock,
		// Its own source: the link draws under its lock, the generator under ours.
		Rand: rand.New(rand.NewPCG(e.opts.Seed^0x9e3779b97f4a7c15, uint64(st.Boot))).Uint64,
	})
	if err != nil {
		return err
	}
	e.dev = dev
	return nil
}

func (e *Emulator) revert() {
	st := &e.st
	st.Reverted = st.Running.Version
	st.Running, st.Previous = st.Previous, image{}
	st.Image = msg.ImageReverted
}

// persist writes the state file. Called with mu held.
func (e *Emulator) persist() error {
	if err := writeAtomic(e.opts.StatePath, mustMarshal(&e.st)); err != nil {
		return err
	}
	e.dirty = false
	return nil
}

func mustMarshal(v any) []byte {
	b, err := cbormode.Enc.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fwemu: encoding state: %v", err)) // plain structs: cannot fail
	}
	return b
}

func (e *Emulator) hello() msg.Hello {
	e.mu.Lock()
	defer e.mu.Unlock()
	caps := msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth
	if e.opts.RTC {
		caps |= msg.CapRTC
	}
	h := msg.Hello{HardwareID: e.opts.HardwareID, Model: e.opts.Model, Kind: e.opts.Kind,
		Firmware: e.st.Running.Version, Caps: caps, ConfigHash: e.st.ConfigHash, Image: e.st.Image}
	if e.st.Image == msg.ImageReverted {
		h.Reverted, h.RevertCode = e.st.Reverted, msg.CodeTestBootFailed
	}
	return h
}

// Run serves the line rw until ctx is done (nil) or the line fails (the
// error): the link, the event generator, and reboots into test images,
// which keep the line open as a real UART does. Like link.Device.Run it
// closes rw, if an io.Closer, when ctx is done.
func (e *Emulator) Run(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	l := &line{rw: rw, data: make(chan []byte, 64), failed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.pump(ctx) }()
	if e.opts.Rate > 0 && e.opts.Kind != msg.KindKiosk {
		wg.Add(1)
		go func() { defer wg.Done(); e.generate(ctx) }()
	}
	if c, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	defer func() { cancel(); wg.Wait() }()
	for {
		e.mu.Lock()
		if e.st.PendingTest || e.cycle {
			e.cycle = false
			if err := e.boot(); err != nil {
				e.mu.Unlock()
				return err
			}
		}
		dev := e.dev
		e.mu.Unlock()
		bootCtx, stop := context.WithCancel(ctx)
		var bw sync.WaitGroup
		bw.Add(1)
		go func() {
			defer bw.Done()
			select {
			case <-bootCtx.Done():
			case <-e.reboot:
				e.mu.Lock()
				cycle := e.cycle
				e.mu.Unlock()
				if !cycle {
					// §10.3: wait for the FW_STATUS rebooting to be
					// acknowledged, or 1 s, then reset.
					fctx, c := context.WithTimeout(bootCtx, time.Second)
					dev.Flush(fctx)
					c()
				}
				stop()
			}
		}()
		v := &view{l: l, closed: make(chan struct{})}
		err := dev.Run(bootCtx, v)
		stop()
		bw.Wait()
		if ctx.Err() != nil {
			return nil
		}
		e.mu.Lock()
		pending := e.st.PendingTest || e.cycle
		e.mu.Unlock()
		if !pending {
			if err == nil {
				err = errors.New("fwemu: link ended")
			}
			return err
		}
	}
}

// Close writes what only memory holds (deletions of acknowledged records).
// A killed emulator skips it; the next boot then resends a few records the
// gateway already has.
func (e *Emulator) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.dirty {
		return nil
	}
	return e.persist()
}

// Emit records one event and returns its id. data must fit a frame.
func (e *Emulator) Emit(kind string, data map[string]any) (msg.EventID, error) {
	e.mu.Lock()
	id, err := e.record(kind, data)
	if err == nil {
		err = e.persist()
	}
	dev := e.dev
	e.mu.Unlock()
	if err == nil {
		dev.Wake()
	}
	return id, err
}

// EmitN records n generated events with one write of the state file.
func (e *Emulator) EmitN(n int) ([]msg.EventID, error) {
	return e.emitEach(n, func(int) (string, map[string]any) { return e.synth() })
}

// EmitMany records one event of kind per data map, with one write of the
// state file.
func (e *Emulator) EmitMany(kind string, data []map[string]any) ([]msg.EventID, error) {
	return e.emitEach(len(data), func(i int) (string, map[string]any) { return kind, data[i] })
}

// emitEach records n events made by next (called with mu held) and writes the
// state file once, then wakes the link.
func (e *Emulator) emitEach(n int, next func(i int) (string, map[string]any)) ([]msg.EventID, error) {
	e.mu.Lock()
	ids := make([]msg.EventID, 0, n)
	for i := 0; i < n; i++ {
		id, err := e.record(next(i))
		if err != nil {
			e.mu.Unlock()
			return ids, err
		}
		ids = append(ids, id)
	}
	err := e.persist()
	dev := e.dev
	e.mu.Unlock()
	if err == nil {
		dev.Wake()
	}
	return ids, err
}

// record appends an event to the store in memory; a terminal's punches go
// to its attendance log too. Called with mu held.
func (e *Emulator) record(kind string, data map[string]any) (msg.EventID, error) {
	t, clk := e.clock.Now()
	return e.recordAt(kind, t, clk, data, kind == "punch" && e.opts.Kind == msg.KindAttendance)
}

// recordAt is record with the time given, and logPunch saying whether the
// event goes to the attendance log (a replayed punch does not).
func (e *Emulator) recordAt(kind string, t uint64, clk msg.ClockState, data map[string]any, logPunch bool) (msg.EventID, error) {
	ev := msg.Event{ID: msg.EventID{Boot: e.st.Boot, Seq: e.nextSeq}, Kind: kind, Time: t, Clock: clk, Data: data}
	body, err := msg.Marshal(&ev)
	if err != nil {
		return msg.EventID{}, fmt.Errorf("fwemu: event %q: %w", kind, err)
	}
	if len(body) > frame.MaxBodyAuth {
		return msg.EventID{}, fmt.Errorf("fwemu: event %q of %d bytes does not fit a frame (%d)", kind, len(body), frame.MaxBodyAuth)
	}
	e.nextSeq++ // used up even if dropped below: the gateway sees the gap
	if logPunch {
		// Logged even when the store drops it: the log is the terminal's
		// own record, from which attendance.fetch fills the gap.
		e.logPunch(ev, body)
	}
	if len(e.evs) >= e.opts.Capacity {
		e.st.Lost++
		return ev.ID, nil
	}
	e.st.Events = append(e.st.Events, body)
	e.evs = append(e.evs, ev)
	return ev.ID, nil
}

// synth makes one event of the device's kind from the seeded generator.
func (e *Emulator) synth() (string, map[string]any) {
	r := e.rnd
	switch e.opts.Kind {
	case msg.KindAttendance:
		verify := []string{"card", "finger", "face", "pin"}[r.IntN(4)]
		return "punch", map[string]any{"user": fmt.Sprintf("%05d", 10000+r.IntN(500)), "verify": verify, "state": uint64(r.IntN(2))}
	case msg.KindRoomPanel:
		if r.IntN(3) == 0 {
			return PanelEventOccupancy, PanelOccupancy(r.IntN(2) == 0)
		}
		return PanelEventButton, PanelButton(uint64(1 + r.IntN(4)))
	}
	return PanelEventButton, PanelButton(uint64(1 + r.IntN(4)))
}

func (e *Emulator) generate(ctx context.Context) {
	every := time.Duration(float64(time.Second) / e.opts.Rate)
	tick := max(every, 10*time.Millisecond) // at high rates, several per tick
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			owed += float64(now.Sub(last)) / float64(every)
			last = now
			if n := int(owed); n > 0 {
				owed -= float64(n)
				e.EmitN(n) // a full store drops and counts; nothing to do here
			}
		}
	}
}

// linkKey is the key the link starts a boot with: the one agreed at
// enrollment and kept in flash, else Options.Key. Called with mu held.
func (e *Emulator) linkKey() *link.Key {
	if k := e.st.Key; k != nil {
		return &link.Key{Epoch: k.Epoch, Secret: k.Secret}
	}
	if e.keyReset {
		return nil
	}
	return e.opts.Key
}

// storeKey keeps a key agreed at enrollment in flash before the link uses it.
func (e *Emulator) storeKey(k link.Key) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.Key = &storedKey{Epoch: k.Epoch, Secret: append([]byte(nil), k.Secret...)}
	return e.persist()
}

// ForgetKey erases the link key from flash, as a factory reset of the key
// does; the next boot is keyless and offers an enrollment key again.
func (e *Emulator) ForgetKey() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.Key = nil
	e.keyReset = true
	return e.persist()
}

// Key returns the link key the device holds now, nil if none.
func (e *Emulator) Key() *link.Key {
	e.mu.Lock()
	dev := e.dev
	e.mu.Unlock()
	if dev == nil {
		return nil
	}
	return dev.Key()
}

// Reboot power-cycles the device while Run runs, as a brown-out or a
// watchdog reset does: the link drops without a goodbye, whatever was in
// flight is lost, the boot counter goes up, and the records the flash holds
// are sent again in the new boot's session.
func (e *Emulator) Reboot() {
	e.mu.Lock()
	e.cycle = true
	e.mu.Unlock()
	select {
	case e.reboot <- struct{}{}:
	default:
	}
}

// Boot returns the current boot id.
func (e *Emulator) Boot() uint32 { e.mu.Lock(); defer e.mu.Unlock(); return e.st.Boot }

// Firmware returns the running version and the image state.
func (e *Emulator) Firmware() (string, msg.ImageState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.Running.Version, e.st.Image
}

// Held returns how many records wait for the gateway's acknowledgement.
func (e *Emulator) Held() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.evs) }

// Lost returns how many events were dropped because the store was full.
func (e *Emulator) Lost() uint64 { e.mu.Lock(); defer e.mu.Unlock(); return e.st.Lost }

// ConfigHash returns the hash of the configuration in force.
func (e *Emulator) ConfigHash() []byte { e.mu.Lock(); defer e.mu.Unlock(); return e.st.ConfigHash }

// SlotHeld returns the bytes of the transfer in progress held in the slot.
func (e *Emulator) SlotHeld() uint32 { e.mu.Lock(); defer e.mu.Unlock(); return e.st.Slot.Held }

// Link returns the link of the current boot.
func (e *Emulator) Link() *link.Device { e.mu.Lock(); defer e.mu.Unlock(); return e.dev }

// store is the Emulator as the link's EventStore.
type store Emulator

func (s *store) Next(after msg.EventID, n int) []msg.Event {
	e := (*Emulator)(s)
	e.mu.Lock()
	defer e.mu.Unlock()
	i := sort.Search(len(e.evs), func(i int) bool {
		return after.Boot < e.evs[i].ID.Boot ||
			after.Boot == e.evs[i].ID.Boot && after.Seq < e.evs[i].ID.Seq
	})
	end := min(len(e.evs), i+n)
	return append([]msg.Event(nil), e.evs[i:end]...)
}

func (s *store) Ack(id msg.EventID) {
	e := (*Emulator)(s)
	e.mu.Lock()
	defer e.mu.Unlock()
	i := sort.Search(len(e.evs), func(i int) bool {
		return id.Boot < e.evs[i].ID.Boot ||
			id.Boot == e.evs[i].ID.Boot && id.Seq < e.evs[i].ID.Seq
	})
	if i == 0 {
		return
	}
	// Reslice rather than copy: acks come every few records and the store
	// may hold thousands. The arrays are replaced as appends grow them.
	e.evs = e.evs[i:]
	e.st.Events = e.st.Events[i:]
	e.dirty = true
}

// devClock is the device's wall clock: the host's plus an offset.
type devClock struct {
	mu     sync.Mutex
	set    bool
	offset time.Duration
}

// reset models a clock without RTC at boot: it counts from an arbitrary
// origin (here: 2000-01-01) until set.
func (c *devClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = false
	c.offset = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Sub(time.Now())
}

func (c *devClock) Now() (uint64, msg.ClockState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := time.Now().Add(c.offset).UnixMilli()
	st := msg.ClockUnset
	if c.set {
		st = msg.ClockSet
	}
	return uint64(max(ms, 0)), st
}

func (c *devClock) Adjust(delta int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += time.Duration(delta) * time.Millisecond
	c.set = true
}

// line is the UART: one goroutine reads it for the emulator's lifetime on
// the line, so that a reboot (a new link.Device reading through a new
// view) does not close it.
type line struct {
	rw     io.ReadWriter
	data   chan []byte
	failed chan struct{} // closed when the line fails; err is then set
	err    error
}

func (l *line) pump(ctx context.Context) {
	for {
		b := make([]byte, 512)
		n, err := l.rw.Read(b)
		if n > 0 {
			select {
			case l.data <- b[:n]:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			l.err = err
			close(l.failed)
			return
		}
	}
}

// view is one boot's handle on the line; Close ends its reads only.
type view struct {
	l      *line
	closed chan struct{}
	once   sync.Once
	rest   []byte
}

var errViewClosed = errors.New("fwemu: rebooting")

func (v *view) Read(b []byte) (int, error) {
	if len(v.rest) == 0 {
		select {
		case <-v.closed:
			return 0, errViewClosed
		case v.rest = <-v.l.data:
		case <-v.l.failed:
			return 0, v.l.err
		}
	}
	n := copy(b, v.rest)
	v.rest = v.rest[n:]
	return n, nil
}

func (v *view) Write(b []byte) (int, error) {
	select {
	case <-v.closed:
		return 0, errViewClosed
	default:
	}
	return v.l.rw.Write(b)
}

func (v *view) Close() error { v.once.Do(func() { close(v.closed) }); return nil }
