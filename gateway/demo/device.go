package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Device is an emulated device on a real PTY: the emulated firmware holds the
// master end, and the gateway opens the slave by name like any serial port.
type Device struct {
	ID   string
	Path string // the tty the gateway opens
	Emu  *fwemu.Emulator

	// Owned by StartDevice and Stop.
	hold   *os.File // the slave descriptor, kept open so the PTY outlives re-opens
	cancel context.CancelFunc
	done   chan error
}

// StartDevice starts an emulated device whose flash (state file) lives in dir.
func StartDevice(dir, id string, kind msg.Kind, rate float64, seed uint64) (*Device, error) {
	return StartEmulator(id, fwemu.Options{
		StatePath: filepath.Join(dir, id+".state"), HardwareID: "EMU-" + id, Kind: kind,
		Rate: rate, Seed: seed, RTC: true,
	})
}

// StartEmulator starts an emulated device configured by o on a new PTY.
func StartEmulator(id string, o fwemu.Options) (*Device, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("demo: open a pty for %s: %w", id, err)
	}
	if err := fwemu.MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("demo: raw pty for %s: %w", id, err)
	}
	// A creack/pty master ignores Close while a Read is blocked; a
	// non-blocking duplicate under Go's poller does not.
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("demo: pty master for %s: %w", id, err)
	}
	master := os.NewFile(uintptr(fd), "ptmx-"+id)
	emu, err := fwemu.New(o)
	if err != nil {
		master.Close()
		s.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Device{ID: id, Path: s.Name(), Emu: emu, hold: s, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- emu.Run(ctx, master) }()
	return d, nil
}

// Stop stops the emulated firmware and closes the PTY.
func (d *Device) Stop() error {
	d.cancel()
	err := <-d.done
	d.hold.Close()
	d.Emu.Close()
	return err
}
