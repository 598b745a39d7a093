package fwemu

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenTTY opens a tty (a PTY slave, a UART) for the emulator: raw 8N1, no
// echo, no line editing, so every byte passes unchanged. The file is
// non-blocking under Go's poller, so Close ends a blocked Read.
func OpenTTY(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("fwemu: open %q: %w", path, err)
	}
	if err := MakeRaw(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("fwemu: open %q: %w", path, err)
	}
	return f, nil
}

// MakeRaw puts the tty f in raw mode (cfmakeraw), 8 data bits.
func MakeRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = sc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ierr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		ierr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return ierr
}
