package serialport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tarm/serial"
	"golang.org/x/sys/unix"
)

var (
	// ErrUnplugged is wrapped by the error Read and Write return once the device has gone:
	// the tty was hung up (adapter unplugged, pty peer closed) or its node vanished.
	// It is sticky: every later Read and Write returns it too.
	ErrUnplugged = errors.New("serialport: device unplugged")
	// ErrClosed is wrapped by the error Read and Write return after Close.
	ErrClosed = errors.New("serialport: port closed")
	// ErrNotTerminal is wrapped by the error Open returns for a path that is not a tty.
	ErrNotTerminal = errors.New("serialport: not a terminal")
)

var _ io.ReadWriteCloser = (*Port)(nil)

// Port is an open serial port: raw 8N1 at the configured baud rate.
//
// Read blocks until at least one byte arrives, the device goes (ErrUnplugged) or the port
// is closed (ErrClosed); a quiet line is never an error. One goroutine may Read while
// another Writes; Close may be called from any goroutine, more than once.
//
// The goroutine that Reads must hand the bytes on without waiting on anything slow (disk,
// fsync, the network): the kernel buffers 4 KiB, ≈ 355 ms at 115200 baud, and drops what
// comes after.
type Port struct {
	// Immutable.
	name string       // as configured, for errors and events
	path string       // name with symlinks resolved
	rdev uint64       // device number of path when opened
	sp   *serial.Port // tarm/serial: configures the line; never read (see Read)
	ctl  *os.File     // second descriptor, O_NONBLOCK, in the runtime's poller: Read, Write, hang-up probe, exclusive mode
	poll time.Duration
	done chan struct{} // closed by Close

	// Mutable.
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error        // written once inside closeOnce
	quiet     atomic.Int64 // times a Read began to wait for data; lets tests wait for a blocked Read

	mu sync.Mutex
	// Guarded by mu.
	gone error // wraps ErrUnplugged once the device has gone
}

// Open opens and configures the port cfg names. Missing devices give an error that wraps
// fs.ErrNotExist; a path that is not a tty gives ErrNotTerminal.
func Open(cfg Config) (*Port, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	path, err := filepath.EvalSymlinks(cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("serialport: open %q: %w", cfg.Name, err)
	}
	// The control descriptor is opened first so a non-tty is refused with a clear error
	// before tarm/serial touches it.
	ctl, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("serialport: open %q: %w", cfg.Name, err)
	}
	p := &Port{name: cfg.Name, path: path, ctl: ctl, poll: cfg.PollInterval, done: make(chan struct{})}
	if err := p.identify(); err != nil {
		ctl.Close()
		return nil, err
	}
	// Reads go through the non-blocking descriptor (Read), where a tty in non-canonical
	// mode answers EAGAIN on a quiet line whatever VTIME says; tarm/serial's descriptor
	// is never read, so its read timeout (VTIME) only has to be one it accepts.
	p.sp, err = serial.OpenPort(&serial.Config{
		Name: path, Baud: cfg.Baud, ReadTimeout: 100 * time.Millisecond,
		Size: 8, Parity: serial.ParityNone, StopBits: serial.Stop1,
	})
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("serialport: configure %q: %w", cfg.Name, err)
	}
	// Exclusive mode keeps other non-root openers (ModemManager, a second gateway) off the
	// line. Set after tarm/serial's open, which would otherwise be refused. Best effort.
	_ = p.control(func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCEXCL, 0) })
	return p, nil
}

// identify records the device number and refuses anything that is not a tty.
func (p *Port) identify() error {
	var st unix.Stat_t
	err := p.control(func(fd int) error {
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	if errors.Is(err, unix.ENOTTY) {
		return fmt.Errorf("%w: %q (%s)", ErrNotTerminal, p.name, p.path)
	}
	if err != nil {
		return fmt.Errorf("serialport: open %q: %w", p.name, err)
	}
	p.rdev = uint64(st.Rdev)
	return nil
}

// Name returns the device name as configured.
func (p *Port) Name() string { return p.name }

// Path returns the device path the name resolved to when the port was opened.
func (p *Port) Path() string { return p.path }

// Read reads at least one byte; see Port for when it returns without data.
//
// It waits in the runtime's poller on the non-blocking descriptor, not in a read system
// call: a quiet port holds no thread and wakes nothing until a byte arrives, the tty is
// hung up (the poller reports it at once) or the port is closed. Only the check that the
// device node is still the one opened needs a clock: it runs every PollInterval, on
// multiples of it on the wall clock, so that the checks of all the ports of a process
// fall in one wake-up.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, p.state()
	}
	for {
		if err := p.state(); err != nil {
			return 0, err
		}
		n, err := p.read(b)
		if n > 0 {
			return n, nil // a following error, if lasting, comes back on the next Read
		}
		if p.closed.Load() || errors.Is(err, os.ErrClosed) {
			return 0, p.errClosed()
		}
		// A read of nothing (end of file), EIO, or the node check's turn: ask the tty
		// whether it is still there.
		if cause := p.probe(); cause != nil {
			return 0, p.unplugged(cause)
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The node check found nothing wrong: wait again.
		case err == nil:
			// Nothing read and nothing wrong: not seen on a tty in non-canonical mode
			// (it answers EAGAIN), but never let it become a busy loop.
			if err := p.pause(); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("serialport: read %q: %w", p.name, err)
		}
	}
}

