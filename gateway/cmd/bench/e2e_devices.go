package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/envelope"
)

// Device modes (-device-mode): how the emulated devices are made.
const (
	// deviceWire: cheap devices writing hand-encoded frames (e2e_wiredev.go),
	// so that the figures describe the gateway.
	deviceWire = "wire"
	// deviceFwemu: firmware-bridge/fwemu, the full device firmware with its
	// flash file written and fsync'd at every record.
	deviceFwemu = "fwemu"
)

// benchDevice is one emulated attendance terminal on a PTY, whichever way
// it is made.
type benchDevice interface {
	ID() string   // its configured id; its hardware id is "EMU-" + ID
	Path() string // the tty the gateway opens
	Boot() uint32
	// Punch records one punch carrying its emit time (data t_us, from which
	// the subscriber measures latency) and returns its event number.
	Punch(tUs uint64) (uint32, error)
	// Generate records n generated punches and returns the last one's number.
	Generate(n int) (uint32, error)
	Held() int // events the gateway has not acknowledged
	// Session is what the device's side of the link counted: sessions
	// opened, link downs, frames retransmitted (fast retransmits included).
	Session() deviceSession
	Stop() error
}

// deviceSession is a device's link counters, summed over a fleet for the
// result: a healthy run has one session per device, no link down, and
// retransmissions only where the gateway refused (BUSY) or restarted.
type deviceSession struct {
	Sessions    int `json:"sessions"`
	LinkDowns   int `json:"link_downs"`
	Retransmits int `json:"retransmits"`
}

// session sums the devices' link counters.
func (f *fleet) session() deviceSession {
	var s deviceSession
	for _, d := range f.devs {
		c := d.Session()
		s.Sessions += c.Sessions
		s.LinkDowns += c.LinkDowns
		s.Retransmits += c.Retransmits
	}
	return s
}

// fleet is the emulated devices, in the bench's own process so that their
// CPU is not the gateway's. Each is an attendance terminal on a real PTY;
// the gateway opens the other end by name.
type fleet struct {
	// Immutable.
	mode string
	devs []benchDevice

	// emitted is the last event number used per device. Owned by whoever
	// emits (one goroutine at a time).
	emitted []uint32
}

// mark is a point in the fleet's output: the last event number per device.
type mark []uint32

// startFleet starts n devices of mode; fwemu devices keep their flash in
// dir (see memDir).
func startFleet(mode, dir string, n int) (*fleet, error) {
	f := &fleet{mode: mode}
	for i := range n {
		id := fmt.Sprintf("dev-%02d", i)
		var d benchDevice
		var err error
		switch mode {
		case deviceFwemu:
			var pd *fwemu.PTYDevice
			if pd, err = fwemu.StartDevice(dir, id, msg.KindAttendance, 0, uint64(i+1)); err == nil {
				d = &fwemuDevice{pd, 10000 + i}
			}
		default:
			var wd *wireDev
			if wd, err = startWireDev(id, 10000+i, 1, time.Second); err == nil {
				d = wireDevice{wd}
			}
		}
		if err != nil {
			f.stop()
			return nil, err
		}
		f.devs = append(f.devs, d)
		f.emitted = append(f.emitted, 0)
	}
	return f, nil
}

func (f *fleet) stop() {
	for _, d := range f.devs {
		d.Stop()
	}
}

// ports is the -devices argument of the gateway child: id=tty,….
func (f *fleet) ports() string {
	var b strings.Builder
	for i, d := range f.devs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.ID() + "=" + d.Path())
	}
	return b.String()
}

func (f *fleet) mark() mark { return append(mark(nil), f.emitted...) }

// since is the set of event ids emitted after m, as the gateway names them
// (the device's hardware id is "EMU-" + its id).
func (f *fleet) since(m mark) map[string]struct{} {
	ids := map[string]struct{}{}
	for i, d := range f.devs {
		for seq := m[i] + 1; seq <= f.emitted[i]; seq++ {
			ids[envelope.EventID("EMU-"+d.ID(), d.Boot(), uint64(seq))] = struct{}{}
		}
	}
	return ids
}

// note checks that device i numbered its n new events right after the
// previous ones, last being the last of them.
func (f *fleet) note(i, n int, last uint32) error {
	if last != f.emitted[i]+uint32(n) {
		return fmt.Errorf("bench: device %s numbered %d events up to %d after %d", f.devs[i].ID(), n, last, f.emitted[i])
	}
	f.emitted[i] = last
	return nil
}

// emit records one punch on device i carrying its emit time, from which the
// subscriber measures latency.
func (f *fleet) emit(i int) error {
	last, err := f.devs[i].Punch(uint64(time.Now().UnixMicro()))
	if err != nil {
		return err
	}
	return f.note(i, 1, last)
}

// emitN records n generated punches on device i.
func (f *fleet) emitN(i, n int) error {
	last, err := f.devs[i].Generate(n)
	if err != nil {
		return err
	}
	return f.note(i, n, last)
}

