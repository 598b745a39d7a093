package rollout

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/internal/atomicfile"
)

// Config configures an Orchestrator. Dir, PublicKey and Fleet are required;
// zero durations and counts take the defaults.
type Config struct {
	Dir       string            // state directory, one file per rollout (doc.go)
	PublicKey ed25519.PublicKey // the firmware key images must be signed with
	Fleet     Fleet
	// Busy, if set, is asked before a device is started and before its test
	// boot (the reboot is what interrupts a user). A busy device is retried
	// after DeferRetry, never skipped. It must not block.
	Busy func(deviceID string) (busy bool, reason string)
	// Progress, if set, receives every phase change and a summary at the
	// end of each rollout, one call at a time, with no lock of this package
	// held (it may call Snapshot). It must not block: the gateway hands
	// events to its MQTT publisher through a buffer.
	Progress func(Event)

	Canary   int // devices updated first, one at a time; default 1
	Parallel int // devices updated at once after the canaries; default 1

	DeferRetry time.Duration // between Busy checks of a deferred device; default 30 s
	// TransferTimeout bounds one device's transfer; an unplugged device
	// fails instead of holding the rollout forever. Default 30 min.
	TransferTimeout time.Duration
	// BootTimeout bounds the wait for a device to come back from its test
	// boot, and for its confirmation. Not back in time: rolled back (its
	// bootloader reverts an unconfirmed image, §10.3). Default 5 min.
	BootTimeout time.Duration
	// Probation is how long the test image must stay up before it is
	// confirmed (§10.3: 60 s by default).
	Probation time.Duration
	// Poll is how often a device's status is looked at while waiting for
	// it to come back after a gateway restart; default 1 s.
	Poll time.Duration

	Clock link.Clock // nil: the system clock
	// Logf, if set, receives what could not be reported otherwise (a state
	// file that could not be removed).
	Logf func(format string, args ...any)
}