// read is one read(2) on the control descriptor, waiting in the poller while there is
// nothing to read, until the next node check is due. It returns (0, nil) for end of file.
func (p *Port) read(b []byte) (int, error) {
	if err := p.ctl.SetReadDeadline(time.Now().Truncate(p.poll).Add(p.poll)); err != nil {
		return 0, err
	}
	rc, err := p.ctl.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), b)
			switch rerr {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				p.quiet.Add(1) // waiting for data: what tests wait for
				return false
			}
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, os.NewSyscallError("read", rerr)
	}
	return max(n, 0), nil
}

// pause waits one poll interval, or until Close.
func (p *Port) pause() error {
	t := time.NewTimer(p.poll)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.done:
		return p.errClosed()
	}
}

// Write writes b through the non-blocking control descriptor, so that Close can wake a
// Write that waits for a peer that does not read.
func (p *Port) Write(b []byte) (int, error) {
	if err := p.state(); err != nil {
		return 0, err
	}
	n, err := p.ctl.Write(b)
	if err == nil {
		return n, nil
	}
	if p.closed.Load() || errors.Is(err, os.ErrClosed) {
		return n, p.errClosed()
	}
	if cause := p.probe(); cause != nil {
		return n, p.unplugged(cause)
	}
	if hungUp(err) {
		return n, p.unplugged(err)
	}
	return n, fmt.Errorf("serialport: write %q: %w", p.name, err)
}

// Close closes the port promptly: it wakes a blocked Read or Write at once. Bytes written but not yet sent are discarded,
// so that the kernel does not hold the close until they drain (up to 30 s on a stalled
// line); a caller that must know its last bytes left waits for the device's reply first.
func (p *Port) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.done)
		_ = p.control(func(fd int) error {
			// A pty slave keeps exclusive mode after its last close, for as long as its
			// master lives: without this a non-root re-open would get EBUSY.
			_ = unix.IoctlSetInt(fd, unix.TIOCNXCL, 0)
			return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCOFLUSH)
		})
		errCtl := p.ctl.Close()
		errSp := p.sp.Close() // nothing reads it: prompt
		if err := errors.Join(errCtl, errSp); err != nil && !hungUp(err) {
			p.closeErr = fmt.Errorf("serialport: close %q: %w", p.name, err)
		}
	})
	return p.closeErr
}

// state returns the error every I/O call must return now, if any.
func (p *Port) state() error {
	if p.closed.Load() {
		return p.errClosed()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gone
}

func (p *Port) errClosed() error { return fmt.Errorf("%w: %q", ErrClosed, p.name) }

func (p *Port) unplugged(cause error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone == nil {
		p.gone = fmt.Errorf("%w: %q: %w", ErrUnplugged, p.name, cause)
	}
	return p.gone
}

// probe reports why the device has gone, or nil if it is still there: the tty refuses a
// termios ioctl once hung up (the kernel hangs up a USB-serial tty when the adapter is
// unplugged, and a pty slave when its master closes), and the node vanishes or is taken by
// another device when udev catches up.
func (p *Port) probe() error {
	err := p.control(func(fd int) error {
		_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	if hungUp(err) {
		return fmt.Errorf("tty hung up: %w", err)
	}
	var st unix.Stat_t
	err = unix.Stat(p.name, &st)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("device node gone: %w", err)
	case err == nil && uint64(st.Rdev) != p.rdev:
		return errors.New("name now points at another device")
	}
	return nil
}

// control runs f on the control descriptor, holding it open meanwhile.
func (p *Port) control(f func(fd int) error) error {
	rc, err := p.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// hungUp tells the errors a tty gives once its device has gone.
func hungUp(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno == unix.EIO || errno == unix.ENXIO || errno == unix.ENODEV
}