// wireDevice is a wireDev as a benchDevice.
type wireDevice struct{ d *wireDev }

func (w wireDevice) ID() string                       { return w.d.id }
func (w wireDevice) Path() string                     { return w.d.path }
func (w wireDevice) Boot() uint32                     { return w.d.bootID }
func (w wireDevice) Punch(tUs uint64) (uint32, error) { return w.d.record(1, tUs) }
func (w wireDevice) Generate(n int) (uint32, error)   { return w.d.record(n, 0) }
func (w wireDevice) Held() int                        { return w.d.held() }
func (w wireDevice) Session() deviceSession {
	c := w.d.counters()
	return deviceSession{Sessions: c.Sessions, LinkDowns: c.LinkDowns, Retransmits: c.Retransmits}
}
func (w wireDevice) Stop() error { return w.d.stop() }

// fwemuDevice is an fwemu emulator on a PTY as a benchDevice.
type fwemuDevice struct {
	d    *fwemu.PTYDevice
	user int
}

func (w *fwemuDevice) ID() string   { return w.d.ID }
func (w *fwemuDevice) Path() string { return w.d.Path }
func (w *fwemuDevice) Boot() uint32 { return w.d.Emu.Boot() }
func (w *fwemuDevice) Held() int    { return w.d.Emu.Held() }
func (w *fwemuDevice) Session() deviceSession {
	c := w.d.Emu.Link().Stats()
	return deviceSession{Sessions: int(c.Sessions), LinkDowns: int(c.LinkDowns), Retransmits: int(c.Retransmits)}
}
func (w *fwemuDevice) Stop() error { return w.d.Stop() }

func (w *fwemuDevice) Punch(tUs uint64) (uint32, error) {
	data := map[string]any{"user": fmt.Sprintf("%05d", w.user), "verify": "card", "state": uint64(0), "t_us": tUs}
	id, err := w.d.Emu.Emit("punch", data)
	if err != nil {
		return 0, err
	}
	if id.Boot != w.Boot() {
		return 0, fmt.Errorf("bench: device %s emitted %v in boot %d", w.ID(), id, w.Boot())
	}
	return id.Seq, nil
}

func (w *fwemuDevice) Generate(n int) (uint32, error) {
	ids, err := w.d.Emu.EmitN(n)
	if err != nil {
		return 0, err
	}
	for k, id := range ids {
		if id.Boot != w.Boot() || (k > 0 && id.Seq != ids[k-1].Seq+1) {
			return 0, fmt.Errorf("bench: device %s emitted %v after %v", w.ID(), id, ids[max(k-1, 0)])
		}
	}
	if len(ids) != n {
		return 0, fmt.Errorf("bench: device %s emitted %d events of %d", w.ID(), len(ids), n)
	}
	return ids[n-1].Seq, nil
}

// paced emits rate×d events, rate per second in total, round-robin over the
// devices, on pace's fixed schedule: an event late to its slot is emitted at
// once (the offered load holds on average, as it does for people at terminals).
func (f *fleet) paced(ctx context.Context, rate float64, d time.Duration) error {
	n := int(math.Round(rate * d.Seconds()))
	return pace(ctx, rate, n, func(k int) error { return f.emit(k % len(f.devs)) })
}

// saturate keeps every device's store topped up until ctx ends, so the
// gateway always has events to pull: a device holding fewer than low events
// gets chunk more.
func (f *fleet) saturate(ctx context.Context) error {
	const low, chunk = 64, 64 // 64 events is 8 link windows: refilled every few ms at any rate seen here
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		for i, d := range f.devs {
			if d.Held() < low {
				if err := f.emitN(i, chunk); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// burst emits total events spread over the devices at once.
func (f *fleet) burst(total int) error {
	n := len(f.devs)
	for i := range f.devs {
		if k := total/n + btoi(i < total%n); k > 0 {
			if err := f.emitN(i, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// waitHeld0 waits until the gateway acknowledged every event each device
// holds: the gateway acknowledges an event only once it is in its journal.
func (f *fleet) waitHeld0(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		held := 0
		for _, d := range f.devs {
			held += d.Held()
		}
		if held == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: devices still hold %d events after %v", held, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// memDir makes a temporary directory on a memory file system if there is
// one (the devices' flash: its fsyncs must not compete with the journal's
// for the disk), else under fallback.
func memDir(fallback string) (string, error) {
	for _, parent := range []string{os.TempDir(), "/dev/shm"} {
		var st unix.Statfs_t
		if unix.Statfs(parent, &st) != nil || uint32(st.Type) != unix.TMPFS_MAGIC {
			continue
		}
		if dir, err := os.MkdirTemp(parent, "bench-e2e-devices-"); err == nil {
			return dir, nil
		}
	}
	if fallback == "" {
		return "", errors.New("bench: no directory for the emulated devices")
	}
	return os.MkdirTemp(fallback, "bench-e2e-devices-")
}
