package kiosk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/internal/clock"
)

// Kind is the registry kind of the driver.
const Kind = "kiosk"

// Event types the driver emits (doc.go, "Events").
const (
	TypeCheckedIn    = "visitor.checked_in"
	TypeCheckedOut   = "visitor.checked_out"
	TypeScanRejected = "visitor.scan_rejected"
	TypePrintResult  = "badge.print_result"
	TypePrinterState = "printer.status"
	TypeDoorState    = "door.state"
)

// maxPending is how many rejected scans are remembered for visitor.approve:
// far more than a lobby rejects within any approve_timeout.
const maxPending = 256

// With holds what tests and the demo inject into a driver. The zero value
// uses the board's GPIO, the real clock and crypto/rand.
type With struct {
	Pins  gpio.Opener      // opens the door's pins; nil: gpio.Open
	Clock gpio.Clock       // times the door, the printer poll and reconnects; nil: the real clock
	Now   func() time.Time // stamps events and decides windows; nil: devices.Options.Now
	Rand  io.Reader        // draws scan ids; nil: crypto/rand
}

// Kiosk is the driver of one reception kiosk: a QR scanner, an optional badge
// printer and an optional door, deciding check-ins locally.
type Kiosk struct {
	// Immutable.
	id    string
	set   settings
	log   zerolog.Logger
	now   func() time.Time
	clock gpio.Clock
	pins  gpio.Opener
	rand  io.Reader
	scan  *scanner.Scanner
	out   *outbox
	disp  *displayer
	// lastScan is when the last scan came (unix ns): a visitor is at the
	// kiosk for a while after it.
	lastScan atomic.Int64
	jobs     chan badgeJob // to the printer goroutine; nil without a printer
	ran      atomic.Bool
	cnt      counters

	mu      sync.Mutex
	cache   *cache        // guarded by mu
	pending []pendingScan // guarded by mu; rejected scans, oldest first
	door    *door.Door    // guarded by mu; open while Run runs, nil otherwise or without a door
	printer string        // guarded by mu; the last printer.status state, "" before the first
	saveSeq uint64        // guarded by mu; numbers state snapshots

	saveMu  sync.Mutex // serialises writes of the state file
	savedAt uint64     // guarded by saveMu; the newest snapshot written
}

// pendingScan is a rejected scan awaiting visitor.approve.
type pendingScan struct {
	id       string
	hash     string
	inviteID string // the invite the token matched, if any
	at       time.Time
	approved bool
}

var (
	_ devices.Driver    = (*Kiosk)(nil)
	_ devices.Commander = (*Kiosk)(nil)
	_ devices.Statuser  = (*Kiosk)(nil)
	_ devices.Factory   = New
)

// New is the driver's devices.Factory. It decodes and validates the
// configuration, reads the invite key and loads the state file (a corrupt one
// is an error), but opens no port or pin.
func New(id string, opts devices.Options) (devices.Driver, error) {
	return NewWith(id, opts, With{})
}

