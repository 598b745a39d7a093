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

// fleet is the emulated devices, in the bench's own process so that their
// CPU is not the gateway's. Each is an attendance terminal's firmware on a
// real PTY; the gateway opens the other end by name.
type fleet struct {
	// Immutable.
	devs []*fwemu.PTYDevice
	boot []uint32

	// emitted is the last event number used per device. Owned by whoever
	// emits (one goroutine at a time).
	emitted []uint32
}

// mark is a point in the fleet's output: the last event number per device.
type mark []uint32

// startFleet starts n devices whose flash lives in dir. dir should be a
// memory file system: every Emit writes and fsyncs the device's state file,
// and the device's flash is not what is measured.
func startFleet(dir string, n int) (*fleet, error) {
	f := &fleet{}
	for i := range n {
		d, err := fwemu.StartDevice(dir, fmt.Sprintf("dev-%02d", i), msg.KindAttendance, 0, uint64(i+1))
		if err != nil {
			f.stop()
			return nil, err
		}
		f.devs = append(f.devs, d)
		f.boot = append(f.boot, d.Emu.Boot())
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
		b.WriteString(d.ID + "=" + d.Path)
	}
	return b.String()
}

func (f *fleet) mark() mark { return append(mark(nil), f.emitted...) }

// since is the set of event ids emitted after m, as the gateway names them
// (the demo device's hardware id is "EMU-" + its id).
func (f *fleet) since(m mark) map[string]struct{} {
	ids := map[string]struct{}{}
	for i, d := range f.devs {
		for seq := m[i] + 1; seq <= f.emitted[i]; seq++ {
			ids[envelope.EventID("EMU-"+d.ID, f.boot[i], uint64(seq))] = struct{}{}
		}
	}
	return ids
}

func (f *fleet) note(i int, id msg.EventID) error {
	if id.Boot != f.boot[i] || id.Seq != f.emitted[i]+1 {
		return fmt.Errorf("bench: device %s emitted %v after seq %d of boot %d", f.devs[i].ID, id, f.emitted[i], f.boot[i])
	}
	f.emitted[i] = id.Seq
	return nil
}

// emit records one punch on device i carrying its emit time, from which the
// subscriber measures latency.
func (f *fleet) emit(i int) error {
	data := map[string]any{"user": fmt.Sprintf("%05d", 10000+i), "verify": "card", "state": uint64(0),
		"t_us": uint64(time.Now().UnixMicro())}
	id, err := f.devs[i].Emu.Emit("punch", data)
	if err != nil {
		return err
	}
	return f.note(i, id)
}

// emitN records n generated punches on device i with one state write.
func (f *fleet) emitN(i, n int) error {
	ids, err := f.devs[i].Emu.EmitN(n)
	for _, id := range ids {
		if err := f.note(i, id); err != nil {
			return err
		}
	}
	return err
}

// paced emits rate×d events, rate per second in total, round-robin over the
// devices, on a fixed schedule: an event late to its slot is emitted at once
// (the offered load holds on average, as it does for people at terminals).
func (f *fleet) paced(ctx context.Context, rate float64, d time.Duration) error {
	n := int(math.Round(rate * d.Seconds()))
	every := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for k := range n {
		at := start.Add(time.Duration(k) * every)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := f.emit(k % len(f.devs)); err != nil {
			return err
		}
	}
	return nil
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
			if d.Emu.Held() < low {
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
			held += d.Emu.Held()
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
