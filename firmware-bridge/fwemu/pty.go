package fwemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// PTYDevice is an emulated device on a real PTY: the emulated firmware holds
// the master end, and the gateway opens the slave by name like any serial port.
type PTYDevice struct {
	ID   string
	Path string // the tty the gateway opens
	Emu  *Emulator

	// Owned by StartPTY and Stop.
	hold   *os.File // the slave descriptor, kept open so the PTY outlives re-opens
	cancel context.CancelFunc
	done   chan error
}

// StartDevice starts an emulated device of kind whose flash (state file) lives
// in dir, with hardware id EMU-id and a real-time clock, emitting rate events
// a second (0: none) from randomness seeded by seed.
func StartDevice(dir, id string, kind msg.Kind, rate float64, seed uint64) (*PTYDevice, error) {
	return StartPTY(id, Options{
		StatePath: filepath.Join(dir, id+".state"), HardwareID: "EMU-" + id, Kind: kind,
		Rate: rate, Seed: seed, RTC: true,
	})
}

// OpenPTY opens a PTY pair in raw mode for the device id: master is the
// device's side, a non-blocking duplicate under Go's poller (a creack/pty
// master ignores Close while a Read is blocked; the duplicate does not);
// slave is the gateway's side, to be held open (its Name is the port's path)
// so that the line stays up while the gateway reopens it.
func OpenPTY(id string) (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("fwemu: open a pty for %s: %w", id, err)
	}
	if err := MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("fwemu: raw pty for %s: %w", id, err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	m.Close()
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("fwemu: pty master for %s: %w", id, err)
	}
	return os.NewFile(uintptr(fd), "ptmx-"+id), s, nil
}

// StartPTY starts an emulated device configured by o on a new PTY; Stop stops
// it.
func StartPTY(id string, o Options) (*PTYDevice, error) {
	master, s, err := OpenPTY(id)
	if err != nil {
		return nil, err
	}
	emu, err := New(o)
	if err != nil {
		master.Close()
		s.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &PTYDevice{ID: id, Path: s.Name(), Emu: emu, hold: s, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- emu.Run(ctx, master) }()
	return d, nil
}

// Stop stops the emulated firmware and closes the PTY.
func (d *PTYDevice) Stop() error {
	d.cancel()
	err := <-d.done
	d.hold.Close()
	d.Emu.Close()
	return err
}