// NewWith is New with injected parts.
func NewWith(id string, opts devices.Options, w With) (*Kiosk, error) {
	o := DefaultOptions()
	if opts.Config != nil {
		if err := opts.Config.Decode(&o); err != nil {
			return nil, err
		}
	}
	set, err := o.validate(opts)
	if err != nil {
		return nil, err
	}
	c, err := load(set.stateFile)
	if err != nil {
		return nil, err
	}
	k := &Kiosk{id: id, set: set, log: opts.Log, now: w.Now, clock: w.Clock, pins: w.Pins, rand: w.Rand, cache: c}
	if k.now == nil {
		k.now = opts.Clock()
	}
	if k.clock == nil {
		k.clock = clock.System{}
	}
	if k.pins == nil {
		k.pins = gpio.Open
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	k.out = newOutbox(k)
	k.disp = newDisplayer(set.display, opts.Send, k.log)
	if set.printer != nil {
		k.jobs = make(chan badgeJob, maxBadgeQueue)
	}
	if k.scan, err = scanner.New(set.scanner, &scanner.Opts{Now: k.now}); err != nil {
		return nil, fmt.Errorf("kiosk: %w", err)
	}
	return k, nil
}

// Describe implements devices.Driver.
func (k *Kiosk) Describe() devices.Description {
	return devices.Description{ID: k.id, Kind: Kind, Model: "qr-kiosk", Commands: append([]string(nil), Commands...)}
}

// Run implements devices.Driver: it opens the door, then reads the scanner,
// polls the printer and emits events until ctx is cancelled.
func (k *Kiosk) Run(ctx context.Context, sink devices.Sink) error {
	if !k.ran.CompareAndSwap(false, true) {
		return errors.New("kiosk: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	var d *door.Door
	if k.set.door != nil {
		cfg := *k.set.door
		cfg.Clock = k.clock
		var err error
		if d, err = door.Open(ctx, k.pins, cfg); err != nil {
			// A pin that cannot be opened is wiring or permissions, not
			// something that comes back by waiting.
			return fmt.Errorf("kiosk %q: %w", k.id, err)
		}
		k.mu.Lock()
		k.door = d
		k.mu.Unlock()
		start(func() { k.forwardDoor(d) })
	}
	start(func() { k.out.run(ctx, sink) })
	start(func() { k.disp.run(ctx) })
	if k.jobs != nil {
		start(func() { k.runPrinter(ctx) })
	}
	scans := make(chan scanner.Scan)
	start(func() { k.scan.Run(ctx, scans) })
	for {
		select {
		case sc := <-scans:
			k.handleScan(ctx, sc)
			continue
		case <-ctx.Done():
		}
		break
	}
	cancel()
	if d != nil {
		k.mu.Lock()
		k.door = nil
		k.mu.Unlock()
		if err := d.Close(); err != nil {
			k.log.Error().Err(err).Msg("kiosk: door")
		}
	}
	wg.Wait()
	return nil
}

// forwardDoor turns the door contact's changes into door.state events until
// the door is closed.
func (k *Kiosk) forwardDoor(d *door.Door) {
	for ev := range d.Events() {
		k.out.put(devices.Event{Type: TypeDoorState, Time: ev.Time, Data: map[string]any{"state": string(ev.State)}})
	}
}

// Status implements devices.Statuser: online while the scanner's port is
// open; the scanner's line counters plus the kiosk's (doc.go, "Counters").
func (k *Kiosk) Status() devices.Status {
	st := k.scan.Status()
	c := st.Counters
	maps.Copy(c, k.cnt.snapshot())
	c["events_queued"] = uint64(k.out.len())
	c["display_sent"], c["display_failed"], c["display_dropped"] = k.disp.sent.Load(), k.disp.failed.Load(), k.disp.dropped.Load()
	return devices.Status{Online: st.Online, LastSeen: st.LastSeen, Clock: devices.ClockSynced, Counters: c}
}

// Scanner returns the scanner's port and its line counters, refusals by
// reason included (the gateway exports them as metrics).
func (k *Kiosk) Scanner() (port string, c scanner.Counts) { return k.scan.Port(), k.scan.Counts() }

// newScanID draws a scan id: 16 hex digits, unique with overwhelming odds
// across restarts (pending scans are not persisted).
func (k *Kiosk) newScanID() string {
	var b [8]byte
	if _, err := io.ReadFull(k.rand, b[:]); err != nil {
		// crypto/rand does not fail on Linux; an injected reader that runs
		// dry falls back to the clock and a counter.
		return fmt.Sprintf("%016x", uint64(k.now().UnixNano())+k.cnt.scansRejected.Load())
	}
	return hex.EncodeToString(b[:])
}

// snapshot encodes the cache for saving; k.mu must be held.
func (k *Kiosk) snapshot() (uint64, []byte, error) {
	b, err := encode(k.cache)
	k.saveSeq++
	return k.saveSeq, b, err
}

// persist writes snapshot seq unless a newer one is already written. It is
// called without k.mu, so the door is not kept waiting for a disk.
func (k *Kiosk) persist(seq uint64, b []byte, encErr error) error {
	err := encErr
	k.saveMu.Lock()
	if err == nil && seq > k.savedAt {
		if err = writeFile(k.set.stateFile, b); err == nil {
			k.savedAt = seq
		}
	}
	k.saveMu.Unlock()
	if err != nil {
		k.cnt.stateSaveFailed.Add(1)
		k.log.Error().Err(err).Msg("kiosk: state not saved (kept in memory)")
	}
	return err
}

// busyAfterScan is how long after a scan the kiosk counts as mid check-in:
// the visitor reads the display, takes the badge, walks through the door.
const busyAfterScan = 2 * time.Minute

// Busy says whether a firmware update of the kiosk's panel would disturb a
// visitor now: a scan came within the last two minutes, or a badge is
// waiting to print. The gateway defers rollouts to the panel while it is.
func (k *Kiosk) Busy(device string) (bool, string) {
	if device == "" || device != k.set.display {
		return false, ""
	}
	if last := k.lastScan.Load(); last != 0 && k.now().Sub(time.Unix(0, last)) < busyAfterScan {
		return true, fmt.Sprintf("kiosk %s is mid check-in", k.id)
	}
	if k.jobs != nil && len(k.jobs) > 0 {
		return true, fmt.Sprintf("kiosk %s is printing a badge", k.id)
	}
	return false, ""
}