func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("rollout: config: no state directory")
	}
	if len(c.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("rollout: config: firmware public key is %d bytes, need %d", len(c.PublicKey), ed25519.PublicKeySize)
	}
	if c.Fleet == nil {
		return errors.New("rollout: config: no fleet")
	}
	if c.Canary < 0 || c.Parallel < 0 {
		return fmt.Errorf("rollout: config: canary %d, parallel %d: negative", c.Canary, c.Parallel)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	c.Canary = max(c.Canary, 1)
	c.Parallel = max(c.Parallel, 1)
	def(&c.DeferRetry, 30*time.Second)
	def(&c.TransferTimeout, 30*time.Minute)
	def(&c.BootTimeout, 5*time.Minute)
	def(&c.Probation, 60*time.Second)
	def(&c.Poll, time.Second)
	if c.Clock == nil {
		c.Clock = link.SystemClock{}
	}
	if c.Busy == nil {
		c.Busy = func(string) (bool, string) { return false, "" }
	}
	if c.Progress == nil {
		c.Progress = func(Event) {}
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return nil
}

// Orchestrator runs firmware rollouts. Its methods are safe for concurrent
// use.
type Orchestrator struct {
	// Immutable.
	cfg    Config
	ctx    context.Context // every rollout's; canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	emitMu sync.Mutex // one Progress call at a time

	// Mutable, guarded by mu.
	mu       sync.Mutex
	closed   bool
	claims   map[string]string // device id → id of the unfinished rollout holding it
	rollouts map[string]*Rollout
	pending  []*Rollout // loaded from the state directory, not yet resumed
}

// New checks cfg and reads the state directory: the devices of every
// unfinished rollout found there stay claimed until Resume continues it. A
// damaged state file is an error naming it; nothing is reset.
func New(cfg Config) (*Orchestrator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	recs, err := loadDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Orchestrator{cfg: cfg, ctx: ctx, cancel: cancel, claims: map[string]string{}, rollouts: map[string]*Rollout{}}
	for _, rec := range recs {
		if rec.State != Running {
			continue
		}
		r := o.newRollout(rec)
		for _, d := range rec.Devices {
			if d.Phase.Final() {
				continue
			}
			if other, ok := o.claims[d.ID]; ok {
				cancel()
				return nil, fmt.Errorf("rollout: state files of %s and %s both hold device %q unfinished", other, rec.ID, d.ID)
			}
			o.claims[d.ID] = rec.ID
		}
		o.rollouts[rec.ID] = r
		o.pending = append(o.pending, r)
	}
	return o, nil
}

// Spec is one rollout to start. Zero Canary and Parallel take the
// Config's.
type Spec struct {
	Image    Image
	Devices  []string // in order: the first Canary ones are the canaries
	Canary   int
	Parallel int
}

// Start checks spec and starts the rollout. The image's signature is
// checked first: a bad image, an unknown or duplicate device, or a device
// already in an unfinished rollout (ErrInRollout, naming it) is refused and
// nothing is sent or written. The rollout runs until it is done or halted,
// or until Close; Resume in a later process continues it.
func (o *Orchestrator) Start(spec Spec) (*Rollout, error) {
	img := spec.Image
	if err := img.Verify(o.cfg.PublicKey); err != nil {
		return nil, err
	}
	if len(spec.Devices) == 0 {
		return nil, errors.New("rollout: no devices")
	}
	if spec.Canary < 0 || spec.Parallel < 0 {
		return nil, fmt.Errorf("rollout: canary %d, parallel %d: negative", spec.Canary, spec.Parallel)
	}
	for i, id := range spec.Devices {
		if slices.Contains(spec.Devices[:i], id) {
			return nil, fmt.Errorf("rollout: device %q listed twice", id)
		}
		if _, err := o.cfg.Fleet.Device(id); err != nil {
			return nil, fmt.Errorf("rollout: device %q: %w", id, err)
		}
	}
	now := o.cfg.Clock.Now().UTC()
	rec := &Record{
		Format: formatVersion, Created: now, Updated: now, State: Running,
		Image: ImageRef{Path: img.Path, Version: img.Version, Size: int64(len(img.Data)),
			SHA256: hex.EncodeToString(img.SHA256), Signature: hex.EncodeToString(img.Signature)},
		Canary:   cmp.Or(spec.Canary, o.cfg.Canary),
		Parallel: cmp.Or(spec.Parallel, o.cfg.Parallel),
	}
	for _, id := range spec.Devices {
		rec.Devices = append(rec.Devices, DeviceRecord{ID: id, Phase: Waiting})
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, ErrClosed
	}
	for _, id := range spec.Devices {
		if other, ok := o.claims[id]; ok {
			return nil, fmt.Errorf("rollout: device %q is in rollout %s: %w", id, other, ErrInRollout)
		}
	}
	rec.ID = o.newID(now, img.SHA256)
	// The image first: a state file always has its image beside it.
	if err := atomicfile.WriteFile(imagePath(o.cfg.Dir, rec.ID), img.Data, 0o600); err != nil {
		return nil, fmt.Errorf("rollout %s: keep image: %w", rec.ID, err)
	}
	if err := rec.save(o.cfg.Dir); err != nil {
		os.Remove(imagePath(o.cfg.Dir, rec.ID))
		return nil, err
	}
	r := o.newRollout(rec)
	r.img = img
	for _, id := range spec.Devices {
		o.claims[id] = rec.ID
	}
	o.rollouts[rec.ID] = r
	o.launch(r)
	return r, nil
}

// Resume continues every unfinished rollout New found in the state
// directory, where it stopped (doc.go, "Resuming"), and returns them. A
// rollout whose kept image is missing or no longer matches its hash and
// signature is halted with the reason.
func (o *Orchestrator) Resume() ([]*Rollout, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, ErrClosed
	}
	rs := o.pending
	o.pending = nil
	for _, r := range rs {
		o.launch(r)
	}
	return rs, nil
}

// Rollouts returns the rollouts this orchestrator started or resumed, and
// those awaiting Resume.
func (o *Orchestrator) Rollouts() []*Rollout {
	o.mu.Lock()
	defer o.mu.Unlock()
	var rs []*Rollout
	for _, r := range o.rollouts {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *Rollout) int { return strings.Compare(a.id, b.id) })
	return rs
}

// Close stops every rollout where it stands and waits for them. Their state
// files say where that was; a device mid-transfer keeps what it received.
// Stopping is not a failure: nothing is marked failed or rolled back.
func (o *Orchestrator) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
	return nil
}

// launch starts r's goroutine; o.mu is held.
func (o *Orchestrator) launch(r *Rollout) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer close(r.done)
		r.run(o.ctx)
	}()
}

// release frees the claims rollout id holds on ids.
func (o *Orchestrator) release(id string, devs ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range devs {
		if o.claims[d] == id {
			delete(o.claims, d)
		}
	}
}

// newID names a rollout by its start time and image; o.mu is held.
func (o *Orchestrator) newID(now time.Time, sha []byte) string {
	base := fmt.Sprintf("%s-%x", now.Format("20060102T150405Z"), sha[:4])
	id := base
	for n := 2; ; n++ {
		_, taken := o.rollouts[id]
		if _, err := os.Stat(statePath(o.cfg.Dir, id)); !taken && errors.Is(err, os.ErrNotExist) {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// Config returns the configuration with its defaults applied.
func (o *Orchestrator) Config() Config { return o.cfg }
