package serialport

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/internal/testkit"
	"golang.org/x/sys/unix"
)

func TestBytesBothWays(t *testing.T) {
	testkit.NoLeaks(t)
	link := byIDLink(t)
	d := plug(t, link)
	p := mustOpen(t, Config{Name: link, Baud: 9600})
	if p.Name() != link || p.Path() != d.slave {
		t.Errorf("Name, Path = %q, %q; want %q, %q", p.Name(), p.Path(), link, d.slave)
	}

	d.send(t, "ping\x00\xff\n")
	if r := await(t, "read", readAsync(p)); r.err != nil || r.s != "ping\x00\xff\n" {
		t.Errorf("port read %q, %v; want the bytes sent, raw", r.s, r.err)
	}
	if _, err := p.Write([]byte("pong\n\x00")); err != nil {
		t.Fatal(err)
	}
	if got := d.readN(t, 6); got != "pong\n\x00" {
		t.Errorf("device read %q; want the bytes written, raw", got)
	}

	tio, err := unix.IoctlGetTermios(int(d.s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&(unix.PARENB|unix.CSTOPB|unix.CRTSCTS) != 0 {
		t.Errorf("cflag %#o: want 8N1 without flow control", tio.Cflag)
	}
	if tio.Cflag&unix.CBAUD != unix.B9600 {
		t.Errorf("cflag %#o: want B9600", tio.Cflag)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || tio.Oflag&unix.OPOST != 0 {
		t.Errorf("lflag %#o oflag %#o: want raw mode", tio.Lflag, tio.Oflag)
	}
}

// A line quiet for several node checks is not an error: Read keeps waiting.
func TestQuietLineIsNotAnError(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	p := mustOpen(t, Config{Name: d.slave, PollInterval: 100 * time.Millisecond})
	r := readAsync(p)
	eventually(t, "two node checks", func() bool { return p.quiet.Load() >= 3 })
	select {
	case got := <-r:
		t.Fatalf("Read returned %q, %v on a quiet line", got.s, got.err)
	default:
	}
	d.send(t, "x")
	if got := await(t, "read", r); got.err != nil || got.s != "x" {
		t.Errorf("Read = %q, %v; want \"x\"", got.s, got.err)
	}
}

// Closing the pty master hangs the slave up, as unplugging a USB adapter does: tarm/serial
// then returns (0, io.EOF) like a timeout, and Port must tell it apart.
func TestHangupIsUnplugged(t *testing.T) {
	testkit.NoLeaks(t)
	link := byIDLink(t)
	d := plug(t, link)
	p := mustOpen(t, Config{Name: link})
	r := readAsync(p)
	eventually(t, "Read to block", func() bool { return p.quiet.Load() >= 1 })

	start := time.Now()
	d.m.Close()
	got := await(t, "Read after hang-up", r)
	t.Logf("hang-up seen by Read after %v", got.at.Sub(start))
	if !errors.Is(got.err, ErrUnplugged) || !strings.Contains(got.err.Error(), link) {
		t.Fatalf("Read error %v; want ErrUnplugged naming %q", got.err, link)
	}
	if _, err := p.Read(make([]byte, 1)); !errors.Is(err, ErrUnplugged) {
		t.Errorf("second Read: %v; want ErrUnplugged again", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrUnplugged) {
		t.Errorf("Write: %v; want ErrUnplugged", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after hang-up: %v", err)
	}
}

// Write is where a port that is only written to (a printer) learns the device went.
func TestWriteSeesHangup(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	p := mustOpen(t, Config{Name: d.slave})
	d.m.Close()
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrUnplugged) {
		t.Errorf("Write: %v; want ErrUnplugged", err)
	}
}

// The device node vanishing, or its name taken by another device, also ends the port.
func TestNodeGoneIsUnplugged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, link string)
		reason string
	}{
		{"link removed", func(t *testing.T, link string) { os.Remove(link) }, "device node gone"},
		{"link re-pointed", func(t *testing.T, link string) { plug(t, link) }, "another device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.NoLeaks(t)
			link := byIDLink(t)
			plug(t, link)
			// The tty stays up here: only the node check, every PollInterval, sees it.
			p := mustOpen(t, Config{Name: link, PollInterval: 100 * time.Millisecond})
			r := readAsync(p)
			eventually(t, "Read to block", func() bool { return p.quiet.Load() >= 1 })
			tc.change(t, link)
			got := await(t, "Read", r)
			if !errors.Is(got.err, ErrUnplugged) || !strings.Contains(got.err.Error(), tc.reason) {
				t.Errorf("Read error %v; want ErrUnplugged saying %q", got.err, tc.reason)
			}
		})
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	p := mustOpen(t, Config{Name: d.slave})
	r := readAsync(p)
	eventually(t, "Read to block", func() bool { return p.quiet.Load() >= 1 })

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	if err := await(t, "Close", closed); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Logf("Close with a blocked Read took %v", time.Since(start))
	got := await(t, "Read after Close", r)
	t.Logf("blocked Read returned %v after Close began", got.at.Sub(start))
	if !errors.Is(got.err, ErrClosed) {
		t.Errorf("Read error %v; want ErrClosed", got.err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v; want ErrClosed", err)
	}
}

// A Write to a device that does not read blocks; Close must still be prompt (tarm/serial's
// own Write would hold Close until the device reads).
func TestCloseUnblocksWrite(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	p := mustOpen(t, Config{Name: d.slave})
	type result struct {
		n   int
		err error
	}
	wrote := make(chan result, 1)
	big := make([]byte, 1<<20) // far more than the pty buffers
	go func() {
		n, err := p.Write(big)
		wrote <- result{n, err}
	}()
	eventually(t, "bytes queued at the device", func() bool {
		n, err := unix.IoctlGetInt(int(d.m.Fd()), unix.TIOCINQ)
		return err == nil && n > 0
	})

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	await(t, "Close", closed)
	t.Logf("Close with a blocked Write took %v", time.Since(start))
	got := await(t, "Write after Close", wrote)
	if !errors.Is(got.err, ErrClosed) || got.n >= len(big) {
		t.Errorf("Write = %d, %v; want a short count and ErrClosed", got.n, got.err)
	}
}

func TestOpenErrors(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	dir := t.TempDir()
	dangling := filepath.Join(dir, "usb-gone-if00-port0")
	if err := os.Symlink(filepath.Join(dir, "ttyUSB9"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		is   error
		says []string
	}{
		{"bad baud", Config{Name: d.slave, Baud: 12345}, ErrBadBaud, []string{"12345", d.slave}},
		{"negative baud", Config{Name: d.slave, Baud: -9600}, ErrBadBaud, []string{"-9600"}},
		{"missing device", Config{Name: filepath.Join(dir, "ttyUSB7")}, fs.ErrNotExist, []string{"ttyUSB7"}},
		{"dangling by-id link", Config{Name: dangling}, fs.ErrNotExist, []string{dangling}},
		{"not a tty", Config{Name: os.DevNull}, ErrNotTerminal, []string{os.DevNull}},
		{"odd poll interval", Config{Name: d.slave, PollInterval: 150 * time.Millisecond}, ErrBadConfig, []string{"150ms"}},
		{"no name", Config{}, ErrBadConfig, []string{"empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Open(tc.cfg)
			if err == nil {
				p.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v; want one wrapping %v", err, tc.is)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// Exclusive mode keeps other openers off while the port is ours, and must not outlive it:
// a pty slave would otherwise refuse the next non-root open with EBUSY.
func TestExclusiveWhileOpen(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	excl := func() int {
		v, err := unix.IoctlGetUint32(int(d.s.Fd()), unix.TIOCGEXCL)
		if err != nil {
			t.Fatalf("TIOCGEXCL: %v", err)
		}
		return int(v)
	}
	p := mustOpen(t, Config{Name: d.slave})
	if excl() != 1 {
		t.Error("not exclusive while open")
	}
	p.Close()
	if excl() != 0 {
		t.Error("still exclusive after Close")
	}
}

// A Read waiting on a quiet line waits in the runtime's poller, not in a read system call:
// it holds no thread of its own (and so wakes none until a byte comes). With a thread per
// waiting Read, as when reads went through tarm/serial, the process would have gained one
// for each of the ports below.
func TestQuietReadsHoldNoThread(t *testing.T) {
	testkit.NoLeaks(t)
	const ports = 24
	before := threads(t)
	var rs []<-chan readResult
	var ps []*Port
	for range ports {
		d := newDevice(t)
		p := mustOpen(t, Config{Name: d.slave})
		ps = append(ps, p)
		rs = append(rs, readAsync(p))
	}
	for _, p := range ps {
		eventually(t, "every Read to wait", func() bool { return p.quiet.Load() >= 1 })
	}
	// A blocked system call keeps its thread; give the runtime the chance to have handed
	// the Ps of such threads on (it does within 20 µs–10 ms) by waiting for a GC cycle,
	// which needs every P.
	runtime.GC()
	if grew := threads(t) - before; grew >= ports/2 {
		t.Errorf("the process gained %d threads with %d Reads waiting; want them parked in the poller", grew, ports)
	}
	for i, p := range ps {
		p.Close()
		if got := await(t, "Read after Close", rs[i]); !errors.Is(got.err, ErrClosed) {
			t.Errorf("Read error %v; want ErrClosed", got.err)
		}
	}
}

// threads is the number of threads of this process.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}
