package fwcheck_test

import (
	"os"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
)

// ptyEnd is the device's end of a PTY (the master), under Go's poller so
// Close ends a blocked Read.
type ptyEnd = os.File

// newPTY returns the device's end and the name of the tty fwcheck opens.
func newPTY(t *testing.T) (*ptyEnd, string) {
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := fwemu.MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	t.Cleanup(func() { s.Close() })
	return os.NewFile(uintptr(fd), "ptmx"), s.Name()
}
