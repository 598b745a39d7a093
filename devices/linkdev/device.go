package linkdev

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/link"
)

// Sink is what a link device needs of the sink it runs with besides
// devices.Sink: to commit its records (a window of events with their
// high-water mark in one commit, command results) and to read the marks it
// resumes from (PROTOCOL.md §6.4). The gateway's intake is one.
type Sink interface {
	devices.Sink
	link.BatchSink
	link.Store
}

// ErrNotRunning is returned to the link for a record that arrives while the
// device is not running: no sink takes it, and the device keeps it.
var ErrNotRunning = errors.New("linkdev: device not running")

// Config is a link device: its id (empty for one on a discovered port, whose
// id the directory gives), its configured kind, its serial port, and the
// link's settings.
type Config struct {
	ID, Kind  string
	Port      serialport.Config
	Directory link.Directory
	TimeSync  link.TimeSync
	Logf      func(format string, args ...any)
	OnPort    func(serialport.Event) // serial port state changes; must not block
}

// Device is a device on the firmware-bridge link on one serial port, as an
// event source like any driver (devices.Driver): Run runs the link on the
// port, reopening it with backoff, and the device's records go to the sink
// Run is given, which must be a Sink.
type Device struct {
	// Immutable.
	cfg Config
	lg  *link.Gateway
	sup *serialport.Supervisor

	to atomic.Pointer[Sink] // the running sink; nil outside Run
}

var (
	_ devices.Driver = (*Device)(nil)
	_ link.BatchSink = forward{}
	_ link.Store     = forward{}
)

// New makes the device's link and port supervisor; nothing is opened yet.
func New(cfg Config) (*Device, error) {
	d := &Device{cfg: cfg}
	lg, err := link.NewGateway(link.GatewayConfig{Sink: forward{d}, Store: forward{d}, Directory: cfg.Directory,
		TimeSync: cfg.TimeSync, Logf: cfg.Logf})
	if err != nil {
		return nil, fmt.Errorf("linkdev: device %q on %s: %w", cfg.ID, cfg.Port.Name, err)
	}
	sup, err := serialport.NewSupervisor(cfg.Port, &serialport.SupervisorOpts{OnEvent: cfg.OnPort})
	if err != nil {
		return nil, fmt.Errorf("linkdev: device %q: %w", cfg.ID, err)
	}
	d.lg, d.sup = lg, sup
	return d, nil
}

// Link is the device's link: its status, commands, clock syncs.
func (d *Device) Link() *link.Gateway { return d.lg }

// Describe implements devices.Driver: the configured id and kind (what the
// device declares in its HELLO is in its link's status).
func (d *Device) Describe() devices.Description {
	return devices.Description{ID: d.cfg.ID, Kind: d.cfg.Kind}
}

// Run implements devices.Driver: it runs the link on the port until ctx
// ends, committing the device's records to sink.
func (d *Device) Run(ctx context.Context, sink devices.Sink) error {
	s, ok := sink.(Sink)
	if !ok {
		return fmt.Errorf("linkdev: device %q: a %T cannot take a link's records (it needs link.BatchSink and link.Store)", d.cfg.ID, sink)
	}
	if !d.to.CompareAndSwap(nil, &s) {
		return fmt.Errorf("linkdev: device %q: Run called twice", d.cfg.ID)
	}
	defer d.to.Store(nil)
	d.sup.Run(ctx, func(ctx context.Context, p *serialport.Port) error { return d.lg.Run(ctx, p) })
	return nil
}

// forward is the link's Sink and Store: the sink of the running Run.
type forward struct{ d *Device }

func (f forward) sink() (Sink, error) {
	p := f.d.to.Load()
	if p == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotRunning, f.d.cfg.ID)
	}
	return *p, nil
}

func (f forward) Commit(ctx context.Context, rec link.Record) error {
	s, err := f.sink()
	if err != nil {
		return err
	}
	return s.Commit(ctx, rec)
}

func (f forward) CommitBatch(ctx context.Context, recs []link.Record) error {
	s, err := f.sink()
	if err != nil {
		return err
	}
	return s.CommitBatch(ctx, recs)
}

func (f forward) Mark(ctx context.Context, hw string) (link.Mark, error) {
	s, err := f.sink()
	if err != nil {
		return link.Mark{}, err
	}
	return s.Mark(ctx, hw)
}

func (f forward) SaveBoot(ctx context.Context, hw string, boot uint32) error {
	s, err := f.sink()
	if err != nil {
		return err
	}
	return s.SaveBoot(ctx, hw, boot)
}
